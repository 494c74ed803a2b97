// THE permission service of items (contract §8.3, docs/permissions.md). Every item route
// asks it; nothing else decides who sees or changes an item.
//
// Storage: item_permissions holds every item's FULL effective list (principal = a user id
// in decimal, or a group id). Writes keep the parent rules true in the whole subtree
// (a recursive CTE finds the subtree at write time); reads never recurse: a caller's level
// is max(level) over the rows of their principals (own id + their groups).
//
// Exported for other modules (names kept stable):
//   principalsFor(deps, user)                  the caller's principals, cached per request
//   getItemForUser(deps, user, idOrGuid, minLevel, opts?)
//        → { item: ItemRow (with .level and .parent_guid), level }; 404/1 when absent,
//          archived (unless opts.archived) or invisible; 403/3 when visible below minLevel.
//          opts.client runs it inside a transaction, opts.lock takes FOR UPDATE on the row,
//          opts.invisible returns a row the caller cannot see (level 0): only for answering a
//          write the caller just made (removing their own access).
//   requireLevel(level, needed, what)          403/3 when level < needed
//   parseItemRef(idOrGuid)                     {id} | {guid}, 400/5 when neither form
//   subtreeOf(db, rootIds)                     ids (+ owners) of the descendants
//   Level (from access.ts)                     the ten levels
import type { Deps } from '../deps.js'
import type { SessionUser } from './auth.js'
import { ApiError, Code, errors } from '../http/errors.js'
import { Level, principalsOf, type Queryable } from './access.js'
import type { Grant } from './items-input.js'

export { Level }

/** item columns every reader selects (alias i), with the caller's level and the parent's guid */
export const ITEM_COLUMNS = `i.id, i.guid, i.user_id, i.business_id, i.title, i.message, i.category, i.completed, i.color,
  i.color_value, i.parent_id, i.short_name, i.issue_id, i.recurring, i.recurring_interval, i.recurring_end_date,
  i.instances, i.start_date, i.end_date, i.due_date, i.is_all_day, i.time_create, i.time_last_update, i.version,
  i.time_track, i.time_est, i.time_spent, i.priority, i.assignee_id, i.participants, i.location, i.contact,
  i.last_comment_id, i.last_comment, i.last_comment_user_id, i.last_comment_at, i.publish_url,
  i.last_transition_time, i.last_transition_user, i.archived`

export type ItemRow = {
  id: number
  guid: string
  user_id: number
  business_id: number | null
  title: string
  message: string | null
  category: number
  completed: boolean
  color: number
  color_value: string
  parent_id: number | null
  short_name: string | null
  issue_id: string | null
  recurring: number
  recurring_interval: number
  recurring_end_date: Date | null
  instances: unknown
  start_date: Date | null
  end_date: Date | null
  due_date: Date | null
  is_all_day: boolean
  time_create: Date
  time_last_update: Date
  version: number
  time_track: boolean
  time_est: number
  time_spent: number
  priority: number
  assignee_id: number | null
  participants: number[]
  location: unknown
  contact: string | null
  last_comment_id: number | null
  last_comment: string | null
  last_comment_user_id: number | null
  last_comment_at: Date | null
  publish_url: string | null
  last_transition_time: Date | null
  last_transition_user: number | null
  archived: boolean
  /** the caller's effective level */
  level: number
  parent_guid: string | null
}

const principalCache = new WeakMap<object, Promise<string[]>>()

/** the caller's principals (own id + group ids), loaded once per request */
export function principalsFor(deps: Deps, user: SessionUser, db?: Queryable): Promise<string[]> {
  let p = principalCache.get(user)
  if (!p) {
    p = principalsOf(db ?? deps.db.pool, user.id)
    principalCache.set(user, p)
    p.catch(() => principalCache.delete(user))
  }
  return p
}

export function parseItemRef(ref: unknown): { id: number } | { guid: string } {
  const s = typeof ref === 'number' ? String(ref) : typeof ref === 'string' ? ref.trim() : ''
  if (/^\d{1,15}$/.test(s) && Number(s) > 0) return { id: Number(s) }
  if (/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(s) && !/^\d+$/.test(s)) return { guid: s }
  throw errors.invalidFormat('id')
}

