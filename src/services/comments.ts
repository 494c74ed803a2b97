// Comments and the history read (contract §8.2 `/item/comment`, `/item/history`). A comment
// is a comments row, a `comment` history entry carrying its id, the item's last_comment*
// fields (which also mark the item changed for the delta feed: the changed_at trigger), and
// unread = 1 for the other people on the item.
import type { Deps } from '../deps.js'
import { errors } from '../http/errors.js'
import { inTransaction } from '../db/tx.js'
import { formatDate } from '../lib/dates.js'
import type { SessionUser } from './auth.js'
import { getItemForUser, Level } from './permissions.js'
import { historyUserName, recordHistory } from './history.js'
import { markUnread, UNREAD } from './items.js'

export const COMMENT_MAX = 10000

export type CommentView = { id: number; item_id: number; user_id: number; user_name: string; message: string; time_create: string | null }

export async function addComment(deps: Deps, user: SessionUser, itemRef: unknown, message: string, tz: string): Promise<CommentView> {
  if (!message.trim()) throw errors.mandatory('message')
  if (message.length > COMMENT_MAX) throw errors.tooLarge('message', COMMENT_MAX)
  return inTransaction(deps.db.pool, async (client) => {
    // the row lock orders concurrent comments on one item, so last_comment* is the newest
    const { item } = await getItemForUser(deps, user, itemRef, Level.COMMENT, { client, lock: true })
    const userName = await historyUserName(client, user.id)
    const r = await client.query<{ id: number; created_at: Date }>(
      'INSERT INTO comments (item_id, user_id, message) VALUES ($1, $2, $3) RETURNING id, created_at',
      [item.id, user.id, message],
    )
    const c = r.rows[0]!
    await client.query(
      `UPDATE items SET last_comment_id = $2, last_comment = $3, last_comment_user_id = $4, last_comment_at = $5 WHERE id = $1`,
      [item.id, c.id, message, user.id, c.created_at],
    )
    await recordHistory(client, item.id, { id: user.id, name: userName }, [{ property: 'comment', type: 'STRING', value: message, commentId: c.id }])
    // owner, assignee and participants other than the author (a higher unread stays)
    await markUnread(client, item.id, user.id, UNREAD.COMMENT)
    return { id: c.id, item_id: item.id, user_id: user.id, user_name: userName, message, time_create: formatDate(c.created_at, tz) }
  })
}

/**
 * Deletes a comment: its author may, and so may anyone with level 100 on the item. The
 * `comment` history entry loses its text (a deleted comment is not readable anywhere) and a
 * `comment_deleted` entry is added.
 */
export async function deleteComment(deps: Deps, user: SessionUser, commentId: number, itemId: number | undefined) {
  await inTransaction(deps.db.pool, async (client) => {
    const r = await client.query<{ item_id: number; user_id: number }>('SELECT item_id, user_id FROM comments WHERE id = $1', [commentId])
    const c = r.rows[0]
    if (!c || (itemId !== undefined && c.item_id !== itemId)) throw errors.notFound('Comment')
    const { item, level } = await getItemForUser(deps, user, c.item_id, Level.VIEW, { client, lock: true })
    if (c.user_id !== user.id && level < Level.ALL) throw errors.noPermissions('only its author or a user with level 100 may delete a comment')
    await client.query('DELETE FROM comments WHERE id = $1', [commentId])
    await client.query(`UPDATE item_history SET value = NULL WHERE comment_id = $1 AND property_name = 'comment'`, [commentId])
    await recordHistory(client, item.id, { id: user.id }, [{ property: 'comment_deleted', type: 'VOID', commentId }])
    // last_comment* names the newest remaining comment (or nothing); the update marks the item changed
    await client.query(
      `UPDATE items i SET last_comment_id = c.id, last_comment = c.message, last_comment_user_id = c.user_id, last_comment_at = c.created_at
         FROM (SELECT $1::bigint AS item_id) x
         LEFT JOIN LATERAL (SELECT id, message, user_id, created_at FROM comments WHERE item_id = x.item_id ORDER BY id DESC LIMIT 1) c ON true
        WHERE i.id = x.item_id`,
      [item.id],
    )
  })
}

export type HistoryView = {
  id: number
  property_name: string
  property_type: string
  value?: string | null
  time: string | null
  user_id: number
  user_name: string
  comment_id?: number
}

/** `GET /item/history`: oldest first; `value` absent for VOID entries, `comment_id` on comment entries */
export async function itemHistory(deps: Deps, user: SessionUser, itemRef: unknown, tz: string): Promise<HistoryView[]> {
  // an archived item's history can be read too (GET /archive lists it)
  const { item } = await getItemForUser(deps, user, itemRef, Level.VIEW, { archived: true })
  const r = await deps.db.pool.query<{
    id: number
    property_name: string
    property_type: string
    value: string | null
    time: Date
    user_id: number
    user_name: string
    comment_id: number | null
  }>('SELECT id, property_name, property_type, value, time, user_id, user_name, comment_id FROM item_history WHERE item_id = $1 ORDER BY id', [item.id])
  return r.rows.map((h) => ({
    id: h.id,
    property_name: h.property_name,
    property_type: h.property_type,
    ...(h.property_type === 'VOID' ? {} : { value: h.value }),
    time: formatDate(h.time, tz),
    user_id: h.user_id,
    user_name: h.user_name,
    ...(h.comment_id !== null ? { comment_id: h.comment_id } : {}),
  }))
}
