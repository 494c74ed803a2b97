// Team invitations (contract §5): invite, resend, accept (by the emailed token or by id),
// decline, and joining at sign-up. An invitation holds a licence while pending; the team row
// is locked while licences are counted so concurrent invitations cannot overshoot. The SQL is
// in ./invitation-repository.ts.
import type { Deps } from '../deps.js'
import type { Sql } from '../platform/db/pool.js'
import { errors } from '../platform/errors.js'
import { sha256 } from '../platform/secrets.js'
import { invitedAddress } from '../users/service.js'
import { chargeInvitationEmail, consumeToken, issueToken, sendTokenLink } from '../users/tokens.js'
import { mailText } from '../platform/mailer.js'
import { historyUserName } from '../comments/history.js'
import { connect, contactUser } from '../contacts/service.js'
import { adminTeamOf, alreadyInTeam, joinTeam, licencesUsed } from './service.js'
import { businessById, lockUserTeam, teamOfEmail } from './repository.js'
import * as repo from './invitation-repository.js'
import { InvitationStatus } from './invitation-repository.js'

export { InvitationStatus }

const invitationUsed = errors.invitationUsed

/** what the invitation email says, decided inside the transaction and sent after it */
type Sent = { to: string; token: string; invitationId: number; inviterName: string; title: string; name: string | null }

/**
 * POST /team/member (resend = false) and POST /team/member/resend (resend = true): a pending
 * invitation gets a new token and email on resend (79 on invite); otherwise a new invitation,
 * if a licence is free.
 */
export async function invite(deps: Deps, actorId: number, emailIn: string, name: string | undefined, resend: boolean) {
  const email = invitedAddress(emailIn)
  const sent = await deps.db.tx((tx) => inviteIn(deps, tx, actorId, email, name, resend))
  await sendInvitation(deps, sent)
}

/**
 * GET /contact/addtobusiness: the account email of one of my contacts or team mates is
 * invited as by POST /team/member. 400/33 and 403/3 come before looking at the contact (404/1).
 */
export async function inviteContactToTeam(deps: Deps, actorId: number, contactId: number) {
  const sent = await deps.db.tx(async (tx) => {
    await adminTeamOf(tx, actorId)
    const other = await contactUser(tx, actorId, contactId)
    return inviteIn(deps, tx, actorId, invitedAddress(other.email), undefined, false)
  })
  await sendInvitation(deps, sent)
}

async function inviteIn(deps: Deps, tx: Sql, actorId: number, email: string, name: string | undefined, resend: boolean): Promise<Sent> {
  const businessId = await adminTeamOf(tx, actorId)
  const team = (await businessById(tx, businessId, { lock: true }))!
  // someone in a team (this one or another) cannot be invited: a user is in one team at most
  const existing = await teamOfEmail(tx, email.toLowerCase())
  if (existing && existing.businessId !== null) throw alreadyInTeam(email)
  const pending = await repo.lockPendingInvitation(tx, businessId, email.toLowerCase())
  let invitationId: number
  let inviteeName = name?.trim() || null
  if (pending && !resend) throw errors.alreadyInvited(email)
  if (!pending && (await licencesUsed(tx, businessId)) + 1 > team.licensesNumber) throw errors.licenceOveruse()
  // every check passed: the email is counted (429/67) before anything is written
  await chargeInvitationEmail(deps, actorId)
  if (pending) {
    invitationId = pending.id
    if (inviteeName) await repo.setInvitationName(tx, invitationId, inviteeName)
    else inviteeName = pending.name
  } else {
    invitationId = await repo.insertInvitation(tx, { businessId, email, name: inviteeName, inviterId: actorId })
  }
  const token = await issueToken(deps, tx, 'team_invitation', { invitationId, email })
  return { to: email, token, invitationId, inviterName: await historyUserName(tx, actorId), title: team.title, name: inviteeName }
}

