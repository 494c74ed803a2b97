// Tags rows and their links to items (contract §8.1, §9; docs/tags.md). SQL only. A tag is a
// name in a space ('b:<businessId>' or 'u:<ownerId>'); name_key = lower(name) makes names
// case-insensitive within a space.
import type { Sql } from '../platform/db/pool.js'

/** the items principals $N see, with their level: the same subquery as src/items/repository.ts
 *  visibleSql (repositories import only src/platform, so it is repeated here) */
const visible = (param: string) => `(SELECT item_id, max(level)::int AS level FROM item_permissions WHERE principal = ANY(${param}::text[]) GROUP BY item_id)`

/** an item is shared when someone besides its owner is on its list */
const SHARED = `EXISTS (SELECT 1 FROM item_permissions s WHERE s.item_id = i.id AND s.principal <> i.user_id::text)`

export type TagRow = { id: number; name: string; shared: boolean }

/** names of each item's tags, sorted case-insensitively; one query */
export async function tagNamesOfItems(db: Sql, itemIds: number[]): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>()
  if (!itemIds.length) return out
  const r = await db.query<{ item_id: number; name: string }>(
    `SELECT it.item_id, t.name FROM item_tags it JOIN tags t ON t.id = it.tag_id
      WHERE it.item_id = ANY($1::bigint[]) ORDER BY t.name_key`,
    [itemIds],
  )
  for (const row of r.rows) {
    const l = out.get(row.item_id)
    if (l) l.push(row.name)
    else out.set(row.item_id, [row.name])
  }
  return out
}

/**
 * Sets the item's tags to exactly `names` (distinct case-insensitively), creating tag rows in
 * `space` as needed. Two statements: a tag inserted by a concurrent transaction is waited for
 * by ON CONFLICT and visible to the second statement's snapshot (one statement would miss it).
 */
export async function setTagsOfItem(db: Sql, itemId: number, space: string, names: string[]) {
  await db.query(
    `INSERT INTO tags (space, name, name_key) SELECT $1, n, lower(n) FROM unnest($2::text[]) AS n
     ON CONFLICT (space, name_key) DO NOTHING`,
    [space, names],
  )
  await db.query(
    `WITH ids AS (SELECT id FROM tags WHERE space = $2 AND name_key = ANY($3::text[])),
          del AS (DELETE FROM item_tags WHERE item_id = $1 AND NOT (tag_id IN (SELECT id FROM ids)))
     INSERT INTO item_tags (item_id, tag_id) SELECT $1, id FROM ids ON CONFLICT DO NOTHING`,
    [itemId, space, names.map((n) => n.toLowerCase())],
  )
}

/** the tags on non-archived items principals see; shared if on a shared one (GET /tag) */
export async function visibleTags(db: Sql, principals: string[]): Promise<TagRow[]> {
  const r = await db.query<TagRow>(
    `SELECT t.id, t.name, bool_or(${SHARED}) AS shared
       FROM ${visible('$1')} v
       JOIN items i ON i.id = v.item_id AND NOT i.archived
       JOIN item_tags it ON it.item_id = i.id
       JOIN tags t ON t.id = it.tag_id
      WHERE v.level > 0
      GROUP BY t.id, t.name, t.name_key
      ORDER BY t.name_key, t.id`,
    [principals],
  )
  return r.rows
}

/** one tag; shared when on a shared non-archived item principals see */
export async function tagAsSeenBy(db: Sql, principals: string[], tagId: number): Promise<TagRow> {
  const r = await db.query<TagRow>(
    `SELECT t.id, t.name,
            COALESCE((SELECT bool_or(${SHARED}) FROM item_tags it JOIN items i ON i.id = it.item_id
                       JOIN ${visible('$2')} v ON v.item_id = i.id AND v.level > 0
                      WHERE it.tag_id = t.id AND NOT i.archived), false) AS shared
       FROM tags t WHERE t.id = $1`,
    [tagId, principals],
  )
  return r.rows[0]!
}

/** the item's tag named `name` (case-insensitively) */
export async function tagOfItemNamed(db: Sql, itemId: number, name: string): Promise<number | undefined> {
  const r = await db.query<{ id: number }>('SELECT t.id FROM item_tags it JOIN tags t ON t.id = it.tag_id WHERE it.item_id = $1 AND t.name_key = lower($2)', [itemId, name])
  return r.rows[0]?.id
}

/** the tag row in `space` named `name` (case-insensitively), created when absent */
export async function tagInSpace(db: Sql, space: string, name: string): Promise<number> {
  const r = await db.query<{ id: number }>(
    `INSERT INTO tags (space, name, name_key) VALUES ($1, $2, lower($2))
     ON CONFLICT (space, name_key) DO UPDATE SET name = tags.name RETURNING id`,
    [space, name],
  )
  return Number(r.rows[0]!.id)
}

/** another tag of the space with this name key */
export async function otherTagNamed(db: Sql, space: string, nameKey: string, exceptId: number): Promise<number | undefined> {
  const r = await db.query<{ id: number }>('SELECT id FROM tags WHERE space = $1 AND name_key = $2 AND id <> $3', [space, nameKey, exceptId])
  return r.rows[0]?.id
}

export type LockedTag = { id: number; space: string; name_key: string }

export async function lockTag(db: Sql, tagId: number): Promise<LockedTag | undefined> {
  return (await db.query<LockedTag>('SELECT id, space, name_key FROM tags WHERE id = $1 FOR UPDATE', [tagId])).rows[0]
}

/** every item carrying the tag */
export async function itemsWithTag(db: Sql, tagId: number): Promise<number[]> {
  return (await db.query<{ item_id: number }>('SELECT item_id FROM item_tags WHERE tag_id = $1', [tagId])).rows.map((x) => Number(x.item_id))
}

export async function renameTagRow(db: Sql, tagId: number, name: string, nameKey: string) {
  await db.query('UPDATE tags SET name = $2, name_key = $3 WHERE id = $1', [tagId, name, nameKey])
}

export async function linkTag(db: Sql, tagId: number, itemIds: number[]) {
  await db.query('INSERT INTO item_tags (item_id, tag_id) SELECT unnest($1::bigint[]), $2 ON CONFLICT DO NOTHING', [itemIds, tagId])
}

export async function unlinkTag(db: Sql, tagId: number, itemIds: number[]) {
  await db.query('DELETE FROM item_tags WHERE tag_id = $1 AND item_id = ANY($2::bigint[])', [tagId, itemIds])
}

export async function deleteTagIfUnused(db: Sql, tagId: number) {
  await db.query('DELETE FROM tags t WHERE t.id = $1 AND NOT EXISTS (SELECT 1 FROM item_tags it WHERE it.tag_id = t.id)', [tagId])
}
