// Load with a realistic mix against one real server process (src/server.ts), measured with
// autocannon: several users each list their items (GET /api/item), follow the delta feed
// with the cursor they were given, create, update, comment on and delete items. A warm-up
// run first, then the measured run; the server's resident memory (VmRSS) is sampled during
// each, and the heap left after each full collection is read from its --trace-gc lines
// (withMemoryLevels).
//
// Shared by test/reliability/load.test.ts (asserts zero errors, zero non-2xx, memory) and
// by this file run directly (prints the figures):
//   npx tsx bench/load.ts     DATABASE_URL (a fresh database is created on that server and
//                             dropped at the end; default postgresql://postgres@127.0.0.1:5432/postgres),
//                             LOAD_SECONDS (60), LOAD_WARMUP_SECONDS (15), LOAD_CONNECTIONS (16), LOAD_USERS (8)
import crypto from 'node:crypto'
import autocannon from 'autocannon'
import { API_KEY, formEncode } from '../test/helpers/wire.js'
import { killAll, rssOf, startServer, type ServerProcess } from '../test/helpers/server-process.js'
import { LOAD_ENV } from '../test/reliability/runtime-helpers.js'
import { runMain, scratchDatabase } from './scratch-db.js'

export type LoadUser = { id: number; session: string; items: number[] }

/** the share of each kind of request in the mix */
export const MIX = { list: 0.2, delta: 0.3, create: 0.12, update: 0.2, comment: 0.12, delete: 0.06 } as const
type Kind = keyof typeof MIX
/** items a user keeps at most: past it, a create becomes a delete (the data set stays level) */
const OWN_CAP = 25
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

async function post(base: string, url: string, form: Record<string, unknown>, session?: string) {
  const r = await fetch(base + url, { method: 'POST', headers: { ...FORM, ...(session ? { 'x-hi-session': session } : {}) }, body: formEncode(form) })
  const body = (await r.json()) as any
  if (r.status !== 200) throw new Error(`${url}: ${r.status} ${JSON.stringify(body)}`)
  return body
}

/** `n` users, each with `items` items shared with the next user (so lists and deltas carry others' items too) */
export async function prepareUsers(base: string, n: number, items = 30): Promise<LoadUser[]> {
  const users: LoadUser[] = []
  for (let i = 0; i < n; i++) {
    const login = 'load' + i + crypto.randomBytes(3).toString('hex')
    const b = await post(base, '/api/user/signup', { login, email: `${login}@example.com`, password: 'password123', firstName: 'Load', lastName: String(i), api_key: API_KEY })
    users.push({ id: b.id, session: b.session_id, items: [] })
  }
  for (const [i, u] of users.entries()) {
    const next = users[(i + 1) % n]!
    const project = await post(base, '/api/item', { title: 'load project', category: 0, permissions: JSON.stringify([{ principal: next.id, level: 60 }]) }, u.session)
    u.items.push(project.id)
    for (let k = 1; k < items; k++) u.items.push((await post(base, '/api/item', { title: `load item ${k}`, parent_id: project.id, message: 'x'.repeat(200) }, u.session)).id)
  }
  return users
}

export type MixResult = {
  seconds: number
  connections: number
  requests: number
  rps: number
  errors: number
  timeouts: number
  non2xx: number
  latencyMs: { p50: number; p90: number; p99: number; max: number }
  byKind: Record<string, Record<string, number>>
}

/** one autocannon run of the mix; each request is made by the next user (round robin) */
/** what each user carries from one request to the next (the cursor, the items it created) */
export type MixState = Map<LoadUser, { cursor: string | undefined; own: number[] }>

export function mixState(users: LoadUser[]): MixState {
  return new Map(users.map((u) => [u, { cursor: undefined, own: [] }]))
}

