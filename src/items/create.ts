// POST /item (contract §8.2, docs/items.md): the row, its permission list, tags, the creator's
// alerts and star, history and unread marks are written together or not at all. The row, the
// list, history and unread marks (and the issue number) are ONE statement; a create that
// writes nothing else (top level, no tags, alerts or star, no item limit to check) runs it
// alone, without BEGIN/COMMIT (a statement is atomic; the reads before it take no locks, as in
// a READ COMMITTED transaction); the rest run in one transaction (docs/performance.md).
//
// POST /item answers createItemView; other modules call createItem(deps, user, input, tx) to
// create inside their own transaction (POST /file/upload adds the files row in the same one).
import crypto from 'node:crypto'
import type { Deps } from '../deps.js'
import type { SessionUser } from '../users/sessions.js'
import type { Sql, Tx } from '../platform/db/pool.js'
import { errors } from '../platform/errors.js'
import { preferenceValue } from '../users/preferences.js'
import { setItemTags } from '../tags/item-tags.js'
import { Level, parseItemRef, requireItem } from './access.js'
import { Category, type ItemInput } from './input.js'
import { contactText, dateField, isDateOnly, isUniqueViolation, locationValue, parentRefOf, rowWriteError, shortNameKey, storedInstances } from './item-fields.js'
import { parseAlerts } from './alerts.js'
import { checkItemLimit, parseItemLimits } from './limits.js'
import { renderItem, renderOne, type ItemView } from './render.js'
import { admitNamedPeople, namedPeople, requireUsersExist } from './people.js'
import { columnsOf, existingPrincipals, lockTree, permissionsOf } from './permission-repository.js'
import { itemByGuid, insertCreatedItem, type CreatedRow, type ItemRow } from './repository.js'
import { tagNamesOfItems } from '../tags/repository.js'
import { checkPermissionChange, conformToParent, defaultSharingCandidates, listFromGrants, requireCascadeWithin, requireExisting, type PermList } from './sharing-rules.js'
import { insertNewAlerts, setStarred, UNREAD, type AlertRow } from './user-state-repository.js'

export type CreateResult = { id: number; guid: string; existing: boolean }

/** what a create wrote, as the renderer needs it (the item is new: no files, no sub-items, the
 *  creator owns it at level 100 and has no unread mark on it) */
type Written = { row: CreatedRow; tags: string[] | null; alerts: AlertRow[] | null; starred: boolean }

/** POST /item → the item as the caller now sees it (a guid they already used: that item, unchanged) */
export async function createItemView(deps: Deps, user: SessionUser, input: ItemInput): Promise<ItemView> {
  const { id, written } = await createWith(deps, user, input, true)
  // the new item is rendered from what the transaction wrote (docs/performance.md "Creating
  // items"): the same answer as reading it back, without the 8 statements of the read
  if (written) return renderWritten(user, written)
  return renderItem(deps, user, id)
}

/**
 * creates the item in `tx` when given, else in a transaction of its own; `limitChecked`: the
 * caller has checked the item limit for this item in `tx` already (a batch checks it once)
 */
export async function createItem(deps: Deps, user: SessionUser, input: ItemInput, tx?: Tx, o: { limitChecked?: boolean } = {}): Promise<CreateResult> {
  const { written: _, ...result } = tx ? await createIn(deps, tx, user, input, false, o.limitChecked) : await createWith(deps, user, input, false)
  return result
}

async function createWith(deps: Deps, user: SessionUser, input: ItemInput, view: boolean): Promise<CreateResult & { written?: Written }> {
  const run = () => (writesOneStatement(deps, input) ? createIn(deps, deps.db, user, input, view) : deps.db.tx((t) => createIn(deps, t, user, input, view)))
  try {
    return await run()
  } catch (e) {
    // two concurrent creates with one guid: the loser answers like a retry
    if (input.guid && isUniqueViolation(e, 'guid')) return run()
    throw e
  }
}

/** the create's only write is the one statement of insertCreatedItem: no parent (its tree is
 *  locked first), no item limit (the account row is locked first), no tags, alerts or star */
function writesOneStatement(deps: Deps, input: ItemInput): boolean {
  return !parentRefOf(input) && !parseItemLimits(deps.config.ITEM_LIMITS).length && !input.tags?.length && !input.alerts?.length && !input.starred
}

function renderWritten(user: SessionUser, w: Written): ItemView {
  const { perm_principals: principals, perm_levels: levels, ...columns } = w.row
  const permissions = principals.map((principal, k) => ({ principal, level: levels[k]! }))
  const state = { starred: w.starred, unread: 0 }
  return renderOne({ ...columns, level: Level.ALL }, user.timeZone, permissions, w.tags, state, w.alerts ?? undefined, undefined, false)
}

