// Team invitations (contract §5): invite, resend, accept (by the emailed token or by id),
// decline, and joining at sign-up. An invitation holds a licence while pending; the team row
// is locked while licences are counted so concurrent invitations cannot overshoot.
import type { Deps } from '../deps.js'
import { ApiError, Code, errors } from '../http/errors.js'
import { sqlOf } from '../db/tx.js'
import { sha256 } from '../lib/secrets.js'
import type { Queryable } from './access.js'
import { EMAIL_RE } from './users.js'
import { consumeToken, issueToken, sendTokenLink } from './tokens.js'
import { adminTeamOf, alreadyInTeam, joinTeam, licencesUsed } from './teams.js'
import { connect } from './contacts.js'
import { historyUserName } from './history.js'

export const InvitationStatus = { PENDING: 0, ACCEPTED: 1, DECLINED: 2, REVOKED: 3 } as const

const invitationUsed = () => new ApiError(Code.INVITATION_USED, 'Invitation already used')
const licenceOveruse = () => new ApiError(Code.LICENSE_OVERUSE, 'You have no enough licenses to add new user')
const alreadyInvited = (email: string) => new ApiError(Code.USER_ALREADY_INVITED_IN_THIS_TEAM, `User ${email} already invited in current team`)

type PrismaTx = Parameters<Parameters<Deps['db']['prisma']['$transaction']>[0]>[0]

/** a Prisma interactive transaction (tokens are written through Prisma) with a raw-SQL view of it */
function inPrismaTransaction<T>(deps: Deps, fn: (q: Queryable, tx: PrismaTx) => Promise<T>): Promise<T> {
  return deps.db.prisma.$transaction((tx) => fn(sqlOf(tx), tx), { timeout: 15_000 })
}

function checkInviteEmail(email: string): string {
  const address = email.trim()
  if (address.length > 254 || !EMAIL_RE.test(address)) throw errors.invalidFormat('email')
  return address
}

type Sent = { to: string; token: string; invitationId: number; inviterName: string; title: string; name: string | null }

/**
 * POST /team/member (resend = false) and POST /team/member/resend (resend = true): a pending
 * invitation gets a new token and email on resend (79 on invite); otherwise a new invitation,
 * if a licence is free.
 */
export async function invite(deps: Deps, actorId: number, emailIn: string, name: string | undefined, resend: boolean) {
  const email = checkInviteEmail(emailIn)
  const sent = await inPrismaTransaction(deps, async (q, tx): Promise<Sent> => {
    const businessId = await adminTeamOf(q, actorId)
    const b = await q.query<{ title: string; licenses_number: number }>('SELECT title, licenses_number FROM businesses WHERE id = $1 FOR UPDATE', [businessId])
    const team = b.rows[0]!
    const existing = await q.query<{ login: string; business_id: number | null }>('SELECT login, business_id FROM users WHERE email_key = $1', [email.toLowerCase()])
    // someone in a team (this one or another) cannot be invited: a user is in one team at most
    if (existing.rows[0] && existing.rows[0].business_id !== null) throw alreadyInTeam(email)
    const pending = await q.query<{ id: number; name: string | null }>(
      'SELECT id, name FROM invitations WHERE business_id = $1 AND email_key = $2 AND status = 0 FOR UPDATE',
      [businessId, email.toLowerCase()],
    )
    let invitationId: number
    let inviteeName = name?.trim() || null
    if (pending.rows[0]) {
      if (!resend) throw alreadyInvited(email)
      invitationId = Number(pending.rows[0].id)
      if (inviteeName) await q.query('UPDATE invitations SET name = $2 WHERE id = $1', [invitationId, inviteeName])
      else inviteeName = pending.rows[0].name
    } else {
      if ((await licencesUsed(q, businessId)) + 1 > team.licenses_number) throw licenceOveruse()
      // ids from the users' sequence: a BIS_WAIT entry's id never equals a member's (docs/teams.md)
      const r = await q.query<{ id: number }>(
        `INSERT INTO invitations (id, business_id, email, email_key, name, inviter_id, status)
         VALUES (nextval(pg_get_serial_sequence('users', 'id')), $1, $2, $3, $4, $5, 0) RETURNING id`,
        [businessId, email, email.toLowerCase(), inviteeName, actorId],
      )
      invitationId = Number(r.rows[0]!.id)
    }
    const token = await issueToken(deps, 'team_invitation', { invitationId, email }, tx)
    return { to: email, token, invitationId, inviterName: await historyUserName(q, actorId), title: team.title, name: inviteeName }
  })
  await sendInvitation(deps, sent)
}

async function sendInvitation(deps: Deps, s: Sent) {
  await sendTokenLink(deps, {
    to: s.to,
    path: 'invitation',
    token: s.token,
    subject: `${s.inviterName} invited you to join ${s.title} on Hitask`,
    name: s.name ?? undefined,
    before: `${s.inviterName} invited you to join the team "${s.title}" on Hitask.\nTo accept, open this link (you can create your account there, or sign in to an existing one):`,
    what: 'team invitation',
    context: { invitationId: s.invitationId },
  })
}

