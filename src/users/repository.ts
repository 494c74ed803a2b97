// The users table: the one shape a user has in the code (UserRecord), the one SELECT list
// that reads it (USER_COLUMNS) and the one mapper (toUserRecord). Every domain that shows a
// user selects USER_COLUMNS from `users u`; a query that selects more than them maps its rows
// with toUserRecord. SQL only: the rules are in src/users/service.ts.
import type { Sql } from '../platform/db/pool.js'

/** a user as the services and views know them (ids are numbers: contract §1) */
export type UserRecord = {
  id: number
  login: string
  /** the address in effect: sign-in, invitations, uniqueness (docs/auth-and-users.md) */
  email: string
  /** the address whose confirmation link was used, or null */
  emailConfirmed: string | null
  /** an address the user changed to, waiting for its link to be used (it counts for nothing until then), or null */
  pendingEmail: string | null
  firstName: string
  lastName: string
  /** 0 free, 50 premium expired, 100 premium, 150 business expired, 200 business */
  accountLevel: number
  businessId: number | null
  /** 1 member, 2 manager, 10 administrator, 100 owner */
  businessLevel: number | null
  pictureHash: string
  /** 2 generated initials, 100 uploaded */
  pictureSource: number
  lastSeenAt: Date | null
  createdAt: Date
}

/**
 * The columns of a UserRecord, from `users u`, under the record's names: a row of them is a
 * UserRecord. The password hash is not among them (only `findCredentials` reads it); nor are
 * the counters other domains keep on the row (issue_seq, storage_used, visibility_changed_at),
 * which those domains read in their own queries.
 */
export const USER_COLUMNS = `u.id, u.login, u.email, u.email_confirmed AS "emailConfirmed", u.pending_email AS "pendingEmail", u.first_name AS "firstName",
  u.last_name AS "lastName", u.account_level AS "accountLevel", u.business_id AS "businessId",
  u.business_level AS "businessLevel", u.picture_hash AS "pictureHash", u.picture_source AS "pictureSource",
  u.last_seen_at AS "lastSeenAt", u.created_at AS "createdAt"`

/**
 * The UserRecord of a row that selected USER_COLUMNS and maybe more (a relation, a password
 * hash): only the record's fields are kept, so nothing else travels with the user.
 */
export function toUserRecord(r: UserRecord): UserRecord {
  return {
    id: r.id,
    login: r.login,
    email: r.email,
    emailConfirmed: r.emailConfirmed,
    pendingEmail: r.pendingEmail,
    firstName: r.firstName,
    lastName: r.lastName,
    accountLevel: r.accountLevel,
    businessId: r.businessId,
    businessLevel: r.businessLevel,
    pictureHash: r.pictureHash,
    pictureSource: r.pictureSource,
    lastSeenAt: r.lastSeenAt,
    createdAt: r.createdAt,
  }
}

const first = (rows: UserRecord[]): UserRecord | null => rows[0] ?? null

export async function findUserById(db: Sql, id: number): Promise<UserRecord | null> {
  return first((await db.query<UserRecord>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.id = $1`, [id])).rows)
}

/** by lower-cased email (`email_key`) */
export async function findUserByEmail(db: Sql, email: string): Promise<UserRecord | null> {
  return first((await db.query<UserRecord>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.email_key = $1`, [email.toLowerCase()])).rows)
}

