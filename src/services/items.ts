// Items: create, update, delete, read state (contract §8.1–§8.5). Rules live here and in
// permissions.ts; routes only parse and shape. Every write is one transaction: the item row,
// its permission rows (and its subtree's), tags, alerts, per-user state and history commit
// together or not at all.
//
// Exported for other modules (names kept stable):
//   createItem(deps, user, input, client?)   → { id, guid, existing }   (client: run inside
//        the caller's transaction, e.g. POST /file/upload adding a files row)
//   deleteItemTree(deps, client, itemIds)    → storage keys (files + previews) of the deleted
//        files; delete the blobs after commit with deps.storage.delete(key)
//   markUnread(client, itemId | itemIds, actorId, level)  unread for owner/assignee/participants ≠ actor
//   removeBlobs(deps, keys)                   deletes blobs after commit (and their queue rows)
import crypto from 'node:crypto'
import type pg from 'pg'
import type { Deps } from '../deps.js'
import type { SessionUser } from './auth.js'
import { ApiError, Code, errors } from '../http/errors.js'
import { inTransaction } from '../db/tx.js'
import { formatDate, formatDay, parseDate } from '../lib/dates.js'
import { Level, LEVELS, touchItems, type Queryable } from './access.js'
import { Category, type ItemInput } from './items-input.js'
import {
  checkPermissionChange,
  checkPrincipalsExist,
  conformNodes,
  conformToParent,
  getItemForUser,
  grantsOf,
  listFromGrants,
  lockTree,
  parseItemRef,
  permissionsOf,
  requireLevel,
  sameList,
  subtreeOf,
  userLevelsUnder,
  writeItemPermissions,
  type ItemRow,
  type PermList,
} from './permissions.js'
import { recordHistory, type HistoryEntry } from './history.js'
import { parseAlerts, replaceAlerts } from './alerts.js'
import { normalizeTagNames, setItemTags, tagsOfItems } from './tags-on-items.js'
import { preferenceValue } from './preferences.js'
import { checkItemLimit } from './item-limits.js'

const UNREAD = { COMMENT: 1, MODIFIED: 2, NEW: 3 } as const
export { UNREAD }

function dateField(input: ItemInput, key: 'start_date' | 'end_date' | 'due_date' | 'recurring_end_date', tz: string): Date | null | undefined {
  const v = input[key]
  if (v === undefined) return undefined
  if (v === null) return null
  const d = parseDate(v, tz)
  if (!d) throw errors.invalidFormat(key)
  return d.date
}

function isDateOnly(v: string | null | undefined) {
  return typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v.trim())
}

/** a jCard: a JSON array whose first element is "vcard" (kept as the JSON text) */
function contactText(v: string | unknown[] | null | undefined): string | null | undefined {
  if (v === undefined || v === null) return v
  let parsed: unknown = v
  if (typeof v === 'string') {
    try {
      parsed = JSON.parse(v)
    } catch {
      throw errors.invalidFormat('contact')
    }
  }
  if (!Array.isArray(parsed) || parsed[0] !== 'vcard') throw errors.invalidFormat('contact')
  const text = typeof v === 'string' ? v : JSON.stringify(v)
  if (text.length > 100_000) throw errors.tooLarge('contact', 100_000)
  return text
}

function locationValue(v: Record<string, unknown> | null | undefined) {
  if (v === undefined || v === null) return v
  const text = JSON.stringify(v)
  if (text.length > 10_000) throw errors.tooLarge('location', 10_000)
  return v
}

function parentRefOf(input: ItemInput): { id: number } | { guid: string } | null | undefined {
  const pid = input.parent ?? input.parent_id
  if (pid) return { id: pid }
  // a client may send parent=0 next to the parentGuid that names the parent
  if (input.parentGuid) return { guid: input.parentGuid }
  if (pid === 0 || input.parentGuid === null) return null
  return undefined
}

function shortNameKey(ownerId: number, businessId: number | null, short: string) {
  return businessId !== null ? `b:${businessId}:${short.toUpperCase()}` : `u:${ownerId}:${short.toUpperCase()}`
}

