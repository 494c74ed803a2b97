// Benchmark of the outbox drainer (src/notifications/outbox.ts), not a test: how many
// statements and how long a drain takes for a burst of change events. It seeds OWNERS users,
// each with ITEMS / OWNERS items shared at 100 with one actor, who has a webhook subscribed to
// item.commented and confirmed emails; the server runs with WORKERS_ENABLED=false, so the
// events stay in the outbox. The actor then comments on every item (one history event each:
// a notification for the item's owner and a webhook delivery), and one drainOutbox() call
// fans them out, observed on the server's pool. Jobs are queued, not run.
//
// Usage: npx tsx bench/outbox.ts   (DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/postgres;
// BENCH_OUTBOX_ITEMS (default 1000), BENCH_OUTBOX_OWNERS (default 20), BENCH_OUTBOX_RUNS (default 3))
import os from 'node:os'
import fs from 'node:fs'
import path from 'node:path'
import pino from 'pino'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/platform/config.js'
import { connectDb } from '../src/platform/db/pool.js'
import { Jobs } from '../src/notifications/jobs.js'
import { Q, type Ctx } from '../src/notifications/context.js'
import { drainOutbox } from '../src/notifications/outbox.js'
import { runMain, scratchDatabase } from './scratch-db.js'

const API_KEY = 'bench-api-key-0123456789'
const ITEMS = Number(process.env.BENCH_OUTBOX_ITEMS ?? 1000)
const OWNERS = Number(process.env.BENCH_OUTBOX_OWNERS ?? 20)
const RUNS = Number(process.env.BENCH_OUTBOX_RUNS ?? 3)

async function main() {
  const { name: dbName, url, drop } = await scratchDatabase('hitask_bench_outbox_')
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hitask-bench-'))
  console.log(`database ${dbName}; ${os.cpus().length} CPUs; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ${ITEMS} events for ${OWNERS} owners, ${RUNS} runs`)
  const closers: (() => Promise<unknown>)[] = []
  try {
    const db = connectDb(url, { max: 10 })
    closers.push(() => db.close())
    const config = loadConfig({ NODE_ENV: 'production', API_KEYS: API_KEY, DATA_DIR: dataDir, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '100000000', WORKERS_ENABLED: 'false', WEBHOOK_ALLOW_PRIVATE: 'true' })
    const { app, deps } = await buildApp({ config, db })
    closers.push(() => app.close())
    const inject = async (method: 'POST' | 'PUT', url: string, session: string | null, payload: Record<string, unknown>) => {
      const r = await app.inject({ method, url, headers: session ? { 'x-hi-session': session } : {}, payload: { ...payload, api_key: API_KEY } })
      if (r.statusCode !== 200) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`)
      return r.json()
    }
    const signup = async (login: string) => (await inject('POST', '/api/user/signup', null, { login, email: `${login}@bench.test`, password: 'password123', firstName: 'B', lastName: login })) as { id: number; session_id: string }
    const actor = await signup('actor')
    const owners = []
    for (let i = 0; i < OWNERS; i++) owners.push(await signup(`owner${i}`))
    await db.query('UPDATE users SET email_confirmed = email')
    for (const o of owners) await inject('POST', '/api/webhook', o.session_id, { url: 'http://127.0.0.1:9/hook', events: ['item.commented'] })
    const items: number[] = []
    for (let i = 0; i < ITEMS; i++) {
      const o = owners[i % OWNERS]!
      items.push((await inject('POST', '/api/item', o.session_id, { title: `item ${i}`, permissions: [{ principal: actor.id, level: 100 }] })).id)
    }
    const log = pino({ level: 'warn' })
    const jobs = new Jobs(db, { log, pollSeconds: 60 })
    await jobs.start([{ name: Q.mailSend }, { name: Q.pushSend }, { name: Q.notifyFlush }, { name: Q.webhookDeliver }])
    closers.unshift(() => jobs.stop(5000))
    const ctx: Ctx = { deps, jobs, log }
    await drainOutbox(ctx) // the creations
    await db.query('ANALYZE')
    for (let run = 1; run <= RUNS; run++) {
      for (const id of items) await inject('POST', '/api/item/comment', actor.session_id, { id, message: `comment ${run}` })
      // the batches of the previous run are closed, as a flush would
      await db.query('DELETE FROM notification_batches')
      const pending = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox_events')).rows[0]!.n
      let statements = 0
      const stop = db.observe(() => statements++)
      const t0 = performance.now()
      const drained = await drainOutbox(ctx)
      const ms = performance.now() - t0
      stop()
      const queued = (await db.query<{ name: string; n: number }>(`SELECT name, count(*)::int AS n FROM pgboss.job WHERE state = 'created' GROUP BY name ORDER BY name`)).rows
      console.log(
        `run ${run}: ${drained} events (of ${pending} pending) in ${ms.toFixed(0)} ms, ${(drained / (ms / 1000)).toFixed(0)} events/s; ` +
          `${statements} statements, ${(statements / drained).toFixed(2)} per event; jobs queued so far ${queued.map((q) => `${q.name} ${q.n}`).join(', ')}`,
      )
    }
  } finally {
    for (const c of closers) await c().catch(() => {})
    fs.rmSync(dataDir, { recursive: true, force: true })
    await drop()
  }
}

runMain(import.meta.url, main, { exitAfter: true })
