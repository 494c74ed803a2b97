// SQL of teams (contract §5): businesses, who is in which team at which level, licences, and
// what leaving a team takes away. Functions take the executor first (deps.db or a tx) and
// hold no rules: src/teams/service.ts decides. Invitations are in invitation-repository.ts.
import type { Sql } from '../platform/db/pool.js'

export type Business = {
  id: number
  title: string
  domainName: string
  licensesNumber: number
  /** MB */
  storageQuota: number
  /** bytes */
  storageUsed: number
  expirationDate: Date | null
  emailInbox: string | null
  ownerId: number
}

const BUSINESS_COLUMNS = `id, title, domain_name AS "domainName", licenses_number AS "licensesNumber",
  storage_quota AS "storageQuota", storage_used AS "storageUsed", expiration_date AS "expirationDate",
  email_inbox AS "emailInbox", owner_id AS "ownerId"`

/** the team row; `lock` takes it FOR UPDATE (the lock that serializes licence counting) */
export async function businessById(db: Sql, businessId: number, opts: { lock?: boolean } = {}): Promise<Business | null> {
  const r = await db.query<Business>(`SELECT ${BUSINESS_COLUMNS} FROM businesses WHERE id = $1${opts.lock ? ' FOR UPDATE' : ''}`, [businessId])
  return r.rows[0] ?? null
}