/** by login or email, case-insensitively (a login cannot contain '@', so at most one matches) */
export async function findUserByLoginOrEmail(db: Sql, loginOrEmail: string): Promise<UserRecord | null> {
  const key = loginOrEmail.trim().toLowerCase()
  return first((await db.query<UserRecord>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.login_key = $1 OR u.email_key = $1 LIMIT 1`, [key])).rows)
}

/** the user signing in by login or email, with their password hash */
export async function findCredentials(db: Sql, loginOrEmail: string): Promise<{ user: UserRecord; passwordHash: string } | null> {
  const key = loginOrEmail.trim().toLowerCase()
  const r = await db.query<UserRecord & { passwordHash: string }>(
    `SELECT ${USER_COLUMNS}, u.password_hash AS "passwordHash" FROM users u WHERE u.login_key = $1 OR u.email_key = $1 LIMIT 1`,
    [key],
  )
  const row = r.rows[0]
  return row ? { user: toUserRecord(row), passwordHash: row.passwordHash } : null
}

export async function passwordHashOf(db: Sql, id: number): Promise<string | null> {
  const r = await db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [id])
  return r.rows[0]?.password_hash ?? null
}

/** the id of the user holding this login (any case), if any */
export async function idByLogin(db: Sql, login: string): Promise<number | null> {
  const r = await db.query<{ id: number }>('SELECT id FROM users WHERE login_key = $1', [login.toLowerCase()])
  return r.rows[0]?.id ?? null
}

/** the login keys (lowercase) that start with `prefix` (any case) */
export async function loginsStartingWith(db: Sql, prefix: string): Promise<Set<string>> {
  const r = await db.query<{ login_key: string }>(
    `SELECT login_key FROM users WHERE left(login_key, length($1)) = $1`,
    [prefix.toLowerCase()],
  )
  return new Set(r.rows.map((x) => x.login_key))
}

/** the id of the user holding this email (any case), if any */
export async function idByEmail(db: Sql, email: string): Promise<number | null> {
  const r = await db.query<{ id: number }>('SELECT id FROM users WHERE email_key = $1', [email.toLowerCase()])
  return r.rows[0]?.id ?? null
}

export type NewUser = {
  login: string
  email: string
  emailConfirmed: string | null
  firstName: string
  lastName: string
  passwordHash: string
  pictureHash: string
  pictureSource: number
}

/** inserts the account (unique violations on login_key / email_key are the caller's to name) */
export async function insertUser(db: Sql, u: NewUser): Promise<UserRecord> {
  const r = await db.query<UserRecord>(
    `INSERT INTO users AS u (login, login_key, email, email_key, email_confirmed, first_name, last_name, password_hash, picture_hash, picture_source)
     VALUES ($1, lower($1), $2, lower($2), $3, $4, $5, $6, $7, $8)
     RETURNING ${USER_COLUMNS}`,
    [u.login, u.email, u.emailConfirmed, u.firstName, u.lastName, u.passwordHash, u.pictureHash, u.pictureSource],
  )
  return r.rows[0]!
}

/** `pendingEmail`: a new address waiting for confirmation, or null to drop the one waiting */
export type ProfileChange = { login?: string; pendingEmail?: string | null; firstName?: string; lastName?: string }

/** sets the given profile fields (login_key follows); null when there is no such user */
export async function updateProfile(db: Sql, id: number, change: ProfileChange): Promise<UserRecord | null> {
  const r = await db.query<UserRecord>(
    `UPDATE users AS u
        SET login = COALESCE($2, login), login_key = lower(COALESCE($2, login)),
            pending_email = CASE WHEN $3::boolean THEN $4 ELSE pending_email END,
            first_name = COALESCE($5, first_name), last_name = COALESCE($6, last_name)
      WHERE u.id = $1
      RETURNING ${USER_COLUMNS}`,
    [id, change.login ?? null, change.pendingEmail !== undefined, change.pendingEmail ?? null, change.firstName ?? null, change.lastName ?? null],
  )
  return first(r.rows)
}

export async function setPasswordHash(db: Sql, id: number, passwordHash: string): Promise<void> {
  await db.query('UPDATE users SET password_hash = $2 WHERE id = $1', [id, passwordHash])
}

/** marks `email` confirmed if it is still the user's address in effect; false when it is not */
export async function confirmEmailAddress(db: Sql, id: number, email: string): Promise<boolean> {
  const r = await db.query('UPDATE users SET email_confirmed = email WHERE id = $1 AND email_key = lower($2)', [id, email])
  return r.rowCount > 0
}

/**
 * The user's pending address, if it is `email`, becomes the address in effect, confirmed;
 * false when it is not pending (replaced or dropped since). A unique violation on email_key
 * means someone holds it now: the caller's to name.
 */
export async function adoptPendingEmail(db: Sql, id: number, email: string): Promise<boolean> {
  const r = await db.query(
    `UPDATE users SET email = pending_email, email_key = lower(pending_email), email_confirmed = pending_email, pending_email = NULL
      WHERE id = $1 AND lower(pending_email) = lower($2)`,
    [id, email],
  )
  return r.rowCount > 0
}

/** locks the user's row (FOR UPDATE) until the transaction ends; false when there is no such user */
export async function lockUserRow(db: Sql, id: number): Promise<boolean> {
  const r = await db.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [id])
  return r.rowCount > 0
}

/** points the user at another avatar */
export async function setPicture(db: Sql, id: number, pictureHash: string, pictureSource: number): Promise<UserRecord | null> {
  const r = await db.query<UserRecord>(
    `UPDATE users AS u SET picture_hash = $2, picture_source = $3 WHERE u.id = $1 RETURNING ${USER_COLUMNS}`,
    [id, pictureHash, pictureSource],
  )
  return first(r.rows)
}

/** the pg error of a unique violation on `users.<column>` (a concurrent sign-up or change) */
export function isUniqueViolation(e: unknown, column: 'login_key' | 'email_key'): boolean {
  const err = e as { code?: string; constraint?: string }
  return err?.code === '23505' && err.constraint === `users_${column}_key`
}
