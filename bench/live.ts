// Benchmark of the live channel (not a test): the real server in its own process with 500
// open GET /api/item/live streams (100 users × 5), and commits made straight in SQL from this
// process; the latency is from a commit's acknowledgement to the `change` event on each stream
// (the event's cursor + 1 is the commit's transaction time, which the writer reads back, so
// every event is matched to its commit).
//   fan-out: each commit changes an item shared with a group holding all 100 users (500 events)
//   one user: each commit changes one user's private item (5 events; the 495 others get none)
// Then the cost of the signal for writers: single-row UPDATEs of items with and without the
// NOTIFY trigger.
// Goal on the 2-core machine: p99 under 1 s with 500 streams.
// Usage: npm run bench:live   (DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/postgres;
// a fresh database is created for the run and dropped at the end)
import crypto from 'node:crypto'
import http from 'node:http'
import os from 'node:os'
import pg from 'pg'
import { startServer, killAll } from '../test/helpers/server-process.js'
import { user } from './calendar.js'
import { percentile, runMain, scratchDatabase, sleep } from './scratch-db.js'

const USERS = Number(process.env.BENCH_USERS ?? 100)
const PER_USER = Number(process.env.BENCH_STREAMS_PER_USER ?? 5)
const WRITES = Number(process.env.BENCH_WRITES ?? 200)
const RATE = Number(process.env.BENCH_WRITES_PER_SECOND ?? 10)

type Stream = { user: number; events: { cursor: number; at: number }[]; ready: Promise<void>; req: http.ClientRequest }

function open(base: string, userIndex: number, session: string): Stream {
  let ready!: () => void
  const s: Stream = { user: userIndex, events: [], ready: new Promise((r) => (ready = r)), req: null as any }
  s.req = http.get(base + '/api/item/live', { headers: { 'x-hi-session': session }, agent: false }, (res) => {
    if (res.statusCode !== 200) throw new Error(`stream: ${res.statusCode}`)
    let buf = ''
    res.setEncoding('utf8')
    res.on('data', (chunk: string) => {
      const at = performance.now()
      buf += chunk
      let i: number
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i)
        buf = buf.slice(i + 2)
        if (block.includes('event: ready')) ready()
        const m = /event: change\ndata: \{"cursor":(\d+)\}/.exec(block)
        if (m) s.events.push({ cursor: Number(m[1]), at })
      }
    })
  })
  s.req.on('error', () => {})
  return s
}

async function run(name: string, streams: Stream[], writer: pg.Client, itemFor: (i: number) => { id: number; users: Set<number> }) {
  for (const s of streams) s.events.length = 0
  const commits: { t: number; ack: number; users: Set<number> }[] = []
  const gap = 1000 / RATE
  const t0 = performance.now()
  for (let i = 0; i < WRITES; i++) {
    const target = itemFor(i)
    const r = await writer.query(`UPDATE items SET title = $2 WHERE id = $1 RETURNING floor(extract(epoch FROM now()) * 1000)::float8 AS t`, [target.id, `w${i}`])
    commits.push({ t: Number(r.rows[0].t), ack: performance.now(), users: target.users })
    const next = t0 + (i + 1) * gap
    const wait = next - performance.now()
    if (wait > 0) await sleep(wait)
  }
  await sleep(1500)
  const latencies: number[] = []
  let missing = 0
  let unexpected = 0
  for (const s of streams) {
    const byCursor = new Map<number, number>()
    for (const e of s.events) if (!byCursor.has(e.cursor)) byCursor.set(e.cursor, e.at)
    let expected = 0
    for (const c of commits) {
      if (!c.users.has(s.user)) continue
      expected++
      // the event of this commit; if two commits fell into one burst, the event names the earlier
      let at = byCursor.get(c.t - 1)
      if (at === undefined) {
        const covering = s.events.filter((e) => e.cursor < c.t && e.at >= c.ack - 1000).sort((a, b) => a.at - b.at)[0]
        at = covering?.at
      }
      if (at === undefined) missing++
      else latencies.push(at - c.ack)
    }
    unexpected += Math.max(0, s.events.length - expected)
  }
  console.log(
    `${name.padEnd(34)} ${String(commits.length).padStart(7)} ${String(latencies.length).padStart(8)} ${percentile(latencies, 50).toFixed(1).padStart(8)} ${percentile(latencies, 99).toFixed(1).padStart(8)} ${latencies.reduce((a, b) => Math.max(a, b), -Infinity).toFixed(1).padStart(8)} ${String(missing).padStart(8)} ${String(unexpected).padStart(11)}`,
  )
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), missing }
}

