// GET /ready answers within its own timeout (READY_TIMEOUT_MS) even when the database cannot
// be reached through the pool: a saturated pool, or a database that accepts connections and
// never answers. It answers 503 with the JSON envelope, and 200 again once a connection is
// free. Concurrent probes share one database round trip, so a burst of health checks adds one
// waiter to a saturated pool, not one each.
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/platform/config.js'
import { connectDb, type Db } from '../src/platform/db/pool.js'
import { API_KEY, createTestDatabase } from './helpers/app.js'

const closers: Array<() => Promise<unknown> | unknown> = []
afterAll(async () => {
  for (const c of closers.reverse()) await c()
})

async function appOn(url: string, pool: { max: number; acquireTimeoutMs: number }) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hitask-ready-'))
  const config = loadConfig({ NODE_ENV: 'test', API_KEYS: API_KEY, DATA_DIR: dataDir, LOG_LEVEL: 'silent', READY_TIMEOUT_MS: '1500', WORKERS_ENABLED: 'false' })
  const db: Db = connectDb(url, pool)
  const { app, deps } = await buildApp({ config, db })
  closers.push(async () => {
    await app.close()
    await deps.counters.close()
    deps.mailer.close()
    await db.close()
    fs.rmSync(dataDir, { recursive: true, force: true })
  })
  const ready = async () => {
    const started = Date.now()
    const r = await app.inject({ method: 'GET', url: '/ready' })
    return { status: r.statusCode, body: r.json(), ms: Date.now() - started, headers: r.headers }
  }
  return { app, db, ready }
}

describe('GET /ready within its own timeout', () => {
  it('a saturated pool: 503 JSON within READY_TIMEOUT_MS (the acquire timeout is far longer), 200 once a connection is free', async () => {
    const database = await createTestDatabase()
    closers.push(database.drop)
    const { db, ready } = await appOn(database.url, { max: 1, acquireTimeoutMs: 60_000 })
    expect((await ready()).status).toBe(200)

    let release!: () => void
    const held = new Promise<void>((r) => (release = r))
    const holding = db.withConnection(() => held)
    try {
      // a burst of probes: each answers 503 in time, and they wait on the pool as one
      const burst = Promise.all(Array.from({ length: 20 }, () => ready()))
      await new Promise((r) => setTimeout(r, 300))
      expect(db.stats().waiting).toBe(1)
      for (const r of await burst) {
        expect(r.status).toBe(503)
        // READY_TIMEOUT_MS is 1.5 s, the acquire timeout 60 s: well under the one, far from the other
        expect(r.ms).toBeLessThan(15_000)
        expect(r.headers['content-type']).toMatch(/application\/json/)
        expect(r.body).toEqual({ error_message: 'Database is not reachable', response_status: 100 })
      }
    } finally {
      release()
      await holding
    }
    expect((await ready()).status).toBe(200)
  })

  it('a database that accepts connections and never answers: 503 within READY_TIMEOUT_MS; /health stays 200', async () => {
    const sockets = new Set<net.Socket>()
    const silent = net.createServer((s) => {
      sockets.add(s)
      s.on('error', () => {})
    })
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    closers.push(
      () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy()
          silent.close(() => r())
        }),
    )
    const port = (silent.address() as net.AddressInfo).port
    const { app, ready } = await appOn(`postgresql://postgres@127.0.0.1:${port}/nothing`, { max: 2, acquireTimeoutMs: 20_000 })
    const r = await ready()
    expect(r.status).toBe(503)
    expect(r.ms).toBeLessThan(10_000) // READY_TIMEOUT_MS 1.5 s, not the 20 s acquire timeout (the app's close waits that long)
    expect(r.body.response_status).toBe(100)
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200)
  })
})
