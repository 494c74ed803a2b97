// Prometheus metrics at /metrics: requests by route and status, a latency histogram, the
// database pool's use, and the process's own metrics. Each app has its own registry (tests
// build many apps in one process); the process metrics, which are the same for every app of
// the process, live in one registry per process, created on first use.
//
// Who may read them (contract §15, docs/operations.md): on the API port only a request with
// `Authorization: Bearer <METRICS_TOKEN>` (METRICS_TOKEN unset: the API port serves /metrics
// to nobody; a missing or wrong token is answered as an unknown URL, 404/1); and anyone who can
// reach METRICS_PORT, a listener of its own that serves nothing else, opened when the API
// listens and closed with it.
import http from 'node:http'
import crypto from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { Deps } from '../deps.js'
import { errors, type ApiError } from '../platform/errors.js'
import type { defineRoutes } from './route.js'
import { rawAnswer } from '../platform/responses.js'

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
  const stats = () => deps.db.stats()
  const poolGauges: Array<[name: string, help: string, read: () => number]> = [
    ['db_pool_connections_total', 'Connections open in the PostgreSQL pool', () => stats().total],
    ['db_pool_connections_idle', 'Open connections of the PostgreSQL pool not in use', () => stats().idle],
    ['db_pool_requests_waiting', 'Queries waiting for a PostgreSQL pool connection', () => stats().waiting],
    ['db_pool_connections_max', 'Largest number of connections the PostgreSQL pool opens', () => stats().max],
    ['db_tx_deadlocks', 'Transactions of this process ended by a deadlock since it started (each retried, up to 3 times)', () => stats().deadlockRetries],
    ['db_tx_serialization_failures', 'Transactions of this process ended by a serialization failure since it started (each retried, up to 3 times)', () => stats().serializationRetries],
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

function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  if (!m) return false
  // compared as digests: equal lengths, no early exit on the first differing byte
  const a = crypto.createHash('sha256').update(m[1]!).digest()
  const b = crypto.createHash('sha256').update(token).digest()
  return crypto.timingSafeEqual(a, b)
}

/**
 * Counts every response by its route template (never the raw URL: ids and query strings
 * would make the label set unbounded); unknown URLs count as "unmatched". Serves the text as
 * the header of this file says.
 */
export function registerMetrics(app: FastifyInstance, deps: Deps, route: ReturnType<typeof defineRoutes>) {
  const metrics = createMetrics(deps)
  app.addHook('onResponse', async (req, reply) => {
    metrics.observe(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000)
  })
  const token = deps.config.METRICS_TOKEN
  // declared always (it is documented), served only to the token's bearer
  route({
    method: 'GET',
    url: METRICS_PATH,
    root: true,
    auth: 'none',
    rateLimit: false,
    summary: 'Prometheus metrics (text exposition format), for `Authorization: Bearer <METRICS_TOKEN>`; 404 without it, or when METRICS_TOKEN is unset (METRICS_PORT serves them too)',
    tags: ['system'],
    errors: [1],
    response: rawAnswer('text/plain', 'Prometheus text exposition format', {
      text: true,
      example: '# HELP http_requests_total HTTP requests answered, by method, route and status\n# TYPE http_requests_total counter\nhttp_requests_total{method="GET",route="/api/item",status="200"} 42\n',
    }),
    handler: async ({ req, reply }) => {
      // as if there were no such URL: nothing tells a stranger that metrics live here
      if (!token || !bearerMatches(req.headers.authorization, token)) throw errors.notFound(`Method GET ${METRICS_PATH}`)
      return reply.type(metrics.contentType).send(await metrics.text())
    },
  })
  const port = deps.config.METRICS_PORT
  if (port !== undefined) {
    let server: http.Server | undefined
    app.addHook('onListen', async () => {
      server = await serveMetrics(metrics, port, deps.config.HOST)
      app.log.info({ port: (server.address() as { port: number }).port }, 'metrics listening')
    })
    app.addHook('onClose', async () => {
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()))
    })
  }
  return metrics
}

function envelope(res: http.ServerResponse, e: ApiError) {
  res.writeHead(e.status, { 'content-type': 'application/json; charset=utf-8' })
  res.end(JSON.stringify({ error_message: e.message, response_status: e.code }))
}

/** a listener that answers GET /metrics and 404 to everything else */
export function serveMetrics(metrics: ReturnType<typeof createMetrics>, port: number, host: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '').split('?')[0]
    if ((req.method === 'GET' || req.method === 'HEAD') && url === METRICS_PATH) {
      metrics.text().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.contentType })
          res.end(req.method === 'HEAD' ? undefined : text)
        },
        () => envelope(res, errors.internal(crypto.randomUUID())),
      )
      return
    }
    envelope(res, errors.notFound(`Method ${req.method} ${url}`))
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve(server))
  })
}
