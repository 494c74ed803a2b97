// THE access check for items (contract §8.3, docs/permissions.md): every route and service
// that asks what a user may do on an item asks here. Two questions:
//
//   levelsOn(db, user, itemIds)   the user's level on each item (0: cannot see it), one query
//                                 for any number of items, answers kept for the request
//   requireItem(db, user, ref, minLevel, opts)
//                                 one item with the caller's level, or 404/1 when absent,
//                                 archived (unless opts.archived) or invisible (unless
//                                 opts.invisible), 403/3 when visible below minLevel
//
// A user's level on an item is max(level) over the item's rows for their principals (their id
// and their groups' ids, read once per request). How a permission list may change is a
// different question: sharing-rules.ts.
import type { Sql, Tx } from '../platform/db/pool.js'
import type { SessionUser } from '../users/sessions.js'
import { errors } from '../platform/errors.js'
import { levelsOfPrincipals, userPrincipals } from './permission-repository.js'
import { itemWithLevel, lockTrees, type ItemRef, type ItemRow } from './repository.js'

export const LEVELS = [0, 10, 20, 30, 40, 50, 60, 70, 80, 100] as const
export type Level = (typeof LEVELS)[number]
export const Level = { NONE: 0, VIEW: 10, COMMENT: 20, ADD: 30, ASSIGN: 40, COMPLETE: 50, MODIFY: 60, SHARE: 70, ARCHIVE: 80, ALL: 100 } as const

/** an item reference from the wire: a positive id, or a guid; else 400/5 */
export function parseItemRef(ref: unknown): ItemRef {
  const s = typeof ref === 'number' ? String(ref) : typeof ref === 'string' ? ref.trim() : ''
  if (/^\d{1,15}$/.test(s) && Number(s) > 0) return { id: Number(s) }
  if (/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(s) && !/^\d+$/.test(s)) return { guid: s }
  throw errors.invalidFormat('id')
}

/** 403/3 when `level` is below `needed` */
export function requireLevel(level: number, needed: number, what = 'for this operation') {
  if (level < needed) throw errors.noPermissions(`${what} needs level ${needed}`)
}

// What one request already knows, keyed by its SessionUser (made per request, dropped with
// it). Levels are kept per executor: a transaction only reuses what it read itself (a retried
// attempt runs on a new handle and asks again), and once a transaction that asked commits,
// everything the request kept is dropped, because that transaction may have changed lists.
type Known = { principals?: Promise<string[]>; levels: WeakMap<Sql, Map<number, number>> }
const perRequest = new WeakMap<SessionUser, Known>()

function knownOf(user: SessionUser): Known {
  let k = perRequest.get(user)
  if (!k) perRequest.set(user, (k = { levels: new WeakMap() }))
  return k
}

const isTx = (db: Sql): db is Tx => typeof (db as Partial<Tx>).afterCommit === 'function'

function levelsKnownThrough(db: Sql, user: SessionUser): Map<number, number> {
  const k = knownOf(user)
  let m = k.levels.get(db)
  if (!m) {
    k.levels.set(db, (m = new Map()))
    if (isTx(db)) db.afterCommit(() => (k.levels = new WeakMap()))
  }
  return m
}

/** the caller's principals (own id as text + group ids), read once per request */
export function callerPrincipals(db: Sql, user: SessionUser): Promise<string[]> {
  const k = knownOf(user)
  if (!k.principals) {
    const p = userPrincipals(db, user.id)
    k.principals = p
    p.catch(() => {
      if (k.principals === p) k.principals = undefined
    })
  }
  return k.principals
}

/** the caller's level on each of `itemIds` (0: cannot see it); one query for those not known yet */
export async function levelsOn(db: Sql, user: SessionUser, itemIds: number[]): Promise<Map<number, number>> {
  const known = levelsKnownThrough(db, user)
  const missing = [...new Set(itemIds)].filter((id) => !known.has(id))
  if (missing.length) {
    const found = await levelsOfPrincipals(db, await callerPrincipals(db, user), missing)
    for (const id of missing) known.set(id, found.get(id) ?? 0)
  }
  return new Map(itemIds.map((id) => [id, known.get(id)!]))
}

export type RequireItemOptions = {
  /** FOR UPDATE on the item row (inside a transaction) */
  lock?: boolean
  /** FOR UPDATE on the item, its descendants and its parent, in id order (repository
   *  lockTrees), before the item is read under its lock: what a delete or an archive writes,
   *  locked in the order the bulk writers use, so the two never wait on each other in a cycle */
  lockTree?: boolean
  /** an archived item is found too (else 404) */
  archived?: boolean
  /** a row the caller cannot see is returned (level 0): only for answering a write the caller
   *  just made that removed their own access */
  invisible?: boolean
}

/** one item (with the caller's `level` and its parent's guid), or 404/1, or 403/3 below `minLevel` */
export async function requireItem(db: Sql, user: SessionUser, ref: unknown, minLevel: number, opts: RequireItemOptions = {}): Promise<ItemRow> {
  if (opts.lockTree) {
    const seen = await requireItem(db, user, ref, minLevel, { ...opts, lockTree: false, lock: false })
    await lockTrees(db, [seen.id], { skipArchived: false })
    return requireItem(db, user, ref, minLevel, { ...opts, lockTree: false, lock: true })
  }
  const parsed = parseItemRef(ref)
  const item = await itemWithLevel(db, await callerPrincipals(db, user), parsed, opts.lock)
  if (!item || (item.level <= 0 && !opts.invisible) || (item.archived && !opts.archived)) throw errors.notFound('Item')
  levelsKnownThrough(db, user).set(item.id, item.level)
  requireLevel(item.level, minLevel)
  return item
}
