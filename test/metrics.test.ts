// /metrics: Prometheus text with requests by route template and status, a latency histogram,
// and the PostgreSQL pool's use; each app counts only its own requests. Served only on
// METRICS_PORT or, on the API port, with Authorization: Bearer <METRICS_TOKEN> (§15).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from './helpers/app.js'
import { freePort } from './helpers/server-process.js'

const TOKEN = 'metrics-token-0123456789abcdef'
let t: TestApp
let other: TestApp

beforeAll(async () => {
  ;[t, other] = await Promise.all([createTestApp({ smtp: false, env: { METRICS_TOKEN: TOKEN } }), createTestApp({ smtp: false, env: { METRICS_TOKEN: TOKEN } })])
})
afterAll(async () => {
  await t?.close()
  await other?.close()
})

async function scrape(app: TestApp): Promise<string> {
  const r = await app.call('GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })
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

  it('counts the transactions a deadlock ended (each then retried)', async () => {
    const before = value(await scrape(t), 'db_tx_deadlocks')
    // two transactions take two locks in opposite orders: PostgreSQL ends one of them (40P01),
    // the pool retries it, and both commit
    let aHolds!: () => void
    let bHolds!: () => void
    const aLocked = new Promise<void>((r) => (aHolds = r))
    const bLocked = new Promise<void>((r) => (bHolds = r))
    const attempts = { a: 0, b: 0 }
    const crossed = (me: 'a' | 'b', first: number, second: number, mine: () => void, theirs: Promise<void>) =>
      t.db.tx(async (tx) => {
        attempts[me]++
        await tx.query('SELECT pg_advisory_xact_lock($1)', [first])
        if (attempts[me] === 1) {
          mine()
          await theirs
        }
        await tx.query('SELECT pg_advisory_xact_lock($1)', [second])
      })
    await Promise.all([crossed('a', 9001, 9002, aHolds, bLocked), crossed('b', 9002, 9001, bHolds, aLocked)])
    expect(attempts.a + attempts.b).toBe(3)
    expect(value(await scrape(t), 'db_tx_deadlocks')).toBe((before ?? NaN) + 1)
    expect(value(await scrape(t), 'db_tx_serialization_failures')).toBe(0)
  })

  it('shows the database pool: open, idle and waiting', async () => {
    // hold every connection of the pool (max 5 in tests), then queue one more query
    const releases: Array<() => void> = []
    const holders: Promise<unknown>[] = []
    for (let i = 0; i < 5; i++) {
      let taken!: () => void
      const tookIt = new Promise<void>((r) => (taken = r))
      holders.push(t.db.withConnection(() => new Promise<void>((release) => (releases.push(release), taken()))))
      await tookIt
    }
    const queued = t.db.query('SELECT 1')
    try {
      const text = await scrape(t)
      expect(value(text, 'db_pool_connections_total')).toBe(5)
      expect(value(text, 'db_pool_connections_idle')).toBe(0)
      expect(value(text, 'db_pool_requests_waiting')).toBe(1)
      expect(value(text, 'db_pool_connections_max')).toBe(5)
    } finally {
      for (const release of releases) release()
    }
    await Promise.all(holders)
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

describe('who may read /metrics (§15)', () => {
  it('the API port serves it only to the bearer of METRICS_TOKEN; others get 404/1 as for an unknown URL', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789abcdef', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, TOKEN]) {
      const r = await t.call('GET', '/metrics', { headers: authorization ? { authorization } : {} })
      expect(r.statusCode, String(authorization)).toBe(404)
      expect(r.json().response_status).toBe(1)
      expect(r.body).not.toContain('http_requests_total')
    }
  })

  it('without METRICS_TOKEN the API port does not serve it at all', async () => {
    const x = await createTestApp({ smtp: false })
    try {
      for (const authorization of [undefined, 'Bearer anything-at-all-0123456789']) {
        const r = await x.call('GET', '/metrics', { headers: authorization ? { authorization } : {} })
        expect(r.statusCode).toBe(404)
        expect(r.json().response_status).toBe(1)
      }
    } finally {
      await x.close()
    }
  })

  it('METRICS_PORT serves it on a listener of its own, and only it, while the API listens', async () => {
    const port = await freePort()
    const x = await createTestApp({ smtp: false, env: { METRICS_PORT: String(port), HOST: '127.0.0.1' } })
    try {
      await x.app.listen({ port: 0, host: '127.0.0.1' })
      const m = await fetch(`http://127.0.0.1:${port}/metrics`)
      expect(m.status).toBe(200)
      expect(m.headers.get('content-type')).toContain('text/plain')
      expect(await m.text()).toContain('# TYPE http_requests_total counter')
      const other = await fetch(`http://127.0.0.1:${port}/api/user`)
      expect(other.status).toBe(404)
      expect(((await other.json()) as { response_status: number }).response_status).toBe(1)
      // and not on the API port
      const api = (x.app.server.address() as { port: number }).port
      expect((await fetch(`http://127.0.0.1:${api}/metrics`)).status).toBe(404)
    } finally {
      await x.close()
    }
    // closed with the app
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow()
  })
})
