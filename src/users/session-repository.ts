// Sessions and users' own API keys: SQL only. Both are stored by the sha256 of the secret
// (src/users/sessions.ts holds the rules: binding to the key, idle expiry, one key per user).
import type { Sql } from '../platform/db/pool.js'

// ---- sessions

export async function insertSession(db: Sql, idHash: string, userId: number, apiKeyHash: string): Promise<void> {
  await db.query('INSERT INTO sessions (id_hash, user_id, api_key_hash) VALUES ($1, $2, $3)', [idHash, userId, apiKeyHash])
}

/** what a request needs of its session, in one query */
export type SessionLookup = {
  user_id: number
  api_key_hash: string
  /** ms since the session was last used */
  idle_ms: number
  business_id: number | null
  business_level: number | null
  /** the user's time_zone preference (JSON text), if set */
  tz: string | null
  /** last_used_at or the user's last_seen_at is over a minute old: worth writing again */
  touch: boolean
  /** the API key that created the session is a user's key that still exists */
  user_key: boolean
}

export async function lookupSession(db: Sql, idHash: string): Promise<SessionLookup | null> {
  const r = await db.query<SessionLookup>(
    `SELECT s.user_id, s.api_key_hash, u.business_id, u.business_level,
            (extract(epoch FROM clock_timestamp() - s.last_used_at) * 1000)::float8 AS idle_ms,
            (s.last_used_at < clock_timestamp() - interval '1 minute'
              OR u.last_seen_at IS NULL OR u.last_seen_at < clock_timestamp() - interval '1 minute') AS touch,
            (SELECT value FROM user_preferences p WHERE p.user_id = s.user_id AND p.key = 'time_zone') AS tz,
            EXISTS (SELECT 1 FROM api_keys k WHERE k.key_hash = s.api_key_hash) AS user_key
       FROM sessions s JOIN users u ON u.id = s.user_id
      WHERE s.id_hash = $1`,
    [idHash],
    // every authenticated request runs it: prepared once per connection, its planning (~200 µs
    // of database CPU unnamed) is paid once (docs/performance.md "Creating items")
    'session_lookup',
  )
  return r.rows[0] ?? null
}

/** the session's last_used_at and its user's last_seen_at become now, in one statement */
export async function touchSession(db: Sql, idHash: string): Promise<void> {
  await db.query(
    `WITH s AS (UPDATE sessions SET last_used_at = clock_timestamp() WHERE id_hash = $1 RETURNING user_id)
     UPDATE users SET last_seen_at = clock_timestamp() WHERE id = (SELECT user_id FROM s)`,
    [idHash],
  )
}

export async function deleteSession(db: Sql, idHash: string): Promise<void> {
  await db.query('DELETE FROM sessions WHERE id_hash = $1', [idHash])
}

/** every session of the user, except `keepHash` when given */
export async function deleteUserSessions(db: Sql, userId: number, keepHash: string | null): Promise<void> {
  await db.query('DELETE FROM sessions WHERE user_id = $1 AND ($2::text IS NULL OR id_hash <> $2)', [userId, keepHash])
}

// ---- a user's own API key (one per user: api_keys.user_id is unique)

export type ApiKeyRow = { name: string; prefix: string; createdAt: Date }

export async function apiKeyExists(db: Sql, keyHash: string): Promise<boolean> {
  const r = await db.query('SELECT 1 FROM api_keys WHERE key_hash = $1', [keyHash])
  return r.rowCount > 0
}

export async function findApiKeyOf(db: Sql, userId: number): Promise<ApiKeyRow | null> {
  const r = await db.query<ApiKeyRow>('SELECT name, prefix, created_at AS "createdAt" FROM api_keys WHERE user_id = $1', [userId])
  return r.rows[0] ?? null
}

/** false when the user has a key already (the unique user_id, so concurrent creates cannot both win) */
export async function insertApiKey(db: Sql, userId: number, key: { name: string; keyHash: string; prefix: string }): Promise<boolean> {
  const r = await db.query(
    'INSERT INTO api_keys (user_id, name, key_hash, prefix) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO NOTHING',
    [userId, key.name, key.keyHash, key.prefix],
  )
  return r.rowCount > 0
}

/** false when the user had no key */
export async function deleteApiKeyOf(db: Sql, userId: number): Promise<boolean> {
  const r = await db.query('DELETE FROM api_keys WHERE user_id = $1', [userId])
  return r.rowCount > 0
}