function isUniqueViolation(e: unknown, constraint: string) {
  const err = e as { code?: string; constraint?: string }
  return err.code === '23505' && (err.constraint ?? '').includes(constraint)
}

/** the parent named by a create or a move was deleted by a concurrent request after it was read */
const parentGone = (e: unknown) => (e as { code?: string; constraint?: string }).code === '23503' && (e as { constraint?: string }).constraint === 'items_parent_id_fkey'

const shortNameUsed = () => new ApiError(Code.SHORT_NAME_ALREADY_USED, 'Short name already used')

/** unknown user ids among assignee/participants → 400/6 */
async function checkUsersExist(db: Queryable, ids: number[], field: string) {
  if (!ids.length) return
  const r = await db.query<{ id: number }>('SELECT id FROM users WHERE id = ANY($1::bigint[])', [ids])
  const found = new Set(r.rows.map((x) => x.id))
  const missing = ids.find((x) => !found.has(x))
  if (missing !== undefined) throw errors.invalidData(`${field} ${missing}`)
}

/**
 * Assignee and participants (§8.3): under a parent they must already see the item → 400/75;
 * on a top-level item naming them shares it with them at 50 when they had less (the list is
 * changed in place). Only `named` (newly named people) are checked.
 */
async function applyPeopleRules(db: Queryable, named: { id: number; role: string }[], list: PermList, hasParent: boolean) {
  if (!named.length) return
  const levels = await userLevelsUnder(db, named.map((n) => n.id), list)
  for (const n of named) {
    const lv = levels.get(n.id) ?? 0
    if (hasParent) {
      if (lv < Level.VIEW) {
        throw new ApiError(Code.UNABLE_TO_ASSIGN_OR_PARTICIPATE_BECAUSE_NO_PERMISSIONS, `${n.id} can not be ${n.role} because they don't have access to project`)
      }
    } else if (lv < Level.COMPLETE) {
      list.set(String(n.id), Math.max(list.get(String(n.id)) ?? 0, Level.COMPLETE))
    }
  }
}

/** Marks the item (or each of the items) unread (at least `level`) for its owner, assignee and participants other than the actor. */
export async function markUnread(db: Queryable, itemIds: number | number[], actorId: number, level: number, only?: number[]) {
  await db.query(
    `INSERT INTO item_user_state (item_id, user_id, unread)
     SELECT DISTINCT i.id, u, $3::int FROM items i, unnest(array_append(array_append(i.participants, i.user_id), i.assignee_id)) AS u
      WHERE i.id = ANY($1::bigint[]) AND u IS NOT NULL AND u <> $2 AND ($4::bigint[] IS NULL OR u = ANY($4::bigint[]))
     ON CONFLICT (item_id, user_id) DO UPDATE SET unread = GREATEST(item_user_state.unread, EXCLUDED.unread)
      WHERE item_user_state.unread < EXCLUDED.unread`,
    [Array.isArray(itemIds) ? itemIds : [itemIds], actorId, level, only ?? null],
  )
}

async function setStarred(db: Queryable, itemId: number, userId: number, starred: boolean) {
  await db.query(
    `INSERT INTO item_user_state (item_id, user_id, starred) VALUES ($1, $2, $3)
     ON CONFLICT (item_id, user_id) DO UPDATE SET starred = EXCLUDED.starred WHERE item_user_state.starred <> EXCLUDED.starred`,
    [itemId, userId, starred],
  )
}

/** the permission list of a new top-level item without a given list: owner + the preference */
async function defaultList(deps: Deps, db: Queryable, ownerId: number): Promise<PermList> {
  const list: PermList = new Map([[String(ownerId), Level.ALL]])
  const pref = await preferenceValue(deps, ownerId, 'default_new_item_sharing_permission')
  if (!Array.isArray(pref) || !pref.length) return list
  const cand: PermList = new Map()
  for (const g of pref as { principal?: unknown; level?: unknown }[]) {
    const p = String(g?.principal ?? '').trim()
    const lv = Number(g?.level)
    if (p && lv > 0 && (LEVELS as readonly number[]).includes(lv) && p !== String(ownerId)) cand.set(p, lv)
  }
  // principals that no longer exist are skipped, not an error: the preference is old data
  const r = await db.query<{ p: string }>(
    `SELECT id::text AS p FROM users WHERE id::text = ANY($1::text[]) UNION SELECT id FROM groups WHERE id = ANY($1::text[])`,
    [[...cand.keys()]],
  )
  for (const { p } of r.rows) list.set(p, cand.get(p)!)
  return list
}

