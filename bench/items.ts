// Benchmark of the item read paths (not a test): one user who sees 10,000 items through
// direct, group and project-inherited grants (plus 5,000 items they cannot see), measured
// with autocannon against
//   - GET /api/item                        the real route (auth, visibility, render)
//   - GET /api/item/delta/{cursor}         with 10 items changed after the cursor
//   - baselines: bare Fastify routes running the equivalent SQL with pg and serialising the
//     rows as they come: the 10,000 visible items; the delta's ids with a changed flag and the
//     changed rows;
// and the creation throughput: POST /api/item (top level, no `permissions`, so the owner's
// default-sharing preference is read) at 1, 4, 16 and 64 concurrent connections, by one user
// and by 8 users (each request by the next user), with the statements each create sends
// (the Db's observe() hook; BEGIN and COMMIT not counted). BENCH_PROFILE=1 also lists the
// statements of one create.
// Goals on the 2-core machine (issue 10): ≥ 400 created items/s at 16; GET /api/item ≥ 0.8×
// its baseline's throughput; the delta's median ≤ 1.5× its baseline's median.
// Usage: npm run bench:items   (DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/postgres;
// a fresh database is created for the run and dropped at the end)
//
// Large accounts (issue 15): `npm run bench:items -- --items 30000` (or `--items 10000,30000,100000`)
// seeds, for each size, an account that sees that many items (SQL, generate_series: 60 % in
// projects of 100 with inherited grants through the user and a group, 20 % shared directly, 20 %
// through the group; plus half as many it cannot see, tags, stars), starts the real server
// (`src/server.ts`, NODE_ENV=production) and the bare baseline (bench/baseline-server.ts) as child
// processes, and measures GET /api/item and the delta (10 changed) alone and under 10 concurrent
// clients (each client sends its next request when the last one has been read to the end, for
// --window seconds, then the requests in flight finish: the slowest always finish), the peak RSS
// of each process during each run (/proc/PID/status VmHWM after resetting it through
// /proc/PID/clear_refs, and VmRSS sampled every 20 ms), the bytes on the wire plain, gzip and br
// and the server's CPU time per request for each. `--creates` also runs the creation part
// above on the same machine; without `--items` the bench runs as before (10,000 items, creates).
// The server process can be run with other settings: BENCH_SERVER_NODE_OPTIONS (NODE_OPTIONS),
// BENCH_SERVER_NODE_ARGS (node flags NODE_OPTIONS refuses, e.g. --trace-gc), BENCH_SERVER_ENV
// (`K=V,K2=V2`, e.g. HEAP_GROWING_PERCENT=0) and BENCH_SERVER_LOG (its output, to a file).
import crypto from 'node:crypto'
import http from 'node:http'
import { spawn, type ChildProcess } from 'node:child_process'
import os from 'node:os'
import fs from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import Fastify from 'fastify'
import autocannon from 'autocannon'
import { buildApp, type BuildOptions } from '../src/app.js'
import { itemListSchema } from '../src/items/schemas.js'
import { schemaStringifier } from './serialization.js'
import { loadConfig } from '../src/platform/config.js'
import { connectDb, type Db, type Sql } from '../src/platform/db/pool.js'
import { applyMigrations } from '../src/platform/db/migrations.js'
import { DELTA_IDS_SQL } from '../src/items/repository.js'
import { freePort } from '../test/helpers/server-process.js'
import { baselineRoutes } from './baseline-routes.js'

const BASE = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres'
const DURATION = Number(process.env.BENCH_SECONDS ?? 10)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 4)
const CREATE_SECONDS = Number(process.env.BENCH_CREATE_SECONDS ?? 5)
const CREATE_CONCURRENCY = [1, 4, 16, 64]
const CREATE_USERS = 8
const API_KEY = 'bench-api-key-0123456789'

function withDb(url: string, db: string) {
  const u = new URL(url)
  u.pathname = '/' + db
  return u.toString()
}

type Result = { name: string; rps: number; p50: number; p99: number; errors: number; bytes: number }

async function measure(name: string, url: string, headers: Record<string, string>, connections = CONNECTIONS): Promise<Result> {
  // warm up
  for (let i = 0; i < 3; i++) await fetch(url, { headers })
  const r = await autocannon({ url, connections, duration: DURATION, headers })
  return {
    name,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.non2xx + r.errors,
    bytes: r.throughput.average / Math.max(r.requests.average, 1),
  }
}

type CreateRun = {
  users: number
  concurrency: number
  created: number
  perSecond: number
  p50: number
  p99: number
  errors: number
  /** statements sent per item created (BEGIN and COMMIT not counted) */
  statements: number
  /** CPU time per item created: this process (server and load generator) and the database's backends */
  nodeCpuMs: number
  pgCpuMs: number
}

const CLOCK_TICK_MS = 10 // USER_HZ = 100 on Linux

