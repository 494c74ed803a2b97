// Every route of the OpenAPI document, driven with generated malformed values (wrong types,
// huge strings, unicode, nulls, arrays for scalars, SQL and path-traversal strings, broken
// multipart) in the query string, a form body and a JSON body: zero 500 answers, every answer
// JSON (the error envelope for a refusal) unless it is a success of the media type its route
// declares in the document (a CSV or XLSX export, an iCalendar feed, a file: odd input that
// means "not set", such as `includeDescription: null`, rightly gets the download), no stack
// trace in any answer, and nothing written by a refused request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { API_KEY, createTestApp, formEncode, type TestApp } from '../helpers/app.js'
import { dbFingerprint } from './db-snapshot.js'
import { report, scale } from './scale.js'

let t: TestApp
let session = ''
let user: Awaited<ReturnType<TestApp['signup']>>
let itemId = 0

beforeAll(async () => {
  t = await createTestApp({ env: { RATE_LIMIT_PER_MINUTE: '100000000', AUTH_FAIL_PER_15MIN_PER_LOGIN: '100000', AUTH_FAIL_PER_MINUTE_PER_ADDRESS: '100000' } })
  user = await t.signup('fuzzer')
  session = user.session
  // something to point at, so requests get past "not found" into deeper validation
  const item = await t.call('POST', '/api/item', { session, form: { title: 'target', category: '1' } })
  itemId = item.statusCode === 200 ? item.json().id : 1
})
afterAll(async () => t?.close())

const MALFORMED: unknown[] = [
  null,
  [1, 2, 3],
  ['a', { b: 1 }],
  { nested: { deep: [null] } },
  '',
  ' ',
  'x'.repeat(70_000),
  '\u0000\u0001\uFFFF',
  '😀🎉 naïve Ωmega 中文 עברית',
  "' OR '1'='1'; DROP TABLE items; --",
  '1; SELECT pg_sleep(0)',
  '../../../../etc/passwd',
  '..%2F..%2Fetc%2Fpasswd',
  '%00',
  '-1',
  -1,
  0,
  1e308,
  // eslint-disable-next-line no-loss-of-precision -- deliberately beyond 2^53: the input a client may send
  -9007199254740993,
  '99999999999999999999999999',
  'NaN',
  'Infinity',
  true,
  'true',
  '{"unterminated": ',
  '[{"principal": "x", "level": 999}]',
  '2016-13-45T99:99:99',
  '<script>alert(1)</script>',
]

const PATH_VALUES = ['..%2F..%2Fetc%2Fpasswd', "1'%20OR%20'1'%3D'1", '99999999999999999999999', '-1', '%00', 'NaN', '0', encodeURIComponent('😀'), 'a'.repeat(300)]

/** successTypes: the media types of the operation's 200 answer in the document */
type Op = { method: string; path: string; params: string[]; acceptsFiles: boolean; successTypes: string[] }

function operations(doc: any): Op[] {
  const ops: Op[] = []
  for (const [path, methods] of Object.entries<any>(doc.paths)) {
    if (!path.startsWith('/api/') && !path.startsWith('/avatar')) continue
    if (path === '/api/openapi.json' || path.includes('__unsupported_version__')) continue
    for (const [method, op] of Object.entries<any>(methods)) {
      if (!['get', 'post', 'put', 'delete'].includes(method)) continue
      // signing out ends the session the rest of the run uses; it takes no parameters
      if (path === '/api/user/logout') continue
      // an event stream answers 200 and stays open (it takes no parameters; test/live.test.ts covers it)
      if (path === '/api/item/live') continue
      const names = new Set<string>()
      for (const p of op.parameters ?? []) if (p.in === 'query') names.add(p.name)
      for (const c of Object.values<any>(op.requestBody?.content ?? {})) for (const n of Object.keys(c.schema?.properties ?? {})) names.add(n)
      const acceptsFiles = Object.keys(op.requestBody?.content ?? {}).includes('multipart/form-data') || /upload|picture/.test(path)
      const successTypes = Object.keys(op.responses?.['200']?.content ?? {}).map((t) => t.split(';')[0]!.trim().toLowerCase())
      ops.push({ method: method.toUpperCase(), path, params: [...names].filter((n) => n !== 'session_id'), acceptsFiles, successTypes })
    }
  }
  return ops
}

function fillPath(path: string, rng: () => number): string {
  return path.replace(/\{[^}]+\}/g, () => PATH_VALUES[Math.floor(rng() * PATH_VALUES.length)]!)
}

/** a line of a Node stack trace (`    at fn (/path/file.js:12:5)`, `    at node:internal/…:1:2`) */
const STACK_TRACE = /\n\s+at [^\n]*:\d+:\d+\)?\s*(\n|$)/

const asText = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v))

async function ensureSession() {
  const r = await t.call('GET', '/api/user', { session })
  if (r.statusCode === 401) {
    const a = await t.call('GET', '/api/user/authenticate', { query: { login: user.login, password: user.password, api_key: API_KEY } })
    if (a.statusCode === 200) session = a.json().session_id
    else {
      user = await t.signup()
      session = user.session
    }
  }
}