/** the next issue id: `<SHORT>-<n>` inside a project with a short name, else the owner's sequence */
async function nextIssueId(db: Queryable, ownerId: number, parentId: number | null): Promise<string> {
  if (parentId !== null) {
    const r = await db.query<{ issue: string | null }>(
      `WITH RECURSIVE up(id, parent_id, depth) AS (
         SELECT id, parent_id, 0 FROM items WHERE id = $1
         UNION ALL SELECT i.id, i.parent_id, up.depth + 1 FROM items i JOIN up ON i.id = up.parent_id WHERE up.depth < 1000),
       root AS (SELECT id FROM up ORDER BY depth DESC LIMIT 1)
       UPDATE items p SET issue_counter = issue_counter + 1
         FROM root WHERE p.id = root.id AND p.category = 0 AND p.short_name IS NOT NULL
       RETURNING p.short_name || '-' || p.issue_counter AS issue`,
      [parentId],
    )
    if (r.rows[0]?.issue) return r.rows[0].issue
  }
  const r = await db.query<{ n: number }>('UPDATE users SET issue_seq = issue_seq + 1 WHERE id = $1 RETURNING issue_seq AS n', [ownerId])
  return String(r.rows[0]!.n)
}

function storedInstances(list: NonNullable<ItemInput['instances']>, tz: string) {
  return list.map((x) => {
    let startDateTime: Date | null = null
    if (x.start_date_time) {
      const d = parseDate(x.start_date_time, tz)
      if (!d) throw errors.invalidFormat('instances.start_date_time')
      startDateTime = d.date
    }
    let day = x.start_date ?? null
    if (day !== null && !/^\d{4}-\d{2}-\d{2}$/.test(day)) {
      const d = parseDate(day, tz)
      if (!d) throw errors.invalidFormat('instances.start_date')
      day = formatDay(d.date, tz)
    }
    if (day === null && startDateTime) day = formatDay(startDateTime, tz)
    if (day === null) throw errors.mandatory('instances.start_date')
    return { status: x.status ?? 0, start_date: day, start_date_time: startDateTime ? startDateTime.toISOString() : null }
  })
}

export type CreateResult = { id: number; guid: string; existing: boolean }

export async function createItem(deps: Deps, user: SessionUser, input: ItemInput, client?: pg.PoolClient): Promise<CreateResult> {
  if (client) return createIn(deps, user, input, client)
  try {
    return await inTransaction(deps.db.pool, (c) => createIn(deps, user, input, c))
  } catch (e) {
    // two concurrent creates with one guid: the loser answers like a retry
    if (input.guid && isUniqueViolation(e, 'guid')) return inTransaction(deps.db.pool, (c) => createIn(deps, user, input, c))
    throw e
  }
}