export async function runMix(o: { base: string; users: LoadUser[]; seconds: number; connections: number; state?: MixState }): Promise<MixResult> {
  const byKind: Record<string, Record<string, number>> = {}
  const kinds = Object.entries(MIX) as [Kind, number][]
  // autocannon clears a connection's context after each request: what a user carries from one
  // request to the next lives here, per user (and from one run to the next when given: the
  // items a warm-up created are deleted by the measured run, so the account stays the size
  // OWN_CAP allows instead of growing with every run)
  const state = o.state ?? mixState(o.users)
  let nextUser = 0
  type Ctx = { user?: LoadUser; kind?: Kind }
  const choose = (): Kind => {
    let r = Math.random()
    for (const [k, share] of kinds) if ((r -= share) < 0) return k
    return 'list'
  }
  const instance = autocannon({
    url: o.base,
    connections: o.connections,
    duration: o.seconds,
    requests: [
      {
        setupRequest: (req: Record<string, unknown>, ctx: Ctx) => {
          const u = (ctx.user = o.users[nextUser++ % o.users.length]!)
          const st = state.get(u)!
          let kind = choose()
          if (kind === 'delta' && !st.cursor) kind = 'list'
          if (kind === 'create' && st.own.length >= OWN_CAP) kind = 'delete'
          if (kind === 'delete' && !st.own.length) kind = 'create'
          ctx.kind = kind
          const headers = { 'x-hi-session': u.session }
          const some = () => u.items[Math.floor(Math.random() * u.items.length)]!
          switch (kind) {
            case 'list':
              return { ...req, method: 'GET', path: '/api/item', headers, body: undefined }
            case 'delta':
              return { ...req, method: 'GET', path: `/api/item/delta/${st.cursor}`, headers, body: undefined }
            case 'create':
              return { ...req, method: 'POST', path: '/api/item', headers: { ...headers, ...FORM }, body: formEncode({ title: 'load', parent_id: u.items[0], priority: Math.floor(Math.random() * 40000) }) }
            case 'update':
              return { ...req, method: 'PUT', path: `/api/item/${some()}`, headers: { ...headers, ...FORM }, body: formEncode({ title: 'upd ' + Math.random().toString(36).slice(2), priority: Math.floor(Math.random() * 40000) }) }
            case 'comment':
              return { ...req, method: 'POST', path: '/api/item/comment', headers: { ...headers, ...FORM }, body: formEncode({ id: some(), message: 'a comment under load' }) }
            case 'delete':
              return { ...req, method: 'DELETE', path: `/api/item/${st.own.shift()}`, headers, body: undefined }
          }
        },
        onResponse: (status: number, body: string, ctx: Ctx, headers: Record<string, string>) => {
          const k = ctx.kind ?? 'list'
          const m = (byKind[k] ??= {})
          m[status] = (m[status] ?? 0) + 1
          if (status !== 200 || !ctx.user) return
          const st = state.get(ctx.user)!
          if (k === 'list' || k === 'delta') st.cursor = Object.entries(headers).find(([h]) => h.toLowerCase() === 'x-cursor')?.[1] ?? st.cursor
          if (k === 'create') st.own.push(JSON.parse(body).id)
        },
      },
    ],
  })
  const r = await instance
  return {
    seconds: o.seconds,
    connections: o.connections,
    requests: r.requests.total,
    rps: Math.round(r.requests.average),
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: r.non2xx,
    latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
    byKind,
  }
}

export type LoadFigures = {
  warmup: MixResult
  measured: MixResult
  rssAfterWarmupMB: number
  rssAtEndMB: number
  rssGrowthPct: number
  /** full collections (mark-compact) seen during each run */
  fullGcs: { warmup: number; measured: number }
  /** the heap after each run's last full collection; null when a run had none */
  liveAfterWarmupMB: number | null
  liveAtEndMB: number | null
  liveGrowthPct: number | null
}

/** the node options the load's server runs with: --trace-gc, so that each collection is printed */
export const LOAD_NODE_ARGS = ['--trace-gc']

/**
 * The heap size (MB) after each full collection the server's main thread prints (--trace-gc)
 * from now on, and a stop. Worker threads (the module loader's, a log transport's) print
 * theirs too, prefixed by their own isolate: the main thread is the isolate that collects
 * most often under the load.
 */
