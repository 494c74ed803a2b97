// Benchmark of the calendar feed (not a test): one user whose feed has 10,000 dated items
// (events and tasks, some recurring, alarms and tags on some, shared directly and through a
// group), served by the real server in its own process (src/server.ts), measured with
// autocannon:
//   - a first answer: the feed rendered (no If-None-Match), one client and 4 concurrent
//   - a 304 answer: If-None-Match with the current ETag (the path calendar programs poll)
// Goal on the 2-core machine: the 304 answer under 5 ms median.
// Usage: npm run bench:calendar   (DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/postgres;
// a fresh database is created for the run and dropped at the end)
import crypto from 'node:crypto'
import os from 'node:os'
import pg from 'pg'
import autocannon from 'autocannon'
import { startServer, killAll } from '../test/helpers/server-process.js'
import { runMain, scratchDatabase } from './scratch-db.js'

const DURATION = Number(process.env.BENCH_SECONDS ?? 10)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 4)
const ITEMS = Number(process.env.BENCH_ITEMS ?? 10_000)
const API_KEY = 'test-api-key-0123456789' // the key test/helpers/server-process.ts starts the server with

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex')

/** a user and a session straight in SQL (no password hashing needed for a benchmark) */
export async function user(c: pg.Client, login: string): Promise<{ id: number; session: string }> {
  const id = Number(
    (
      await c.query(
        `INSERT INTO users (login, login_key, email, email_key, password_hash, picture_hash) VALUES ($1, $1, $1 || '@bench.test', $1 || '@bench.test', 'x', $2) RETURNING id`,
        [login, crypto.randomBytes(16).toString('hex')],
      )
    ).rows[0].id,
  )
  const session = crypto.randomBytes(24).toString('base64url')
  await c.query('INSERT INTO sessions (id_hash, user_id, api_key_hash) VALUES ($1, $2, $3)', [sha256(session), id, sha256(API_KEY)])
  return { id, session }
}

export async function seed(c: pg.Client, viewer: number, other: number) {
  await c.query(`INSERT INTO user_preferences (user_id, key, value) VALUES ($1, 'time_zone', '"Europe/Berlin"')`, [viewer])
  const biz = (await c.query(`INSERT INTO businesses (title, domain_name, owner_id) VALUES ('Bench', 'bench', $1) RETURNING id`, [other])).rows[0].id
  const group = crypto.randomUUID()
  await c.query(`INSERT INTO groups (id, business_id, name) VALUES ($1, $2, 'bench')`, [group, biz])
  await c.query('INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)', [group, viewer])
  // ITEMS dated items: a quarter events, the rest tasks; every 10th recurring; every 3rd all-day;
  // half the viewer's own, half another user's shared through the group
  await c.query(
    `WITH ins AS (
       INSERT INTO items (guid, user_id, title, message, category, start_date, end_date, due_date, is_all_day, recurring, recurring_interval, priority, completed)
       SELECT gen_random_uuid()::text, CASE WHEN n % 2 = 0 THEN $1::bigint ELSE $2::bigint END,
              'Item ' || n || ' with a title of a usual length', CASE WHEN n % 4 = 0 THEN 'Notes for item ' || n ELSE NULL END,
              CASE WHEN n % 4 = 0 THEN 2 ELSE 1 END,
              timestamptz '2026-01-01 08:00:00Z' + n * interval '53 minutes',
              CASE WHEN n % 4 = 0 THEN timestamptz '2026-01-01 09:00:00Z' + n * interval '53 minutes' END,
              CASE WHEN n % 4 <> 0 THEN timestamptz '2026-01-02 17:00:00Z' + n * interval '53 minutes' END,
              n % 3 = 0, CASE WHEN n % 10 = 0 THEN 1 + n % 4 ELSE 0 END, 1 + n % 3, 10000 + (n % 3) * 10000, n % 7 = 0
         FROM generate_series(1, $4::int) n RETURNING id, user_id)
     INSERT INTO item_permissions (item_id, principal, level)
     SELECT id, user_id::text, 100 FROM ins
     UNION ALL SELECT id, $3, 50 FROM ins WHERE user_id = $2::bigint`,
    [viewer, other, group, ITEMS],
  )
  // alerts of the viewer on every 5th item, tags on every 7th, 2,000 undated and 2,000 invisible items
  await c.query(`INSERT INTO item_alerts (item_id, user_id, time_type, time) SELECT id, $1, 4, 15 FROM items WHERE id % 5 = 0`, [viewer])
  await c.query(`INSERT INTO tags (space, name, name_key) VALUES ('u:1', 'work', 'work'), ('u:1', 'home', 'home')`)
  await c.query(`INSERT INTO item_tags (item_id, tag_id) SELECT i.id, t.id FROM items i, tags t WHERE i.id % 7 = 0`)
  await c.query(
    `WITH ins AS (INSERT INTO items (guid, user_id, title) SELECT gen_random_uuid()::text, $1, 'undated ' || n FROM generate_series(1, 2000) n RETURNING id)
     INSERT INTO item_permissions (item_id, principal, level) SELECT id, $1::text, 100 FROM ins`,
    [viewer],
  )
  await c.query(
    `WITH ins AS (INSERT INTO items (guid, user_id, title, start_date) SELECT gen_random_uuid()::text, $1, 'hidden ' || n, now() FROM generate_series(1, 2000) n RETURNING id)
     INSERT INTO item_permissions (item_id, principal, level) SELECT id, $1::text, 100 FROM ins`,
    [other],
  )
  await c.query('ANALYZE')
}

