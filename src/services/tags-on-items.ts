// Tags on items (contract §8.1, §9): a tag is a name in a space, 'b:<businessId>' for items of
// an owner in a team, else 'u:<ownerId>' (items.business_id is the owner's team at create);
// name_key = lower(name) makes names case-insensitive within a space. The /tag routes live
// in the `teams` module; this module only sets and reads an item's tags.
import type { Queryable } from './access.js'

export function tagSpaceOf(item: { user_id: number; business_id: number | null }): string {
  return item.business_id !== null ? `b:${item.business_id}` : `u:${item.user_id}`
}

/** distinct names (case-insensitively), first spelling kept */
export function normalizeTagNames(names: string[]): string[] {
  const seen = new Map<string, string>()
  for (const n of names) {
    const t = n.trim()
    if (t && !seen.has(t.toLowerCase())) seen.set(t.toLowerCase(), t)
  }
  return [...seen.values()]
}

/** Sets the item's tags to exactly `names` (tag rows created in the item's space as needed). */
export async function setItemTags(db: Queryable, item: { id: number; user_id: number; business_id: number | null }, names: string[]) {
  const list = normalizeTagNames(names)
  const space = tagSpaceOf(item)
  // two statements: a tag inserted by a concurrent transaction is waited for by ON CONFLICT
  // and visible to the second statement's snapshot (one statement would miss it)
  await db.query(
    `INSERT INTO tags (space, name, name_key) SELECT $1, n, lower(n) FROM unnest($2::text[]) AS n
     ON CONFLICT (space, name_key) DO NOTHING`,
    [space, list],
  )
  await db.query(
    `WITH ids AS (SELECT id FROM tags WHERE space = $2 AND name_key = ANY($3::text[])),
          del AS (DELETE FROM item_tags WHERE item_id = $1 AND NOT (tag_id IN (SELECT id FROM ids)))
     INSERT INTO item_tags (item_id, tag_id) SELECT $1, id FROM ids ON CONFLICT DO NOTHING`,
    [item.id, space, list.map((n) => n.toLowerCase())],
  )
}

/** names of each item's tags, sorted case-insensitively; one query */
export async function tagsOfItems(db: Queryable, itemIds: number[]): Promise<Map<number, string[]>> {
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
