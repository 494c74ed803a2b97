// Teams (business accounts, contract §5): creation, the team's description, its members,
// joining and leaving. Invitations are in services/invitations.ts. Decisions are written in
// docs/teams.md.
import type { Deps } from '../deps.js'
import { ApiError, Code, errors } from '../http/errors.js'
import { inTransaction } from '../db/tx.js'
import { formatDate } from '../lib/dates.js'
import { touchItems, touchVisibility, type Queryable } from './access.js'
import { ADMIN_LEVEL, addToEveryone, createEveryoneGroup, everyoneGroupId, membershipOf, removeFromTeamGroups } from './groups.js'
import { USER_COLUMNS, contactView, pendingTeamInvitations, splitName, type UserRecord } from './contacts.js'

/** business levels (contract §3) */
export const BusinessLevel = { MEMBER: 1, MANAGER: 2, ADMIN: 10, OWNER: 100 } as const
/** account levels set by joining and leaving a team */
export const ACCOUNT_TEAM_BUSINESS = 200
export const ACCOUNT_FREE = 0

export const DOMAIN_RE = /^[a-z0-9-]{1,63}$/

export const notInTeam = () => new ApiError(Code.NOT_BUSINESS_USER, 'You are not a business user')
export const alreadyInTeam = (who: string) => new ApiError(Code.USER_ALREADY_IN_BUSINESS, `User ${who} already in a business group`)

// Sizes are shown in decimal units, as the reference's example (7500 MB → "7.50GB").
const BYTES_PER_MB = 1_000_000
export function formatMegabytes(mb: number): string {
  if (mb >= 1_000_000) return (mb / 1_000_000).toFixed(2) + 'TB'
  if (mb >= 1000) return (mb / 1000).toFixed(2) + 'GB'
  return `${mb}MB`
}
/** bytes to whole MB, rounded up so any stored file shows as at least 1MB */
export function bytesToMegabytes(bytes: number): number {
  return Math.ceil(bytes / BYTES_PER_MB)
}

type BusinessRow = {
  id: number
  title: string
  domain_name: string
  licenses_number: number
  storage_quota: number
  storage_used: number | string
  expiration_date: Date | null
  email_inbox: string | null
  owner_id: number
  created_at: Date
}

