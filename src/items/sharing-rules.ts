// How an item's permission list may change (contract §8.3, docs/permissions.md): the owner
// rule, the caller's level for a change, the parent rules, conforming to a parent, and the
// rules on assignee and participants. Pure functions: the callers read the lists and the
// group memberships (permission-repository.ts) and write the result.
import { errors } from '../platform/errors.js'
import { Level, LEVELS } from './access.js'
import type { Grant } from './input.js'
import type { PermList } from './permission-repository.js'

export type { PermList }

export function listFromGrants(grants: Grant[]): PermList {
  const m: PermList = new Map()
  // a principal named twice keeps its highest level; level 0 ("not on the list") is kept
  // here so the owner rule can see it, and dropped by checkPermissionChange
  for (const g of grants) m.set(g.principal, Math.max(m.get(g.principal) ?? 0, g.level))
  return m
}

/** the list as grants, sorted by principal (history text and answers) */
export function grantsOf(list: PermList): Grant[] {
  return [...list].map(([principal, level]) => ({ principal, level })).sort((a, b) => (a.principal < b.principal ? -1 : a.principal > b.principal ? 1 : 0))
}

export function sameList(a: PermList, b: PermList): boolean {
  if (a.size !== b.size) return false
  for (const [k, v] of a) if (b.get(k) !== v) return false
  return true
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
  // a lower level, or (on an update) a list that leaves the owner out → 76; a new item's
  // list without the owner gets the owner added
  if ((ownerLevel !== undefined && ownerLevel !== Level.ALL) || (ownerLevel === undefined && o.current)) {
    throw errors.ownerLevel(owner)
  }
  next.set(owner, Level.ALL)
  for (const [p, lv] of next) if (lv <= 0) next.delete(p)
  if (o.parent && o.fillFromParent) for (const [p, lv] of o.parent) if (!next.has(p)) next.set(p, lv)

  if (o.current) {
    const need = levelNeededFor(o.current, next)
    if (o.callerLevel < need) throw errors.noPermissions(`changing these permissions needs level ${need}`)
  }

  if (o.parent) {
    for (const [p, lv] of next) {
      if (p === owner) continue
      const floor = o.parent.get(p)
      if (floor === undefined) {
        throw errors.notOnParent(p)
      }
      if (lv < floor) {
        throw errors.belowParent(p, lv, floor)
      }
    }
    for (const [p] of o.parent) {
      if (!next.has(p)) {
        throw errors.removedFromParent(p)
      }
    }
  }
  return next
}

/**
 * The level a change of an item's list from `current` to `next` needs (§8.3): a new principal
 * or a raised level 70 up to 70, above 70 100; a lowered or removed principal 100; no change 0.
 */
export function levelNeededFor(current: PermList, next: PermList): number {
  let need = 0
  for (const [p, lv] of next) {
    const was = current.get(p) ?? 0
    if (lv > was) need = Math.max(need, lv > Level.SHARE ? Level.ALL : Level.SHARE)
    else if (lv < was) need = Level.ALL
  }
  for (const p of current.keys()) if (!next.has(p)) need = Level.ALL
  return need
}

/**
 * A move conforms the item (and so its subtree) to the new parent: that is a permission
 * change by the caller (§8.3). It needs the level an explicit change from `current` to
 * `conformed` would need, and it may never raise the caller's own level on the item
 * (`callerPrincipals`: their user id and groups) → 403/3. The subtree needs no check of its
 * own: a descendant's list holds the item's principals at levels at least as high, so the
 * caller's level there is at least theirs on the item, and the conformed descendant changes
 * no more than the item does.
 */
export function checkMove(o: { callerLevel: number; callerPrincipals: string[]; current: PermList; conformed: PermList }) {
  const need = levelNeededFor(o.current, o.conformed)
  if (o.callerLevel < need) throw errors.noPermissions(`moving this item changes its permissions to the new parent's, which needs level ${need}`)
  const after = Math.max(0, ...o.callerPrincipals.map((p) => o.conformed.get(p) ?? 0))
  if (after > o.callerLevel) throw errors.noPermissions('a move cannot raise your own level on the item')
}

