// SQL of the calendar feed (contract §11): the feed address of a user and the owner of an
// address. The items themselves are read with the export's keyset batches (src/export/service.ts
// visibleItemBatches), the owner's alerts on them by items/user-state-repository.ts alertsOf.
import type { Sql } from '../platform/db/pool.js'
import type { AlertRow } from '../items/user-state-repository.js'

export type FeedRow = { nonce: string; token_hash: string }

export async function feedOf(db: Sql, userId: number): Promise<FeedRow | null> {
  const r = await db.query<FeedRow>('SELECT nonce, token_hash FROM calendar_feeds WHERE user_id = $1', [userId])
  return r.rows[0] ?? null
}

/** the user's feed row: the existing one, else this new one (a concurrent first call keeps the winner's) */
export async function ensureFeed(db: Sql, userId: number, nonce: string, tokenHash: string): Promise<FeedRow> {
  const r = await db.query<FeedRow>(
    `WITH ins AS (INSERT INTO calendar_feeds (user_id, nonce, token_hash) VALUES ($1, $2, $3)
                  ON CONFLICT (user_id) DO NOTHING RETURNING nonce, token_hash)
     SELECT nonce, token_hash FROM ins UNION ALL SELECT nonce, token_hash FROM calendar_feeds WHERE user_id = $1 LIMIT 1`,
    [userId, nonce, tokenHash],
  )
  return r.rows[0]!
}

/** sets the user's feed to this nonce and token (a reset, or a token re-derived under a new server secret) */
export async function setFeed(db: Sql, userId: number, nonce: string, tokenHash: string): Promise<void> {
  await db.query(
    `INSERT INTO calendar_feeds (user_id, nonce, token_hash) VALUES ($1, $2, $3)
     ON CONFLICT (user_id) DO UPDATE SET nonce = EXCLUDED.nonce, token_hash = EXCLUDED.token_hash, created_at = now()`,
    [userId, nonce, tokenHash],
  )
}

export type FeedOwner = { user_id: number; time_zone: string | null }

/**
 * The owner of a feed token, with their time_zone preference (JSON text). One query; null for
 * an unknown token. (The owner's principals: items/permission-repository.ts userPrincipals.)
 */
export async function ownerOfToken(db: Sql, tokenHash: string): Promise<FeedOwner | null> {
  const r = await db.query<FeedOwner>(
    `SELECT f.user_id,
            (SELECT value FROM user_preferences p WHERE p.user_id = f.user_id AND p.key = 'time_zone') AS time_zone
       FROM calendar_feeds f
      WHERE f.token_hash = $1`,
    [tokenHash],
  )
  const row = r.rows[0]
  return row ? { ...row, user_id: Number(row.user_id) } : null
}

/** what the feed writes of an alert (the rows are items/user-state-repository.ts alertsOf's) */
export type AlarmRow = Pick<AlertRow, 'item_id' | 'time_type' | 'time' | 'time_specified' | 'repeat' | 'repeat_interval'>
