// Item history (contract §8.2 `GET /item/history`): one typed row per created item and per
// changed field, written by the caller in the SAME transaction as the change, so history
// never claims a change that was rolled back.
//
// Exported for other modules (stable):
//   recordHistory(db, itemId | itemIds, user, entries)  user: {id} (name looked up) or {id, name}
//   historyUserName(db, userId)                          "First Last", else the login
import type { Sql } from '../platform/db/pool.js'
import { displayNameOf, insertHistory } from './repository.js'

export type HistoryType = 'VOID' | 'STRING' | 'INTEGER' | 'DATE' | 'BOOLEAN'
export type HistoryEntry = {
  property: string
  type: HistoryType
  /** the new value as text; null for VOID */
  value?: string | null
  commentId?: number | null
}

/** the name history stores for a user at the time of a change (their id when they are gone) */
export async function historyUserName(db: Sql, userId: number): Promise<string> {
  return (await displayNameOf(db, userId)) ?? String(userId)
}

/** Writes the entries in order (ids ascending = oldest first), on one item or on each of a
 *  list of items (one statement for the list: e.g. every descendant a cascade completed). */
export async function recordHistory(db: Sql, itemIds: number | number[], user: { id: number; name?: string }, entries: HistoryEntry[]): Promise<void> {
  const ids = Array.isArray(itemIds) ? itemIds : [itemIds]
  if (!entries.length || !ids.length) return
  const name = user.name ?? (await historyUserName(db, user.id))
  const rows = entries.map((e) => ({ property: e.property, type: e.type, value: e.type === 'VOID' ? null : (e.value ?? null), commentId: e.commentId ?? null }))
  await insertHistory(db, ids, { id: user.id, name }, rows)
}