/**
 * The principals a change of an item's list from `current` to `next` carries down to its
 * descendants: those added or raised, and those removed (a lowered level leaves descendants
 * as they are, being a floor). With `exact` (cascadeAcl) every principal: the descendants
 * become equal to the item.
 */
export function principalsToFlow(current: PermList, next: PermList, exact: boolean): { raised: string[]; removed: string[]; all: boolean } {
  if (exact) return { raised: [...next.keys()], removed: [], all: true }
  const raised = [...next].filter(([p, lv]) => lv > (current.get(p) ?? 0)).map(([p]) => p)
  const removed = [...current.keys()].filter((p) => !next.has(p))
  return { raised, removed, all: false }
}

/**
 * The work of a permission change in items × principals (contract §15 MAX_CASCADE_ITEMS):
 * the item's own list, plus for each descendant the principals carried down to it (all of
 * them with cascadeAcl). Over `max` → 400/20, before anything is written.
 */
export function requireCascadeWithin(o: { list: PermList; flow: { raised: string[]; removed: string[]; all: boolean }; descendants: number; max: number }) {
  const perDescendant = o.flow.all ? o.list.size : o.flow.raised.length + o.flow.removed.length
  const work = o.list.size + o.descendants * perDescendant
  if (work > o.max) throw errors.cascadeTooLarge(work, o.max)
}

/** every principal of the list names an existing user or group, else 400/6 */
export function requireExisting(principals: Iterable<string>, existing: Set<string>) {
  for (const p of principals) if (!existing.has(p)) throw errors.invalidData(`principal ${p}`)
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

/**
 * The candidate grants of `default_new_item_sharing_permission` (a list of {principal,
 * level}) for a new top-level item of `ownerId`: entries with an unknown level or naming the
 * owner are left out. The caller keeps those whose principal still exists (old data).
 */
export function defaultSharingCandidates(preference: unknown, ownerId: number): PermList {
  const cand: PermList = new Map()
  if (!Array.isArray(preference)) return cand
  for (const g of preference as { principal?: unknown; level?: unknown }[]) {
    const p = String(g?.principal ?? '').trim()
    const lv = Number(g?.level)
    if (p && lv > 0 && (LEVELS as readonly number[]).includes(lv) && p !== String(ownerId)) cand.set(p, lv)
  }
  return cand
}

/** each user's effective level under `list`: their own entry or their groups' (`groupsOf`) */
export function levelsUnder(list: PermList, userIds: number[], groupsOf: Map<number, string[]>): Map<number, number> {
  const out = new Map<number, number>()
  for (const u of userIds) {
    let lv = list.get(String(u)) ?? 0
    for (const g of groupsOf.get(u) ?? []) lv = Math.max(lv, list.get(g) ?? 0)
    out.set(u, lv)
  }
  return out
}

export type NamedPerson = { id: number; role: 'assignee' | 'participant' }

/**
 * Newly named assignee and participants (§8.3): under a parent they must already see the
 * item → 400/75; on a top-level item naming them shares it with them at 50 when they had
 * less (`list` is changed in place). `levels`: their levels under `list`.
 */
export function applyPeopleRule(named: NamedPerson[], levels: Map<number, number>, list: PermList, hasParent: boolean) {
  for (const n of named) {
    const lv = levels.get(n.id) ?? 0
    if (hasParent) {
      if (lv < Level.VIEW) throw errors.noAccessForRole(n.id, n.role)
    } else if (lv < Level.COMPLETE) {
      list.set(String(n.id), Math.max(list.get(String(n.id)) ?? 0, Level.COMPLETE))
    }
  }
}

/** people who stay assignee or participant must keep seeing the item after a list change → 400/78 */
export function requireKeptPeopleSee(kept: number[], levels: Map<number, number>, assignee: number) {
  const lost = kept.find((u) => (levels.get(u) ?? 0) < Level.VIEW)
  if (lost !== undefined) throw errors.keepsPeople(lost === assignee ? 'assignee' : 'participant', lost)
}
