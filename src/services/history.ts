// Item history (contract §8.2 `GET /item/history`): one typed row per created item and per
// changed field, written by the caller in the SAME transaction as the change, so history
// never claims a change that was rolled back.
//
// Exported for other modules (stable):
//   recordHistory(client, itemId | itemIds, user, entries)  user: {id} (name looked up) or {id, name}
//   historyUserName(client, userId)               "First Last", else the login
import type { Queryable } from './access.js'

export type HistoryType = 'VOID' | 'STRING' | 'INTEGER' | 'DATE' | 'BOOLEAN'
export type HistoryEntry = {
  property: string
  type: HistoryType
  /** the new value as text; null for VOID */
  value?: string | null
  commentId?: number | null
}

export async function historyUserName(db: Queryable, userId: number): Promise<string> {
  const r = await db.query<{ name: string }>(
    `SELECT COALESCE(NULLIF(btrim(first_name || ' ' || last_name), ''), login) AS name FROM users WHERE id = $1`,
    [userId],
  )
  return r.rows[0]?.name ?? String(userId)
}

/** Writes the entries in order (ids ascending = oldest first), on one item or on each of a
 *  list of items (one statement for the list: e.g. every descendant a cascade completed). */
export async function recordHistory(
  client: Queryable,
  itemIds: number | number[],
  user: { id: number; name?: string },
  entries: HistoryEntry[],
): Promise<void> {
  const ids = Array.isArray(itemIds) ? itemIds : [itemIds]
  if (!entries.length || !ids.length) return
  const name = user.name ?? (await historyUserName(client, user.id))
  await client.query(
    `INSERT INTO item_history (item_id, user_id, user_name, property_name, property_type, value, comment_id)
     SELECT i.id, $2, $3, e.p, e.t, e.v, e.c
       FROM unnest($1::bigint[]) WITH ORDINALITY AS i(id, k)
            CROSS JOIN unnest($4::text[], $5::text[], $6::text[], $7::bigint[]) WITH ORDINALITY AS e(p, t, v, c, n)
      ORDER BY i.k, e.n`,
    [
      ids,
      user.id,
      name,
      entries.map((e) => e.property),
      entries.map((e) => e.type),
      entries.map((e) => (e.type === 'VOID' ? null : (e.value ?? null))),
      entries.map((e) => e.commentId ?? null),
    ],
  )
}
