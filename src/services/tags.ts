// The /tag methods (contract §9). Tag rows live in a space ('b:<businessId>' for items of a
// team, 'u:<ownerId>' otherwise, see tags-on-items.ts) and are linked to items by item_tags.
// What a caller can list, rename or delete is limited to the items they can see: a tag row
// shared by a team is never renamed on items the caller cannot see. Decisions: docs/tags.md.
import type { Deps } from '../deps.js'
import type { SessionUser } from './auth.js'
import { errors } from '../http/errors.js'
import { inTransaction } from '../db/tx.js'
import type { Queryable } from './access.js'
import { getItemForUser, Level, principalsFor, visibleSql } from './permissions.js'
import { tagSpaceOf, tagsOfItems } from './tags-on-items.js'
import { historyUserName, recordHistory } from './history.js'
import { markUnread, UNREAD } from './items.js'

type TagView = { id: number; name: string; shared: boolean }

/** an item is shared when someone besides its owner is on its list */
const SHARED = `EXISTS (SELECT 1 FROM item_permissions s WHERE s.item_id = i.id AND s.principal <> i.user_id::text)`

/** GET /tag: the tags on non-archived items the caller can see; shared if on a shared one */
export async function listTags(deps: Deps, user: SessionUser): Promise<TagView[]> {
  const principals = await principalsFor(deps, user)
  const r = await deps.db.pool.query<TagView>(
    `SELECT t.id, t.name, bool_or(${SHARED}) AS shared
       FROM ${visibleSql('$1')} v
       JOIN items i ON i.id = v.item_id AND NOT i.archived
       JOIN item_tags it ON it.item_id = i.id
       JOIN tags t ON t.id = it.tag_id
      WHERE v.level > 0
      GROUP BY t.id, t.name, t.name_key
      ORDER BY t.name_key, t.id`,
    [principals],
  )
  return r.rows.map((x) => ({ id: Number(x.id), name: x.name, shared: x.shared }))
}

async function tagView(q: Queryable, principals: string[], tagId: number): Promise<TagView> {
  const r = await q.query<TagView>(
    `SELECT t.id, t.name,
            COALESCE((SELECT bool_or(${SHARED}) FROM item_tags it JOIN items i ON i.id = it.item_id
                       JOIN ${visibleSql('$2')} v ON v.item_id = i.id AND v.level > 0
                      WHERE it.tag_id = t.id AND NOT i.archived), false) AS shared
       FROM tags t WHERE t.id = $1`,
    [tagId, principals],
  )
  const t = r.rows[0]!
  return { id: Number(t.id), name: t.name, shared: t.shared }
}

/** the tag row in `space` named `name` (case-insensitively), created when absent */
async function tagIn(q: Queryable, space: string, name: string): Promise<number> {
  const r = await q.query<{ id: number }>(
    `INSERT INTO tags (space, name, name_key) VALUES ($1, $2, lower($2))
     ON CONFLICT (space, name_key) DO UPDATE SET name = tags.name RETURNING id`,
    [space, name],
  )
  return Number(r.rows[0]!.id)
}

/**
 * The items whose tags changed: a new version (the update trigger moves changed_at, so the
 * delta feed reports them), a `tag` history entry with the new list, unread for the others.
 */
async function tagsChanged(q: Queryable, userId: number, itemIds: number[]) {
  if (!itemIds.length) return
  await q.query('UPDATE items SET version = version + 1, time_last_update = now() WHERE id = ANY($1::bigint[])', [itemIds])
  const tags = await tagsOfItems(q, itemIds)
  // one history statement per distinct tag list (usually one), one unread statement in all
  const byList = new Map<string, number[]>()
  for (const id of itemIds) {
    const list = (tags.get(id) ?? []).join(',')
    byList.set(list, [...(byList.get(list) ?? []), id])
  }
  const name = await historyUserName(q, userId)
  for (const [value, ids] of byList) await recordHistory(q, ids, { id: userId, name }, [{ property: 'tag', type: 'STRING', value }])
  await markUnread(q, itemIds, userId, UNREAD.MODIFIED)
}

