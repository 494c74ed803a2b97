// Prometheus metrics at /metrics: requests by route and status, a latency histogram, the
// database pool's use, and the process's own metrics. Each app has its own registry (tests
// build many apps in one process); the process metrics, which are the same for every app of
// the process, live in one registry per process, created on first use.
import type { FastifyInstance } from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Deps } from '../deps.js'
import type { defineRoutes } from './route.js'

export const METRICS_PATH = '/metrics'

let processRegistry: Registry | undefined
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
  }
  return processRegistry
}

export function createMetrics(deps: Deps) {
  const registry = new Registry()
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request received to response sent, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  })
  const pool = deps.db.pool
  const poolGauges: Array<[name: string, help: string, read: () => number]> = [
    ['db_pool_connections_total', 'Connections open in the PostgreSQL pool', () => pool.totalCount],
    ['db_pool_connections_idle', 'Open connections of the PostgreSQL pool not in use', () => pool.idleCount],
    ['db_pool_requests_waiting', 'Queries waiting for a PostgreSQL pool connection', () => pool.waitingCount],
    ['db_pool_connections_max', 'Largest number of connections the PostgreSQL pool opens', () => (pool as unknown as { options: { max: number } }).options.max],
  ]
  for (const [name, help, read] of poolGauges) {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read())
      },
    })
  }
  return {
    registry,
    observe(method: string, route: string, status: number, seconds: number) {
      const labels = { method, route, status: String(status) }
      requests.inc(labels)
      duration.observe(labels, seconds)
    },
    async text(): Promise<string> {
      return (await registry.metrics()) + (await processMetrics().metrics())
    },
    contentType: registry.contentType,
  }
}

/**
 * Counts every response by its route template (never the raw URL: ids and query strings
 * would make the label set unbounded); unknown URLs count as "unmatched".
 */
export function registerMetrics(app: FastifyInstance, deps: Deps, route: ReturnType<typeof defineRoutes>) {
  const metrics = createMetrics(deps)
  app.addHook('onResponse', async (req, reply) => {
    metrics.observe(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000)
  })
  route({
    method: 'GET',
    url: METRICS_PATH,
    root: true,
    auth: 'none',
    rateLimit: false,
    summary: 'Prometheus metrics (text exposition format); keep it on the internal network',
    tags: ['system'],
    handler: async ({ reply }) => {
      reply.type(metrics.contentType).send(await metrics.text())
    },
  })
  return metrics
}
