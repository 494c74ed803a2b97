// PUT /item (contract §8.2, §8.3; docs/permissions.md "Order of checks on a write"): only the
// fields present change, each changed field needs its level, and nothing is written unless
// every check passes: all checks run before the first write, in one transaction.
//
// The steps, in the order their errors are answered:
//   1. the item's own fields and completion (update-fields.ts)
//   2. a move under another parent
//   3. assignee and participants
//   4. tags
//      → the level every change so far needs; the named people exist
//   5. the permission list (requested, or conformed to the new parent: a move is a permission
//      change, with its levels) and the people rules against it → the level again (cascadeAcl)
//      → the work it means, in items × principals, within MAX_CASCADE_ITEMS (400/20)
//   6. the writes
import type { Deps } from '../deps.js'
import type { SessionUser } from '../users/sessions.js'
import type { Tx } from '../platform/db/pool.js'
import { errors } from '../platform/errors.js'
import { formatDate } from '../platform/dates.js'
import { recordHistory } from '../comments/history.js'
import { normalizeTagNames, setItemTags } from '../tags/item-tags.js'
import { tagNamesOfItems } from '../tags/repository.js'
import { callerPrincipals, Level, parseItemRef, requireItem, requireLevel } from './access.js'
import { Category, type ItemInput } from './input.js'
import { parentRefOf, rowWriteError } from './item-fields.js'
import { parseAlerts, replaceAlerts, sameAlerts, type ParsedAlert } from './alerts.js'
import { renderItem, type ItemView } from './render.js'
import { admitNamedPeople, requireKeptPeopleStay, requireUsersExist } from './people.js'
import { existingPrincipals, flowDown, lockTree, permissionsOf, writeItemPermissions, type Flow } from './permission-repository.js'
import { setCompleted, subtreeOf, touchItems, updateItemColumns, type ItemRow } from './repository.js'
import {
  checkMove,
  checkPermissionChange,
  conformToParent,
  grantsOf,
  listFromGrants,
  principalsToFlow,
  requireCascadeWithin,
  requireExisting,
  sameList,
  type NamedPerson,
  type PermList,
} from './sharing-rules.js'
import { fieldChanges, ItemChanges } from './update-fields.js'
import { alertsOf, markUnread, setStarred, UNREAD, userStatesOf } from './user-state-repository.js'

/** PUT /item → the item as the caller now sees it, answered even when the change removed
 *  the caller's own access (permission 0); later reads are 404 */
export async function updateItemView(deps: Deps, user: SessionUser, ref: unknown, input: ItemInput): Promise<ItemView> {
  const id = await updateItem(deps, user, ref, input)
  return renderItem(deps, user, id, { invisible: true })
}

/** Updates the item named by `ref` → its id. */
export async function updateItem(deps: Deps, user: SessionUser, ref: unknown, input: ItemInput): Promise<number> {
  return deps.db.tx((tx) => updateIn(deps, tx, user, ref, input))
}

type Subtree = { ids: number[]; owners: number[]; parents: number[]; depths: number[] }

async function updateIn(deps: Deps, tx: Tx, user: SessionUser, ref: unknown, input: ItemInput): Promise<number> {
  // serialise with other permission writers in the tree before reading anything
  await lockTree(tx, parseItemRef(ref))
  const item = await requireItem(tx, user, ref, Level.VIEW, { lock: true })
  if (input.version !== undefined && input.version < item.version) {
    throw errors.staleObject(formatDate(item.time_last_update, user.timeZone) ?? '')
  }
  // the item's descendants, read once: a move, a permission change and a cascade all need
  // them, and none of them changes which items are below this one
  let below: Subtree | undefined
  const subtree = async () => (below ??= await subtreeOf(tx, [item.id]))

  const changes = new ItemChanges()
  const fields = fieldChanges(item, input, user, changes)
  const move = await moveChange(tx, user, item, input, changes, subtree)
  if (fields.category === Category.PROJECT && move.parentId !== null) throw errors.invalidData('parent', 'projects are top level')
  const people = peopleChanges(item, input, changes)
  const tags = await tagsChange(tx, item, input, changes)

  // every changed field's level, before the rules that look at other users and lists
  requireLevel(item.level, changes.need, 'for these changes')
  await requireUsersExist(tx, people.named.map((n) => n.id), 'user')
  const sharing = await sharingChange(tx, user, item, input, move, people, changes)
  requireLevel(item.level, changes.need, 'for these changes')
  // the work the list change means down the subtree, before anything is written
  if (sharing.flow) requireCascadeWithin({ list: sharing.list, flow: sharing.flow, descendants: (await subtree()).ids.length, max: deps.config.MAX_CASCADE_ITEMS })

  // per-user parts: level 10; what is already so is no change (an item sent back as rendered)
  let alerts = input.alerts !== undefined ? parseAlerts(input.alerts ?? [], user.timeZone) : null
  if (alerts && sameAlerts(alerts, await alertsOf(tx, user.id, [item.id]))) alerts = null
  let starred = input.starred
  if (starred !== undefined && starred === ((await userStatesOf(tx, user.id, [item.id]))[0]?.starred ?? false)) starred = undefined
  await writeChanges(tx, user, item, { changes, move, people, tags, sharing, completeSubtree: fields.completeSubtree, alerts, starred }, subtree)
  return item.id
}

