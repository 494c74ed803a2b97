// Benchmark of permission cascades (not a test; issue 11 finding "one request can tie up the
// database"). Reproduces the reported request: a PUT with 1,001 principals and cascadeAcl=1
// on a tree of 2,000 items, alone and ten at once, while another user reads one item every
// 100 ms (how long the others are stalled). Then a cascade inside the MAX_CASCADE_ITEMS bound
// (981 items × 10 principals) and a flow-down that adds one principal to a 2,000-item tree
// shared with 1,001 principals, to time the cascade itself.
//
// Usage: npx tsx bench/cascade.ts   (DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/postgres;
// a fresh database is created for the run and dropped at the end). MAX_CASCADE_ITEMS is passed
// through to the server when set (a large value shows what the cascade costs without the bound).
import os from 'node:os'
import fs from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/platform/config.js'
import { connectDb } from '../src/platform/db/pool.js'
import { runMain, scratchDatabase } from './scratch-db.js'

const API_KEY = 'bench-api-key-0123456789'

/** `n` users straight in SQL (sign-up hashes a password each: too slow for a thousand) */
async function seedUsers(db: Seeder, n: number, tag: string): Promise<number[]> {
  const r = await db.query<{ id: number }>(
    `INSERT INTO users (login, login_key, email, email_key, password_hash, picture_hash)
     SELECT $1 || g, $1 || g, $1 || g || '@bench.test', $1 || g || '@bench.test', 'x', $1 || '-pic-' || g
       FROM generate_series(1, $2::int) g RETURNING id`,
    [tag, n],
  )
  return r.rows.map((x) => Number(x.id))
}

/** a project of `owner` with `tasks` tasks of `subs` sub-tasks each, lists as the service stores them */
async function seedTree(db: Seeder, owner: number, tasks: number, subs: number, list: Map<string, number>): Promise<{ root: number; size: number }> {
  const principals = [...list.keys()]
  const levels = [...list.values()]
  const root = (await db.query<{ id: number }>(`INSERT INTO items (guid, user_id, title, category, issue_id) VALUES (gen_random_uuid()::text, $1, 'bench project', 0, '1') RETURNING id`, [owner])).rows[0]!.id
  await db.query(
    `WITH t AS (
       INSERT INTO items (guid, user_id, title, category, parent_id, issue_id)
       SELECT gen_random_uuid()::text, $1, 'task ' || n, 1, $2, n::text FROM generate_series(1, $3::int) n RETURNING id),
     s AS (
       INSERT INTO items (guid, user_id, title, category, parent_id, issue_id)
       SELECT gen_random_uuid()::text, $1, 'sub ' || n, 1, t.id, n::text FROM t, generate_series(1, $4::int) n RETURNING id)
     INSERT INTO item_permissions (item_id, principal, level)
     SELECT x.id, p.p, p.l FROM (SELECT $2::bigint AS id UNION ALL SELECT id FROM t UNION ALL SELECT id FROM s) x
       CROSS JOIN unnest($5::text[], $6::int[]) AS p(p, l)`,
    [owner, root, tasks, subs, principals, levels],
  )
  return { root: Number(root), size: 1 + tasks + tasks * subs }
}

/** seeding runs on a connection of its own, without the server's statement timeout */
type Seeder = pg.Client

type Timed = { ms: number; status: number; code?: number }

