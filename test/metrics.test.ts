// /metrics: Prometheus text with requests by route template and status, a latency histogram,
// and the PostgreSQL pool's use; each app counts only its own requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type pg from 'pg'
import { createTestApp, type TestApp } from './helpers/app.js'

let t: TestApp
let other: TestApp

beforeAll(async () => {
  ;[t, other] = await Promise.all([createTestApp({ smtp: false }), createTestApp({ smtp: false })])
})
afterAll(async () => {
  await t?.close()
  await other?.close()
})

async function scrape(app: TestApp): Promise<string> {
  const r = await app.call('GET', '/metrics')
  expect(r.statusCode).toBe(200)
  expect(r.headers['content-type']).toContain('text/plain')
  return r.body
}

/** the value of one sample, e.g. value(text, 'http_requests_total', {route: '/api/user', status: '200'}) */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m || m[1] !== name) continue
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]))
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3])
  }
  return undefined
}

describe('GET /metrics', () => {
  it('counts requests by method, route template and status, versioned URLs under their route', async () => {
    const u = await t.signup()
    for (const url of ['/api/user', '/api/v5/user', '/api/user/']) {
      const r = await t.call('GET', url, { session: u.session })
      expect(r.statusCode).toBe(200)
    }
    const anonymous = await t.call('GET', '/api/user')
    expect(anonymous.statusCode).toBe(401)
    expect(anonymous.json().response_status).toBe(7)
    const unknown = await t.call('GET', '/api/no/such/thing/42')
    expect(unknown.statusCode).toBe(404)

    const text = await scrape(t)
    expect(text).toContain('# TYPE http_requests_total counter')
    expect(value(text, 'http_requests_total', { method: 'GET', route: '/api/user', status: '200' })).toBe(3)
    expect(value(text, 'http_requests_total', { method: 'GET', route: '/api/user', status: '401' })).toBe(1)
    expect(value(text, 'http_requests_total', { method: 'POST', route: '/api/user/signup', status: '200' })).toBe(1)
    // unknown URLs share one label value: ids in paths must not grow the series
    expect(value(text, 'http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1)
    expect(text).not.toContain('/api/no/such')
  })

  it('has a latency histogram by route', async () => {
    const text = await scrape(t)
    expect(text).toContain('# TYPE http_request_duration_seconds histogram')
    expect(value(text, 'http_request_duration_seconds_count', { method: 'GET', route: '/api/user', status: '200' })).toBe(3)
    expect(value(text, 'http_request_duration_seconds_bucket', { method: 'GET', route: '/api/user', status: '200', le: '+Inf' })).toBe(3)
    expect(value(text, 'http_request_duration_seconds_sum', { method: 'GET', route: '/api/user', status: '200' })).toBeGreaterThan(0)
  })

  it('shows the database pool: open, idle and waiting', async () => {
    // hold every connection of the pool (max 5 in tests), then queue one more query
    const pool = t.db.pool
    const held: pg.PoolClient[] = []
    for (let i = 0; i < 5; i++) held.push(await pool.connect())
    const queued = pool.query('SELECT 1')
    try {
      const text = await scrape(t)
      expect(value(text, 'db_pool_connections_total')).toBe(5)
      expect(value(text, 'db_pool_connections_idle')).toBe(0)
      expect(value(text, 'db_pool_requests_waiting')).toBe(1)
      expect(value(text, 'db_pool_connections_max')).toBe(5)
    } finally {
      for (const c of held) c.release()
    }
    await queued
    const after = await scrape(t)
    expect(value(after, 'db_pool_requests_waiting')).toBe(0)
    expect(value(after, 'db_pool_connections_idle')).toBe(5)
  })

  it('includes the process metrics', async () => {
    const text = await scrape(t)
    expect(value(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0)
    expect(text).toContain('nodejs_heap_size_used_bytes')
  })

  it('each app has its own registry', async () => {
    const text = await scrape(other)
    expect(value(text, 'http_requests_total', { route: '/api/user' })).toBeUndefined()
    expect(value(text, 'http_requests_total', { route: '/api/user/signup' })).toBeUndefined()
    // its own earlier scrape is counted
    expect(value(await scrape(other), 'http_requests_total', { method: 'GET', route: '/metrics', status: '200' })).toBe(1)
  })
})