/** POST /tag: the tag is added to the item (level 60); a name the item already has changes nothing */
export async function addTag(deps: Deps, user: SessionUser, itemRef: string, nameIn: string): Promise<TagView> {
  const name = nameIn.trim()
  if (!name) throw errors.mandatory('name')
  return inTransaction(deps.db.pool, async (q) => {
    const { item } = await getItemForUser(deps, user, itemRef, Level.MODIFY, { client: q, lock: true })
    const principals = await principalsFor(deps, user, q)
    const has = await q.query<{ id: number }>(
      'SELECT t.id FROM item_tags it JOIN tags t ON t.id = it.tag_id WHERE it.item_id = $1 AND t.name_key = lower($2)',
      [item.id, name],
    )
    if (has.rows[0]) return tagView(q, principals, Number(has.rows[0].id))
    const tagId = await tagIn(q, tagSpaceOf(item), name)
    await q.query('INSERT INTO item_tags (item_id, tag_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [item.id, tagId])
    await tagsChanged(q, user.id, [Number(item.id)])
    return tagView(q, principals, tagId)
  })
}

type TagOnItems = { tag: { id: number; space: string; name_key: string }; mine: number[]; hidden: number }

/**
 * The tag and the items carrying it that the caller can see (archived ones included, so a
 * restored item has the new name): 404/1 when there are none, 403/3 when any of them is below
 * level 60 (nothing is changed then).
 */
async function tagForChange(deps: Deps, user: SessionUser, q: Queryable, tagId: number): Promise<TagOnItems> {
  const t = await q.query<{ id: number; space: string; name_key: string }>('SELECT id, space, name_key FROM tags WHERE id = $1 FOR UPDATE', [tagId])
  if (!t.rows[0]) throw errors.notFound('Tag')
  const principals = await principalsFor(deps, user, q)
  const r = await q.query<{ item_id: number; level: number }>(
    `SELECT it.item_id, COALESCE(v.level, 0) AS level
       FROM item_tags it LEFT JOIN ${visibleSql('$2')} v ON v.item_id = it.item_id
      WHERE it.tag_id = $1`,
    [tagId, principals],
  )
  const seen = r.rows.filter((x) => x.level > 0)
  if (!seen.length) throw errors.notFound('Tag')
  if (seen.some((x) => x.level < Level.MODIFY)) throw errors.noPermissions('to change this tag: it is on items you may not modify')
  return { tag: t.rows[0], mine: seen.map((x) => Number(x.item_id)), hidden: r.rows.length - seen.length }
}

/** moves the links of `itemIds` from one tag to another; deletes the old row when unused */
async function relink(q: Queryable, fromTag: number, toTag: number | null, itemIds: number[]) {
  if (toTag !== null) {
    await q.query('INSERT INTO item_tags (item_id, tag_id) SELECT unnest($1::bigint[]), $2 ON CONFLICT DO NOTHING', [itemIds, toTag])
  }
  await q.query('DELETE FROM item_tags WHERE tag_id = $1 AND item_id = ANY($2::bigint[])', [fromTag, itemIds])
  await q.query('DELETE FROM tags t WHERE t.id = $1 AND NOT EXISTS (SELECT 1 FROM item_tags it WHERE it.tag_id = t.id)', [fromTag])
}

/**
 * PUT /tag/{id}: renamed on every item the caller can see. The row is renamed in place (same
 * id) when no one else's items share it; otherwise the caller's items move to a row with the
 * new name (merging with an existing tag of that name), and the others keep the old one.
 */
export async function renameTag(deps: Deps, user: SessionUser, tagId: number, nameIn: string): Promise<TagView> {
  const name = nameIn.trim()
  if (!name) throw errors.mandatory('name')
  return inTransaction(deps.db.pool, async (q) => {
    const { tag, mine, hidden } = await tagForChange(deps, user, q, tagId)
    const principals = await principalsFor(deps, user, q)
    const key = name.toLowerCase()
    const other = await q.query<{ id: number }>('SELECT id FROM tags WHERE space = $1 AND name_key = $2 AND id <> $3', [tag.space, key, tag.id])
    let target = Number(tag.id)
    if (key === tag.name_key || (!hidden && !other.rows[0])) {
      await q.query('UPDATE tags SET name = $2, name_key = $3 WHERE id = $1', [tag.id, name, key])
    } else {
      target = await tagIn(q, tag.space, name)
      await relink(q, Number(tag.id), target, mine)
    }
    await tagsChanged(q, user.id, mine)
    return tagView(q, principals, target)
  })
}

/** DELETE /tag/{id}: removed from every item the caller can see */
export async function deleteTag(deps: Deps, user: SessionUser, tagId: number) {
  await inTransaction(deps.db.pool, async (q) => {
    const { tag, mine } = await tagForChange(deps, user, q, tagId)
    await relink(q, Number(tag.id), null, mine)
    await tagsChanged(q, user.id, mine)
  })
}
