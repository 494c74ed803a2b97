// user_preferences: one row per (user, key), the value as JSON text. SQL only: the keys,
// their types and defaults are in src/users/preferences.ts.
import type { Sql } from '../platform/db/pool.js'

export async function preferencesOf(db: Sql, userId: number): Promise<Array<{ key: string; value: string }>> {
  return (await db.query<{ key: string; value: string }>('SELECT key, value FROM user_preferences WHERE user_id = $1', [userId])).rows
}

/** the stored JSON text of one preference, or null when unset */
export async function preferenceOf(db: Sql, userId: number, key: string): Promise<string | null> {
  const r = await db.query<{ value: string }>('SELECT value FROM user_preferences WHERE user_id = $1 AND key = $2', [userId, key])
  return r.rows[0]?.value ?? null
}

/** stores every pair in one statement (all or nothing); keys must be distinct */
export async function upsertPreferences(db: Sql, userId: number, pairs: ReadonlyArray<readonly [key: string, value: string]>): Promise<void> {
  if (!pairs.length) return
  await db.query(
    `INSERT INTO user_preferences (user_id, key, value)
     SELECT $1, p.key, p.value FROM unnest($2::text[], $3::text[]) AS p(key, value)
     ON CONFLICT (user_id, key) DO UPDATE SET value = EXCLUDED.value`,
    [userId, pairs.map(([k]) => k), pairs.map(([, v]) => v)],
  )
}