async function createIn(deps: Deps, db: Sql, user: SessionUser, input: ItemInput, view: boolean, limitChecked = false): Promise<CreateResult & { written?: Written }> {
  const tz = user.timeZone
  if (input.title === undefined || !input.title.trim()) throw errors.mandatory('title')
  if (input.guid) {
    const existing = await itemByGuid(db, input.guid)
    if (existing) {
      if (existing.user_id !== user.id) throw errors.invalidData('guid', 'it belongs to another item')
      return { id: existing.id, guid: input.guid, existing: true }
    }
  }
  // the account's item limit (ITEM_LIMITS): 507/20, as for restoring from the archive
  if (!limitChecked) await checkItemLimit(deps, db, new Map([[user.id, 1]]))
  const category = input.category ?? Category.TASK
  const parentRef = parentRefOf(input)
  if (category === Category.PROJECT && parentRef) throw errors.invalidData('parent', 'projects are top level')
  const dates = {
    start_date: dateField(input, 'start_date', tz) ?? null,
    end_date: dateField(input, 'end_date', tz) ?? null,
    due_date: dateField(input, 'due_date', tz) ?? null,
    recurring_end_date: dateField(input, 'recurring_end_date', tz) ?? null,
  }
  const alerts = input.alerts ? parseAlerts(input.alerts, tz) : null
  const contact = contactText(input.contact) ?? null
  const location = locationValue(input.location) ?? null
  const instances = input.instances ? storedInstances(input.instances, tz) : null
  if (input.short_name && category !== Category.PROJECT) throw errors.invalidData('short_name', 'short names are for projects only')

  let parent: ItemRow | null = null
  let parentList: PermList | null = null
  if (parentRef) {
    const ref = 'id' in parentRef ? parentRef.id : parentRef.guid
    // serialise with other permission writers in the tree before reading its lists
    await lockTree(db, parseItemRef(ref))
    parent = await requireItem(db, user, ref, Level.ADD)
    parentList = await permissionsOf(db, parent.id)
  }

  // permissions: given, else the parent's, else owner-only plus the user's default
  let list: PermList
  if (input.permissions) {
    list = checkPermissionChange({ ownerId: user.id, callerLevel: Level.ALL, current: null, requested: listFromGrants(input.permissions), parent: parentList, fillFromParent: true })
    requireExisting(list.keys(), await existingPrincipals(db, list.keys()))
  } else if (parentList) {
    list = conformToParent(new Map(), parentList, user.id)
  } else {
    list = await defaultList(db, user.id)
  }

  const assignee = input.assignee ?? input.assigneeId ?? 0
  const participants = [...new Set(input.participants ?? [])]
  await requireUsersExist(db, [...(assignee ? [assignee] : []), ...participants], 'user')
  await admitNamedPeople(db, namedPeople(assignee, participants), list, parent !== null)
  // one item's list is work too (contract §15): at most MAX_CASCADE_ITEMS principals
  requireCascadeWithin({ list, flow: { raised: [], removed: [], all: false }, descendants: 0, max: deps.config.MAX_CASCADE_ITEMS })

  const businessId = user.businessId
  const short = input.short_name ?? null
  const guid = input.guid ?? crypto.randomUUID()
  const { principals, levels } = columnsOf(list)
  let row: CreatedRow
  try {
    // the row, its permissions, the 'created' history entry, the unread marks and the issue
    // number (its counter row stays locked only from here to the commit): one statement
    row = await insertCreatedItem(db, {
      guid,
      user_id: user.id,
      business_id: businessId,
      title: input.title,
      message: input.message ?? null,
      category,
      completed: input.completed ?? false,
      color: input.color ?? 0,
      color_value: input.color_value ?? '#5e93c3',
      parent_id: parent?.id ?? null,
      short_name: short,
      short_name_key: short ? shortNameKey(user.id, businessId, short) : null,
      recurring: input.recurring ?? 0,
      recurring_interval: input.recurring_interval ?? 1,
      recurring_end_date: dates.recurring_end_date,
      instances: instances ? JSON.stringify(instances) : null,
      start_date: dates.start_date,
      end_date: dates.end_date,
      due_date: dates.due_date,
      is_all_day: input.is_all_day ?? (isDateOnly(input.start_date) ? true : false),
      time_track: input.time_track ?? false,
      time_est: input.time_est ?? 0,
      time_spent: input.time_spent ?? 0,
      priority: input.priority ?? 20000,
      assignee_id: assignee || null,
      participants,
      location: location === null ? null : JSON.stringify(location),
      contact,
    }, {
      principals,
      levels,
      actorId: user.id,
      parentId: parent?.id ?? null,
      unreadNew: UNREAD.NEW,
      unreadModified: UNREAD.MODIFIED,
    })
  } catch (e) {
    throw rowWriteError(e)
  }
  const id = row.id
  let tags: string[] | null = null
  if (input.tags?.length) {
    await setItemTags(db, { id, user_id: user.id, business_id: businessId }, input.tags)
    if (view) tags = (await tagNamesOfItems(db, [id])).get(id) ?? null
  }
  // a new item has no alerts to keep or update: every entry is a new alert (an id in the input
  // names no alert of this item); the creator's state row marks them for the delta feed
  const alertRows = alerts?.length ? await insertNewAlerts(db, id, user.id, alerts) : null
  const starred = input.starred ?? false
  if (starred || alertRows) await setStarred(db, id, user.id, starred)
  return { id, guid, existing: false, written: { row, tags, alerts: alertRows, starred } }
}

/** the permission list of a new top-level item without a given list: owner + the preference */
async function defaultList(db: Sql, ownerId: number): Promise<PermList> {
  const list: PermList = new Map([[String(ownerId), Level.ALL]])
  const candidates = defaultSharingCandidates(await preferenceValue(db, ownerId, 'default_new_item_sharing_permission'), ownerId)
  if (!candidates.size) return list
  // principals that no longer exist are skipped, not an error: the preference is old data
  const existing = await existingPrincipals(db, candidates.keys())
  for (const [p, lv] of candidates) if (existing.has(p)) list.set(p, lv)
  return list
}
