// Benchmark of the item read paths (not a test): one user who sees 10,000 items through
// direct, group and project-inherited grants (plus 5,000 items they cannot see), measured
// with autocannon against
//   - GET /api/item                        the real route (auth, visibility, render)
//   - GET /api/item/delta/{cursor}         with 10 items changed after the cursor
//   - a baseline: a bare Fastify route running the equivalent single SQL query with pg and
//     serialising the rows.
// Usage: npm run bench:items   (DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/postgres;
// a fresh database is created for the run and dropped at the end)
import crypto from 'node:crypto'
import os from 'node:os'
import fs from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import Fastify from 'fastify'
import autocannon from 'autocannon'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'
import { connectDb } from '../src/db/prisma.js'
import { applyMigrations } from '../src/db/schema-engine.js'
import { visibleSql } from '../src/services/permissions.js'

const BASE = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres'
const DURATION = Number(process.env.BENCH_SECONDS ?? 10)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 4)
const API_KEY = 'bench-api-key-0123456789'

function withDb(url: string, db: string) {
  const u = new URL(url)
  u.pathname = '/' + db
  return u.toString()
}

async function seed(db: pg.Pool, viewer: number, other: number) {
  // a team and a group the viewer is in
  const biz = (await db.query(`INSERT INTO businesses (title, domain_name, owner_id) VALUES ('Bench', 'bench', $1) RETURNING id`, [other])).rows[0].id
  const group = crypto.randomUUID()
  await db.query(`INSERT INTO groups (id, business_id, name) VALUES ($1, $2, 'bench')`, [group, biz])
  await db.query('INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)', [group, viewer])
  const V = String(viewer)
  const O = String(other)
  // 60 projects of 100 items (project + 99 children): 30 shared with the viewer, 30 with the group;
  // the children carry the inherited list (stored in full, as the service keeps it)
  await db.query(
    `WITH p AS (
       INSERT INTO items (guid, user_id, business_id, title, category, short_name, short_name_key, issue_id)
       SELECT gen_random_uuid()::text, $1, $2::bigint, 'Project ' || n, 0, 'P' || n, 'b:' || $2::bigint || ':P' || n, n::text
         FROM generate_series(1, 60) n RETURNING id, title)
     INSERT INTO item_permissions (item_id, principal, level)
     SELECT id, $3, 100 FROM p
     UNION ALL SELECT id, CASE WHEN substr(title, 9)::int % 2 = 0 THEN $4 ELSE $5 END, 50 FROM p`,
    [other, biz, O, V, group],
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
  // 2,000 top-level tasks shared with the viewer directly and 2,000 with the group
  for (const [principal, tag] of [[V, 'direct'], [group, 'group']] as const) {
    await db.query(
      `WITH t AS (
         INSERT INTO items (guid, user_id, business_id, title, category, issue_id, priority)
         SELECT gen_random_uuid()::text, $1, $2, $3 || ' task ' || n, 1, n::text, 20000 FROM generate_series(1, 2000) n RETURNING id)
       INSERT INTO item_permissions (item_id, principal, level)
       SELECT id, $4, 100 FROM t UNION ALL SELECT id, $5, 60 FROM t`,
      [other, biz, tag, O, principal],
    )
  }
  // 5,000 items the viewer cannot see
  await db.query(
    `WITH t AS (
       INSERT INTO items (guid, user_id, title, category, issue_id)
       SELECT gen_random_uuid()::text, $1, 'hidden ' || n, 1, n::text FROM generate_series(1, 5000) n RETURNING id)
     INSERT INTO item_permissions (item_id, principal, level) SELECT id, $2, 100 FROM t`,
    [other, O],
  )
  // some tags and per-user state, as a real account has
  await db.query(`INSERT INTO tags (space, name, name_key) VALUES ('b:' || $1, 'work', 'work'), ('b:' || $1, 'home', 'home')`, [biz])
  await db.query(`INSERT INTO item_tags (item_id, tag_id) SELECT i.id, t.id FROM items i, tags t WHERE i.id % 7 = 0 AND i.title NOT LIKE 'hidden%'`)
  await db.query(`INSERT INTO item_user_state (item_id, user_id, starred) SELECT id, $1, true FROM items WHERE id % 11 = 0 AND title NOT LIKE 'hidden%'`, [viewer])
  await db.query('ANALYZE')
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

async function main() {
  const dbName = 'hitask_bench_' + crypto.randomBytes(4).toString('hex')
  const admin = new pg.Client({ connectionString: withDb(BASE, 'postgres') })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${dbName}`)
  await admin.end()
  const url = withDb(BASE, dbName)
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hitask-bench-'))
  console.log(`database ${dbName}; ${os.cpus().length} CPUs; ${CONNECTIONS} connections, ${DURATION}s per run`)
  const closers: (() => Promise<unknown>)[] = []
  try {
    await applyMigrations(url)
    const db = connectDb(url, { max: 10 })
    closers.push(() => db.close())
    const config = loadConfig({ NODE_ENV: 'production', API_KEYS: API_KEY, DATA_DIR: dataDir, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '100000000', DELTA_MARGIN_MS: '1000' })
    const { app } = await buildApp({ config, db })
    closers.push(() => app.close())
    const signup = async (login: string) => {
      const r = await app.inject({ method: 'POST', url: '/api/user/signup', payload: { login, email: `${login}@bench.test`, password: 'password123', firstName: 'B', lastName: login, api_key: API_KEY } })
      if (r.statusCode !== 200) throw new Error(r.body)
      return r.json() as { id: number; session_id: string }
    }
    const viewer = await signup('viewer')
    const other = await signup('owner')
    const t0 = Date.now()
    await seed(db.pool, viewer.id, other.id)
    console.log(`seeded in ${Date.now() - t0} ms`)
    const address = await app.listen({ port: 0, host: '127.0.0.1' })
    const headers = { 'x-hi-session': viewer.session_id }

    const all = await fetch(`${address}/api/item`, { headers })
    const list = (await all.json()) as { id: number; permission: number }[]
    if (list.length !== 10_000) throw new Error(`the viewer sees ${list.length} items, expected 10000`)

    // the baseline: the same visibility query and the item rows, serialised as they come
    const bare = Fastify({ logger: false })
    const principals = [String(viewer.id), ...(await db.pool.query('SELECT group_id FROM group_members WHERE user_id = $1', [viewer.id])).rows.map((r) => r.group_id)]
    bare.get('/items', async () => {
      const r = await db.pool.query(
        `SELECT i.*, v.level FROM ${visibleSql('$1')} v JOIN items i ON i.id = v.item_id WHERE v.level > 0 AND NOT i.archived ORDER BY i.id`,
        [principals],
      )
      return r.rows
    })
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
      const { readDelta } = await import('../src/services/delta.js')
      const user = { id: viewer.id, timeZone: 'UTC', businessId: null, businessLevel: null, sessionHash: '', apiKeyHash: '' }
      const deps = (app as any).deps
      for (let i = 0; i < 5; i++) {
        const t1 = performance.now()
        const out = await readDelta(deps, user, fresh)
        const t2 = performance.now()
        console.log(`readDelta ${(t2 - t1).toFixed(1)} ms, ${out.entries.length} entries`)
      }
      const { DELTA_IDS_SQL } = await import('../src/services/delta.js')
      const e = await db.pool.query('EXPLAIN ANALYZE ' + DELTA_IDS_SQL, [principals, fresh, viewer.id])
      console.log(e.rows.map((r) => r['QUERY PLAN']).join('\n'))
    }
    results.push(await measure('GET /api/item/delta/{cursor} (10 of 10,000 changed)', `${address}/api/item/delta/${fresh}`, headers))
    results.push(await measure('  the same, one client at a time (latency)', `${address}/api/item/delta/${fresh}`, headers, 1))

    console.log('')
    console.log('run                                                   req/s    p50 ms   p99 ms   KB/resp  non-2xx')
    for (const r of results) {
      console.log(`${r.name.padEnd(52)} ${r.rps.toFixed(1).padStart(7)} ${String(r.p50).padStart(8)} ${String(r.p99).padStart(8)} ${(r.bytes / 1024).toFixed(0).padStart(9)} ${String(r.errors).padStart(8)}`)
    }
    const [base, items, delta, single] = results as [Result, Result, Result, Result]
    console.log('')
    console.log(`GET /api/item throughput / baseline: ${(items.rps / base.rps).toFixed(2)} (goal ≥ 0.50)`)
    console.log(`delta median: ${single.p50} ms for one client, ${delta.p50} ms with ${CONNECTIONS} concurrent (goal ≤ 25 ms); delta throughput / GET /api/item: ${(delta.rps / items.rps).toFixed(1)}x`)
  } finally {
    for (const c of closers.reverse()) await c().catch(() => {})
    const a = new pg.Client({ connectionString: withDb(BASE, 'postgres') })
    await a.connect()
    await a.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`)
    await a.end()
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
