// Liveness and readiness, outside /api, and the answer for unsupported API versions.
import type { RouteModule } from './route.js'
import { Code, errors } from '../platform/errors.js'
import { BAD_VERSION_PATH, MAX_API_VERSION } from './version.js'
import { z } from 'zod'

/**
 * One database round trip through the pool, shared by the /ready requests that arrive while it
 * runs: a saturated pool or a database that does not answer costs one waiting probe, not one
 * per health check.
 */
function readinessProbe(deps: Parameters<RouteModule>[1]) {
  let running: Promise<void> | null = null
  let startedAt = 0
  // a probe stuck longer than any bound of the pool (a connection to a host that went silent)
  // is not shared any more: the next one starts afresh
  const stale = deps.config.DB_POOL_ACQUIRE_TIMEOUT_MS + deps.config.DB_STATEMENT_TIMEOUT_MS
  return (timeoutMs: number): Promise<boolean> => {
    if (!running || Date.now() - startedAt > stale) {
      startedAt = Date.now()
      const p: Promise<void> = deps.db.ping().finally(() => {
        if (running === p) running = null
      })
      running = p
    }
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))
    return Promise.race([running.then(() => true, () => false), timeout]).finally(() => clearTimeout(timer))
  }
}

const register: RouteModule = (route, deps) => {
  const probe = readinessProbe(deps)
  route({
    method: 'GET',
    url: '/health',
    auth: 'none',
    root: true,
    rateLimit: false,
    summary: 'The process is up',
    tags: ['system'],
    response: z.strictObject({ status: z.literal('ok') }),
    handler: () => ({ status: 'ok' }),
  })
  route({
    method: 'GET',
    url: '/ready',
    auth: 'none',
    root: true,
    rateLimit: false,
    summary: 'The database answers through the pool within READY_TIMEOUT_MS',
    tags: ['system'],
    errors: [100],
    response: z.strictObject({ status: z.literal('ready') }),
    handler: async ({ reply }) => {
      // never waits longer than its own timeout: a saturated pool or a dead database is a
      // 503 at once for the load balancer, not a hung health check
      if (await probe(deps.config.READY_TIMEOUT_MS)) return { status: 'ready' }
      reply.code(503).header('Retry-After', '5')
      return { error_message: 'Database is not reachable', response_status: Code.INTERNAL_ERROR }
    },
  })
  route({
    method: ['GET', 'POST', 'PUT', 'DELETE'],
    url: [BAD_VERSION_PATH, BAD_VERSION_PATH + '/*'],
    auth: 'none',
    summary: 'Any /api/vN/ with N above the supported version',
    tags: ['system'],
    errors: [9],
    handler: () => {
      throw errors.apiVersion(MAX_API_VERSION)
    },
  })
}
export default register
