// The /tag methods (contract §9). Tag rows live in a space ('b:<businessId>' for items of a
// team, 'u:<ownerId>' otherwise, see item-tags.ts) and are linked to items by item_tags.
// What a caller can list, rename or delete is limited to the items they can see: a tag row
// shared by a team is never renamed on items the caller cannot see. Decisions: docs/tags.md.
import type { Deps } from '../deps.js'
import type { SessionUser } from '../users/sessions.js'
import type { Sql } from '../platform/db/pool.js'
import { errors } from '../platform/errors.js'
import { historyUserName, recordHistory } from '../comments/history.js'
import { callerPrincipals, Level, levelsOn, requireItem } from '../items/access.js'
import { bumpVersions } from '../items/repository.js'
import { markUnread, UNREAD } from '../items/user-state-repository.js'
import { tagSpaceOf } from './item-tags.js'
import {
  deleteTagIfUnused,
  itemsWithTag,
  linkTag,
  lockTag,
  otherTagNamed,
  renameTagRow,
  tagAsSeenBy,
  tagInSpace,
  tagNamesOfItems,
  tagOfItemNamed,
  unlinkTag,
  visibleTags,
  type LockedTag,
} from './repository.js'

type TagView = { id: number; name: string; shared: boolean }

/** GET /tag: the tags on non-archived items the caller can see; shared if on a shared one */
export async function listTags(deps: Deps, user: SessionUser): Promise<TagView[]> {
  const rows = await visibleTags(deps.db, await callerPrincipals(deps.db, user))
  return rows.map(viewOf)
}

const viewOf = (t: TagView): TagView => ({ id: Number(t.id), name: t.name, shared: t.shared })

async function tagView(db: Sql, user: SessionUser, tagId: number): Promise<TagView> {
  return viewOf(await tagAsSeenBy(db, await callerPrincipals(db, user), tagId))
}

/**
 * The items whose tags changed: a new version (the update trigger moves changed_at, so the
 * delta feed reports them), a `tag` history entry with the new list, unread for the others.
 */
async function tagsChanged(tx: Sql, userId: number, itemIds: number[]) {
  if (!itemIds.length) return
  await bumpVersions(tx, itemIds)
  const tags = await tagNamesOfItems(tx, itemIds)
  // one history statement per distinct tag list (usually one), one unread statement in all
  const byList = new Map<string, number[]>()
  for (const id of itemIds) {
    const list = (tags.get(id) ?? []).join(',')
    const same = byList.get(list)
    if (same) same.push(id)
    else byList.set(list, [id])
  }
  const name = await historyUserName(tx, userId)
  for (const [value, ids] of byList) await recordHistory(tx, ids, { id: userId, name }, [{ property: 'tag', type: 'STRING', value }])
  await markUnread(tx, itemIds, userId, UNREAD.MODIFIED)
}

/** POST /tag: the tag is added to the item (level 60); a name the item already has changes nothing */
export async function addTag(deps: Deps, user: SessionUser, itemRef: string, nameIn: string): Promise<TagView> {
  const name = nameIn.trim()
  if (!name) throw errors.mandatory('name')
  return deps.db.tx(async (tx) => {
    const item = await requireItem(tx, user, itemRef, Level.MODIFY, { lock: true })
    const has = await tagOfItemNamed(tx, item.id, name)
    if (has !== undefined) return tagView(tx, user, Number(has))
    const tagId = await tagInSpace(tx, tagSpaceOf(item), name)
    await linkTag(tx, tagId, [item.id])
    await tagsChanged(tx, user.id, [item.id])
    return tagView(tx, user, tagId)
  })
}

type TagOnItems = { tag: LockedTag; mine: number[]; hidden: number }

/**
 * The tag and the items carrying it that the caller can see (archived ones included, so a
 * restored item has the new name): 404/1 when there are none, 403/3 when any of them is below
 * level 60 (nothing is changed then).
 */
async function tagForChange(tx: Sql, user: SessionUser, tagId: number): Promise<TagOnItems> {
  const tag = await lockTag(tx, tagId)
  if (!tag) throw errors.notFound('Tag')
  const items = await itemsWithTag(tx, tagId)
  const levels = await levelsOn(tx, user, items)
  const seen = items.filter((id) => levels.get(id)! > 0)
  if (!seen.length) throw errors.notFound('Tag')
  if (seen.some((id) => levels.get(id)! < Level.MODIFY)) throw errors.noPermissions('to change this tag: it is on items you may not modify')
  return { tag, mine: seen, hidden: items.length - seen.length }
}

/** moves the links of `itemIds` from one tag to another; deletes the old row when unused */
async function relink(tx: Sql, fromTag: number, toTag: number | null, itemIds: number[]) {
  if (toTag !== null) await linkTag(tx, toTag, itemIds)
  await unlinkTag(tx, fromTag, itemIds)
  await deleteTagIfUnused(tx, fromTag)
}

/**
 * PUT /tag/{id}: renamed on every item the caller can see. The row is renamed in place (same
 * id) when no one else's items share it; otherwise the caller's items move to a row with the
 * new name (merging with an existing tag of that name), and the others keep the old one.
 */
export async function renameTag(deps: Deps, user: SessionUser, tagId: number, nameIn: string): Promise<TagView> {
  const name = nameIn.trim()
  if (!name) throw errors.mandatory('name')
  return deps.db.tx(async (tx) => {
    const { tag, mine, hidden } = await tagForChange(tx, user, tagId)
    const key = name.toLowerCase()
    const other = await otherTagNamed(tx, tag.space, key, tag.id)
    let target = Number(tag.id)
    if (key === tag.name_key || (!hidden && other === undefined)) {
      await renameTagRow(tx, tag.id, name, key)
    } else {
      target = await tagInSpace(tx, tag.space, name)
      await relink(tx, Number(tag.id), target, mine)
    }
    await tagsChanged(tx, user.id, mine)
    return tagView(tx, user, target)
  })
}

/** DELETE /tag/{id}: removed from every item the caller can see */
export async function deleteTag(deps: Deps, user: SessionUser, tagId: number) {
  await deps.db.tx(async (tx) => {
    const { tag, mine } = await tagForChange(tx, user, tagId)
    await relink(tx, Number(tag.id), null, mine)
    await tagsChanged(tx, user.id, mine)
  })
}