/** CPU time (ms) of each backend of the database, from /proc (PostgreSQL on this machine) */
async function backendCpu(db: Db): Promise<Map<number, number>> {
  const out = new Map<number, number>()
  const r = await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database()')
  for (const { pid } of r.rows) {
    try {
      const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = f.slice(f.lastIndexOf(')') + 2).split(' ')
      out.set(pid, (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS)
    } catch {
      /* not on this machine, or gone */
    }
  }
  return out
}

/** POST /api/item for `seconds` on `concurrency` connections; each request by the next of `sessions` */
async function measureCreates(address: string, sessions: string[], concurrency: number, db: Db): Promise<CreateRun> {
  let next = 0
  let statements = 0
  const count = async () => Number((await db.query(`SELECT count(*) AS n FROM items WHERE title = 'created by the bench'`)).rows[0].n)
  const before = await count()
  const pgBefore = await backendCpu(db)
  const cpuBefore = process.cpuUsage()
  const stop = db.observe(() => void statements++)
  const r = await autocannon({
    url: `${address}/api/item`,
    connections: concurrency,
    duration: CREATE_SECONDS,
    requests: [
      {
        method: 'POST',
        path: '/api/item',
        setupRequest: (req: Record<string, unknown>) => ({
          ...req,
          headers: { 'content-type': 'application/json', 'x-hi-session': sessions[next++ % sessions.length]! },
          body: JSON.stringify({ title: 'created by the bench' }),
        }),
      },
    ],
  })
  // the requests still in flight when the run ended finish; then count what was sent for what was stored
  for (let i = 0; i < 100 && db.stats().total > db.stats().idle; i++) await new Promise((res) => setTimeout(res, 50))
  stop()
  const cpu = process.cpuUsage(cpuBefore)
  const pgAfter = await backendCpu(db)
  let pgMs = 0
  for (const [pid, ms] of pgAfter) pgMs += ms - (pgBefore.get(pid) ?? 0)
  const stored = (await count()) - before
  const created = r['2xx'] as number
  return {
    users: sessions.length,
    concurrency,
    created,
    perSecond: created / CREATE_SECONDS,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.non2xx + r.errors + r.timeouts,
    statements: statements / Math.max(stored, 1),
    nodeCpuMs: (cpu.user + cpu.system) / 1000 / Math.max(stored, 1),
    pgCpuMs: pgMs / Math.max(stored, 1),
  }
}

type Recorded = { text: string; values: unknown[] | undefined; inTx: boolean }

/** a Db that reports every statement with its values before running it */
function recordingDb(db: Db, record: (r: Recorded) => void): Db {
  return {
    ...db,
    query: (text, values) => {
      record({ text, values: values ? [...values] : undefined, inTx: false })
      return db.query(text, values)
    },
    tx: (fn, o) =>
      db.tx(
        (h) =>
          fn({
            query: (text, values) => {
              record({ text, values: values ? [...values] : undefined, inTx: true })
              return h.query(text, values)
            },
            afterCommit: (f) => h.afterCommit(f),
          }),
        o,
      ),
  }
}

/**
 * Each recorded statement run 1000 times alone on one connection (BEGIN; statement; ROLLBACK,
 * so nothing stays), as sent (unnamed: parsed and planned every time) and as a named prepared
 * statement: the wall time and the backend's CPU time per run, less those of SELECT 1.
 */
async function replayStatements(url: string, statements: Recorded[], guid: string) {
  // the item's guid is unique: each replay of its INSERT gets a new one
  const valuesOf = (st: Recorded) => st.values?.map((v) => (v === guid ? crypto.randomUUID() : v))
  const c = new pg.Client({ connectionString: url, application_name: 'hitask-bench-replay' })
  c.on('error', (e) => console.error('replay connection:', e.message))
  await c.connect()
  try {
    // the outbox drainer's savepoints (it runs in this process) cannot be replayed alone
    await replayOn(c, statements.filter((st) => !/^\s*(SAVEPOINT|RELEASE|ROLLBACK TO)\b/i.test(st.text)), valuesOf)
  } finally {
    await c.end().catch(() => {})
  }
}

async function replayOn(c: pg.Client, statements: Recorded[], valuesOf: (st: Recorded) => unknown[] | undefined) {
  const REPS = 1000
  const pid = (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number
  const cpuMs = () => {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const x = f.slice(f.lastIndexOf(')') + 2).split(' ')
    return (Number(x[11]) + Number(x[12])) * CLOCK_TICK_MS
  }
  const timeIt = async (run: () => Promise<unknown>) => {
    const cycle = async () => {
      await c.query('BEGIN')
      try {
        await run()
      } finally {
        await c.query('ROLLBACK')
      }
    }
    for (let i = 0; i < 20; i++) await cycle()
    const c0 = cpuMs()
    const t0 = performance.now()
    for (let i = 0; i < REPS; i++) await cycle()
    return { wallUs: ((performance.now() - t0) * 1000) / REPS, pgUs: ((cpuMs() - c0) * 1000) / REPS }
  }
  const base = await timeIt(() => c.query('SELECT 1'))
  const baseNamed = await timeIt(() => c.query({ name: 'bench_select_1', text: 'SELECT 1' }))
  let sum = { wall: 0, pg: 0, wallPrepared: 0, pgPrepared: 0 }
  console.log(
    `  µs per statement beyond SELECT 1 (${base.wallUs.toFixed(0)} µs wall, ${base.pgUs.toFixed(0)} µs backend CPU with BEGIN/ROLLBACK; prepared ${baseNamed.wallUs.toFixed(0)} and ${baseNamed.pgUs.toFixed(0)} µs):`,
  )
  console.log('  tx  wall  backend CPU  | prepared: wall  backend CPU  | statement')
  for (const [i, st] of statements.entries()) {
    const plain = await timeIt(() => c.query(st.text, valuesOf(st)))
    const named = await timeIt(() => c.query({ name: `bench_${i}`, text: st.text, values: valuesOf(st) }))
    const w = plain.wallUs - base.wallUs
    const p = plain.pgUs - base.pgUs
    const wn = named.wallUs - baseNamed.wallUs
    const pn = named.pgUs - baseNamed.pgUs
    sum = { wall: sum.wall + w, pg: sum.pg + p, wallPrepared: sum.wallPrepared + wn, pgPrepared: sum.pgPrepared + pn }
    console.log(`  ${st.inTx ? 'tx' : '  '} ${w.toFixed(0).padStart(5)} ${p.toFixed(0).padStart(12)}  | ${wn.toFixed(0).padStart(14)} ${pn.toFixed(0).padStart(12)}  | ${st.text.replace(/\s+/g, ' ').slice(0, 90)}`)
  }
  console.log(`  sum ${sum.wall.toFixed(0).padStart(4)} ${sum.pg.toFixed(0).padStart(12)}  | ${sum.wallPrepared.toFixed(0).padStart(14)} ${sum.pgPrepared.toFixed(0).padStart(12)}  | + ${statements.length} round trips, + BEGIN/COMMIT`)
}

async function main() {
  const dbName = 'hitask_bench_' + crypto.randomBytes(4).toString('hex')
  const admin = new pg.Client({ connectionString: withDb(BASE, 'postgres') })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${dbName}`)
  await admin.end()
  const url = withDb(BASE, dbName)
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hitask-bench-'))
  console.log(`database ${dbName}; ${os.cpus().length} CPUs; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; ${CONNECTIONS} connections, ${DURATION}s per run; creates ${CREATE_SECONDS}s per run`)
  const closers: (() => Promise<unknown>)[] = []
  try {
    await applyMigrations(url)
    const rawDb = connectDb(url, { max: 10 })
    // BENCH_PROFILE: the statements of one create are recorded with their values (and whether
    // they ran in the transaction), to be replayed one by one below
    let recording: Recorded[] | null = null
    const db: Db = process.env.BENCH_PROFILE ? recordingDb(rawDb, (r) => recording?.push(r)) : rawDb
    closers.push(() => db.close())
    const config = loadConfig({ NODE_ENV: 'production', API_KEYS: API_KEY, DATA_DIR: dataDir, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '100000000', DELTA_MARGIN_MS: '1000' })
    // BENCH_SERIALIZER=schema|tuned: GET /api/item writes its answer with fast-json-stringify
    // compiled from its response schema instead of JSON.stringify (docs/performance.md)
    const serializer = process.env.BENCH_SERIALIZER
    const onRoute: BuildOptions['onRoute'] =
      serializer === 'schema' || serializer === 'tuned'
        ? (r) => {
            if (r.url === '/api/item' && r.method === 'GET') r.serializerCompiler = () => schemaStringifier(itemListSchema, { tuned: serializer === 'tuned' })
          }
        : undefined
    if (onRoute) console.log(`GET /api/item serialised by fast-json-stringify (${serializer})`)
    const { app } = await buildApp({ config, db, onRoute })
    closers.push(() => app.close())
    const signup = async (login: string) => {
      const r = await app.inject({ method: 'POST', url: '/api/user/signup', payload: { login, email: `${login}@bench.test`, password: 'password123', firstName: 'B', lastName: login, api_key: API_KEY } })
      if (r.statusCode !== 200) throw new Error(r.body)
      return r.json() as { id: number; session_id: string }
    }
    const viewer = await signup('viewer')
    const other = await signup('owner')
    const t0 = Date.now()
    await seedLarge(db, viewer.id, other.id, 10_000)
    console.log(`seeded in ${Date.now() - t0} ms`)
    const address = await app.listen({ port: 0, host: '127.0.0.1' })
    const headers = { 'x-hi-session': viewer.session_id }

    const all = await fetch(`${address}/api/item`, { headers })
    const list = (await all.json()) as { id: number; permission: number }[]
    if (list.length !== 10_000) throw new Error(`the viewer sees ${list.length} items, expected 10000`)

    // the baseline: the same visibility query and the item rows, serialised as they come
    const bare = Fastify({ logger: false })
    const principals = [String(viewer.id), ...(await db.query('SELECT group_id FROM group_members WHERE user_id = $1', [viewer.id])).rows.map((r) => r.group_id)]
    baselineRoutes(bare, db, principals)
    const bareAddress = await bare.listen({ port: 0, host: '127.0.0.1' })
    closers.push(() => bare.close())

    const results: Result[] = []
    results.push(await measure('baseline: bare Fastify + one SQL query (10,000 rows)', `${bareAddress}/items`, {}))
    results.push(await measure('GET /api/item (10,000 items)', `${address}/api/item`, headers))

    // a cursor, then 10 changed items
    const cursor = Number(all.headers.get('x-cursor'))
    await new Promise((r) => setTimeout(r, 1500))
    const fresh = Number((await fetch(`${address}/api/item`, { headers })).headers.get('x-cursor'))
    await new Promise((r) => setTimeout(r, 1500))
    for (const it of list.filter((x) => x.permission >= 60).slice(0, 10)) {
      const r = await fetch(`${address}/api/item/${it.id}`, { method: 'PUT', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ title: 'changed ' + it.id }) })
      if (r.status !== 200) throw new Error(`PUT ${r.status} ${await r.text()}`)
    }
    const d = (await (await fetch(`${address}/api/item/delta/${fresh}`, { headers })).json()) as { changed: boolean }[]
    const changed = d.filter((x) => x.changed).length
    if (d.length !== 10_000 || changed !== 10) throw new Error(`delta: ${d.length} entries, ${changed} changed (expected 10000, 10)`)
    void cursor
    if (process.env.BENCH_EXPLAIN) {
      const { readDelta } = await import('../src/items/delta.js')
      const user = { id: viewer.id, timeZone: 'UTC', businessId: null, businessLevel: null, sessionHash: '', apiKeyHash: '' }
      const deps = (app as any).deps
      for (let i = 0; i < 5; i++) {
        const t1 = performance.now()
        const out = await readDelta(deps, user, fresh)
        const t2 = performance.now()
        console.log(`readDelta ${(t2 - t1).toFixed(1)} ms, cursor ${out.cursor}`)
      }
      const { DELTA_IDS_SQL } = await import('../src/items/repository.js')
      const e = await db.query('EXPLAIN ANALYZE ' + DELTA_IDS_SQL, [principals, fresh, viewer.id])
      console.log(e.rows.map((r) => r['QUERY PLAN']).join('\n'))
    }
    const bareDelta = (await (await fetch(`${bareAddress}/delta/${fresh}`)).json()) as { changed: boolean }[]
    if (bareDelta.length !== 10_000 || bareDelta.filter((x) => x.changed).length !== 10) throw new Error('the delta baseline does not see the 10 changes')
    results.push(await measure('baseline: bare Fastify + the delta in one SQL query', `${bareAddress}/delta/${fresh}`, {}))
    results.push(await measure('GET /api/item/delta/{cursor} (10 of 10,000 changed)', `${address}/api/item/delta/${fresh}`, headers))
    results.push(await measure('  the delta baseline, one client at a time', `${bareAddress}/delta/${fresh}`, {}, 1))
    results.push(await measure('  GET /api/item/delta, one client at a time', `${address}/api/item/delta/${fresh}`, headers, 1))

    // creation: users of their own, so the list above is not changed
    const creators: string[] = []
    for (let i = 0; i < CREATE_USERS; i++) creators.push((await signup('creator' + i)).session_id)
    if (process.env.BENCH_PROFILE) {
      // the second create of a user (the first one touches the session, as once a minute)
      const post = () => fetch(`${address}/api/item`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hi-session': creators[0]! }, body: JSON.stringify({ title: 'profiled' }) })
      await post()
      recording = []
      const t1 = performance.now()
      const one = await post()
      const ms = performance.now() - t1
      const statements: Recorded[] = recording
      recording = null
      if (one.status !== 200) throw new Error(`POST /api/item ${one.status} ${await one.text()}`)
      const created = (await one.json()) as { guid: string }
      console.log(`one POST /api/item, alone: ${ms.toFixed(1)} ms, ${statements.length} statements (+ BEGIN and COMMIT); each replayed alone below`)
      await replayStatements(url, statements, created.guid)
      // what the load generator and Fastify cost without the database: autocannon on /health
      const cpu0 = process.cpuUsage()
      const h = await autocannon({ url: `${address}/health`, connections: 16, duration: 3 })
      const cpu = process.cpuUsage(cpu0)
      console.log(`GET /health at 16 connections (no database): ${h.requests.average.toFixed(0)} req/s, ${((cpu.user + cpu.system) / 1000 / h.requests.total).toFixed(2)} ms CPU of this process per request (autocannon + Fastify)`)
    }
    const creates: CreateRun[] = []
    for (const c of CREATE_CONCURRENCY) {
      creates.push(await measureCreates(address, creators.slice(0, 1), c, db))
      creates.push(await measureCreates(address, creators, c, db))
    }

    console.log('')
    console.log('run                                                   req/s    p50 ms   p99 ms   KB/resp  non-2xx')
    for (const r of results) {
      console.log(`${r.name.padEnd(52)} ${r.rps.toFixed(1).padStart(7)} ${String(r.p50).padStart(8)} ${String(r.p99).padStart(8)} ${(r.bytes / 1024).toFixed(0).padStart(9)} ${String(r.errors).padStart(8)}`)
    }
    const [base, items, deltaBase, delta, deltaBaseSingle, single] = results as [Result, Result, Result, Result, Result, Result]
    console.log('')
    console.log('POST /api/item (top level, no permissions)   users  concurrency  created/s   p50 ms   p99 ms  statements/create  CPU ms/create: node  postgres  non-2xx')
    for (const c of creates) {
      console.log(
        `${''.padEnd(44)} ${String(c.users).padStart(6)} ${String(c.concurrency).padStart(12)} ${c.perSecond.toFixed(1).padStart(10)} ${String(c.p50).padStart(8)} ${String(c.p99).padStart(8)} ${c.statements.toFixed(1).padStart(18)} ${c.nodeCpuMs.toFixed(2).padStart(20)} ${c.pgCpuMs.toFixed(2).padStart(9)} ${String(c.errors).padStart(8)}`,
      )
    }
    const at16 = Math.min(...creates.filter((c) => c.concurrency === 16).map((c) => c.perSecond))
    console.log('')
    console.log(`created items/s at concurrency 16: ${at16.toFixed(0)} (the lower of one user and ${CREATE_USERS} users; goal ≥ 400)`)
    console.log(`GET /api/item throughput / baseline: ${(items.rps / base.rps).toFixed(2)} (goal ≥ 0.80)`)
    console.log(
      `delta median / its baseline's median: ${(delta.p50 / deltaBase.p50).toFixed(2)} with ${CONNECTIONS} concurrent (${delta.p50} ms against ${deltaBase.p50} ms), ` +
        `${(single.p50 / deltaBaseSingle.p50).toFixed(2)} one client at a time (${single.p50} ms against ${deltaBaseSingle.p50} ms) (goal ≤ 1.5)`,
    )
    console.log(`delta throughput / GET /api/item: ${(delta.rps / items.rps).toFixed(1)}x`)
    console.log(`load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`)
  } finally {
    for (const c of closers.reverse()) await c().catch(() => {})
    const a = new pg.Client({ connectionString: withDb(BASE, 'postgres') })
    await a.connect()
    await a.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
    await a.end()
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
}

// ---- large accounts (issue 15) ----

function argOf(name: string): string | undefined {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}

/**
 * An account that sees `n` items: 60 % in projects of 100 (project + 99 children, the children
 * carrying the inherited list), half of them shared with the viewer, half with a group the
 * viewer is in; 20 % top-level tasks shared directly; the rest through the group; plus n/2
 * items the viewer cannot see, tags on 1 in 7 and stars on 1 in 11. Then VACUUM ANALYZE (the
 * visibility map an index-only scan needs, as autovacuum keeps it on a live database).
 */
async function seedLarge(db: Sql, viewer: number, other: number, n: number): Promise<{ group: string }> {
  const biz = (await db.query(`INSERT INTO businesses (title, domain_name, owner_id) VALUES ('Bench', 'bench', $1) RETURNING id`, [other])).rows[0].id
  const group = crypto.randomUUID()
  await db.query(`INSERT INTO groups (id, business_id, name) VALUES ($1, $2, 'bench')`, [group, biz])
  await db.query('INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)', [group, viewer])
  const V = String(viewer)
  const O = String(other)
  const projects = Math.round((n * 0.6) / 100)
  const direct = Math.round(n * 0.2)
  const viaGroup = n - projects * 100 - direct
  await db.query(
    `WITH p AS (
       INSERT INTO items (guid, user_id, business_id, title, category, short_name, short_name_key, issue_id)
       SELECT gen_random_uuid()::text, $1, $2::bigint, 'Project ' || n, 0, 'P' || n, 'b:' || $2::bigint || ':P' || n, n::text
         FROM generate_series(1, $6::int) n RETURNING id, title)
     INSERT INTO item_permissions (item_id, principal, level)
     SELECT id, $3, 100 FROM p
     UNION ALL SELECT id, CASE WHEN substr(title, 9)::int % 2 = 0 THEN $4 ELSE $5 END, 50 FROM p`,
    [other, biz, O, V, group, projects],
  )
  await db.query(
    `WITH c AS (
       INSERT INTO items (guid, user_id, business_id, title, message, category, parent_id, issue_id, start_date, due_date, priority)
       SELECT gen_random_uuid()::text, $1, $2, 'Task ' || p.id || '-' || n, 'Some description text for the task', 1, p.id,
              p.short_name || '-' || n, now() + (n || ' hours')::interval, now() + (n || ' days')::interval, 20000 + n
         FROM items p, generate_series(1, 99) n WHERE p.category = 0 RETURNING id, parent_id)
     INSERT INTO item_permissions (item_id, principal, level)
     SELECT c.id, pp.principal, pp.level FROM c JOIN item_permissions pp ON pp.item_id = c.parent_id`,
    [other, biz],
  )
  for (const [principal, tag, count] of [[V, 'direct', direct], [group, 'group', viaGroup]] as const) {
    await db.query(
      `WITH t AS (
         INSERT INTO items (guid, user_id, business_id, title, category, issue_id, priority)
         SELECT gen_random_uuid()::text, $1, $2, $3 || ' task ' || n, 1, n::text, 20000 FROM generate_series(1, $6::int) n RETURNING id)
       INSERT INTO item_permissions (item_id, principal, level)
       SELECT id, $4, 100 FROM t UNION ALL SELECT id, $5, 60 FROM t`,
      [other, biz, tag, O, principal, count],
    )
  }
  await db.query(
    `WITH t AS (
       INSERT INTO items (guid, user_id, title, category, issue_id)
       SELECT gen_random_uuid()::text, $1, 'hidden ' || n, 1, n::text FROM generate_series(1, $3::int) n RETURNING id)
     INSERT INTO item_permissions (item_id, principal, level) SELECT id, $2, 100 FROM t`,
    [other, O, Math.round(n / 2)],
  )
  await db.query(`INSERT INTO tags (space, name, name_key) VALUES ('b:' || $1::bigint, 'work', 'work'), ('b:' || $1::bigint, 'home', 'home')`, [biz])
  await db.query(`INSERT INTO item_tags (item_id, tag_id) SELECT i.id, t.id FROM items i, tags t WHERE i.id % 7 = 0 AND i.title NOT LIKE 'hidden%'`)
  await db.query(`INSERT INTO item_user_state (item_id, user_id, starred) SELECT id, $1, true FROM items WHERE id % 11 = 0 AND title NOT LIKE 'hidden%'`, [viewer])
  await db.query('VACUUM ANALYZE')
  return { group }
}

type Proc = { proc: ChildProcess; pid: number; base: string; stop: () => Promise<void> }

/** `node --import tsx <script>` as a child process, resolved once `readyPath` answers */
async function startProcess(script: string, env: Record<string, string>, readyPath: string): Promise<Proc> {
  const port = await freePort()
  // BENCH_CPU_PROF=dir: the server writes a V8 CPU profile there when it stops
  const prof = process.env.BENCH_CPU_PROF && script === 'src/server.ts' ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []
  // BENCH_SERVER_NODE_ARGS: node flags NODE_OPTIONS does not take (e.g. --trace-gc), for the server
  const nodeArgs = script === 'src/server.ts' ? (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean) : []
  const proc = spawn(process.execPath, [...prof, ...nodeArgs, '--import', 'tsx', script], {
    cwd: path.resolve(import.meta.dirname, '..'),
    env: { PATH: process.env.PATH ?? '', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  // BENCH_SERVER_LOG=file: the server's output is also written there (with BENCH_SERVER_NODE_ARGS=--trace-gc: its collections)
  if (process.env.BENCH_SERVER_LOG && script === 'src/server.ts') proc.stdout!.pipe(fs.createWriteStream(process.env.BENCH_SERVER_LOG))
  proc.stdout!.on('data', (b: Buffer) => void (out = (out + b.toString()).slice(-20_000)))
  proc.stderr!.on('data', (b: Buffer) => void (out = (out + b.toString()).slice(-20_000)))
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()))
  const base = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`${script} exited:\n${out}`)
    try {
      const r = await fetch(base + readyPath)
      if (r.status < 500) break
    } catch {
      /* not listening yet */
    }
    if (i > 600) throw new Error(`${script} did not start:\n${out}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    proc,
    pid: proc.pid!,
    base,
    stop: async () => {
      if (proc.exitCode === null) proc.kill(prof.length ? 'SIGTERM' : 'SIGKILL')
      await exited
    },
  }
}

/** VmRSS and VmHWM of a process, MB */
function memoryOf(pid: number): { rss: number; hwm: number } {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0)
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 }
}

/** CPU time of a process (user + system), ms */
function cpuOf(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ')
  return (Number(x[11]) + Number(x[12])) * CLOCK_TICK_MS
}

/** the peak RSS of `pid` while `fn` runs: VmHWM reset first (clear_refs 5), and VmRSS sampled every 20 ms */
async function withPeakRss<T>(pid: number, fn: () => Promise<T>): Promise<{ result: T; before: number; peak: number }> {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5')
  } catch {
    /* not allowed here: the samples still say */
  }
  const before = memoryOf(pid).rss
  let peak = before
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, memoryOf(pid).rss)
    } catch {
      /* gone */
    }
  }, 20)
  try {
    const result = await fn()
    peak = Math.max(peak, memoryOf(pid).hwm, memoryOf(pid).rss)
    return { result, before, peak }
  } finally {
    clearInterval(timer)
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })

/** one GET read to the end without keeping it: status, bytes on the wire, time to first byte and to the end */
function get(url: string, headers: Record<string, string>): Promise<{ status: number; bytes: number; ttfb: number; ms: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    http
      .get(url, { agent, headers }, (res) => {
        let bytes = 0
        let ttfb = -1
        res.on('data', (c: Buffer) => {
          if (ttfb < 0) ttfb = performance.now() - t0
          bytes += c.length
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, ttfb, ms: performance.now() - t0, headers: res.headers }))
        res.on('error', reject)
      })
      .on('error', reject)
  })
}

type LoadRun = { requests: number; rps: number; p50: number; max: number; ttfb50: number; bytes: number; errors: number; seconds: number }

/** `clients` closed loops for `seconds` (each sends its next request when the last one was read); requests in flight then finish */
async function load(url: string, headers: Record<string, string>, clients: number, seconds: number, minPerClient = 1): Promise<LoadRun> {
  const lat: number[] = []
  const ttfb: number[] = []
  let bytes = 0
  let errors = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let k = 0; k < minPerClient || performance.now() - t0 < seconds * 1000; k++) {
        const r = await get(url, headers).catch(() => null)
        if (!r || r.status !== 200) {
          errors++
          continue
        }
        lat.push(r.ms)
        ttfb.push(r.ttfb)
        bytes += r.bytes
      }
    }),
  )
  const elapsed = (performance.now() - t0) / 1000
  const med = (a: number[]) => (a.length ? [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)]! : NaN)
  return { requests: lat.length, rps: lat.length / elapsed, p50: med(lat), max: Math.max(...lat), ttfb50: med(ttfb), bytes: bytes / Math.max(lat.length, 1), errors, seconds: elapsed }
}

type Row = { size: number; what: string; server: LoadRun & { rss0: number; peak: number }; base: LoadRun & { rss0: number; peak: number } }

async function largeAccount(n: number, o: { window: number; window10: number }) {
  const dbName = 'hitask_bench_' + crypto.randomBytes(4).toString('hex')
  const admin = new pg.Client({ connectionString: withDb(BASE, 'postgres') })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${dbName}`)
  await admin.end()
  const url = withDb(BASE, dbName)
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hitask-bench-'))
  const closers: (() => Promise<unknown>)[] = []
  const rows: Row[] = []
  try {
    await applyMigrations(url)
    const db = connectDb(url, { max: 4 })
    closers.push(() => db.close())
    const server = await startProcess(
      'src/server.ts',
      {
        NODE_ENV: 'production', DATABASE_URL: url, HOST: '127.0.0.1', API_KEYS: API_KEY, DATA_DIR: dataDir, LOG_LEVEL: 'silent',
        RATE_LIMIT_PER_MINUTE: '100000000', DELTA_MARGIN_MS: '1000', WORKERS_ENABLED: 'false', PUBLIC_URL: 'http://bench.test',
        // BENCH_SERVER_NODE_OPTIONS: V8 flags for the server process (e.g. --max-old-space-size=256)
        ...(process.env.BENCH_SERVER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_SERVER_NODE_OPTIONS } : {}),
        // BENCH_SERVER_ENV: more variables for the server process, `K=V,K2=V2` (e.g. MALLOC_ARENA_MAX=2)
        ...Object.fromEntries((process.env.BENCH_SERVER_ENV ?? '').split(',').filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
      },
      '/health',
    )
    closers.push(() => server.stop())
    const signup = async (login: string) => {
      const r = await fetch(`${server.base}/api/user/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ login, email: `${login}@bench.test`, password: 'password123', firstName: 'B', lastName: login, api_key: API_KEY }),
      })
      if (r.status !== 200) throw new Error(await r.text())
      return (await r.json()) as { id: number; session_id: string }
    }
    const viewer = await signup('viewer')
    const other = await signup('owner')
    const t0 = Date.now()
    const { group } = await seedLarge(db, viewer.id, other.id, n)
    console.log(`\n== ${n.toLocaleString('en')} visible items (database ${dbName}): seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`)
    const principals = [String(viewer.id), group]
    const baseline = await startProcess('bench/baseline-server.ts', { DATABASE_URL: url, PRINCIPALS: JSON.stringify(principals) }, '/delta/0')
    closers.push(() => baseline.stop())
    const headers = { 'x-hi-session': viewer.session_id }

    // the list, checked, and a cursor (taken past DELTA_MARGIN_MS after the seed, else the
    // seeded items count as changed); then 10 items changed after it
    await new Promise((r) => setTimeout(r, 1500))
    const all = await fetch(`${server.base}/api/item`, { headers })
    const list = (await all.json()) as { id: number }[]
    if (list.length !== n) throw new Error(`the viewer sees ${list.length} items, expected ${n}`)
    const baseList = (await (await fetch(`${baseline.base}/items`)).json()) as unknown[]
    if (baseList.length !== n) throw new Error(`the baseline lists ${baseList.length} items`)
    const cursor = Number(all.headers.get('x-cursor'))
    await new Promise((r) => setTimeout(r, 1500))
    const step = Math.floor(n / 10)
    await db.query('UPDATE items SET title = title || $2 WHERE id = ANY($1::bigint[])', [list.filter((_, k) => k % step === 0).slice(0, 10).map((x) => x.id), ' (changed)'])
    const d = (await (await fetch(`${server.base}/api/item/delta/${cursor}`, { headers })).json()) as { changed: boolean }[]
    const bd = (await (await fetch(`${baseline.base}/delta/${cursor}`)).json()) as { changed: boolean }[]
    for (const [who, x] of [['server', d], ['baseline', bd]] as const) {
      if (x.length !== n || x.filter((e) => e.changed).length !== 10) throw new Error(`${who} delta: ${x.length} entries, ${x.filter((e) => e.changed).length} changed`)
    }

    // the delta's id read: an index-only scan?
    const plan = (await db.query('EXPLAIN (ANALYZE, BUFFERS) ' + DELTA_IDS_SQL, [principals, cursor, viewer.id])).rows.map((r) => r['QUERY PLAN'] as string)
    console.log('delta id read (EXPLAIN ANALYZE):')
    for (const line of plan) if (/Scan|Heap Fetches|Execution Time|Anti Join|Aggregate/.test(line)) console.log('  ' + line.trim())

    const measure = async (what: string, serverUrl: string, baseUrl: string, clients: number, seconds: number) => {
      // BENCH_ONLY=text: only the runs whose name contains it (e.g. "GET /item, 1")
      if (process.env.BENCH_ONLY && !what.includes(process.env.BENCH_ONLY)) return
      // alternated: baseline first, then the server
      const b = await withPeakRss(baseline.pid, () => load(baseUrl, {}, clients, seconds, clients === 1 ? 3 : 1))
      const s = await withPeakRss(server.pid, () => load(serverUrl, headers, clients, seconds, clients === 1 ? 3 : 1))
      const row: Row = { size: n, what, server: { ...s.result, rss0: s.before, peak: s.peak }, base: { ...b.result, rss0: b.before, peak: b.peak } }
      rows.push(row)
      const f = (r: Row['server']) => `${r.rps.toFixed(2).padStart(7)} req/s  p50 ${r.p50.toFixed(0).padStart(6)} ms  max ${r.max.toFixed(0).padStart(6)} ms  first byte ${r.ttfb50.toFixed(0).padStart(5)} ms  ${r.requests} done ${r.errors} failed  RSS ${r.rss0.toFixed(0)} → ${r.peak.toFixed(0)} MB`
      console.log(`${what}\n  baseline ${f(row.base)}\n  server   ${f(row.server)}\n  ratio: throughput ${(s.result.rps / b.result.rps).toFixed(2)}, median ${(s.result.p50 / b.result.p50).toFixed(2)}`)
    }
    await measure('GET /item, 1 client', `${server.base}/api/item`, `${baseline.base}/items`, 1, o.window)
    await measure('GET /item, 10 clients', `${server.base}/api/item`, `${baseline.base}/items`, 10, o.window10)
    await measure('delta (10 changed), 1 client', `${server.base}/api/item/delta/${cursor}`, `${baseline.base}/delta/${cursor}`, 1, o.window)
    await measure('delta (10 changed), 10 clients', `${server.base}/api/item/delta/${cursor}`, `${baseline.base}/delta/${cursor}`, 10, o.window)

    // bytes on the wire and the server's CPU per request, plain and compressed
    console.log('bytes on the wire and server CPU per request (3 requests each, one at a time):')
    for (const [what, u] of [['GET /item', `${server.base}/api/item`], ['delta', `${server.base}/api/item/delta/${cursor}`]] as const) {
      for (const enc of ['identity', 'gzip', 'br']) {
        const h = { ...headers, 'accept-encoding': enc }
        await get(u, h)
        const c0 = cpuOf(server.pid)
        let bytes = 0
        let ms = 0
        for (let k = 0; k < 3; k++) {
          const r = await get(u, h)
          if (r.status !== 200 || (enc !== 'identity' && r.headers['content-encoding'] !== enc)) throw new Error(`${what} ${enc}: ${r.status} ${r.headers['content-encoding']}`)
          bytes = r.bytes
          ms += r.ms
        }
        console.log(`  ${what.padEnd(10)} ${enc.padEnd(9)} ${(bytes / 1024 / 1024).toFixed(2).padStart(8)} MB  server CPU ${((cpuOf(server.pid) - c0) / 3).toFixed(0).padStart(6)} ms/request  wall ${(ms / 3).toFixed(0).padStart(6)} ms`)
      }
    }
  } finally {
    for (const c of closers.reverse()) await c().catch(() => {})
    const a = new pg.Client({ connectionString: withDb(BASE, 'postgres') })
    await a.connect()
    // BENCH_KEEP_DB=1 keeps the seeded database, for EXPLAIN by hand
    if (process.env.BENCH_KEEP_DB) console.log(`kept database ${dbName}`)
    else await a.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
    await a.end()
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
  return rows
}

async function largeAccounts(sizes: number[]) {
  const window = Number(argOf('--window') ?? 10)
  const window10 = Number(argOf('--window10') ?? 20)
  console.log(`large accounts: ${sizes.join(', ')} items; ${os.cpus().length} CPUs; windows ${window} s alone, ${window10} s for 10 clients (requests in flight then finish)`)
  const rows: Row[] = []
  for (const n of sizes) rows.push(...(await largeAccount(n, { window, window10 })))
  console.log('\n| items | run | baseline req/s | server req/s | ratio | baseline p50 ms | server p50 ms | ratio | server first byte p50 ms | baseline RSS MB (idle → peak) | server RSS MB (idle → peak) |')
  console.log('|---|---|---|---|---|---|---|---|---|---|---|')
  for (const r of rows) {
    console.log(
      `| ${r.size.toLocaleString('en')} | ${r.what} | ${r.base.rps.toFixed(2)} | ${r.server.rps.toFixed(2)} | ${(r.server.rps / r.base.rps).toFixed(2)} | ${r.base.p50.toFixed(0)} | ${r.server.p50.toFixed(0)} | ${(r.server.p50 / r.base.p50).toFixed(2)} | ${r.server.ttfb50.toFixed(0)} | ${r.base.rss0.toFixed(0)} → ${r.base.peak.toFixed(0)} | ${r.server.rss0.toFixed(0)} → ${r.server.peak.toFixed(0)} |`,
    )
  }
  console.log(`load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`)
}

const itemsArg = argOf('--items')
const run = itemsArg
  ? largeAccounts(itemsArg.split(',').map((x) => Number(x.replace(/_/g, '')))).then(() => (process.argv.includes('--creates') ? main() : undefined))
  : main()
run.then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  },
)