type Result = { name: string; rps: number; p50: number; p99: number; non2xx: number; kb: number; status: string }

async function measure(name: string, url: string, headers: Record<string, string>, connections: number, expect: number): Promise<Result> {
  for (let i = 0; i < 2; i++) await fetch(url, { headers })
  const codes: Record<number, number> = {}
  const inst = autocannon({ url, connections, duration: DURATION, headers })
  inst.on('response', (_c: unknown, status: number) => void (codes[status] = (codes[status] ?? 0) + 1))
  const r = await inst
  return {
    name,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: Object.entries(codes).filter(([s]) => Number(s) !== expect).reduce((a, [, n]) => a + n, 0),
    kb: r.throughput.average / Math.max(r.requests.average, 1) / 1024,
    status: Object.entries(codes).map(([s, n]) => `${s}×${n}`).join(' '),
  }
}

async function main() {
  const { name: dbName, url, drop } = await scratchDatabase('hitask_bench_cal_')
  console.log(`database ${dbName}; ${os.cpus().length} CPUs; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}; ${CONNECTIONS} connections, ${DURATION}s per run`)
  try {
    const c = new pg.Client({ connectionString: url })
    c.on('error', () => {})
    await c.connect()
    const viewer = await user(c, 'viewer')
    const other = await user(c, 'other')
    const t0 = Date.now()
    await seed(c, viewer.id, other.id)
    console.log(`seeded ${ITEMS} dated items in ${Date.now() - t0} ms`)
    // BENCH_SERVER_NODE_OPTIONS: e.g. --cpu-prof --cpu-prof-dir=/tmp/prof to profile the server
    const server = await startServer({
      databaseUrl: url,
      checked: false,
      env: { LOG_LEVEL: 'warn', NODE_ENV: 'production', RATE_LIMIT_PER_MINUTE: '100000000', ...(process.env.BENCH_SERVER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_SERVER_NODE_OPTIONS } : {}) },
    })
    const feed = (await (await fetch(`${server.base}/api/user/calendar`, { headers: { 'x-hi-session': viewer.session } })).json()) as { url: string }
    const feedUrl = server.base + new URL(feed.url).pathname

    const cold0 = performance.now()
    const first = await fetch(feedUrl)
    const body = await first.text()
    const coldMs = performance.now() - cold0
    const etag = first.headers.get('etag')!
    const count = (body.match(/^BEGIN:(VEVENT|VTODO)\r?$/gm) ?? []).length
    if (first.status !== 200 || count !== ITEMS) throw new Error(`feed: ${first.status}, ${count} items (expected ${ITEMS})`)
    console.log(`feed: ${count} items, ${(body.length / 1e6).toFixed(2)} MB; the very first answer (cold) ${coldMs.toFixed(0)} ms`)
    const again = await fetch(feedUrl, { headers: { 'if-none-match': etag } })
    if (again.status !== 304) throw new Error(`If-None-Match answered ${again.status}`)

    const results: Result[] = []
    results.push(await measure('first answer (rendered), 1 client', feedUrl, {}, 1, 200))
    results.push(await measure(`first answer (rendered), ${CONNECTIONS} clients`, feedUrl, {}, CONNECTIONS, 200))
    results.push(await measure('304 answer (If-None-Match), 1 client', feedUrl, { 'if-none-match': etag }, 1, 304))
    results.push(await measure(`304 answer (If-None-Match), ${CONNECTIONS} clients`, feedUrl, { 'if-none-match': etag }, CONNECTIONS, 304))
    await server.stop()
    await c.end()

    console.log('')
    console.log('run                                              req/s    p50 ms   p99 ms   KB/resp  statuses')
    for (const r of results) {
      console.log(`${r.name.padEnd(46)} ${r.rps.toFixed(1).padStart(8)} ${String(r.p50).padStart(8)} ${String(r.p99).padStart(8)} ${r.kb.toFixed(0).padStart(9)}  ${r.status}`)
    }
    const single304 = results[2]!
    console.log('')
    console.log(`304 median: ${single304.p50} ms (goal < 5 ms); load average now ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`)
  } finally {
    await killAll()
    await drop()
  }
}

runMain(import.meta.url, main)