function fullGcSizes(server: Pick<ServerProcess, 'proc'>) {
  const all: Array<{ isolate: string; at: number; mb: number }> = []
  const collections = new Map<string, number>()
  let rest = ''
  const onData = (b: Buffer) => {
    const lines = (rest + b.toString()).split('\n')
    rest = lines.pop() ?? ''
    // [pid:0x…]  1234 ms: Mark-Compact 67.0 (96.0) -> 9.0 (43.4) MB, …  (and Scavenge lines)
    for (const l of lines) {
      const isolate = /^\[\d+:(0x[0-9a-f]+)\]\s+[\d.]+ ms: (?:Scavenge|Mark-Compact|Mark-Sweep)/.exec(l)?.[1]
      if (!isolate) continue
      collections.set(isolate, (collections.get(isolate) ?? 0) + 1)
      const m = /Mark-Compact(?: \(reduce\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \(/.exec(l)
      if (m) all.push({ isolate, at: Date.now(), mb: Number(m[1]) })
    }
  }
  server.proc.stdout?.on('data', onData)
  return {
    /** the main thread's full collections so far */
    sizes: () => {
      const main = [...collections].sort((a, b) => b[1] - a[1])[0]?.[0]
      return all.filter((g) => g.isolate === main)
    },
    stop: () => server.proc.stdout?.off('data', onData),
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.floor(s.length / 2)]! : NaN
}

/**
 * The memory levels while `run` runs: the median of the RSS samples taken every 250 ms over
 * its second half, and the heap size after its last full collection (what was still live: a
 * leak raises it, garbage waiting for the collector does not); null when no full collection
 * ran meanwhile.
 */
async function withMemoryLevels<T>(pid: number, gcs: () => Array<{ at: number; mb: number }>, run: () => Promise<T>) {
  const rss: number[] = []
  const started = Date.now()
  const timer = setInterval(() => rss.push(rssOf(pid)), 250)
  try {
    const result = await run()
    const mine = gcs().filter((g) => g.at >= started)
    return {
      result,
      rss: rss.length ? median(rss.slice(Math.floor(rss.length / 2))) : rssOf(pid),
      fullGcs: mine.length,
      live: mine.at(-1)?.mb ?? null,
    }
  } finally {
    clearInterval(timer)
  }
}

/**
 * A warm-up, then the measured run, against `server` (started with LOAD_NODE_ARGS, so that it
 * prints its collections). A single sample lands anywhere in the garbage collector's
 * saw-tooth; each run's levels are taken over its second half (withMemoryLevels).
 */
export async function loadScenario(o: { server: Pick<ServerProcess, 'base' | 'pid' | 'proc'>; users: LoadUser[]; warmupSeconds: number; seconds: number; connections: number }): Promise<LoadFigures> {
  const state = mixState(o.users)
  const mix = (seconds: number) => () => runMix({ base: o.server.base, users: o.users, seconds, connections: o.connections, state })
  const gc = fullGcSizes(o.server)
  try {
    const warm = await withMemoryLevels(o.server.pid, gc.sizes, mix(o.warmupSeconds))
    const end = await withMemoryLevels(o.server.pid, gc.sizes, mix(o.seconds))
    const mb = (b: number) => Math.round((b / 1048576) * 10) / 10
    const pct = (a: number, b: number) => Math.round(((b - a) / a) * 1000) / 10
    return {
      warmup: warm.result,
      measured: end.result,
      rssAfterWarmupMB: mb(warm.rss),
      rssAtEndMB: mb(end.rss),
      rssGrowthPct: pct(warm.rss, end.rss),
      fullGcs: { warmup: warm.fullGcs, measured: end.fullGcs },
      liveAfterWarmupMB: warm.live,
      liveAtEndMB: end.live,
      liveGrowthPct: warm.live !== null && end.live !== null ? pct(warm.live, end.live) : null,
    }
  } finally {
    gc.stop()
  }
}

async function main() {
  // the server applies the migrations to the new database itself
  const { url, drop } = await scratchDatabase('hitask_load_', { migrate: false })
  try {
    const s = await startServer({ databaseUrl: url, checked: false, env: LOAD_ENV, nodeArgs: LOAD_NODE_ARGS })
    const users = await prepareUsers(s.base, Number(process.env.LOAD_USERS ?? 8))
    const figures = await loadScenario({
      server: s,
      users,
      warmupSeconds: Number(process.env.LOAD_WARMUP_SECONDS ?? 15),
      seconds: Number(process.env.LOAD_SECONDS ?? 60),
      connections: Number(process.env.LOAD_CONNECTIONS ?? 16),
    })
    console.log(JSON.stringify(figures, null, 2))
    await s.stop()
  } finally {
    await killAll()
    await drop()
  }
}

runMain(import.meta.url, main)