async function createIn(deps: Deps, user: SessionUser, input: ItemInput, db: pg.PoolClient): Promise<CreateResult> {
  const tz = user.timeZone
  if (input.title === undefined || !input.title.trim()) throw errors.mandatory('title')
  if (input.guid) {
    const r = await db.query<{ id: number; user_id: number }>('SELECT id, user_id FROM items WHERE guid = $1', [input.guid])
    const ex = r.rows[0]
    if (ex) {
      if (ex.user_id !== user.id) throw errors.invalidData('guid', 'it belongs to another item')
      return { id: ex.id, guid: input.guid, existing: true }
    }
  }
  // the account's item limit (ITEM_LIMITS): 507/20, as for restoring from the archive
  await checkItemLimit(deps, db, new Map([[user.id, 1]]))
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
    await lockTreeOf(db, ref)
    parent = (await getItemForUser(deps, user, ref, Level.ADD, { client: db })).item
    parentList = await permissionsOf(db, parent.id)
  }

  // permissions: given, else the parent's, else owner-only plus the user's default
  let list: PermList
  if (input.permissions) {
    list = checkPermissionChange({ ownerId: user.id, callerLevel: Level.ALL, current: null, requested: listFromGrants(input.permissions), parent: parentList, fillFromParent: true })
    await checkPrincipalsExist(db, list.keys())
  } else if (parentList) {
    list = conformToParent(new Map(), parentList, user.id)
  } else {
    list = await defaultList(deps, db, user.id)
  }

  const assignee = input.assignee ?? input.assigneeId ?? 0
  const participants = [...new Set(input.participants ?? [])]
  await checkUsersExist(db, [...(assignee ? [assignee] : []), ...participants], 'user')
  await applyPeopleRules(
    db,
    [...(assignee ? [{ id: assignee, role: 'assignee' }] : []), ...participants.map((id) => ({ id, role: 'participant' }))],
    list,
    parent !== null,
  )

  const businessId = user.businessId
  const short = input.short_name ?? null
  const issueId = await nextIssueId(db, user.id, parent?.id ?? null)
  const guid = input.guid ?? crypto.randomUUID()
  let id: number
  try {
    const r = await db.query<{ id: number }>(
      `INSERT INTO items (guid, user_id, business_id, title, message, category, completed, color, color_value, parent_id,
         short_name, short_name_key, issue_id, recurring, recurring_interval, recurring_end_date, instances, start_date, end_date,
         due_date, is_all_day, time_track, time_est, time_spent, priority, assignee_id, participants, location, contact,
         last_transition_time, last_transition_user)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,$29,
         CASE WHEN $7 THEN now() END, CASE WHEN $7 THEN $2::bigint END)
       RETURNING id`,
      [
        guid,
        user.id,
        businessId,
        input.title,
        input.message ?? null,
        category,
        input.completed ?? false,
        input.color ?? 0,
        input.color_value ?? '#5e93c3',
        parent?.id ?? null,
        short,
        short ? shortNameKey(user.id, businessId, short) : null,
        issueId,
        input.recurring ?? 0,
        input.recurring_interval ?? 1,
        dates.recurring_end_date,
        instances ? JSON.stringify(instances) : null,
        dates.start_date,
        dates.end_date,
        dates.due_date,
        input.is_all_day ?? (isDateOnly(input.start_date) ? true : false),
        input.time_track ?? false,
        input.time_est ?? 0,
        input.time_spent ?? 0,
        input.priority ?? 20000,
        assignee || null,
        participants,
        location === null ? null : JSON.stringify(location),
        contact,
      ],
    )
    id = r.rows[0]!.id
  } catch (e) {
    if (isUniqueViolation(e, 'short_name_key')) throw shortNameUsed()
    if (parentGone(e)) throw errors.notFound('Item')
    throw e
  }
  await writeItemPermissions(db, id, list)
  if (input.tags?.length) await setItemTags(db, { id, user_id: user.id, business_id: businessId }, input.tags)
  if (alerts?.length) await replaceAlerts(db, id, user.id, alerts)
  if (input.starred) await setStarred(db, id, user.id, true)
  await recordHistory(db, id, { id: user.id }, [{ property: 'created', type: 'VOID' }])
  await markUnread(db, id, user.id, UNREAD.NEW)
  if (parent) await markUnread(db, parent.id, user.id, UNREAD.MODIFIED)
  return { id, guid, existing: false }
}

/** lockTree for an item named by id or guid (400/5 for neither form; nothing when absent) */
async function lockTreeOf(db: pg.PoolClient, ref: unknown) {
  const r = parseItemRef(ref)
  const row = await db.query<{ id: number }>('id' in r ? 'SELECT id FROM items WHERE id = $1' : 'SELECT id FROM items WHERE guid = $1', ['id' in r ? r.id : r.guid])
  if (row.rows[0]) await lockTree(db, row.rows[0].id)
}

const sameDate = (a: Date | null, b: Date | null) => (a ? a.getTime() : null) === (b ? b.getTime() : null)
const dateText = (d: Date | null) => (d ? formatDate(d, 'UTC') : null)

/**
 * PUT /item: only fields present change; each changed field needs its level (§8.3); nothing
 * is written when any check fails. Returns the item id.
 */
