// The item limit per account level (ITEM_LIMITS, e.g. "0:200,100:5000"; unset: unlimited).
// An account's limit is the entry with the highest level at or below its account level
// (0:200,100:5000 → free and premium-expired 200, premium and above 5000); no entry at or
// below it: unlimited. Counted: the non-archived items the account owns (docs/archive.md).
import type { Deps } from '../deps.js'
import { errors } from '../platform/errors.js'
import type { Sql } from '../platform/db/pool.js'
import { activeItemCounts, lockAccountLevels } from './repository.js'

export type ItemLimits = Array<{ level: number; limit: number }>

const cache = new Map<string, ItemLimits>()

/** parses ITEM_LIMITS; throws on a malformed value (checked at start by src/archive/routes.ts) */
export function parseItemLimits(spec: string | undefined): ItemLimits {
  if (!spec || !spec.trim()) return []
  const hit = cache.get(spec)
  if (hit) return hit
  const out: ItemLimits = []
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d{1,4})\s*:\s*(\d{1,12})$/.exec(part)
    if (!m) throw new Error(`ITEM_LIMITS: "${part}" is not <account level>:<item count>`)
    out.push({ level: Number(m[1]), limit: Number(m[2]) })
  }
  out.sort((a, b) => a.level - b.level)
  cache.set(spec, out)
  return out
}

export function itemLimitFor(limits: ItemLimits, accountLevel: number): number | null {
  let limit: number | null = null
  for (const l of limits) if (l.level <= accountLevel) limit = l.limit
  return limit
}

/**
 * Throws 507/20 when adding `adds` (owner id → number of new non-archived items) would take
 * an owner past their limit. Locks the owners' user rows, so concurrent checks of one
 * account run one after the other. Call it inside the transaction that adds the items.
 */
export async function checkItemLimit(deps: Deps, db: Sql, adds: Map<number, number>) {
  const limits = parseItemLimits(deps.config.ITEM_LIMITS)
  if (!limits.length || !adds.size) return
  const owners = await lockAccountLevels(db, [...adds.keys()])
  const limited = owners.map((u) => ({ id: u.id, limit: itemLimitFor(limits, u.account_level) })).filter((u) => u.limit !== null)
  if (!limited.length) return
  const have = await activeItemCounts(db, limited.map((u) => u.id))
  for (const u of limited) {
    if ((have.get(u.id) ?? 0) + (adds.get(u.id) ?? 0) > u.limit!) throw errors.limitExceeded('Items')
  }
}
