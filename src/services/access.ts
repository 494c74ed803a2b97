// Who can see what, the primitives every item-related service shares (contract §8.3).
// item_permissions holds every item's full effective list (kept right on write, see
// services/permissions.ts), so reads never recurse: a user's level on an item is the max over
// the rows for their principals: their own id and their groups' ids.
import type pg from 'pg'

/** anything with a pg-style query(): the pool, or a client inside a transaction */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>

export const LEVELS = [0, 10, 20, 30, 40, 50, 60, 70, 80, 100] as const
export type Level = (typeof LEVELS)[number]
export const Level = { NONE: 0, VIEW: 10, COMMENT: 20, ADD: 30, ASSIGN: 40, COMPLETE: 50, MODIFY: 60, SHARE: 70, ARCHIVE: 80, ALL: 100 } as const

/** the principals a user acts as: their id (as text) and the ids of their groups */
export async function principalsOf(db: Queryable, userId: number): Promise<string[]> {
  const r = await db.query<{ group_id: string }>('SELECT group_id FROM group_members WHERE user_id = $1', [userId])
  return [String(userId), ...r.rows.map((x) => x.group_id)]
}

/** the user's effective level on each of `itemIds` (absent: 0); one query */
export async function levelsOn(db: Queryable, principals: string[], itemIds: number[]): Promise<Map<number, number>> {
  if (!itemIds.length) return new Map()
  const r = await db.query<{ item_id: number; level: number }>(
    `SELECT item_id, max(level)::int AS level FROM item_permissions
      WHERE principal = ANY($1::text[]) AND item_id = ANY($2::bigint[]) GROUP BY item_id`,
    [principals, itemIds],
  )
  return new Map(r.rows.map((x) => [Number(x.item_id), x.level]))
}

export async function levelOn(db: Queryable, principals: string[], itemId: number): Promise<number> {
  return (await levelsOn(db, principals, [itemId])).get(itemId) ?? 0
}

/**
 * Marks items as changed for the delta feed (a trigger sets changed_at = now()), e.g. after a
 * comment or a permission change that edits no column of the item row.
 */
export async function touchItems(db: Queryable, itemIds: number[]) {
  if (!itemIds.length) return
  await db.query('UPDATE items SET changed_at = now() WHERE id = ANY($1::bigint[])', [itemIds])
}

/**
 * Marks that what these users can see changed without any item changing (group or team
 * membership): their next delta treats every visible item as changed.
 */
export async function touchVisibility(db: Queryable, userIds: number[]) {
  if (!userIds.length) return
  await db.query('UPDATE users SET visibility_changed_at = now() WHERE id = ANY($1::bigint[])', [userIds])
}