async function main() {
  const { name: dbName, url, drop } = await scratchDatabase('hitask_bench_live_')
  console.log(`database ${dbName}; ${os.cpus().length} CPUs; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`)
  const streams: Stream[] = []
  try {
    const c = new pg.Client({ connectionString: url })
    c.on('error', () => {})
    await c.connect()
    const owner = await user(c, 'owner')
    const users: { id: number; session: string }[] = []
    for (let i = 0; i < USERS; i++) users.push(await user(c, 'u' + i))
    const biz = (await c.query(`INSERT INTO businesses (title, domain_name, owner_id) VALUES ('Bench', 'bench', $1) RETURNING id`, [owner.id])).rows[0].id
    const group = crypto.randomUUID()
    await c.query(`INSERT INTO groups (id, business_id, name) VALUES ($1, $2, 'everyone')`, [group, biz])
    await c.query('INSERT INTO group_members (group_id, user_id) SELECT $1, unnest($2::bigint[])', [group, users.map((u) => u.id)])
    const item = async (principals: string[]) => {
      const id = Number((await c.query(`INSERT INTO items (guid, user_id, title) VALUES (gen_random_uuid()::text, $1, 'x') RETURNING id`, [owner.id])).rows[0].id)
      await c.query(`INSERT INTO item_permissions (item_id, principal, level) SELECT $1, unnest($2::text[]), 100`, [id, [String(owner.id), ...principals]])
      return id
    }
    const shared = await item([group])
    const privateItems: number[] = []
    for (const u of users) privateItems.push(await item([String(u.id)]))
    // background: 5,000 other items, 10 per user, so the tables are not trivially small
    await c.query(
      `WITH ins AS (INSERT INTO items (guid, user_id, title) SELECT gen_random_uuid()::text, $1, 'bg ' || n FROM generate_series(1, 5000) n RETURNING id)
       INSERT INTO item_permissions (item_id, principal, level) SELECT id, $1::text, 100 FROM ins`,
      [owner.id],
    )
    await c.query('ANALYZE')

    const server = await startServer({ databaseUrl: url, checked: false, env: { LOG_LEVEL: 'warn', NODE_ENV: 'production', RATE_LIMIT_PER_MINUTE: '100000000' } })
    const t0 = performance.now()
    for (let i = 0; i < users.length; i++) for (let k = 0; k < PER_USER; k++) streams.push(open(server.base, i, users[i]!.session))
    await Promise.all(streams.map((s) => s.ready))
    console.log(`${streams.length} streams open in ${Math.round(performance.now() - t0)} ms; ${WRITES} commits at ${RATE}/s per run`)
    await sleep(500)

    console.log('')
    console.log('run                                commits  events   p50 ms   p99 ms   max ms  missing  unexpected')
    const everyone = new Set(users.map((_, i) => i))
    const fan = await run(`fan-out: each commit → ${streams.length} streams`, streams, c, () => ({ id: shared, users: everyone }))
    const one = await run(`one user: each commit → ${PER_USER} streams`, streams, c, (i) => ({ id: privateItems[i % users.length]!, users: new Set([i % users.length]) }))

    for (const s of streams) s.req.destroy()
    await server.stop()

    // what the signal costs a writer: single-row updates with and without the trigger, in
    // alternating rounds of 300 (the machine's load moves), the median round of each
    const target = privateItems[0]!
    const timeUpdates = async () => {
      const start = performance.now()
      for (let i = 0; i < 300; i++) await c.query(`UPDATE items SET title = $2 WHERE id = $1`, [target, 'cost' + i])
      return ((performance.now() - start) / 300) * 1000
    }
    await timeUpdates()
    const on: number[] = []
    const off: number[] = []
    for (let round = 0; round < 6; round++) {
      on.push(await timeUpdates())
      await c.query('ALTER TABLE items DISABLE TRIGGER items_live_update')
      off.push(await timeUpdates())
      await c.query('ALTER TABLE items ENABLE TRIGGER items_live_update')
    }
    const withTrigger = percentile(on, 50)
    const without = percentile(off, 50)
    await c.end()
    console.log('')
    console.log(`single-row UPDATE of an item (autocommit): ${withTrigger.toFixed(0)} µs with the NOTIFY trigger, ${without.toFixed(0)} µs without (median of 6 alternating rounds)`)
    console.log(`fan-out p99 ${fan.p99.toFixed(1)} ms with ${streams.length} streams (goal < 1000 ms); one-user p99 ${one.p99.toFixed(1)} ms; missing events ${fan.missing + one.missing}`)
    console.log(`load average now ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`)
  } finally {
    for (const s of streams) s.req.destroy()
    await killAll()
    await drop()
  }
}

runMain(import.meta.url, main)