export function requireLevel(level: number, needed: number, what = 'for this operation') {
  if (level < needed) throw errors.noPermissions(`${what} needs level ${needed}`)
}

/** the visible-items subquery for principals $N: (item_id, level); `itemsParam` ($M, bigint[])
 *  restricts it to those items (an index range per item instead of all the caller's rows) */
export const visibleSql = (param: string, itemsParam?: string) =>
  `(SELECT item_id, max(level)::int AS level FROM item_permissions WHERE principal = ANY(${param}::text[])${itemsParam ? ` AND item_id = ANY(${itemsParam}::bigint[])` : ''} GROUP BY item_id)`

/** ItemRows of the items visible to principals $1 that match `where` (alias i); `only`: a
 *  bigint[] parameter restricting them to those ids. GET /item, since, delta and GET /archive. */
export const visibleItemsSql = (o: { where: string; orderBy?: string; only?: string }) =>
  `SELECT ${ITEM_COLUMNS}, pi.guid AS parent_guid, v.level
     FROM ${visibleSql('$1', o.only)} v JOIN items i ON i.id = v.item_id LEFT JOIN items pi ON pi.id = i.parent_id
    WHERE v.level > 0 AND ${o.where}
    ORDER BY ${o.orderBy ?? 'i.id'}`

export async function getItemForUser(
  deps: Deps,
  user: SessionUser,
  idOrGuid: unknown,
  minLevel: number,
  opts: { client?: Queryable; lock?: boolean; archived?: boolean; invisible?: boolean } = {},
): Promise<{ item: ItemRow; level: number }> {
  const ref = parseItemRef(idOrGuid)
  const db = opts.client ?? deps.db.pool
  const principals = await principalsFor(deps, user, db)
  const where = 'id' in ref ? 'i.id = $2' : 'i.guid = $2'
  const r = await db.query<ItemRow>(
    `SELECT ${ITEM_COLUMNS}, pi.guid AS parent_guid,
            COALESCE((SELECT max(level) FROM item_permissions p WHERE p.item_id = i.id AND p.principal = ANY($1::text[])), 0)::int AS level
       FROM items i LEFT JOIN items pi ON pi.id = i.parent_id
      WHERE ${where}${opts.lock ? ' FOR UPDATE OF i' : ''}`,
    [principals, 'id' in ref ? ref.id : ref.guid],
  )
  const item = r.rows[0]
  if (!item || (item.level <= 0 && !opts.invisible) || (item.archived && !opts.archived)) throw errors.notFound('Item')
  requireLevel(item.level, minLevel)
  return { item, level: item.level }
}

export type PermList = Map<string, number>

export function listFromGrants(grants: Grant[]): PermList {
  const m: PermList = new Map()
  // a principal named twice keeps its highest level; level 0 ("not on the list") is kept
  // here so the owner rule can see it, and dropped by checkPermissionChange
  for (const g of grants) m.set(g.principal, Math.max(m.get(g.principal) ?? 0, g.level))
  return m
}

export function grantsOf(list: PermList): Grant[] {
  return [...list].map(([principal, level]) => ({ principal, level })).sort((a, b) => (a.principal < b.principal ? -1 : a.principal > b.principal ? 1 : 0))
}

export function sameList(a: PermList, b: PermList): boolean {
  if (a.size !== b.size) return false
  for (const [k, v] of a) if (b.get(k) !== v) return false
  return true
}

export async function permissionsOf(db: Queryable, itemId: number): Promise<PermList> {
  const r = await db.query<{ principal: string; level: number }>('SELECT principal, level FROM item_permissions WHERE item_id = $1', [itemId])
  return new Map(r.rows.map((x) => [x.principal, x.level]))
}

const isUserPrincipal = (p: string) => /^\d+$/.test(p)