async function businessOf(q: Queryable, businessId: number, lock = false): Promise<BusinessRow> {
  const r = await q.query<BusinessRow>(`SELECT * FROM businesses WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [businessId])
  if (!r.rows[0]) throw notInTeam()
  return r.rows[0]
}

/** members plus pending invitations: what counts against licensesNumber */
export async function licencesUsed(q: Queryable, businessId: number): Promise<number> {
  const r = await q.query<{ n: number }>(
    `SELECT ((SELECT count(*) FROM users WHERE business_id = $1) + (SELECT count(*) FROM invitations WHERE business_id = $1 AND status = 0))::int AS n`,
    [businessId],
  )
  return r.rows[0]!.n
}

/** the caller's team, where an administrator is needed: 33 without a team, 403/3 below 10 */
export async function adminTeamOf(q: Queryable, userId: number): Promise<number> {
  const m = await membershipOf(q, userId)
  if (m.businessId === null) throw notInTeam()
  if (m.level < ADMIN_LEVEL) throw errors.noPermissions('to manage the team: team administrators only')
  return m.businessId
}

/** POST /business: the caller becomes the owner of a new team with its Everyone group */
export async function createBusiness(deps: Deps, userId: number, input: { title: string; domainName: string }) {
  const domain = input.domainName.trim()
  if (!DOMAIN_RE.test(domain)) throw new ApiError(Code.BUSINESS_DOMAIN_NAME_USED, 'This domain name is not valid: use a-z, 0-9 and -')
  try {
    await inTransaction(deps.db.pool, async (q) => {
      const u = await q.query<{ login: string; business_id: number | null }>('SELECT login, business_id FROM users WHERE id = $1 FOR UPDATE', [userId])
      if (u.rows[0]!.business_id !== null) throw alreadyInTeam(u.rows[0]!.login)
      const b = await q.query<{ id: number }>(
        `INSERT INTO businesses (title, domain_name, licenses_number, storage_quota, owner_id)
         VALUES ($1, $2, $3, $4, $5) RETURNING id`,
        [input.title.trim(), domain, deps.config.TEAM_LICENSES, deps.config.TEAM_STORAGE_QUOTA_MB, userId],
      )
      const businessId = Number(b.rows[0]!.id)
      await setTeamOfUser(q, businessId, userId, BusinessLevel.OWNER)
      await createEveryoneGroup(q, businessId, userId)
      await touchVisibility(q, [userId])
    })
  } catch (e) {
    if ((e as { code?: string }).code === '23505') throw new ApiError(Code.BUSINESS_DOMAIN_NAME_USED, 'This domain name is already in use')
    throw e
  }
}

/** GET /business */
export async function businessInfo(deps: Deps, userId: number, tz: string) {
  const q = deps.db.pool
  const m = await membershipOf(q, userId)
  if (m.businessId === null) throw notInTeam()
  const b = await businessOf(q, m.businessId)
  const used = bytesToMegabytes(Number(b.storage_used))
  return {
    domainName: b.domain_name,
    title: b.title,
    licensesNumber: b.licenses_number,
    licensesUsed: await licencesUsed(q, m.businessId),
    storageQuota: b.storage_quota,
    storageUsed: used,
    storageQuotaFormatted: formatMegabytes(b.storage_quota),
    storageUsedFormatted: formatMegabytes(used),
    expirationDate: formatDate(b.expiration_date, tz),
    emailInbox: b.email_inbox,
  }
}

/** the inviter's (users iu) display name, as history.ts historyUserName: the full name, else the login */
const INVITER_NAME = `COALESCE(NULLIF(btrim(iu.first_name || ' ' || iu.last_name), ''), iu.login)`

/** GET /list/business: the richer shape every client reads at start, also without a team */
export async function businessList(deps: Deps, userId: number, tz: string) {
  const q = deps.db.pool
  const ur = await q.query<UserRecord & { created_at: Date; email_key: string }>(
    `SELECT ${USER_COLUMNS}, u.created_at, u.email_key FROM users u WHERE u.id = $1`,
    [userId],
  )
  const u = ur.rows[0]!
  const businessId = u.business_id === null ? null : Number(u.business_id)
  const b = businessId === null ? null : await businessOf(q, businessId)
  const level = b ? (u.business_level ?? 0) : 0

  const invGet = await q.query<{ id: number; business_id: number; title: string; inviter_name: string }>(
    `SELECT i.id, i.business_id, b.title, ${INVITER_NAME} AS inviter_name
       FROM invitations i JOIN businesses b ON b.id = i.business_id JOIN users iu ON iu.id = i.inviter_id
      WHERE i.email_key = $1 AND i.status = 0 AND i.business_id IS DISTINCT FROM $2
      ORDER BY i.id`,
    [u.email_key, businessId],
  )
  const invSent = b
    ? (
        await q.query<{ id: number; user_id: number | null; name: string | null; first_name: string | null; last_name: string | null; status: number; inviter_name: string }>(
          `SELECT i.id, u.id AS user_id, i.name, u.first_name, u.last_name, i.status,
                  ${INVITER_NAME} AS inviter_name
             FROM invitations i JOIN users iu ON iu.id = i.inviter_id
             LEFT JOIN users u ON u.email_key = i.email_key
            WHERE i.business_id = $1 AND i.status IN (0, 2)
            ORDER BY i.id`,
          [b.id],
        )
      ).rows
    : []
  const counts = await q.query<{ projects: number; items: number; archived: number }>(
    `SELECT count(*) FILTER (WHERE NOT archived AND category = 0)::int AS projects,
            count(*) FILTER (WHERE NOT archived AND category <> 0)::int AS items,
            count(*) FILTER (WHERE archived)::int AS archived
       FROM items
      WHERE user_id = $1 OR ($2::bigint IS NOT NULL AND user_id IN (SELECT id FROM users WHERE business_id = $2))`,
    [userId, businessId],
  )
  const c = counts.rows[0]!
  return {
    business: {
      level,
      domainName: b?.domain_name ?? null,
      domainId: b ? Number(b.id) : null,
      canInvite: !!b && level >= ADMIN_LEVEL,
      title: b?.title ?? null,
      license_usage: b ? await licencesUsed(q, Number(b.id)) : null,
      license_count: b?.licenses_number ?? null,
      expiration_date: b ? formatDate(b.expiration_date, tz) : null,
      emailInbox: b?.email_inbox ?? null,
      everyoneGroupId: b ? await everyoneGroupId(q, Number(b.id)) : null,
      inv_sent: invSent.map((i) => {
        const { first, last } = splitName(i.name)
        return {
          id: Number(i.id),
          userId: i.user_id === null ? null : Number(i.user_id),
          firstName: i.user_id === null ? first : i.first_name,
          lastName: i.user_id === null ? last : i.last_name,
          declined: i.status === 2,
          inviterName: i.inviter_name,
        }
      }),
      inv_get: invGet.rows.map((i) => ({ id: Number(i.id), businessId: Number(i.business_id), title: i.title, inviterName: i.inviter_name })),
      invitationLink: null,
      numberOfProjects: c.projects,
      numberOfItems: c.items,
      numberOfArchived: c.archived,
      accountCreateTime: formatDate(u.created_at, tz),
      pictureHash: u.picture_hash,
      isPremium: u.account_level >= 100,
      emailConfirmed: u.email_confirmed !== null && u.email_confirmed.toLowerCase() === u.email.toLowerCase(),
    },
  }
}

/** GET /team: every member (BIS) and every pending invitation (BIS_WAIT) */
export async function teamMembers(deps: Deps, userId: number) {
  const q = deps.db.pool
  const m = await membershipOf(q, userId)
  if (m.businessId === null) throw notInTeam()
  const r = await q.query<UserRecord>(
    `SELECT ${USER_COLUMNS} FROM users u WHERE u.business_id = $1 ORDER BY u.business_level DESC, lower(u.first_name), lower(u.last_name), u.login_key`,
    [m.businessId],
  )
  return [...r.rows.map((u) => contactView(u, 'BIS')), ...(await pendingTeamInvitations(q, userId))]
}

/** a team member's account: their team, their level in it, the team account level */
async function setTeamOfUser(q: Queryable, businessId: number, userId: number, level: number) {
  await q.query('UPDATE users SET business_id = $2, business_level = $3, account_level = $4 WHERE id = $1', [userId, businessId, level, ACCOUNT_TEAM_BUSINESS])
}

/** makes `userId` a member of the team and its Everyone group (inside the caller's transaction) */
export async function joinTeam(q: Queryable, businessId: number, userId: number) {
  await setTeamOfUser(q, businessId, userId, BusinessLevel.MEMBER)
  await addToEveryone(q, businessId, userId)
  await touchVisibility(q, [userId])
}

/**
 * Takes a member out of the team: out of its groups, off the direct grants on items owned by
 * the other members (so nothing shared through the team stays visible), off the assignee and
 * participants of those items. Their own items stay theirs.
 */
export async function leaveTeam(q: Queryable, businessId: number, userId: number) {
  await q.query('UPDATE users SET business_id = NULL, business_level = NULL, account_level = $2 WHERE id = $1', [userId, ACCOUNT_FREE])
  await removeFromTeamGroups(q, businessId, userId)
  const lost = await q.query<{ item_id: number }>(
    `DELETE FROM item_permissions p USING items i
      WHERE p.item_id = i.id AND p.principal = $3 AND i.user_id <> $1
        AND i.user_id IN (SELECT id FROM users WHERE business_id = $2)
      RETURNING p.item_id`,
    [userId, businessId, String(userId)],
  )
  // the assignee and participants must be able to see their items (contract §8.3)
  await q.query(
    `UPDATE items SET assignee_id = CASE WHEN assignee_id = $1::bigint THEN NULL ELSE assignee_id END,
                      participants = array_remove(participants, $1::bigint)
      WHERE (assignee_id = $1::bigint OR $1::bigint = ANY(participants)) AND user_id <> $1::bigint
        AND user_id IN (SELECT id FROM users WHERE business_id = $2)`,
    [userId, businessId],
  )
  await touchItems(q, [...new Set(lost.rows.map((x) => Number(x.item_id)))])
  await touchVisibility(q, [userId])
}

/**
 * DELETE /team/member: `id` names a member, a pending invitation, or a user with a pending
 * invitation to this team (the id GET /team shows for them). Ids of users and invitations
 * share one sequence, so the three cannot be confused.
 */
export async function removeMember(deps: Deps, actorId: number, id: number) {
  await inTransaction(deps.db.pool, async (q) => {
    const businessId = await adminTeamOf(q, actorId)
    await businessOf(q, businessId, true)
    const member = await q.query<{ business_level: number | null }>('SELECT business_level FROM users WHERE id = $1 AND business_id = $2 FOR UPDATE', [id, businessId])
    if (member.rows[0]) {
      if (member.rows[0].business_level === BusinessLevel.OWNER) throw errors.noPermissions('to remove the owner of the team')
      await leaveTeam(q, businessId, id)
      return
    }
    const revoked = await q.query(
      `UPDATE invitations SET status = 3
        WHERE business_id = $1 AND status = 0
          AND (id = $2 OR email_key = (SELECT email_key FROM users WHERE id = $2))
        RETURNING id`,
      [businessId, id],
    )
    if (!revoked.rows.length) throw errors.notFound('Team member')
  })
}
