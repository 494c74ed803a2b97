// Load with a realistic mix against one real server process (src/server.ts), measured with
// autocannon: several users each list their items (GET /api/item), follow the delta feed
// with the cursor they were given, create, update, comment on and delete items. A warm-up
// run first, then the measured run; the server's resident memory (VmRSS) is sampled during each
// (its level: the median over the run's second half).
//
// Shared by test/reliability/load.test.ts (asserts zero errors, zero non-2xx, memory) and
// by this file run directly (prints the figures):
//   npx tsx bench/load.ts     DATABASE_URL (a fresh database is created on that server and
//                             dropped at the end; default postgresql://postgres@127.0.0.1:5432/postgres),
//                             LOAD_SECONDS (60), LOAD_WARMUP_SECONDS (15), LOAD_CONNECTIONS (16), LOAD_USERS (8)
import crypto from 'node:crypto'
import autocannon from 'autocannon'
import { API_KEY, formEncode } from '../test/helpers/wire.js'
import { killAll, rssOf, startServer } from '../test/helpers/server-process.js'
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

export type LoadFigures = { warmup: MixResult; measured: MixResult; rssAfterWarmupMB: number; rssAtEndMB: number; rssGrowthPct: number }

/** the median of the RSS samples taken every 250 ms while `run` runs, over its second half */
async function withRssLevel<T>(pid: number, run: () => Promise<T>): Promise<{ result: T; level: number }> {
  const samples: number[] = []
  const timer = setInterval(() => samples.push(rssOf(pid)), 250)
  try {
    const result = await run()
    const late = samples.slice(Math.floor(samples.length / 2)).sort((a, b) => a - b)
    return { result, level: late.length ? late[Math.floor(late.length / 2)]! : rssOf(pid) }
  } finally {
    clearInterval(timer)
  }
}

/**
 * A warm-up, then the measured run, against a server whose process id is `pid`. The memory
 * level of each run is the median of its RSS samples over its second half (a single sample
 * lands anywhere in the garbage collector's saw-tooth; a leak raises the whole level).
 */
export async function loadScenario(o: { base: string; pid: number; users: LoadUser[]; warmupSeconds: number; seconds: number; connections: number }): Promise<LoadFigures> {
  const state = mixState(o.users)
  const mix = (seconds: number) => () => runMix({ base: o.base, users: o.users, seconds, connections: o.connections, state })
  const { result: warmup, level: rssWarm } = await withRssLevel(o.pid, mix(o.warmupSeconds))
  const { result: measured, level: rssEnd } = await withRssLevel(o.pid, mix(o.seconds))
  const mb = (b: number) => Math.round((b / 1048576) * 10) / 10
  return { warmup, measured, rssAfterWarmupMB: mb(rssWarm), rssAtEndMB: mb(rssEnd), rssGrowthPct: Math.round(((rssEnd - rssWarm) / rssWarm) * 1000) / 10 }
}

async function main() {
  // the server applies the migrations to the new database itself
  const { url, drop } = await scratchDatabase('hitask_load_', { migrate: false })
  try {
    const s = await startServer({ databaseUrl: url, env: LOAD_ENV })
    const users = await prepareUsers(s.base, Number(process.env.LOAD_USERS ?? 8))
    const figures = await loadScenario({
      base: s.base,
      pid: s.pid,
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