export async function updateItem(deps: Deps, user: SessionUser, ref: unknown, input: ItemInput): Promise<number> {
  return inTransaction(deps.db.pool, (db) => updateIn(deps, user, ref, input, db))
}

async function updateIn(deps: Deps, user: SessionUser, ref: unknown, input: ItemInput, db: pg.PoolClient): Promise<number> {
  const tz = user.timeZone
  // serialise with other permission writers in the tree before reading anything
  await lockTreeOf(db, ref)
  const { item, level } = await getItemForUser(deps, user, ref, Level.VIEW, { client: db, lock: true })
  if (input.version !== undefined && input.version < item.version) {
    throw new ApiError(Code.STALE_OBJECT, `You are trying to update old object, which was changed on ${formatDate(item.time_last_update, tz)}`)
  }

  // the item's descendants, read once: a move, a permission change and a cascade all need
  // them, and none of them changes which items are below this one
  let sub: Awaited<ReturnType<typeof subtreeOf>> | undefined
  const subtree = async () => (sub ??= await subtreeOf(db, [item.id]))

  const set = new Map<string, unknown>()
  const hist: HistoryEntry[] = []
  let need = 0
  const want = (lv: number) => (need = Math.max(need, lv))
  const change = (col: string, value: unknown, lv: number, h?: HistoryEntry) => {
    set.set(col, value)
    want(lv)
    if (h) hist.push(h)
  }

  if (input.title !== undefined) {
    if (!input.title.trim()) throw errors.mandatory('title')
    if (input.title !== item.title) change('title', input.title, Level.MODIFY, { property: 'title', type: 'STRING', value: input.title })
  }
  if (input.message !== undefined && input.message !== item.message) change('message', input.message, Level.MODIFY, { property: 'message', type: 'STRING', value: input.message })
  let category = item.category
  if (input.category !== undefined && input.category !== item.category) {
    category = input.category
    change('category', category, Level.MODIFY)
  }
  if (input.color !== undefined && input.color !== item.color) change('color', input.color, Level.MODIFY)
  if (input.color_value !== undefined && input.color_value !== item.color_value) change('color_value', input.color_value, Level.MODIFY)
  if (input.priority !== undefined && input.priority !== item.priority) change('priority', input.priority, Level.MODIFY, { property: 'priority', type: 'INTEGER', value: String(input.priority) })
  if (input.recurring !== undefined && input.recurring !== item.recurring) change('recurring', input.recurring, Level.MODIFY, { property: 'recurring', type: 'INTEGER', value: String(input.recurring) })
  if (input.recurring_interval !== undefined && input.recurring_interval !== item.recurring_interval) {
    change('recurring_interval', input.recurring_interval, Level.MODIFY, { property: 'recurring_interval', type: 'INTEGER', value: String(input.recurring_interval) })
  }
  for (const key of ['start_date', 'end_date', 'due_date', 'recurring_end_date'] as const) {
    const d = dateField(input, key, tz)
    if (d !== undefined && !sameDate(d, item[key])) {
      change(key, d, Level.MODIFY, key === 'recurring_end_date' ? undefined : { property: key, type: 'DATE', value: dateText(d) })
    }
  }
  if (input.is_all_day !== undefined && input.is_all_day !== item.is_all_day) change('is_all_day', input.is_all_day, Level.MODIFY)
  if (input.time_track !== undefined && input.time_track !== item.time_track) change('time_track', input.time_track, Level.MODIFY, { property: 'time_track', type: 'BOOLEAN', value: String(input.time_track) })
  if (input.time_est !== undefined && input.time_est !== item.time_est) change('time_est', input.time_est, Level.MODIFY, { property: 'time_est', type: 'STRING', value: String(input.time_est) })
  if (input.time_spent !== undefined && input.time_spent !== item.time_spent) change('time_spent', input.time_spent, Level.COMPLETE, { property: 'time_spent', type: 'STRING', value: String(input.time_spent) })
  const location = locationValue(input.location)
  if (location !== undefined && JSON.stringify(location) !== JSON.stringify(item.location ?? null)) change('location', location === null ? null : JSON.stringify(location), Level.MODIFY)
  const contact = contactText(input.contact)
  if (contact !== undefined && contact !== item.contact) change('contact', contact, Level.MODIFY)
  if (input.short_name !== undefined && (input.short_name ?? null) !== item.short_name) {
    if (input.short_name && category !== Category.PROJECT) throw errors.invalidData('short_name', 'short names are for projects only')
    change('short_name', input.short_name, Level.MODIFY)
    set.set('short_name_key', input.short_name ? shortNameKey(item.user_id, item.business_id, input.short_name) : null)
  }

  // completion: of one occurrence (recurring with instance_date_time) or of the item
  let completeSubtree: boolean | null = null
  if (input.instances !== undefined) {
    const stored = input.instances ? storedInstances(input.instances, tz) : []
    if (JSON.stringify(stored) !== JSON.stringify(item.instances ?? [])) change('instances', JSON.stringify(stored), Level.COMPLETE)
  }
  if (input.completed !== undefined) {
    if (input.instance_date_time !== undefined && ((set.get('recurring') as number | undefined) ?? item.recurring) > 0) {
      const d = parseDate(input.instance_date_time, tz)
      if (!d) throw errors.invalidFormat('instance_date_time')
      const current = (set.has('instances') ? JSON.parse(set.get('instances') as string) : (item.instances ?? [])) as { status: number; start_date: string; start_date_time: string | null }[]
      const day = formatDay(d.date, tz)
      const status = input.completed ? 1 : 0
      const others = current.filter((x) => x.start_date !== day)
      const before = current.find((x) => x.start_date === day)
      if (!before || before.status !== status) {
        const next = [...others, { status, start_date: day, start_date_time: d.date.toISOString() }].sort((a, b) => (a.start_date < b.start_date ? -1 : 1))
        change('instances', JSON.stringify(next), Level.COMPLETE, { property: 'completed', type: 'BOOLEAN', value: String(input.completed) })
      }
    } else if (input.completed !== item.completed) {
      change('completed', input.completed, Level.COMPLETE, { property: 'completed', type: 'BOOLEAN', value: String(input.completed) })
      set.set('last_transition_time', new Date())
      set.set('last_transition_user', user.id)
      if (input.cascade) completeSubtree = input.completed
    } else if (input.cascade) {
      completeSubtree = input.completed
      want(Level.COMPLETE)
    }
  }

  // parent (a move): 60 on the item, 30 on the new parent; never under itself; projects stay top level
  const parentRef = parentRefOf(input)
  let newParent: ItemRow | null | undefined
  if (parentRef !== undefined) {
    if (parentRef === null) {
      if (item.parent_id !== null) newParent = null
    } else {
      const pref = 'id' in parentRef ? parentRef.id : parentRef.guid
      const samePar = 'id' in parentRef ? parentRef.id === item.parent_id : parentRef.guid === item.parent_guid
      if (!samePar) newParent = (await getItemForUser(deps, user, pref, Level.VIEW, { client: db })).item
    }
  }
  if (newParent !== undefined) {
    want(Level.MODIFY)
    if (newParent) {
      if (newParent.id === item.id || (await subtree()).ids.includes(newParent.id)) {
        throw errors.invalidData('parent', 'an item cannot be moved under itself or its descendants')
      }
      requireLevel(newParent.level, Level.ADD, 'adding to the new parent')
      await lockTree(db, newParent.id)
    }
    change('parent_id', newParent ? newParent.id : null, Level.MODIFY, { property: 'parent', type: 'INTEGER', value: String(newParent ? newParent.id : 0) })
  }
  const finalParentId = newParent !== undefined ? (newParent?.id ?? null) : item.parent_id
  if (category === Category.PROJECT && finalParentId !== null) throw errors.invalidData('parent', 'projects are top level')

  // people
  const oldAssignee = item.assignee_id ?? 0
  const newAssigneeIn = input.assignee ?? input.assigneeId
  const assignee = newAssigneeIn ?? oldAssignee
  const participants = input.participants !== undefined ? [...new Set(input.participants)] : item.participants
  const named: { id: number; role: string }[] = []
  if (assignee !== oldAssignee) {
    change('assignee_id', assignee || null, Level.ASSIGN, { property: 'assignee', type: 'INTEGER', value: String(assignee) })
    if (assignee) named.push({ id: assignee, role: 'assignee' })
  }
  if (input.participants !== undefined && JSON.stringify([...participants].sort()) !== JSON.stringify([...item.participants].sort())) {
    change('participants', participants, Level.ASSIGN, { property: 'participants', type: 'STRING', value: participants.join(',') })
    for (const p of participants) if (!item.participants.includes(p)) named.push({ id: p, role: 'participant' })
  }
  // tags
  let tags: string[] | null = null
  if (input.tags !== undefined) {
    const next = normalizeTagNames(input.tags)
    const current = (await tagsOfItems(db, [item.id])).get(item.id) ?? []
    // names are case-insensitive in a tag space (a tag keeps its space's spelling) and a
    // list's order means nothing: the same set is no change, needs no level, writes nothing
    const key = (l: string[]) => JSON.stringify(l.map((x) => x.toLowerCase()).sort())
    if (key(next) !== key(current)) {
      tags = next
      want(Level.MODIFY)
      hist.push({ property: 'tag', type: 'STRING', value: next.join(',') })
    }
  }

  // every changed field's level, before the rules that look at other users and lists
  requireLevel(level, need, 'for these changes')
  await checkUsersExist(db, named.map((n) => n.id), 'user')

  // permissions: the requested list, the list conformed to a new parent, plus automatic shares
  const current = await permissionsOf(db, item.id)
  // the parent's list matters only to a permission change or a move (read only then)
  const parentList = finalParentId !== null && (input.permissions || newParent) ? await permissionsOf(db, finalParentId) : null
  let list: PermList = current
  if (input.permissions) {
    list = checkPermissionChange({ ownerId: item.user_id, callerLevel: level, current, requested: listFromGrants(input.permissions), parent: parentList, fillFromParent: false })
    await checkPrincipalsExist(db, list.keys())
  } else if (newParent) {
    list = conformToParent(current, parentList!, item.user_id)
  }
  list = new Map(list)
  await applyPeopleRules(db, named, list, finalParentId !== null)
  // people who stay assignee/participant must keep seeing the item
  const kept = [...(assignee && assignee === oldAssignee ? [assignee] : []), ...participants.filter((p) => item.participants.includes(p))]
  if (kept.length && !sameList(list, current)) {
    const lv = await userLevelsUnder(db, kept, list)
    const lost = kept.find((u) => (lv.get(u) ?? 0) < Level.VIEW)
    if (lost !== undefined) {
      throw new ApiError(Code.UNABLE_TO_REMOVE_PERMISSION_OF_ASSIGNEE_OR_PARTICIPANT, `Cannot remove ${lost === assignee ? 'assignee' : 'participant'} ${lost} permission`)
    }
  }
  const permsChanged = !sameList(list, current)
  const cascadeAcl = !!input.cascadeAcl && !!input.permissions
  if (permsChanged) hist.push({ property: 'shared_with', type: 'STRING', value: grantsOf(list).map((g) => `${g.principal}:${g.level}`).join(',') })
  if (cascadeAcl) want(Level.SHARE)

  requireLevel(level, need, 'for these changes')

  // per-user parts: level 10
  const alerts = input.alerts !== undefined ? parseAlerts(input.alerts ?? [], tz) : null

  // ---- writes ----
  const fieldsChanged = set.size > 0 || tags !== null || permsChanged
  if (fieldsChanged) {
    const cols = [...set.keys()]
    const vals = cols.map((c) => set.get(c))
    const assignments = cols.map((c, n) => `${c} = $${n + 2}`)
    try {
      await db.query(
        `UPDATE items SET ${[...assignments, 'version = version + 1', 'time_last_update = now()'].join(', ')} WHERE id = $1`,
        [item.id, ...vals],
      )
    } catch (e) {
      if (isUniqueViolation(e, 'short_name_key')) throw shortNameUsed()
      if (parentGone(e)) throw errors.notFound('Item')
      throw e
    }
  }
  if (tags !== null) await setItemTags(db, { id: item.id, user_id: item.user_id, business_id: item.business_id }, tags)
  if (permsChanged || cascadeAcl || newParent !== undefined) {
    if (permsChanged) await writeItemPermissions(db, item.id, list)
    const below = await subtree()
    await conformNodes(db, below, list, cascadeAcl)
    await touchItems(db, below.ids)
  }
  if (completeSubtree !== null) {
    const below = await subtree()
    const r = await db.query<{ id: number }>(
      `UPDATE items SET completed = $2, version = version + 1, time_last_update = now(), last_transition_time = now(), last_transition_user = $3
        WHERE id = ANY($1::bigint[]) AND completed <> $2 RETURNING id`,
      [below.ids, completeSubtree, user.id],
    )
    const done = r.rows.map((x) => x.id)
    await recordHistory(db, done, { id: user.id }, [{ property: 'completed', type: 'BOOLEAN', value: String(completeSubtree) }])
    await markUnread(db, done, user.id, UNREAD.MODIFIED)
  }
  if (hist.length) await recordHistory(db, item.id, { id: user.id }, hist)
  if (fieldsChanged) await markUnread(db, item.id, user.id, UNREAD.MODIFIED)
  if (named.length) await markUnread(db, item.id, user.id, UNREAD.NEW, named.map((n) => n.id)) // new to the newly named
  if (alerts) await replaceAlerts(db, item.id, user.id, alerts)
  if (input.starred !== undefined) await setStarred(db, item.id, user.id, input.starred)
  return item.id
}

