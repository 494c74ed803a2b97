// Per-client request budget (contract §2): every client, keyed by its API key and user, or
// by its address when anonymous, gets RATE_LIMIT_PER_MINUTE requests a minute; over it
// 429/67 with Retry-After and X-RateLimit-* headers. The counters are a CounterStore
// (Redis when configured, so several instances share one budget).
import type { FastifyInstance } from 'fastify'
import rateLimit from '@fastify/rate-limit'
import type { Deps } from '../deps.js'
import { ApiError, Code } from './errors.js'
import type { CounterStore } from '../services/counters.js'

function storeFor(counters: CounterStore) {
  return class CounterRateLimitStore {
    incr(key: string, cb: (err: Error | null, r?: { current: number; ttl: number }) => void, timeWindow: number) {
      counters.hit('req:' + key, timeWindow).then(
        (r) => cb(null, { current: r.count, ttl: Math.max(0, r.resetAt - Date.now()) }),
        (e) => cb(e),
      )
    }
    child() {
      return this
    }
  }
}

export async function registerRateLimit(app: FastifyInstance, deps: Deps) {
  await app.register(rateLimit, {
    global: true,
    // after the session is known (preValidation), so a signed-in client has its own budget
    hook: 'preHandler',
    max: deps.config.RATE_LIMIT_PER_MINUTE,
    timeWindow: 60_000,
    store: storeFor(deps.counters) as any,
    // a broken Redis must not take the API down with it
    skipOnError: true,
    keyGenerator: (req) => {
      const u = req.user
      if (u) return `k:${u.apiKeyHash.slice(0, 16)}:u:${u.id}`
      return `ip:${req.ip}`
    },
    errorResponseBuilder: (_req, ctx) =>
      new ApiError(Code.CUSTOM_API_KEY_USAGE_LIMIT_EXCEEDED, 'You are performing too many API requests per second', 429, {
        'Retry-After': String(Math.max(1, Math.ceil(ctx.ttl / 1000))),
      }),
  })
}

/**
 * Failed sign-ins have their own, tighter budget: per address per minute and per login per
 * 15 minutes. Checked before the password is verified, counted only on failure.
 */
export async function checkAuthFailureBudget(deps: Deps, ip: string, login: string) {
  const [byIp, byLogin] = await Promise.all([
    deps.counters.peek(`authfail:ip:${ip}`, 60_000),
    deps.counters.peek(`authfail:login:${login.toLowerCase()}`, 15 * 60_000),
  ])
  const over = [
    byIp.count >= deps.config.AUTH_FAIL_PER_MINUTE_PER_ADDRESS ? byIp : null,
    byLogin.count >= deps.config.AUTH_FAIL_PER_15MIN_PER_LOGIN ? byLogin : null,
  ].filter(Boolean) as { resetAt: number }[]
  if (over.length) {
    const resetAt = Math.max(...over.map((o) => o.resetAt))
    const retry = Math.max(1, Math.ceil((resetAt - Date.now()) / 1000))
    throw new ApiError(Code.CUSTOM_API_KEY_USAGE_LIMIT_EXCEEDED, 'You are performing too many API requests per second', 429, {
      'Retry-After': String(retry),
      'X-RateLimit-Limit': String(deps.config.AUTH_FAIL_PER_15MIN_PER_LOGIN),
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': String(retry),
    })
  }
}

export async function countAuthFailure(deps: Deps, ip: string, login: string) {
  await Promise.all([
    deps.counters.hit(`authfail:ip:${ip}`, 60_000),
    deps.counters.hit(`authfail:login:${login.toLowerCase()}`, 15 * 60_000),
  ])
}
