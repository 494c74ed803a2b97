// Accounts at OpenID Connect providers linked to users (external_accounts, contract §13).
// SQL only: the rules are in ./external.ts.
import type { Sql } from '../platform/db/pool.js'
import { USER_COLUMNS, type UserRecord } from './repository.js'

export type ExternalLink = { provider: string; subject: string; email: string; createdAt: Date }

/** the user the provider's account is linked to */
export async function linkedUserId(db: Sql, provider: string, subject: string): Promise<number | null> {
  const r = await db.query<{ user_id: number }>('SELECT user_id FROM external_accounts WHERE provider = $1 AND subject = $2', [provider, subject])
  return r.rows[0]?.user_id ?? null
}

/** the user's links, by provider */
export async function linksOf(db: Sql, userId: number): Promise<ExternalLink[]> {
  const r = await db.query<ExternalLink>(
    `SELECT provider, subject, email, created_at AS "createdAt" FROM external_accounts WHERE user_id = $1 ORDER BY provider`,
    [userId],
  )
  return r.rows
}

/** links the account → whether it was added; false when the account or the user's provider slot is taken */
export async function insertLink(db: Sql, userId: number, link: { provider: string; subject: string; email: string }): Promise<boolean> {
  const r = await db.query('INSERT INTO external_accounts (user_id, provider, subject, email) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
    userId,
    link.provider,
    link.subject,
    link.email,
  ])
  return (r.rowCount ?? 0) > 0
}

export async function deleteLink(db: Sql, userId: number, provider: string): Promise<boolean> {
  const r = await db.query('DELETE FROM external_accounts WHERE user_id = $1 AND provider = $2', [userId, provider])
  return (r.rowCount ?? 0) > 0
}

/** the user whose confirmed address this is (the one whose current address it also is first) */
export async function userByConfirmedEmail(db: Sql, email: string): Promise<UserRecord | null> {
  const key = email.toLowerCase()
  const r = await db.query<UserRecord>(
    `SELECT ${USER_COLUMNS} FROM users u WHERE lower(u.email_confirmed) = $1 ORDER BY (u.email_key = $1) DESC, u.id LIMIT 1`,
    [key],
  )
  return r.rows[0] ?? null
}

/** the address an invitation token (team or contact) was sent to; undefined for no such token */
export async function invitationEmail(db: Sql, tokenHash: string): Promise<string | null | undefined> {
  const r = await db.query<{ email: string | null }>(
    `SELECT email FROM one_time_tokens WHERE token_hash = $1 AND purpose IN ('team_invitation', 'signup_invitation')`,
    [tokenHash],
  )
  return r.rows.length ? r.rows[0]!.email : undefined
}
