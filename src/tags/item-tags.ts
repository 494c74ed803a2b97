// Tags on items (contract §8.1, §9): a tag is a name in a space, 'b:<businessId>' for items of
// an owner in a team, else 'u:<ownerId>' (items.business_id is the owner's team at create);
// names are case-insensitive within a space. Item create and update set an item's tags here;
// the /tag methods are in service.ts.
import type { Sql } from '../platform/db/pool.js'
import { setTagsOfItem } from './repository.js'

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
export async function setItemTags(db: Sql, item: { id: number; user_id: number; business_id: number | null }, names: string[]) {
  await setTagsOfItem(db, item.id, tagSpaceOf(item), normalizeTagNames(names))
}