async function sendInvitation(deps: Deps, s: Sent) {
  await sendTokenLink(deps, {
    to: s.to,
    path: 'invitation',
    token: s.token,
    subject: mailText`${s.inviterName} invited you to join ${s.title} on Hitask`,
    name: s.name,
    before: mailText`${s.inviterName} invited you to join the team "${s.title}" on Hitask.\nTo accept, open this link (you can create your account there, or sign in to an existing one):`,
    what: 'team invitation',
    context: { invitationId: s.invitationId },
  })
}

/** marks the invitation accepted and joins its team: 412/45 unless pending, 412/16 if in a team */
async function acceptInvitation(tx: Sql, invitationId: number, userId: number) {
  const businessId = await repo.invitationTeam(tx, invitationId)
  if (businessId === null) throw invitationUsed()
  // lock order: team, invitation, user (as in invite and removal)
  await businessById(tx, businessId, { lock: true })
  if ((await repo.lockInvitationStatus(tx, invitationId)) !== InvitationStatus.PENDING) throw invitationUsed()
  const u = (await lockUserTeam(tx, userId))!
  if (u.businessId !== null) throw alreadyInTeam(u.login)
  await repo.setInvitationStatus(tx, invitationId, InvitationStatus.ACCEPTED)
  // any other team's pending invitations to this address stay pending: they can be declined
  await joinTeam(tx, businessId, userId)
}

/**
 * POST /team/member/accept. By token: whoever holds the emailed link may use it once. By id:
 * an invitation to my account's email, which must be confirmed (else anyone could sign up
 * with someone else's address and take their invitation) → 403/19.
 */
export async function accept(deps: Deps, userId: number, by: { token?: string; id?: number }) {
  await deps.db.tx(async (tx) => {
    if (by.token !== undefined) {
      const r = await consumeToken(deps, tx, 'team_invitation', by.token)
      if (r.state === 'unknown') throw errors.invalidData('token', ': unknown invitation')
      if (r.state !== 'ok' || r.row?.invitationId == null) throw invitationUsed()
      await acceptInvitation(tx, r.row.invitationId, userId)
      return
    }
    const inv = await ownInvitation(tx, userId, by.id!)
    if (inv.status !== InvitationStatus.PENDING) throw invitationUsed()
    await acceptInvitation(tx, by.id!, userId)
  })
}

/** an invitation to my account's address (else 404/1), which must be confirmed (else 403/19) */
async function ownInvitation(db: Sql, userId: number, invitationId: number) {
  const inv = await repo.invitationToUser(db, invitationId, userId)
  if (!inv) throw errors.notFound('Invitation')
  if (!inv.confirmed) throw errors.emailNotConfirmed()
  return inv
}

/** POST /team/member/decline: an invitation to my email is declined (412/45 unless pending) */
export async function decline(deps: Deps, userId: number, invitationId: number) {
  await deps.db.tx(async (tx) => {
    const inv = await ownInvitation(tx, userId, invitationId)
    if (inv.status !== InvitationStatus.PENDING) throw invitationUsed()
    await repo.setInvitationStatus(tx, invitationId, InvitationStatus.DECLINED)
  })
}

/**
 * For POST /user/signup with `invitation=<token>`: checked before the account is created
 * (412/45 for a used token), consumed inside the sign-up transaction (the returned hook, the
 * sign-up's afterCreate). A team invitation joins the team; a contact invitation (GET
 * /contact/invite) connects the inviter and the new user.
 */
export async function signupWithInvitation(deps: Deps, token: string) {
  const t = await repo.invitationToken(deps.db, sha256(token))
  if (!t) throw errors.invalidData('invitation', ': unknown invitation')
  if (!t.usable || (t.purpose === 'team_invitation' && t.status !== InvitationStatus.PENDING)) throw invitationUsed()
  // typed Sql (what it needs): it fits sign-up's afterCreate(tx: Tx, userId)
  return async (tx: Sql, userId: number) => {
    const used = await consumeToken(deps, tx, t.purpose, token)
    if (used.state !== 'ok' || !used.row) throw invitationUsed()
    if (t.purpose === 'team_invitation') await acceptInvitation(tx, used.row.invitationId!, userId)
    else if (used.row.userId !== null) await connect(tx, used.row.userId, userId)
  }
}