/** marks the invitation accepted and joins its team: 412/45 unless pending, 412/16 if in a team */
async function acceptInvitation(q: Queryable, invitationId: number, userId: number) {
  const inv = await q.query<{ business_id: number }>('SELECT business_id FROM invitations WHERE id = $1', [invitationId])
  if (!inv.rows[0]) throw invitationUsed()
  const businessId = Number(inv.rows[0].business_id)
  // lock order: team, invitation, user (as in invite and removal)
  await q.query('SELECT id FROM businesses WHERE id = $1 FOR UPDATE', [businessId])
  const locked = await q.query<{ status: number }>('SELECT status FROM invitations WHERE id = $1 FOR UPDATE', [invitationId])
  if (locked.rows[0]?.status !== InvitationStatus.PENDING) throw invitationUsed()
  const u = await q.query<{ login: string; business_id: number | null }>('SELECT login, business_id FROM users WHERE id = $1 FOR UPDATE', [userId])
  if (u.rows[0]!.business_id !== null) throw alreadyInTeam(u.rows[0]!.login)
  await q.query('UPDATE invitations SET status = $2 WHERE id = $1', [invitationId, InvitationStatus.ACCEPTED])
  // any other team's pending invitations to this address stay pending: they can be declined
  await joinTeam(q, businessId, userId)
}

/**
 * POST /team/member/accept. By token: whoever holds the emailed link may use it once. By id:
 * an invitation to my account's email, which must be confirmed (else anyone could sign up
 * with someone else's address and take their invitation) → 403/19.
 */
export async function accept(deps: Deps, userId: number, by: { token?: string; id?: number }) {
  await inPrismaTransaction(deps, async (q, tx) => {
    if (by.token !== undefined) {
      const r = await consumeToken(deps, 'team_invitation', by.token, tx)
      if (r.state === 'unknown') throw errors.invalidData('token', ': unknown invitation')
      if (r.state !== 'ok' || r.row?.invitationId == null) throw invitationUsed()
      await acceptInvitation(q, r.row.invitationId, userId)
      return
    }
    const inv = await ownInvitation(q, userId, by.id!)
    if (inv.status !== InvitationStatus.PENDING) throw invitationUsed()
    await acceptInvitation(q, by.id!, userId)
  })
}

async function ownInvitation(q: Queryable, userId: number, invitationId: number) {
  const r = await q.query<{ status: number; confirmed: boolean }>(
    `SELECT i.status, (u.email_confirmed IS NOT NULL AND lower(u.email_confirmed) = u.email_key) AS confirmed
       FROM invitations i JOIN users u ON u.email_key = i.email_key
      WHERE i.id = $1 AND u.id = $2`,
    [invitationId, userId],
  )
  const inv = r.rows[0]
  if (!inv) throw errors.notFound('Invitation')
  if (!inv.confirmed) throw new ApiError(Code.EMAIL_NOT_VALIDATED, 'Email is not confirmed: please confirm your email address')
  return inv
}

/** POST /team/member/decline: an invitation to my email is declined (412/45 unless pending) */
export async function decline(deps: Deps, userId: number, invitationId: number) {
  await inPrismaTransaction(deps, async (q) => {
    const inv = await ownInvitation(q, userId, invitationId)
    if (inv.status !== InvitationStatus.PENDING) throw invitationUsed()
    await q.query('UPDATE invitations SET status = $2 WHERE id = $1', [invitationId, InvitationStatus.DECLINED])
  })
}

/**
 * For POST /user/signup with `invitation=<token>`: checked before the account is created
 * (412/45 for a used token), consumed inside the sign-up transaction. A team invitation joins
 * the team; a contact invitation (GET /contact/invite) connects the inviter and the new user.
 */
export async function signupWithInvitation(deps: Deps, token: string) {
  const r = await deps.db.pool.query<{ purpose: 'team_invitation' | 'signup_invitation'; usable: boolean; status: number | null }>(
    `SELECT t.purpose, (t.used_at IS NULL AND t.expires_at > now()) AS usable, i.status
       FROM one_time_tokens t LEFT JOIN invitations i ON i.id = t.invitation_id
      WHERE t.token_hash = $1 AND t.purpose IN ('team_invitation', 'signup_invitation')`,
    [sha256(token)],
  )
  const t = r.rows[0]
  if (!t) throw errors.invalidData('invitation', ': unknown invitation')
  if (!t.usable || (t.purpose === 'team_invitation' && t.status !== InvitationStatus.PENDING)) throw invitationUsed()
  return async (tx: PrismaTx, userId: number) => {
    const q = sqlOf(tx)
    const used = await consumeToken(deps, t.purpose, token, tx)
    if (used.state !== 'ok' || !used.row) throw invitationUsed()
    if (t.purpose === 'team_invitation') await acceptInvitation(q, used.row.invitationId!, userId)
    else if (used.row.userId !== null) await connect(q, used.row.userId, userId)
  }
}
