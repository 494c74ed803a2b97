// SQL of contacts (contract §7): the `contacts` rows (one per side: BOTH, TO or FROM) and the
// reads of users in contact shape (a contact, a team mate, a search hit, a user invited to my
// team). The rules are in src/contacts/service.ts; the reasons in docs/contacts.md.
import type { Sql } from '../platform/db/pool.js'
import { USER_COLUMNS, type UserRecord } from '../users/repository.js'

/**
 * The user fields a contact object is made of. Their names and types are those of the shared
 * `UserRecord` (numbers for ids, camelCase) that src/users/repository.ts is to define; when it
 * lands, this becomes `Pick<UserRecord, 'id' | 'login' | … | 'lastSeenAt'>` and nothing else
 * changes (the reads below select only these columns, under these names).
 */
/** a user as contacts show them: the one user shape (src/users/repository.ts) */
export type ContactUser = UserRecord

/** the columns of a ContactUser, from `users u` */
const CONTACT_USER_COLUMNS = USER_COLUMNS

/** a relation stored in `contacts`, or one that comes from the team tables */
export type Subscription = 'BOTH' | 'TO' | 'FROM' | 'SELF' | 'BIS' | 'BIS_WAIT'

// ---- users in contact shape ----

export async function contactUserById(db: Sql, id: number): Promise<ContactUser | null> {
  const r = await db.query<ContactUser>(`SELECT ${CONTACT_USER_COLUMNS} FROM users u WHERE u.id = $1`, [id])
  return r.rows[0] ?? null
}

/** by login_key or email_key (the lower-cased login or address) */
export async function contactUserByKey(db: Sql, by: 'login' | 'email', key: string): Promise<ContactUser | null> {
  const col = by === 'login' ? 'login_key' : 'email_key'
  const r = await db.query<ContactUser>(`SELECT ${CONTACT_USER_COLUMNS} FROM users u WHERE u.${col} = $1`, [key])
  return r.rows[0] ?? null
}

/** the members of a team: owner and administrators first, then by name */
export async function teamMemberUsers(db: Sql, businessId: number): Promise<ContactUser[]> {
  const r = await db.query<ContactUser>(
    `SELECT ${CONTACT_USER_COLUMNS} FROM users u WHERE u.business_id = $1
      ORDER BY u.business_level DESC, lower(u.first_name), lower(u.last_name), u.login_key`,
    [businessId],
  )
  return r.rows
}

/**
 * Me, my team mates and the users of my contact rows, each with my relation to them (SELF,
 * BIS for the same team, else the contact row's status); by first name, last name, login.
 */
export async function contactListUsers(db: Sql, me: number): Promise<Array<ContactUser & { rel: Subscription }>> {
  const r = await db.query<ContactUser & { rel: Subscription }>(
    `WITH me AS (SELECT id, business_id FROM users WHERE id = $1)
     SELECT ${CONTACT_USER_COLUMNS},
            CASE WHEN u.id = me.id THEN 'SELF'
                 WHEN me.business_id IS NOT NULL AND u.business_id = me.business_id THEN 'BIS'
                 ELSE c.status END AS rel
       FROM me
       JOIN users u ON u.id = me.id OR (me.business_id IS NOT NULL AND u.business_id = me.business_id)
                    OR u.id IN (SELECT contact_id FROM contacts WHERE user_id = me.id)
       LEFT JOIN contacts c ON c.user_id = me.id AND c.contact_id = u.id
      ORDER BY lower(u.first_name), lower(u.last_name), u.login_key`,
    [me],
  )
  return r.rows
}

export type PendingInvitationRow = {
  invitation: { id: number; email: string; name: string | null; businessId: number }
  /** the account registered with the invited address, if any */
  user: ContactUser | null
}