/** where the item goes: `to` undefined when it stays, null to top level; `parentId` after the update */
type Move = { to: ItemRow | null | undefined; parentId: number | null }

/** step 2, a move: 60 on the item, 30 on the new parent, never under itself or a descendant */
async function moveChange(tx: Tx, user: SessionUser, item: ItemRow, input: ItemInput, changes: ItemChanges, subtree: () => Promise<Subtree>): Promise<Move> {
  const ref = parentRefOf(input)
  let to: ItemRow | null | undefined
  if (ref === null) {
    if (item.parent_id !== null) to = null
  } else if (ref !== undefined) {
    const same = 'id' in ref ? ref.id === item.parent_id : ref.guid === item.parent_guid
    if (!same) to = await requireItem(tx, user, 'id' in ref ? ref.id : ref.guid, Level.VIEW)
  }
  if (to === undefined) return { to, parentId: item.parent_id }
  changes.want(Level.MODIFY)
  if (to) {
    if (to.id === item.id || (await subtree()).ids.includes(to.id)) {
      throw errors.invalidData('parent', 'an item cannot be moved under itself or its descendants')
    }
    requireLevel(to.level, Level.ADD, 'adding to the new parent')
    await lockTree(tx, { id: to.id })
  }
  changes.change('parent_id', to ? to.id : null, Level.MODIFY, { property: 'parent', type: 'INTEGER', value: String(to ? to.id : 0) })
  return { to, parentId: to ? to.id : null }
}

/** the people after the update (`assignee` 0: none) and those newly named */
type People = { assignee: number; previousAssignee: number; participants: number[]; named: NamedPerson[] }

/** step 3, assignee and participants: level 40 */
function peopleChanges(item: ItemRow, input: ItemInput, changes: ItemChanges): People {
  const previousAssignee = item.assignee_id ?? 0
  const assignee = input.assignee ?? input.assigneeId ?? previousAssignee
  const participants = input.participants !== undefined ? [...new Set(input.participants)] : item.participants
  const named: NamedPerson[] = []
  if (assignee !== previousAssignee) {
    changes.change('assignee_id', assignee || null, Level.ASSIGN, { property: 'assignee', type: 'INTEGER', value: String(assignee) })
    if (assignee) named.push({ id: assignee, role: 'assignee' })
  }
  if (input.participants !== undefined && JSON.stringify([...participants].sort()) !== JSON.stringify([...item.participants].sort())) {
    changes.change('participants', participants, Level.ASSIGN, { property: 'participants', type: 'STRING', value: participants.join(',') })
    for (const p of participants) if (!item.participants.includes(p)) named.push({ id: p, role: 'participant' })
  }
  return { assignee, previousAssignee, participants, named }
}

/** step 4, tags: level 60 → the new names, or null when the set is the same */
async function tagsChange(tx: Tx, item: ItemRow, input: ItemInput, changes: ItemChanges): Promise<string[] | null> {
  if (input.tags === undefined) return null
  const next = normalizeTagNames(input.tags)
  const current = (await tagNamesOfItems(tx, [item.id])).get(item.id) ?? []
  // names are case-insensitive in a tag space (a tag keeps its space's spelling) and a
  // list's order means nothing: the same set is no change, needs no level, writes nothing
  const key = (l: string[]) => JSON.stringify(l.map((x) => x.toLowerCase()).sort())
  if (key(next) === key(current)) return null
  changes.want(Level.MODIFY)
  changes.history.push({ property: 'tag', type: 'STRING', value: next.join(',') })
  return next
}

