// Faults, part 3: the database ends the server's connections from its side. A pg client's
// 'error' event must never end the process (it used to: `Unhandled 'error' event` after a
// DROP DATABASE … WITH (FORCE)). The real server process runs a mixed load while every
// backend of its database is terminated from outside (pg_terminate_backend), again and again;
// meanwhile it answers 200 or 503 (the JSON envelope, retryable), never 500, and afterwards it
// answers 200 again by itself: same process, no restart. Then its database is dropped under it
// (DROP DATABASE … WITH (FORCE)): /ready and the API answer 503 and the process stays up.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase } from '../helpers/app.js'
import { httpClient, killAll, startServer, type HttpAnswer, type ServerProcess } from '../helpers/server-process.js'
import { LOAD_ENV, sleep, Tally } from './runtime-helpers.js'
import { report, scale } from './scale.js'

const STORM_MS = scale(4000, 15_000)
const WORKERS = scale(8, 16)

let database: Awaited<ReturnType<typeof createTestDatabase>>
let admin: pg.Client
let server: ServerProcess

const databaseName = () => new URL(database.url).pathname.slice(1)

/** terminates every connection to the server's database; returns how many */
async function terminateAll(): Promise<number> {
  const r = await admin.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()) t',
    [databaseName()],
  )
  return r.rows[0]!.n
}

beforeAll(async () => {
  database = await createTestDatabase()
  const adminUrl = new URL(database.url)
  adminUrl.pathname = '/postgres'
  admin = new pg.Client({ connectionString: adminUrl.toString() })
  await admin.connect()
  server = await startServer({ databaseUrl: database.url, env: { ...LOAD_ENV, DB_POOL_MAX: '4', DB_POOL_ACQUIRE_TIMEOUT_MS: '3000', READY_TIMEOUT_MS: '2000' } })
})
afterAll(async () => {
  await killAll()
  await admin?.end()
  await database?.drop()
})

/** the process is still the one started, and never reported an unhandled error */
function expectAlive() {
  expect(server.proc.exitCode).toBeNull()
  expect(server.proc.signalCode).toBeNull()
  expect(server.output()).not.toMatch(/Unhandled 'error' event|uncaughtException|unhandledRejection/)
}

/** polls until `fn` answers 200, or fails after `ms` */
async function until200(fn: () => Promise<HttpAnswer>, ms: number): Promise<number> {
  const started = Date.now()
  for (;;) {
    const r = await fn().catch(() => null)
    if (r?.status === 200) return Date.now() - started
    if (Date.now() - started > ms) throw new Error(`no 200 within ${ms} ms (last: ${r?.status} ${r?.text})\n${server.output().slice(-3000)}`)
    await sleep(100)
  }
}

describe('the database terminates the server connections', { timeout: 180_000 }, () => {
  it('pg_terminate_backend of every connection, repeatedly under load: 200 or 503 meanwhile, 200 again by itself, no crash', async () => {
    const c = httpClient(server.base)
    const users = await Promise.all(Array.from({ length: 4 }, () => c.signup()))
    const tally = new Tally()
    let stop = false
    const worker = async (i: number) => {
      const u = users[i % users.length]!
      for (let n = 0; !stop; n++) {
        const op = n % 3
        const name = ['user', 'create', 'ready'][op]!
        try {
          const r =
            op === 0
              ? await c.call('GET', '/api/user', { session: u.session })
              : op === 1
                ? await c.call('POST', '/api/item', { session: u.session, form: { title: `storm ${i}.${n}` } })
                : await c.call('GET', '/ready')
          tally.add(name, r.status, r.body)
          if (r.status >= 500) expect(r.headers.get('content-type')).toMatch(/application\/json/)
        } catch {
          tally.add(name, 0, null) // no answer at all: the process died
          if (server.proc.exitCode !== null || server.proc.signalCode !== null) stop = true
        }
      }
    }
    let rounds = 0
    let terminated = 0
    const killer = async () => {
      const end = Date.now() + STORM_MS
      while (Date.now() < end && !stop) {
        terminated += await terminateAll()
        rounds++
        await sleep(50 + Math.random() * 100)
      }
      stop = true
    }
    await Promise.all([killer(), ...Array.from({ length: WORKERS }, (_, i) => worker(i))])
    expectAlive()

    const readyAfterMs = await until200(() => c.call('GET', '/ready'), 15_000)
    const userAfterMs = await until200(() => c.call('GET', '/api/user', { session: users[0]!.session }), 15_000)
    const created = await c.call('POST', '/api/item', { session: users[0]!.session, form: { title: 'after the storm' } })
    expect(created.status).toBe(200)
    expectAlive()

    report('backend-termination', { stormMs: STORM_MS, rounds, terminated, answers: tally.counts, readyAfterMs, userAfterMs })
    expect(rounds).toBeGreaterThan(5)
    expect(terminated).toBeGreaterThan(0)
    expect(tally.unexpected((s) => s === 200 || s === 503)).toEqual([])
    expect(tally.total(200)).toBeGreaterThan(0)
  })

  it('DROP DATABASE … WITH (FORCE) under the running server: 503 on /ready and the API, the process stays up', async () => {
    const c = httpClient(server.base)
    const u = await c.signup()
    await admin.query(`DROP DATABASE ${databaseName()} WITH (FORCE)`)
    const started = Date.now()
    const ready = await c.call('GET', '/ready')
    const readyMs = Date.now() - started
    expect(ready.status).toBe(503)
    expect(ready.body.response_status).toBe(100)
    expect(readyMs).toBeLessThan(10_000) // READY_TIMEOUT_MS 2 s; a hang would never answer
    for (const r of [await c.call('GET', '/api/user', { session: u.session }), await c.call('POST', '/api/item', { session: u.session, form: { title: 'no database' } })]) {
      expect(r.status).toBe(503)
      expect(r.headers.get('content-type')).toMatch(/application\/json/)
      expect(r.body.response_status).toBe(100)
    }
    await sleep(1000)
    expect((await c.call('GET', '/health')).status).toBe(200)
    expectAlive()
    report('drop-database', { readyMs })
  })
})
