// Graceful shutdown of the real process (src/server.ts): on SIGTERM a request in flight
// finishes with its answer and the process exits 0; a request that outlives
// SHUTDOWN_GRACE_MS is cut and the process still exits.
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_KEY, createTestDatabase, formEncode } from './helpers/app.js'
import { killAll, startServer as startProcess } from './helpers/server-process.js'

let database: Awaited<ReturnType<typeof createTestDatabase>>

beforeAll(async () => {
  database = await createTestDatabase()
})
afterAll(async () => {
  // a failed test may leave its server running
  await killAll()
  await database?.drop()
})

const startServer = (env: Record<string, string> = {}) => startProcess({ databaseUrl: database.url, env })

/**
 * A sign-up whose body is sent in two halves: the first once the server has read the
 * headers (100 Continue), the second when `release` is called. The request is in flight
 * between the two.
 */
function slowSignup(port: number, login: string) {
  const body = Buffer.from(formEncode({ login, email: `${login}@example.com`, password: 'password123', firstName: 'Slow', lastName: 'Client', api_key: API_KEY }))
  const half = Math.floor(body.length / 2)
  let release!: () => void
  const released = new Promise<void>((r) => (release = r))
  let headersRead!: () => void
  const inFlight = new Promise<void>((r) => (headersRead = r))
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/api/user/signup',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length), expect: '100-continue' },
      agent: new http.Agent({ keepAlive: true }),
    })
    req.on('continue', () => {
      req.write(body.subarray(0, half))
      headersRead()
      void released.then(() => req.end(body.subarray(half)))
    })
    req.on('response', (res) => {
      let text = ''
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on('error', reject)
    req.flushHeaders()
  })
  return { inFlight, release, response }
}

// each test starts a server process: generous time on a loaded 2-core machine
describe('graceful shutdown', { timeout: 120_000 }, () => {
  it('SIGTERM: the request in flight completes with 200, then the process exits 0', async () => {
    const s = await startServer()
    const login = 'slow' + Date.now().toString(36)
    const slow = slowSignup(s.port, login)
    await slow.inFlight
    s.proc.kill('SIGTERM')
    await s.waitFor('shutting down')
    // new connections are refused once the server stops listening; the one in flight is kept
    slow.release()
    const r = await slow.response
    expect(r.status).toBe(200)
    const b = JSON.parse(r.body)
    expect(b.login_id).toBe(login)
    expect(typeof b.session_id).toBe('string')
    expect(await s.exited).toBe(0)
    expect(s.output()).toContain('"msg":"stopped"')
    // the account was really written before the database closed
    const pg = await import('pg')
    const c = new pg.default.Client({ connectionString: database.url })
    await c.connect()
    const rows = await c.query('SELECT login FROM users WHERE login = $1', [login])
    await c.end()
    expect(rows.rowCount).toBe(1)
  })

  it('a request outliving SHUTDOWN_GRACE_MS is cut; the process still exits', async () => {
    const s = await startServer({ SHUTDOWN_GRACE_MS: '300' })
    const stuck = slowSignup(s.port, 'stuck' + Date.now().toString(36))
    await stuck.inFlight
    s.proc.kill('SIGINT')
    // never released: the body never completes
    await expect(stuck.response).rejects.toThrow()
    expect(await s.exited).toBe(1)
    expect(s.output()).toContain('shutdown grace period over')
  })
})