/** `flow`: what the change carries down to the descendants (null: nothing to carry) */
type Sharing = { list: PermList; changed: boolean; cascadeAcl: boolean; flow: Flow | null }

/** step 5: the requested list or the list conformed to the new parent, plus automatic shares */
async function sharingChange(tx: Tx, user: SessionUser, item: ItemRow, input: ItemInput, move: Move, people: People, changes: ItemChanges): Promise<Sharing> {
  const current = await permissionsOf(tx, item.id)
  // the parent's list matters only to a permission change or a move (read only then)
  const parentList = move.parentId !== null && (input.permissions || move.to) ? await permissionsOf(tx, move.parentId) : null
  let list: PermList = current
  if (input.permissions) {
    list = checkPermissionChange({ ownerId: item.user_id, callerLevel: item.level, current, requested: listFromGrants(input.permissions), parent: parentList, fillFromParent: false })
    requireExisting(list.keys(), await existingPrincipals(tx, list.keys()))
  } else if (move.to) {
    // the move changes the list as an explicit update would: the same levels (§8.3)
    list = conformToParent(current, parentList!, item.user_id)
    checkMove({ callerLevel: item.level, callerPrincipals: await callerPrincipals(tx, user), current, conformed: list })
  }
  list = new Map(list)
  await admitNamedPeople(tx, people.named, list, move.parentId !== null)
  // people who stay assignee/participant must keep seeing the item
  const kept = [...(people.assignee && people.assignee === people.previousAssignee ? [people.assignee] : []), ...people.participants.filter((p) => item.participants.includes(p))]
  if (!sameList(list, current)) await requireKeptPeopleStay(tx, kept, list, people.assignee)
  const changed = !sameList(list, current)
  const cascadeAcl = !!input.cascadeAcl && !!input.permissions
  if (changed) changes.history.push({ property: 'shared_with', type: 'STRING', value: grantsOf(list).map((g) => `${g.principal}:${g.level}`).join(',') })
  if (cascadeAcl) changes.want(Level.SHARE)
  return { list, changed, cascadeAcl, flow: changed || cascadeAcl ? principalsToFlow(current, list, cascadeAcl) : null }
}

type Plan = {
  changes: ItemChanges
  move: Move
  people: People
  tags: string[] | null
  sharing: Sharing
  completeSubtree: boolean | null
  alerts: ParsedAlert[] | null
  starred: boolean | undefined
}

/** step 6: every check passed; write what changed */
async function writeChanges(tx: Tx, user: SessionUser, item: ItemRow, plan: Plan, subtree: () => Promise<Subtree>) {
  const { changes, sharing } = plan
  const fieldsChanged = changes.columns.size > 0 || plan.tags !== null || sharing.changed
  if (fieldsChanged) {
    try {
      await updateItemColumns(tx, item.id, changes.columns)
    } catch (e) {
      throw rowWriteError(e)
    }
  }
  if (plan.tags !== null) await setItemTags(tx, item, plan.tags)
  if (sharing.flow) {
    if (sharing.changed) await writeItemPermissions(tx, item.id, sharing.list)
    // descendants follow (a moved item's subtree already agrees with the item's old list, so
    // the same flow conforms it to the new one); those whose list changed show in the delta
    await touchItems(tx, await flowDown(tx, await subtree(), sharing.flow))
  }
  if (plan.completeSubtree !== null) {
    const done = await setCompleted(tx, (await subtree()).ids, plan.completeSubtree, user.id)
    await recordHistory(tx, done, { id: user.id }, [{ property: 'completed', type: 'BOOLEAN', value: String(plan.completeSubtree) }])
    await markUnread(tx, done, user.id, UNREAD.MODIFIED)
  }
  if (changes.history.length) await recordHistory(tx, item.id, { id: user.id }, changes.history)
  if (fieldsChanged) await markUnread(tx, item.id, user.id, UNREAD.MODIFIED)
  // new to the newly named
  if (plan.people.named.length) await markUnread(tx, item.id, user.id, UNREAD.NEW, plan.people.named.map((n) => n.id))
  if (plan.alerts) await replaceAlerts(tx, item.id, user.id, plan.alerts)
  if (plan.starred !== undefined) await setStarred(tx, item.id, user.id, plan.starred)
}
