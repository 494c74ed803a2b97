// avatars: one 200x200 PNG per hash. SQL only: the rules (a new hash for every picture, the
// sizes served) are in src/avatars/service.ts.
import type { Sql } from '../platform/db/pool.js'

export async function insertAvatar(db: Sql, a: { hash: string; userId: number; source: number; image: Buffer }): Promise<void> {
  await db.query('INSERT INTO avatars (hash, user_id, source, image) VALUES ($1, $2, $3, $4)', [a.hash, a.userId, a.source, a.image])
}

export async function deleteAvatarsOf(db: Sql, userId: number): Promise<void> {
  await db.query('DELETE FROM avatars WHERE user_id = $1', [userId])
}

/** the stored PNG of a hash, or null; only a user's current picture is served, never one it replaced */
export async function avatarImage(db: Sql, hash: string): Promise<Buffer | null> {
  const r = await db.query<{ image: Buffer }>('SELECT a.image FROM avatars a JOIN users u ON u.id = a.user_id AND u.picture_hash = a.hash WHERE a.hash = $1', [hash])
  return r.rows[0]?.image ?? null
}
