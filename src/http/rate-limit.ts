// Per-client request budget (contract §2, §15, docs/security.md): RATE_LIMIT_PER_MINUTE
// requests a minute per signed-in user (whatever API key the session came with: a new key is
// no new budget), and per address for every request without a valid session (anonymous
// ones, and those whose session id names no session). An address over its budget is refused
// when the request arrives, before its body is read or its session looked up, so bogus
// session ids get 429 as cheaply as anything. Over a budget: 429/67 with Retry-After and
// X-RateLimit-* headers. The counters are a CounterStore (Redis when configured, so several
// instances share one budget); a broken Redis does not take the API down with it.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../deps.js'
import { errors } from '../platform/errors.js'

const WINDOW_MS = 60_000

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: not counted by the per-client rate limit */
    rateLimit?: boolean
  }
}

export function isRateLimited(req: FastifyRequest): boolean {
  return req.routeOptions.config?.rateLimit !== false
}

const addressKey = (req: FastifyRequest) => `req:ip:${req.ip}`
const userKey = (userId: number) => `req:u:${userId}`

function headersOf(limit: number, count: number, resetAt: number): Record<string, string> {
  const reset = Math.max(1, Math.ceil((resetAt - Date.now()) / 1000))
  return {
    'X-RateLimit-Limit': String(limit),
    'X-RateLimit-Remaining': String(Math.max(0, limit - count)),
    'X-RateLimit-Reset': String(reset),
  }
}

function refusal(limit: number, resetAt: number) {
  const h = headersOf(limit, limit, resetAt)
  return errors.tooManyRequests({ ...h, 'Retry-After': h['X-RateLimit-Reset']! })
}

/**
 * What this instance last learned of each address's budget (from a read, or from counting a
 * request), so that a request from an address under its budget costs no extra counter read
 * more than once a second, and one over it none at all. Counting an anonymous request returns
 * the shared count, which keeps this fresh where it matters; another instance's count is seen
 * within ADDRESS_FRESH_MS.
 */
const ADDRESS_FRESH_MS = 1000
type Known = { count: number; resetAt: number; readAt: number }
const knownOf = new WeakMap<object, { byKey: Map<string, Known>; sweptAt: number }>()

function known(deps: Deps) {
  let k = knownOf.get(deps.counters)
  if (!k) knownOf.set(deps.counters, (k = { byKey: new Map(), sweptAt: Date.now() }))
  return k
}

function remember(deps: Deps, key: string, r: { count: number; resetAt: number }, now: number) {
  const k = known(deps)
  k.byKey.set(key, { ...r, readAt: now })
  if (now - k.sweptAt > WINDOW_MS) {
    k.sweptAt = now
    for (const [key2, e] of k.byKey) if (e.resetAt <= now) k.byKey.delete(key2)
  }
}

/** onRequest: an address whose budget is spent is refused before anything else is done */
export async function refuseSpentAddress(deps: Deps, req: FastifyRequest) {
  if (!isRateLimited(req)) return
  const limit = deps.config.RATE_LIMIT_PER_MINUTE
  const key = addressKey(req)
  const now = Date.now()
  const last = known(deps).byKey.get(key)
  if (last && last.resetAt > now) {
    if (last.count >= limit) throw refusal(limit, last.resetAt)
    if (now - last.readAt < ADDRESS_FRESH_MS) return
  }
  let r: { count: number; resetAt: number }
  try {
    r = await deps.counters.peek(key, WINDOW_MS)
  } catch {
    return
  }
  remember(deps, key, r, now)
  if (r.count >= limit) throw refusal(limit, r.resetAt)
}

/**
 * Counts the request against the user's budget (`userId`), or its address's (null); sets the
 * X-RateLimit-* headers; 429/67 over the budget.
 */
export async function countRequest(deps: Deps, req: FastifyRequest, reply: FastifyReply, userId: number | null) {
  if (!isRateLimited(req)) return
  const limit = deps.config.RATE_LIMIT_PER_MINUTE
  const key = userId === null ? addressKey(req) : userKey(userId)
  let r: { count: number; resetAt: number }
  try {
    r = await deps.counters.hit(key, WINDOW_MS)
  } catch {
    return
  }
  if (userId === null) remember(deps, key, r, Date.now())
  if (r.count > limit) throw refusal(limit, r.resetAt)
  reply.headers(headersOf(limit, r.count, r.resetAt))
}