function brokenMultipart(pick: number): { contentType: string; payload: Buffer } {
  const variants = [
    { contentType: 'multipart/form-data; boundary=abc', payload: Buffer.from('--abc\r\nContent-Disposition: form-data; name="file"; filename="../../x.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--ab') },
    { contentType: 'multipart/form-data', payload: Buffer.from('no boundary at all') },
    { contentType: 'multipart/form-data; boundary=zz', payload: Buffer.from('--zz\r\nContent-Disposition: form-data\r\n\r\nnameless\r\n--zz--\r\n') },
    { contentType: 'multipart/form-data; boundary=q', payload: Buffer.concat([Buffer.from('--q\r\nContent-Disposition: form-data; name="picture"; filename="a.gif"\r\n\r\n'), Buffer.alloc(2048, 0xff), Buffer.from('\r\n--q--\r\n')]) },
  ]
  return variants[Math.floor(pick * variants.length)]!
}

describe('bad input on every documented route', () => {
  it('never answers 500 or non-JSON, and a refused request writes nothing', async () => {
    const doc = (await t.call('GET', '/api/openapi.json')).json()
    const ops = operations(doc)
    expect(ops.length).toBeGreaterThan(20)
    const perOp = scale(6, 30)
    const rng = fc.sample(fc.double({ min: 0, max: 0.999999, noNaN: true }), { numRuns: 100_000, seed: 42 })
    let ri = 0
    const next = () => rng[ri++ % rng.length]!
    const failures: string[] = []
    let requests = 0
    let refused = 0
    let fingerprint = await dbFingerprint(t.db)

    for (const op of ops) {
      for (let i = 0; i < perOp; i++) {
        await ensureSession()
        const params: Record<string, unknown> = {}
        const targets = op.params.length ? op.params : ['id']
        // one to three parameters at once get a malformed value; the rest stay absent
        const count = 1 + Math.floor(next() * Math.min(3, targets.length))
        for (let k = 0; k < count; k++) params[targets[Math.floor(next() * targets.length)]!] = MALFORMED[Math.floor(next() * MALFORMED.length)]
        if (next() < 0.3) params.id = itemId
        const url = fillPath(op.path, next)
        const form = ['query', 'form', 'json', 'multipart'][Math.floor(next() * (op.acceptsFiles ? 4 : 3))]!
        let res
        if (form === 'query' || op.method === 'GET') {
          const qs = Object.entries(params).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(asText(v))}`).join('&')
          res = await t.app.inject({ method: op.method as any, url: `${url}?${qs}`, headers: { 'x-hi-session': session } })
        } else if (form === 'form') {
          res = await t.app.inject({ method: op.method as any, url, headers: { 'x-hi-session': session, 'content-type': 'application/x-www-form-urlencoded' }, payload: formEncode(params) })
        } else if (form === 'json') {
          res = await t.app.inject({ method: op.method as any, url, headers: { 'x-hi-session': session, 'content-type': 'application/json' }, payload: JSON.stringify(params) })
        } else {
          const m = brokenMultipart(next())
          res = await t.app.inject({ method: op.method as any, url, headers: { 'x-hi-session': session, 'content-type': m.contentType }, payload: m.payload })
        }
        requests++
        const label = `${op.method} ${url.slice(0, 120)} [${form}] ${JSON.stringify(params).slice(0, 200)}`
        if (res.statusCode >= 500) failures.push(`${res.statusCode} ${label}: ${res.body.slice(0, 200)}`)
        const type = String(res.headers['content-type'] ?? '')
        const media = type.split(';')[0]!.trim().toLowerCase()
        // a success in the non-JSON media type the route declares for it is a right answer
        const declaredBytes = res.statusCode === 200 && media !== 'application/json' && op.successTypes.includes(media)
        if (STACK_TRACE.test(res.body)) failures.push(`stack trace ${res.statusCode} ${label}: ${res.body.slice(0, 200)}`)
        if (!declaredBytes) {
          if (media !== 'application/json') failures.push(`non-JSON ${res.statusCode} ${type} ${label}`)
          else {
            let body: any
            try {
              body = res.json()
            } catch {
              failures.push(`unparsable JSON ${label}`)
            }
            if (res.statusCode >= 400 && (typeof body?.error_message !== 'string' || typeof body?.response_status !== 'number')) failures.push(`not the envelope ${res.statusCode} ${label}`)
          }
        }
        if (res.statusCode >= 400) {
          refused++
          const after = await dbFingerprint(t.db)
          if (after !== fingerprint) {
            failures.push(`refused request wrote something: ${label}`)
            fingerprint = after
          }
        } else fingerprint = await dbFingerprint(t.db)
      }
    }
    report('bad-input', { routes: ops.length, requests, refused, failures: failures.length })
    expect(failures).toEqual([])
  })
})