/** every principal names an existing user or group, else 400/6 */
export async function checkPrincipalsExist(db: Queryable, principals: Iterable<string>) {
  const all = [...new Set(principals)]
  const users = all.filter(isUserPrincipal).map(Number)
  const groups = all.filter((p) => !isUserPrincipal(p))
  const r = await db.query<{ p: string }>(
    `SELECT id::text AS p FROM users WHERE id = ANY($1::bigint[])
     UNION ALL SELECT id AS p FROM groups WHERE id = ANY($2::text[])`,
    [users, groups],
  )
  const found = new Set(r.rows.map((x) => x.p))
  const missing = all.find((p) => !found.has(p))
  if (missing !== undefined) throw errors.invalidData(`principal ${missing}`)
}

/**
 * Validates a requested list against the owner rule, the caller's level and the parent
 * rules (§8.3), in that order. Returns the list to store (the owner added at 100).
 * `current`: the stored list (null on create: the creator holds 100, no level check).
 */
export function checkPermissionChange(o: {
  ownerId: number
  callerLevel: number
  current: PermList | null
  requested: PermList
  parent: PermList | null
  /** on create, principals of the parent missing from the request are filled in */
  fillFromParent: boolean
}): PermList {
  const owner = String(o.ownerId)
  const next: PermList = new Map(o.requested)
  const ownerLevel = next.get(owner)
  if (ownerLevel !== undefined && ownerLevel !== Level.ALL) {
    throw new ApiError(Code.OWNER_CANT_CHANGE_OWN_PERMISSION, `Owner ${owner} is not allowed to change own permission`)
  }
  next.set(owner, Level.ALL)
  for (const [p, lv] of next) if (lv <= 0) next.delete(p)
  if (o.parent && o.fillFromParent) for (const [p, lv] of o.parent) if (!next.has(p)) next.set(p, lv)

  if (o.current) {
    let need = 0
    for (const [p, lv] of next) {
      const was = o.current.get(p) ?? 0
      if (lv > was) need = Math.max(need, lv > Level.SHARE ? Level.ALL : Level.SHARE)
      else if (lv < was) need = Level.ALL
    }
    for (const p of o.current.keys()) if (!next.has(p)) need = Level.ALL
    if (o.callerLevel < need) throw errors.noPermissions(`changing these permissions needs level ${need}`)
  }

  if (o.parent) {
    for (const [p, lv] of next) {
      if (p === owner) continue
      const floor = o.parent.get(p)
      if (floor === undefined) {
        throw new ApiError(Code.UNABLE_TO_SHARE_BECAUSE_OF_PROJECT, `Unable to add ${p} because project/parent item is not shared with ${p}`)
      }
      if (lv < floor) {
        throw new ApiError(Code.UNABLE_TO_DOWNGRADE_PERMISSION, `Permission '${p}' downgrade to '${lv}' is not allowed because parent has '${floor}' for this principal`)
      }
    }
    for (const [p] of o.parent) {
      if (!next.has(p)) {
        throw new ApiError(Code.UNABLE_TO_ALTER_PERMISSION_OF_CHILD_TASK, `${p} permission can not be removed because it will conflict with parent ${p} permissions.`)
      }
    }
  }
  return next
}

/** A child's list when it is (re)placed under a parent: the parent's principals at least at
 *  the parent's levels; principals not on the parent are dropped (the owner stays at 100). */
export function conformToParent(own: PermList, parent: PermList, ownerId: number): PermList {
  const owner = String(ownerId)
  const next: PermList = new Map()
  for (const [p, lv] of parent) next.set(p, Math.max(lv, own.get(p) ?? 0))
  next.set(owner, Level.ALL)
  return next
}

/** each user's effective level under `list` (own entry or their groups') */
export async function userLevelsUnder(db: Queryable, userIds: number[], list: PermList): Promise<Map<number, number>> {
  const out = new Map<number, number>()
  if (!userIds.length) return out
  const r = await db.query<{ user_id: number; group_id: string }>('SELECT user_id, group_id FROM group_members WHERE user_id = ANY($1::bigint[])', [userIds])
  for (const u of userIds) out.set(u, list.get(String(u)) ?? 0)
  for (const g of r.rows) {
    const lv = list.get(g.group_id)
    if (lv !== undefined && lv > (out.get(g.user_id) ?? 0)) out.set(g.user_id, lv)
  }
  return out
}

