// Comments and item history rows (contract §8.2 `/item/comment`, `/item/history`). SQL only:
// the rules are in service.ts and history.ts.
import type { Sql } from '../platform/db/pool.js'

/** a user as history names them: "First Last", else the login */
export async function displayNameOf(db: Sql, userId: number): Promise<string | undefined> {
  const r = await db.query<{ name: string }>(`SELECT COALESCE(NULLIF(btrim(first_name || ' ' || last_name), ''), login) AS name FROM users WHERE id = $1`, [userId])
  return r.rows[0]?.name
}

export type HistoryRowInput = { property: string; type: string; value: string | null; commentId: number | null }

/** the entries on each of the items, in order (ids ascending = oldest first); one statement */
export async function insertHistory(db: Sql, itemIds: number[], user: { id: number; name: string }, entries: HistoryRowInput[]) {
  await db.query(
    `INSERT INTO item_history (item_id, user_id, user_name, property_name, property_type, value, comment_id)
     SELECT i.id, $2, $3, e.p, e.t, e.v, e.c
       FROM unnest($1::bigint[]) WITH ORDINALITY AS i(id, k)
            CROSS JOIN unnest($4::text[], $5::text[], $6::text[], $7::bigint[]) WITH ORDINALITY AS e(p, t, v, c, n)
      ORDER BY i.k, e.n`,
    [itemIds, user.id, user.name, entries.map((e) => e.property), entries.map((e) => e.type), entries.map((e) => e.value), entries.map((e) => e.commentId)],
  )
}

/** a comment's `comment` history entry, written with the comment's own id (both come from
 *  item_history's sequence, so no other entry has it: docs/comments.md) */
export async function insertCommentHistory(db: Sql, itemId: number, user: { id: number; name: string }, comment: { id: number; message: string }) {
  await db.query(
    `INSERT INTO item_history (id, item_id, user_id, user_name, property_name, property_type, value, comment_id)
     VALUES ($1, $2, $3, $4, 'comment', 'STRING', $5, $1)`,
    [comment.id, itemId, user.id, user.name, comment.message],
  )
}

export type HistoryRow = {
  id: number
  property_name: string
  property_type: string
  value: string | null
  time: Date
  user_id: number
  user_name: string
  comment_id: number | null
}

/** an item's history, oldest first */
export async function historyOf(db: Sql, itemId: number): Promise<HistoryRow[]> {
  const r = await db.query<HistoryRow>('SELECT id, property_name, property_type, value, time, user_id, user_name, comment_id FROM item_history WHERE item_id = $1 ORDER BY id', [itemId])
  return r.rows
}

export async function insertComment(db: Sql, itemId: number, userId: number, message: string): Promise<{ id: number; created_at: Date }> {
  const r = await db.query<{ id: number; created_at: Date }>('INSERT INTO comments (item_id, user_id, message) VALUES ($1, $2, $3) RETURNING id, created_at', [itemId, userId, message])
  return r.rows[0]!
}

export async function commentById(db: Sql, commentId: number): Promise<{ item_id: number; user_id: number } | undefined> {
  return (await db.query<{ item_id: number; user_id: number }>('SELECT item_id, user_id FROM comments WHERE id = $1', [commentId])).rows[0]
}

export async function deleteCommentRow(db: Sql, commentId: number) {
  await db.query('DELETE FROM comments WHERE id = $1', [commentId])
}

/** the `comment` history entry of a deleted comment loses its text */
export async function blankCommentHistory(db: Sql, commentId: number) {
  await db.query(`UPDATE item_history SET value = NULL WHERE comment_id = $1 AND property_name = 'comment'`, [commentId])
}

/** the item's last_comment* fields name this comment (the update marks the item changed) */
export async function setLastComment(db: Sql, itemId: number, c: { id: number; message: string; user_id: number; created_at: Date }) {
  await db.query(`UPDATE items SET last_comment_id = $2, last_comment = $3, last_comment_user_id = $4, last_comment_at = $5 WHERE id = $1`, [itemId, c.id, c.message, c.user_id, c.created_at])
}

/** the item's last_comment* fields name its newest remaining comment, or nothing */
export async function setLastCommentToNewest(db: Sql, itemId: number) {
  await db.query(
    `UPDATE items i SET last_comment_id = c.id, last_comment = c.message, last_comment_user_id = c.user_id, last_comment_at = c.created_at
       FROM (SELECT $1::bigint AS item_id) x
       LEFT JOIN LATERAL (SELECT id, message, user_id, created_at FROM comments WHERE item_id = x.item_id ORDER BY id DESC LIMIT 1) c ON true
      WHERE i.id = x.item_id`,
    [itemId],
  )
}
