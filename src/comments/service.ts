// Comments and the history read (contract §8.2 `/item/comment`, `/item/history`). A comment
// is a comments row, a `comment` history entry carrying its id, the item's last_comment*
// fields (which also mark the item changed for the delta feed: the changed_at trigger), and
// unread = 1 for the other people on the item.
import type { Deps } from '../deps.js'
import type { SessionUser } from '../users/sessions.js'
import { errors } from '../platform/errors.js'
import { formatDate } from '../platform/dates.js'
import { Level, requireItem } from '../items/access.js'
import { markUnread, UNREAD } from '../items/user-state-repository.js'
import { historyUserName, recordHistory } from './history.js'
import type { Rendered } from '../platform/responses.js'
import type { CommentView as CommentShape, HistoryView as HistoryShape } from './schemas.js'
import { blankCommentHistory, commentById, deleteCommentRow, historyOf, insertComment, insertCommentHistory, setLastComment, setLastCommentToNewest } from './repository.js'

export const COMMENT_MAX = 10000

/** the shapes of schemas.ts, as written here (literal values widened) */
export type CommentView = Rendered<CommentShape>
export type HistoryView = Rendered<HistoryShape>

export async function addComment(deps: Deps, user: SessionUser, itemRef: unknown, message: string, tz: string): Promise<CommentView> {
  if (!message.trim()) throw errors.mandatory('message')
  if (message.length > COMMENT_MAX) throw errors.tooLarge('message', COMMENT_MAX)
  return deps.db.tx(async (tx) => {
    // the row lock orders concurrent comments on one item, so last_comment* is the newest
    const item = await requireItem(tx, user, itemRef, Level.COMMENT, { lock: true })
    const userName = await historyUserName(tx, user.id)
    const c = await insertComment(tx, item.id, user.id, message)
    await setLastComment(tx, item.id, { id: c.id, message, user_id: user.id, created_at: c.created_at })
    // the entry's id is the comment's: the web client deletes a comment by it
    await insertCommentHistory(tx, item.id, { id: user.id, name: userName }, { id: c.id, message })
    // owner, assignee and participants other than the author (a higher unread stays)
    await markUnread(tx, item.id, user.id, UNREAD.COMMENT)
    return { id: c.id, item_id: item.id, user_id: user.id, user_name: userName, message, time_create: formatDate(c.created_at, tz) }
  })
}

/**
 * Deletes a comment: its author may, and so may anyone with level 100 on the item. The
 * `comment` history entry loses its text (a deleted comment is not readable anywhere) and a
 * `comment_deleted` entry is added.
 */
export async function deleteComment(deps: Deps, user: SessionUser, commentId: number, itemId: number | undefined) {
  await deps.db.tx(async (tx) => {
    const c = await commentById(tx, commentId)
    if (!c || (itemId !== undefined && c.item_id !== itemId)) throw errors.notFound('Comment')
    const item = await requireItem(tx, user, c.item_id, Level.VIEW, { lock: true })
    if (c.user_id !== user.id && item.level < Level.ALL) throw errors.noPermissions('only its author or a user with level 100 may delete a comment')
    await deleteCommentRow(tx, commentId)
    await blankCommentHistory(tx, commentId)
    await recordHistory(tx, item.id, { id: user.id }, [{ property: 'comment_deleted', type: 'VOID', commentId }])
    // last_comment* names the newest remaining comment (or nothing); the update marks the item changed
    await setLastCommentToNewest(tx, item.id)
  })
}

/** `GET /item/history`: oldest first; `value` absent for VOID entries, `comment_id` on comment entries */
export async function itemHistory(deps: Deps, user: SessionUser, itemRef: unknown, tz: string): Promise<HistoryView[]> {
  // an archived item's history can be read too (GET /archive lists it)
  const item = await requireItem(deps.db, user, itemRef, Level.VIEW, { archived: true })
  const rows = await historyOf(deps.db, item.id)
  return rows.map((h) => ({
    // a comment entry is named by its comment (contract §8.2): DELETE /item/comment takes it
    id: h.property_name === 'comment' && h.comment_id !== null ? h.comment_id : h.id,
    property_name: h.property_name,
    property_type: h.property_type,
    ...(h.property_type === 'VOID' ? {} : { value: h.value }),
    time: formatDate(h.time, tz),
    user_id: h.user_id,
    user_name: h.user_name,
    ...(h.comment_id !== null ? { comment_id: h.comment_id } : {}),
  }))
}
