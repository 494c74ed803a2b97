// One-time tokens (one_time_tokens): SQL only. Stored by the sha256 of the token; the rules
// (lifetime, the emails that carry them) are in src/users/tokens.ts.
import type { Sql } from '../platform/db/pool.js'

export type NewToken = {
  tokenHash: string
  purpose: string
  userId: number | null
  email: string | null
  invitationId: number | null
  expiresAt: Date
}

export async function insertToken(db: Sql, t: NewToken): Promise<void> {
  await db.query(
    'INSERT INTO one_time_tokens (token_hash, purpose, user_id, email, invitation_id, expires_at) VALUES ($1, $2, $3, $4, $5, $6)',
    [t.tokenHash, t.purpose, t.userId, t.email, t.invitationId, t.expiresAt],
  )
}

export type UsedToken = { id: number; userId: number | null; email: string | null; invitationId: number | null }

/**
 * Marks the token used if it is unused and unexpired, and returns it; null otherwise. One
 * conditional UPDATE, so two concurrent uses cannot both succeed.
 */
export async function useToken(db: Sql, tokenHash: string, purpose: string): Promise<UsedToken | null> {
  const r = await db.query<UsedToken>(
    `UPDATE one_time_tokens SET used_at = now()
      WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
      RETURNING id, user_id AS "userId", email, invitation_id AS "invitationId"`,
    [tokenHash, purpose],
  )
  return r.rows[0] ?? null
}

/** whether a token exists and when it was used (null: unused) */
export async function findTokenUse(db: Sql, tokenHash: string, purpose: string): Promise<{ usedAt: Date | null } | null> {
  const r = await db.query<{ usedAt: Date | null }>('SELECT used_at AS "usedAt" FROM one_time_tokens WHERE token_hash = $1 AND purpose = $2', [tokenHash, purpose])
  return r.rows[0] ?? null
}

/** the user's unused, unexpired tokens of `purpose` expire now */
export async function revokeTokens(db: Sql, userId: number, purpose: string): Promise<void> {
  await db.query('UPDATE one_time_tokens SET expires_at = now() WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()', [userId, purpose])
}