/** Replaces an item's rows with `list`. */
export async function writeItemPermissions(db: Queryable, itemId: number, list: PermList) {
  const g = grantsOf(list)
  await db.query(
    `WITH del AS (DELETE FROM item_permissions WHERE item_id = $1 AND NOT (principal = ANY($2::text[])))
     INSERT INTO item_permissions (item_id, principal, level)
     SELECT $1, p, l FROM unnest($2::text[], $3::int[]) AS x(p, l)
     ON CONFLICT (item_id, principal) DO UPDATE SET level = EXCLUDED.level WHERE item_permissions.level <> EXCLUDED.level`,
    [itemId, g.map((x) => x.principal), g.map((x) => x.level)],
  )
}

/** descendants of the given items (not the items themselves), with their owners */
export async function subtreeOf(db: Queryable, rootIds: number[]): Promise<{ ids: number[]; owners: number[] }> {
  if (!rootIds.length) return { ids: [], owners: [] }
  const r = await db.query<{ id: number; user_id: number }>(
    `WITH RECURSIVE sub(id, user_id) AS (
       SELECT id, user_id FROM items WHERE parent_id = ANY($1::bigint[])
       UNION SELECT i.id, i.user_id FROM items i JOIN sub s ON i.parent_id = s.id)
     SELECT id, user_id FROM sub`,
    [rootIds],
  )
  return { ids: r.rows.map((x) => x.id), owners: r.rows.map((x) => x.user_id) }
}

/**
 * Makes the lists of `nodes` agree with `list` (their new parent's list, or the changed
 * list of their ancestor): principals not on it are removed (each node's owner stays at 100),
 * principals on it are raised to at least its level; `exact` (cascadeAcl) sets them equal.
 * Two statements for the whole set, whatever its size.
 */
export async function conformNodes(db: Queryable, nodes: { ids: number[]; owners: number[] }, list: PermList, exact: boolean) {
  if (!nodes.ids.length) return
  const g = grantsOf(list)
  const principals = g.map((x) => x.principal)
  const levels = g.map((x) => x.level)
  await db.query(
    `DELETE FROM item_permissions p USING unnest($1::bigint[], $2::bigint[]) AS s(id, owner)
      WHERE p.item_id = s.id AND p.principal <> s.owner::text AND NOT (p.principal = ANY($3::text[]))`,
    [nodes.ids, nodes.owners, principals],
  )
  await db.query(
    `INSERT INTO item_permissions (item_id, principal, level)
     SELECT s.id, x.p, x.l
       FROM unnest($1::bigint[], $2::bigint[]) AS s(id, owner) CROSS JOIN unnest($3::text[], $4::int[]) AS x(p, l)
      WHERE x.p <> s.owner::text
     UNION ALL
     SELECT s.id, s.owner::text, 100 FROM unnest($1::bigint[], $2::bigint[]) AS s(id, owner)
     ON CONFLICT (item_id, principal) DO UPDATE
        SET level = ${exact ? 'EXCLUDED.level' : 'GREATEST(item_permissions.level, EXCLUDED.level)'}
      WHERE item_permissions.level <> ${exact ? 'EXCLUDED.level' : 'GREATEST(item_permissions.level, EXCLUDED.level)'}`,
    [nodes.ids, nodes.owners, principals, levels],
  )
}

/**
 * Serialises permission writes inside one tree (a transaction-scoped advisory lock on the
 * root), so two writers never check a parent's list while the other changes it.
 */
export async function lockTree(db: Queryable, itemId: number) {
  await db.query(
    `WITH RECURSIVE up(id, parent_id) AS (
       SELECT id, parent_id FROM items WHERE id = $1
       UNION SELECT i.id, i.parent_id FROM items i JOIN up ON i.id = up.parent_id)
     SELECT pg_advisory_xact_lock(7340031, ((SELECT id FROM up WHERE parent_id IS NULL LIMIT 1) % 2147483647)::int)`,
    [itemId],
  )
}
