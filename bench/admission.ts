// Benchmark of what every request pays before its handler (not a test): the parameter layer
// (parsing, the NUL / UTF-8 / depth / key checks) and admission (the address's budget, the
// session lookup, the cross-site rule, the count against the user's budget), measured with
// autocannon against one app on a fresh database:
//   - GET /api/user with a session (admission + one small read)
//   - GET /api/user with a bogus session id, budget spent: the refusal's cost (429 before any
//     session lookup)
//   - POST /api/item/comment, a JSON body with a 20 KB message (parse + checks + one write)
//   - GET /api/contact/search with a query string (custom query parser)
//   - POST /api/file/upload, a 256 KiB file (multipart streamed to DATA_DIR/tmp, stored)
// The same file runs against an older tree to compare (it uses only buildApp and the API;
// BENCH_PARSE=1 first times, in process, the parameter layer's own work on a 1 MiB JSON body:
// JSON.parse alone, as before, against the depth scan, the parse and the text checks).
// Usage: npx tsx bench/admission.ts   (DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/postgres;
// REDIS_URL for Redis counters, else in-process; BENCH_SECONDS (8), BENCH_CONNECTIONS (4))
import crypto from 'node:crypto'
import os from 'node:os'
import fs from 'node:fs'
import path from 'node:path'
import autocannon from 'autocannon'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/platform/config.js'
import { connectDb } from '../src/platform/db/pool.js'
import { runMain, scratchDatabase } from './scratch-db.js'

const DURATION = Number(process.env.BENCH_SECONDS ?? 8)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 4)
const API_KEY = 'bench-api-key-0123456789'

type Result = { name: string; rps: number; p50: number; p99: number; statuses: string }

type Options = { url: string; method?: string; headers?: Record<string, string>; body?: string | Buffer }

async function measure(name: string, opts: Options): Promise<Result> {
  const r = await autocannon({ connections: CONNECTIONS, duration: DURATION, ...opts })
  const statuses = Object.entries(r.statusCodeStats ?? {})
    .map(([code, s]) => `${code}×${(s as { count: number }).count}`)
    .join(' ')
  return { name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, statuses }
}

function multipart(fields: Record<string, string>, file: Buffer): { body: Buffer; type: string } {
  const b = '----bench' + crypto.randomBytes(8).toString('hex')
  const parts: Buffer[] = []
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`))
  parts.push(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="file"; filename="bench.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`), file, Buffer.from(`\r\n--${b}--\r\n`))
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${b}` }
}

/** ms per call of `fn`, the median of 7 rounds of `n` calls */
function timeIt(fn: () => unknown, n: number): number {
  const rounds: number[] = []
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now()
    for (let i = 0; i < n; i++) fn()
    rounds.push((performance.now() - t0) / n)
  }
  return rounds.sort((a, b) => a - b)[3]!
}

async function parseLayer() {
  const { parseJsonLabelled, checkText } = await import('../src/http/params.js')
  const items = Array.from({ length: 2500 }, (_, i) => ({ id: i, title: `naïve title ${i} 😀`, tags: ['work', 'home'], permissions: [{ principal: String(i), level: 60 }], message: 'x'.repeat(300) }))
  const text = JSON.stringify({ items })
  const plain = timeIt(() => JSON.parse(text), 20)
  const ours = timeIt(() => checkText(parseJsonLabelled(text, 'utf-8')), 20)
  const proto = text.replace('"title"', '"__proto__"')
  const withReviver = timeIt(() => checkText(parseJsonLabelled(proto, 'utf-8')), 20)
  console.log(`parameter layer, ${(text.length / 1024).toFixed(0)} KiB JSON body: JSON.parse ${plain.toFixed(2)} ms; depth scan + parse + text checks ${ours.toFixed(2)} ms; with a forbidden key (reviver) ${withReviver.toFixed(2)} ms`)
}

async function main() {
  if (process.env.BENCH_PARSE) await parseLayer()
  const { name: dbName, url, drop } = await scratchDatabase('hitask_bench_')
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hitask-bench-'))
  console.log(`database ${dbName}; ${os.cpus().length} CPUs; load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; ${CONNECTIONS} connections, ${DURATION}s per run; counters ${process.env.REDIS_URL ? 'Redis' : 'in process'}`)
  const closers: (() => Promise<unknown>)[] = []
  try {
    const db = connectDb(url, { max: 10 })
    closers.push(() => db.close())
    const env = { NODE_ENV: 'production', API_KEYS: API_KEY, DATA_DIR: dataDir, LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '100000000', ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL, REDIS_KEY_PREFIX: `bench-${dbName}:` } : {}) }
    const { app, deps } = await buildApp({ config: loadConfig(env), db })
    closers.push(() => deps.counters.close())
    closers.push(() => app.close())
    const signup = await app.inject({ method: 'POST', url: '/api/user/signup', payload: { login: 'bench', email: 'bench@bench.test', password: 'password123', firstName: 'B', lastName: 'B', api_key: API_KEY } })
    if (signup.statusCode !== 200) throw new Error(signup.body)
    const session = signup.json().session_id as string
    const item = await app.inject({ method: 'POST', url: '/api/item', headers: { 'x-hi-session': session }, payload: { title: 'bench' } })
    const itemId = item.json().id as number
    const address = await app.listen({ port: 0, host: '127.0.0.1' })
    const h = { 'x-hi-session': session }

    const results: Result[] = []
    results.push(await measure('GET /api/user (session header)', { url: `${address}/api/user`, headers: h }))
    results.push(
      await measure('POST /api/item/comment (JSON, 20 KB message)', {
        url: `${address}/api/item/comment`,
        method: 'POST',
        headers: { ...h, 'content-type': 'application/json' },
        body: JSON.stringify({ id: itemId, message: 'naïve text 😀 '.repeat(1300).slice(0, 9_999) }),
      }),
    )
    results.push(await measure('GET /api/contact/search?query=… (query string)', { url: `${address}/api/contact/search?query=${encodeURIComponent('Bénch user')}&session_id=${session}` }))
    const { body, type } = multipart({ session_id: session }, crypto.randomBytes(256 * 1024))
    results.push(await measure('POST /api/file/upload (256 KiB multipart)', { url: `${address}/api/file/upload`, method: 'POST', headers: { 'content-type': type }, body }))

    // bogus session ids from one address: a low budget so it is spent quickly
    const low = await buildApp({ config: loadConfig({ ...env, RATE_LIMIT_PER_MINUTE: '100', DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'hitask-bench-')) }), db })
    closers.push(() => low.deps.counters.close())
    closers.push(() => low.app.close())
    const lowAddress = await low.app.listen({ port: 0, host: '127.0.0.1' })
    results.push(await measure('GET /api/user, bogus session ids (budget spent)', { url: `${lowAddress}/api/user`, headers: { 'x-hi-session': 'bogus-' + crypto.randomBytes(12).toString('hex') } }))

    console.log('')
    console.log('run                                               req/s    p50 ms   p99 ms   statuses')
    for (const r of results) console.log(`${r.name.padEnd(48)} ${r.rps.toFixed(1).padStart(7)} ${String(r.p50).padStart(8)} ${String(r.p99).padStart(8)}   ${r.statuses}`)
    const tmp = path.join(dataDir, 'tmp')
    console.log(`\nleft in DATA_DIR/tmp after the runs: ${fs.existsSync(tmp) ? fs.readdirSync(tmp).length : 0} files`)
  } finally {
    for (const c of closers.reverse()) await c().catch(() => {})
    await drop()
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
}

runMain(import.meta.url, main)