/** the pending invitations to my team, each with the account of the invited address if there is one */
export async function pendingInvitationsToTeamOf(db: Sql, me: number): Promise<PendingInvitationRow[]> {
  const r = await db.query<ContactUser & { inv_id: number; inv_email: string; inv_name: string | null; inv_business_id: number; has_user: boolean }>(
    `SELECT i.id AS inv_id, i.email AS inv_email, i.name AS inv_name, i.business_id AS inv_business_id,
            u.id IS NOT NULL AS has_user, ${CONTACT_USER_COLUMNS}
       FROM users me
       JOIN invitations i ON i.business_id = me.business_id AND i.status = 0
       LEFT JOIN users u ON u.email_key = i.email_key
      WHERE me.id = $1
      ORDER BY i.id`,
    [me],
  )
  return r.rows.map(({ inv_id, inv_email, inv_name, inv_business_id, has_user, ...user }) => ({
    invitation: { id: inv_id, email: inv_email, name: inv_name, businessId: inv_business_id },
    user: has_user ? user : null,
  }))
}

/**
 * Users whose login, first name, last name or "first last" matches `likePattern`, or whose
 * email_key equals `emailKey`; never me. Exact email first, then by login.
 */
export async function searchContactUsers(
  db: Sql,
  me: number,
  q: { emailKey: string; likePattern: string; limit: number },
): Promise<Array<ContactUser & { rel: Subscription | null; byEmail: boolean }>> {
  const r = await db.query<ContactUser & { rel: Subscription | null; byEmail: boolean }>(
    `WITH me AS (SELECT id, business_id FROM users WHERE id = $1)
     SELECT ${CONTACT_USER_COLUMNS}, u.email_key = $2 AS "byEmail",
            CASE WHEN me.business_id IS NOT NULL AND u.business_id = me.business_id THEN 'BIS' ELSE c.status END AS rel
       FROM me, users u
       LEFT JOIN contacts c ON c.user_id = $1 AND c.contact_id = u.id
      WHERE u.id <> me.id
        AND (u.email_key = $2 OR u.login_key LIKE $3 OR lower(u.first_name) LIKE $3 OR lower(u.last_name) LIKE $3
             OR lower(u.first_name || ' ' || u.last_name) LIKE $3)
      ORDER BY (u.email_key = $2) DESC, u.login_key
      LIMIT $4`,
    [me, q.emailKey, q.likePattern, q.limit],
  )
  return r.rows
}

// ---- the contacts rows ----

/** my contact row's status toward `other`, and whether we are in the same team */
export async function relationRow(db: Sql, me: number, other: number): Promise<{ status: Subscription | null; sameTeam: boolean }> {
  const r = await db.query<{ status: Subscription | null; sameTeam: boolean }>(
    `SELECT (SELECT status FROM contacts WHERE user_id = $1 AND contact_id = $2) AS status,
            EXISTS (SELECT 1 FROM users a JOIN users b ON a.business_id = b.business_id WHERE a.id = $1 AND b.id = $2) AS "sameTeam"`,
    [me, other],
  )
  return r.rows[0]!
}

/** my contact row's status toward `other`, the row locked FOR UPDATE */
export async function lockContactStatus(db: Sql, me: number, other: number): Promise<Subscription | null> {
  const r = await db.query<{ status: Subscription }>('SELECT status FROM contacts WHERE user_id = $1 AND contact_id = $2 FOR UPDATE', [me, other])
  return r.rows[0]?.status ?? null
}

/** a request: TO on my side, FROM on theirs (rows already there are left as they are) */
export async function insertRequest(db: Sql, me: number, other: number) {
  await db.query(
    `INSERT INTO contacts (user_id, contact_id, status) VALUES ($1, $2, 'TO'), ($2, $1, 'FROM')
     ON CONFLICT (user_id, contact_id) DO NOTHING`,
    [me, other],
  )
}

/** both sides BOTH */
export async function setConnected(db: Sql, a: number, b: number) {
  await db.query(
    `INSERT INTO contacts (user_id, contact_id, status) VALUES ($1, $2, 'BOTH'), ($2, $1, 'BOTH')
     ON CONFLICT (user_id, contact_id) DO UPDATE SET status = 'BOTH'`,
    [a, b],
  )
}

/** deletes both sides; how many rows went */
export async function deleteContactPair(db: Sql, a: number, b: number): Promise<number> {
  const r = await db.query('DELETE FROM contacts WHERE (user_id = $1 AND contact_id = $2) OR (user_id = $2 AND contact_id = $1)', [a, b])
  return r.rowCount
}