/** a new team; a taken domain name fails with the unique violation 23505 */
export async function insertBusiness(
  db: Sql,
  b: { title: string; domainName: string; licensesNumber: number; storageQuota: number; ownerId: number },
): Promise<number> {
  const r = await db.query<{ id: number }>(
    `INSERT INTO businesses (title, domain_name, licenses_number, storage_quota, owner_id)
     VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [b.title, b.domainName, b.licensesNumber, b.storageQuota, b.ownerId],
  )
  return r.rows[0]!.id
}

/** members plus pending invitations: what counts against licensesNumber */
export async function countLicencesUsed(db: Sql, businessId: number): Promise<number> {
  const r = await db.query<{ n: number }>(
    `SELECT ((SELECT count(*) FROM users WHERE business_id = $1) + (SELECT count(*) FROM invitations WHERE business_id = $1 AND status = 0))::int AS n`,
    [businessId],
  )
  return r.rows[0]!.n
}

/** every team with its owner and licence use (the admin CLI's `team list`) */
export type TeamLicences = { id: number; title: string; domainName: string; owner: string | null; members: number; pendingInvitations: number; licensesNumber: number }

export async function listTeamLicences(db: Sql): Promise<TeamLicences[]> {
  const r = await db.query<TeamLicences>(
    `SELECT b.id, b.title, b.domain_name AS "domainName", o.login AS owner,
            (SELECT count(*) FROM users u WHERE u.business_id = b.id)::int AS members,
            (SELECT count(*) FROM invitations i WHERE i.business_id = b.id AND i.status = 0)::int AS "pendingInvitations",
            b.licenses_number AS "licensesNumber"
       FROM businesses b LEFT JOIN users o ON o.id = b.owner_id
      ORDER BY b.id`,
  )
  return r.rows
}

// ---- membership: the users' team columns ----

export type Membership = { businessId: number | null; level: number }

/** the user's team id and business level, read now (not from the session) */
export async function membershipOf(db: Sql, userId: number): Promise<Membership> {
  const r = await db.query<{ businessId: number | null; level: number | null }>(
    'SELECT business_id AS "businessId", business_level AS level FROM users WHERE id = $1',
    [userId],
  )
  const u = r.rows[0]
  return { businessId: u?.businessId ?? null, level: u?.level ?? 0 }
}

/** a user's login and team, the user row locked FOR UPDATE (joining and creating a team) */
export async function lockUserTeam(db: Sql, userId: number): Promise<{ login: string; businessId: number | null } | null> {
  const r = await db.query<{ login: string; businessId: number | null }>(
    'SELECT login, business_id AS "businessId" FROM users WHERE id = $1 FOR UPDATE',
    [userId],
  )
  return r.rows[0] ?? null
}

/** the team of the account registered with this address (email_key), if any */
export async function teamOfEmail(db: Sql, emailKey: string): Promise<{ login: string; businessId: number | null } | null> {
  const r = await db.query<{ login: string; businessId: number | null }>(
    'SELECT login, business_id AS "businessId" FROM users WHERE email_key = $1',
    [emailKey],
  )
  return r.rows[0] ?? null
}

/**
 * The business level of a member of this team, the user row locked (`update`: FOR UPDATE,
 * before removing them; `share`: FOR SHARE, so a concurrent removal waits); null if not a member.
 */
export async function lockTeamMember(db: Sql, businessId: number, userId: number, mode: 'update' | 'share'): Promise<{ level: number | null } | null> {
  const r = await db.query<{ level: number | null }>(
    `SELECT business_level AS level FROM users WHERE id = $1 AND business_id = $2 FOR ${mode === 'update' ? 'UPDATE' : 'SHARE'}`,
    [userId, businessId],
  )
  return r.rows[0] ?? null
}

/** puts the user in the team at this business level with this account level */
export async function setTeamOfUser(db: Sql, userId: number, team: { businessId: number; level: number; accountLevel: number }) {
  await db.query('UPDATE users SET business_id = $2, business_level = $3, account_level = $4 WHERE id = $1', [userId, team.businessId, team.level, team.accountLevel])
}

/** takes the user out of any team, with this account level */
export async function clearTeamOfUser(db: Sql, userId: number, accountLevel: number) {
  await db.query('UPDATE users SET business_id = NULL, business_level = NULL, account_level = $2 WHERE id = $1', [userId, accountLevel])
}

// ---- what a member leaving the team loses ----

/** deletes the user's direct grants on items owned by the other members; the items concerned */
export async function deleteGrantsOnTeamItems(db: Sql, businessId: number, userId: number): Promise<number[]> {
  const r = await db.query<{ item_id: number }>(
    `DELETE FROM item_permissions p USING items i
      WHERE p.item_id = i.id AND p.principal = $3 AND i.user_id <> $1
        AND i.user_id IN (SELECT id FROM users WHERE business_id = $2)
      RETURNING p.item_id`,
    [userId, businessId, String(userId)],
  )
  return [...new Set(r.rows.map((x) => x.item_id))]
}

/** the user stops being assignee or participant of items owned by the other members */
export async function unassignFromTeamItems(db: Sql, businessId: number, userId: number) {
  await db.query(
    `UPDATE items SET assignee_id = CASE WHEN assignee_id = $1::bigint THEN NULL ELSE assignee_id END,
                      participants = array_remove(participants, $1::bigint)
      WHERE (assignee_id = $1::bigint OR $1::bigint = ANY(participants)) AND user_id <> $1::bigint
        AND user_id IN (SELECT id FROM users WHERE business_id = $2)`,
    [userId, businessId],
  )
}

// ---- GET /list/business ----

/** the account fields GET /list/business shows */
export type BusinessListUser = {
  businessId: number | null
  businessLevel: number | null
  email: string
  emailKey: string
  emailConfirmed: string | null
  accountLevel: number
  pictureHash: string
  createdAt: Date
}

export async function businessListUser(db: Sql, userId: number): Promise<BusinessListUser | null> {
  const r = await db.query<BusinessListUser>(
    `SELECT business_id AS "businessId", business_level AS "businessLevel", email, email_key AS "emailKey",
            email_confirmed AS "emailConfirmed", account_level AS "accountLevel", picture_hash AS "pictureHash",
            created_at AS "createdAt"
       FROM users WHERE id = $1`,
    [userId],
  )
  return r.rows[0] ?? null
}

/** items owned by the user, or by every member of the team when there is one */
export async function countItemsOfTeam(db: Sql, userId: number, businessId: number | null): Promise<{ projects: number; items: number; archived: number }> {
  const r = await db.query<{ projects: number; items: number; archived: number }>(
    `SELECT count(*) FILTER (WHERE NOT archived AND category = 0)::int AS projects,
            count(*) FILTER (WHERE NOT archived AND category <> 0)::int AS items,
            count(*) FILTER (WHERE archived)::int AS archived
       FROM items
      WHERE user_id = $1 OR ($2::bigint IS NOT NULL AND user_id IN (SELECT id FROM users WHERE business_id = $2))`,
    [userId, businessId],
  )
  return r.rows[0]!
}