async function main() {
  const { name: dbName, url, drop } = await scratchDatabase('hitask_bench_')
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hitask-bench-'))
  console.log(`database ${dbName}; ${os.cpus().length} CPUs; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`)
  const closers: (() => Promise<unknown>)[] = []
  try {
    const db = connectDb(url, { max: 10 })
    closers.push(() => db.close())
    const env: Record<string, string> = { NODE_ENV: 'production', API_KEYS: API_KEY, DATA_DIR: dataDir, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '100000000' }
    if (process.env.MAX_CASCADE_ITEMS) env.MAX_CASCADE_ITEMS = process.env.MAX_CASCADE_ITEMS
    const config = loadConfig(env)
    console.log(`MAX_CASCADE_ITEMS ${(config as { MAX_CASCADE_ITEMS?: number }).MAX_CASCADE_ITEMS ?? '(no such setting: the code before the bound)'}; DB_STATEMENT_TIMEOUT_MS ${config.DB_STATEMENT_TIMEOUT_MS}; pool ${config.DB_POOL_MAX}`)
    const { app } = await buildApp({ config, db })
    closers.push(() => app.close())
    const signup = async (login: string) => {
      const r = await app.inject({ method: 'POST', url: '/api/user/signup', payload: { login, email: `${login}@bench.test`, password: 'password123', firstName: 'B', lastName: login, api_key: API_KEY } })
      if (r.statusCode !== 200) throw new Error(r.body)
      return r.json() as { id: number; session_id: string }
    }
    const owner = await signup('owner')
    const other = await signup('other')
    const raw = new pg.Client({ connectionString: url })
    await raw.connect()
    closers.push(() => raw.end())
    const others = await seedUsers(raw, 1000, 'p')
    const O = String(owner.id)
    const ownerOnly = new Map([[O, 100]])
    const all1001 = new Map<string, number>([[O, 100], ...others.map((u): [string, number] => [String(u), 60])])

    // ten trees of 2,000 items (one per concurrent request), owner-only; the other user's own item
    const trees: number[] = []
    for (let i = 0; i < 10; i++) trees.push((await seedTree(raw, owner.id, 40, 49, ownerOnly)).root)
    const probeItem = (await app.inject({ method: 'POST', url: '/api/item', headers: { 'x-hi-session': other.session_id }, payload: { title: 'probe' } })).json().id as number
    await db.query('ANALYZE')

    const address = await app.listen({ port: 0, host: '127.0.0.1' })
    const put = async (session: string, id: number, body: unknown): Promise<Timed> => {
      const t0 = performance.now()
      const r = await fetch(`${address}/api/item/${id}`, { method: 'PUT', headers: { 'x-hi-session': session, 'content-type': 'application/json' }, body: JSON.stringify(body) })
      const text = await r.text()
      let code: number | undefined
      try {
        code = JSON.parse(text).response_status
      } catch {
        code = undefined
      }
      return { ms: performance.now() - t0, status: r.status, code }
    }
    const bigBody = { permissions: [...all1001].map(([principal, level]) => ({ principal, level })), cascadeAcl: 1 }
    /** another user's GET of their own item every 100 ms while `work` runs: the slowest answer */
    const probed = async <T>(work: () => Promise<T>): Promise<{ result: T; probeMaxMs: number; probes: number }> => {
      let running = true
      let max = 0
      let n = 0
      const loop = (async () => {
        while (running) {
          const t0 = performance.now()
          await fetch(`${address}/api/item/${probeItem}`, { headers: { 'x-hi-session': other.session_id } })
          max = Math.max(max, performance.now() - t0)
          n++
          await new Promise((r) => setTimeout(r, 100))
        }
      })()
      const result = await work()
      running = false
      await loop
      return { result, probeMaxMs: max, probes: n }
    }
    const fmt = (x: Timed) => `${x.status}/${x.code ?? '-'} in ${x.ms.toFixed(0)} ms`

    console.log('\n1. PUT permissions (1,001 principals) + cascadeAcl=1 on a 2,000-item tree')
    const one = await probed(() => put(owner.session_id, trees[0]!, bigBody))
    console.log(`   answer ${fmt(one.result)}; another user's slowest read meanwhile ${one.probeMaxMs.toFixed(0)} ms (${one.probes} reads)`)

    console.log('2. the same, ten at once (one tree each)')
    const t0 = performance.now()
    const ten = await probed(() => Promise.all(trees.map((root) => put(owner.session_id, root, bigBody))))
    const statuses = new Map<string, number>()
    for (const r of ten.result) statuses.set(`${r.status}/${r.code ?? '-'}`, (statuses.get(`${r.status}/${r.code ?? '-'}`) ?? 0) + 1)
    console.log(`   all answered in ${(performance.now() - t0).toFixed(0)} ms; answers ${[...statuses].map(([k, v]) => `${v}× ${k}`).join(', ')}; slowest ${Math.max(...ten.result.map((r) => r.ms)).toFixed(0)} ms`)
    console.log(`   another user's slowest read meanwhile ${ten.probeMaxMs.toFixed(0)} ms (${ten.probes} reads)`)

    console.log('3. within the bound: cascadeAcl=1 with 10 principals on a 981-item tree (9,810 items × principals)')
    const small = await seedTree(raw, owner.id, 20, 48, ownerOnly)
    const ten10 = [...all1001].slice(0, 10).map(([principal, level]) => ({ principal, level }))
    const timesIn: number[] = []
    for (let i = 0; i < 5; i++) {
      // alternate the level so every run rewrites every row
      const r = await put(owner.session_id, small.root, { permissions: ten10.map((g) => (g.principal === O ? g : { ...g, level: i % 2 ? 50 : 60 })), cascadeAcl: 1 })
      if (r.status !== 200) throw new Error(`within the bound: ${fmt(r)}`)
      timesIn.push(r.ms)
    }
    console.log(`   ${small.size} items: ${timesIn.map((x) => x.toFixed(0)).join(', ')} ms (median ${[...timesIn].sort((a, b) => a - b)[2]!.toFixed(0)})`)

    console.log('4. flow-down: one new principal on a 2,000-item tree already shared with 1,001 principals (no cascadeAcl)')
    const shared = await seedTree(raw, owner.id, 40, 49, all1001)
    await raw.query('ANALYZE')
    const extra = await seedUsers(raw, 5, 'x')
    const timesFlow: Timed[] = []
    for (const u of extra) {
      const list = [...all1001].map(([principal, level]) => ({ principal, level }))
      list.push({ principal: String(u), level: 30 })
      all1001.set(String(u), 30)
      timesFlow.push(await put(owner.session_id, shared.root, { permissions: list }))
    }
    console.log(`   ${shared.size} items: ${timesFlow.map(fmt).join('; ')}`)
  } finally {
    for (const c of closers.reverse()) await c().catch(() => {})
    await drop()
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
}

runMain(import.meta.url, main)