/**
 * Deletes the items with their subtrees (comments, history, permissions, files rows go with
 * them by cascade). Returns the storage keys of the deleted files and their previews: remove
 * the blobs after commit (removeBlobs).
 */
export async function deleteItemTree(_deps: Deps, db: Queryable, itemIds: number[]): Promise<string[]> {
  if (!itemIds.length) return []
  const r = await db.query<{ storage_key: string; previews: unknown }>(
    `WITH RECURSIVE sub(id) AS (SELECT id FROM items WHERE id = ANY($1::bigint[])
       UNION SELECT i.id FROM items i JOIN sub ON i.parent_id = sub.id)
     SELECT f.storage_key, f.previews FROM files f JOIN sub ON f.item_id = sub.id`,
    [itemIds],
  )
  await db.query('DELETE FROM items WHERE id = ANY($1::bigint[])', [itemIds])
  const keys: string[] = []
  for (const f of r.rows) {
    keys.push(f.storage_key)
    if (Array.isArray(f.previews)) for (const p of f.previews as { storage_key?: unknown }[]) if (typeof p?.storage_key === 'string') keys.push(p.storage_key)
  }
  return keys
}

/** deletes blobs of deleted files (after commit); failures are logged and left to the sweep */
export async function removeBlobs(deps: Deps, keys: string[]) {
  if (!keys.length) return
  const done: string[] = []
  for (const k of keys) {
    try {
      await deps.storage.delete(k)
      done.push(k)
    } catch (e) {
      deps.log.warn({ err: e, key: k }, 'blob delete failed; left for the sweep')
    }
  }
  // the files trigger queued them in deleted_blobs; those are done now
  await deps.db.pool.query('DELETE FROM deleted_blobs WHERE key = ANY($1::text[])', [done]).catch(() => {})
}

/** DELETE /item/{id}: level 100; the subtree and its files go too */
export async function deleteItem(deps: Deps, user: SessionUser, ref: unknown) {
  const keys = await inTransaction(deps.db.pool, async (db) => {
    const { item } = await getItemForUser(deps, user, ref, Level.ALL, { client: db, lock: true })
    return deleteItemTree(deps, db, [item.id])
  })
  await removeBlobs(deps, keys)
}

/** GET /item/read/{id}: clears the caller's unread */
export async function markRead(deps: Deps, user: SessionUser, ref: unknown) {
  const { item } = await getItemForUser(deps, user, ref, Level.VIEW)
  await deps.db.pool.query('UPDATE item_user_state SET unread = 0 WHERE item_id = $1 AND user_id = $2 AND unread <> 0', [item.id, user.id])
}
