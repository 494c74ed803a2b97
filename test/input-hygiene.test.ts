// Contract §15, input: a NUL byte or text that is not valid UTF-8 in any text field or
// parameter → 400/5, checked once for query, form, JSON and multipart; JSON nested deeper than
// 64 → 400/46; the keys __proto__, constructor and prototype are ignored. A refused request
// writes nothing.
import type { LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_KEY, createTestApp, errorOf, type TestApp } from './helpers/app.js'
import { postMultipart } from './helpers/multipart.js'
import { dbFingerprint } from './reliability/db-snapshot.js'

let t: TestApp
let u: Awaited<ReturnType<TestApp['signup']>>
let friend: Awaited<ReturnType<TestApp['signup']>>
let itemId = 0

beforeAll(async () => {
  t = await createTestApp({ env: { RATE_LIMIT_PER_MINUTE: '100000', AUTH_FAIL_PER_15MIN_PER_LOGIN: '100000', AUTH_FAIL_PER_MINUTE_PER_ADDRESS: '100000' } })
  u = await t.signup()
  friend = await t.signup()
  const r = await t.call('POST', '/api/item', { session: u.session, form: { title: 'target', category: 1 } })
  itemId = r.json().id
})
afterAll(async () => t?.close())

async function refused(r: Promise<LightMyRequestResponse>, status: number, code: number, before: string) {
  const res = await r
  expect(errorOf(res), res.body).toEqual({ status, code })
  expect(await dbFingerprint(t.db)).toBe(before)
}

type Target = { method: string; url: string; field: string; other: Record<string, string>; session: boolean }
const targets = (): Target[] => [
  { method: 'POST', url: '/api/item/comment', field: 'message', other: { id: String(itemId) }, session: true },
  { method: 'POST', url: '/api/tag', field: 'name', other: { item_id: String(itemId) }, session: true },
  { method: 'GET', url: '/api/contact/search', field: 'query', other: {}, session: true },
  { method: 'POST', url: '/api/contact', field: 'login', other: {}, session: true },
  { method: 'POST', url: '/api/contact', field: 'email', other: {}, session: true },
  { method: 'GET', url: '/api/contact/invite', field: 'email', other: {}, session: true },
  { method: 'GET', url: '/api/contact/invite', field: 'name', other: { email: 'someone-new@example.com' }, session: true },
  { method: 'POST', url: '/api/user/password/reset', field: 'email', other: {}, session: false },
  { method: 'GET', url: '/api/user/authenticate', field: 'login', other: { password: 'password123', api_key: API_KEY }, session: false },
  { method: 'POST', url: '/api/user/authenticate', field: 'login', other: { password: 'password123', api_key: API_KEY }, session: false },
]

describe('NUL bytes → 400/5, nothing written (§15)', () => {
  it('in the query string, a form, a JSON body and a multipart field, on every text parameter named by the review', async () => {
    for (const tg of targets()) {
      const value = `${tg.field === 'email' ? friend.email : friend.login}\u0000x`
      const params = { ...tg.other, [tg.field]: value }
      const session = tg.session ? u.session : undefined
      const label = `${tg.method} ${tg.url} ${tg.field}`
      const before = await dbFingerprint(t.db)
      await refused(t.call(tg.method, tg.url, { session, query: params }), 400, 5, before)
      if (tg.method === 'GET') continue
      await refused(t.call(tg.method, tg.url, { session, form: params }), 400, 5, before)
      await refused(t.call(tg.method, tg.url, { session, body: params }), 400, 5, before)
      const mp = await postMultipart(t, tg.url, { session, fields: params })
      expect(errorOf(mp), label + mp.body).toEqual({ status: 400, code: 5 })
      expect(await dbFingerprint(t.db)).toBe(before)
    }
  })

  it('in preference keys and in the path', async () => {
    const before = await dbFingerprint(t.db)
    await refused(t.call('POST', '/api/user/preferences', { session: u.session, body: '{"time\\u0000zone": "UTC"}' }), 400, 5, before)
    await refused(t.call('POST', '/api/user/preferences', { session: u.session, body: '{"nested": {"a\\u0000b": 1}}' }), 400, 5, before)
    await refused(t.call('GET', '/api/item/1%00', { session: u.session }), 400, 5, before)
  })
})

describe('invalid UTF-8 → 400/5 (§15)', () => {
  it('in the query string, a form body, a JSON body and a multipart field', async () => {
    const before = await dbFingerprint(t.db)
    // %C3%28: a lead byte without its continuation; %FF never appears in UTF-8
    await refused(t.app.inject({ method: 'GET', url: `/api/contact/search?query=ab%C3%28`, headers: { 'x-hi-session': u.session } }), 400, 5, before)
    await refused(t.app.inject({ method: 'POST', url: '/api/item/comment', headers: { 'x-hi-session': u.session, 'content-type': 'application/x-www-form-urlencoded' }, payload: `id=${itemId}&message=caf%FF` }), 400, 5, before)
    const json = Buffer.concat([Buffer.from(`{"id": ${itemId}, "message": "caf`), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])
    await refused(t.app.inject({ method: 'POST', url: '/api/item/comment', headers: { 'x-hi-session': u.session, 'content-type': 'application/json' }, payload: json }), 400, 5, before)
    // a lone surrogate escaped in JSON is no text UTF-8 can carry
    await refused(t.call('POST', '/api/item/comment', { session: u.session, body: `{"id": ${itemId}, "message": "a\\ud800b"}` }), 400, 5, before)
    const boundary = 'xYzBoundary'
    const mp = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="id"\r\n\r\n${itemId}\r\n--${boundary}\r\nContent-Disposition: form-data; name="message"\r\n\r\nab`),
      Buffer.from([0xc3, 0x28]),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ])
    await refused(t.app.inject({ method: 'POST', url: '/api/item/comment', headers: { 'x-hi-session': u.session, 'content-type': `multipart/form-data; boundary=${boundary}` }, payload: mp }), 400, 5, before)
  })

  it('keeps accepting valid UTF-8 and declared charsets', async () => {
    const r = await t.app.inject({ method: 'POST', url: '/api/item/comment', headers: { 'x-hi-session': u.session, 'content-type': 'application/x-www-form-urlencoded; charset=ISO-8859-1' }, payload: `id=${itemId}&message=Caf%E9` })
    expect(r.statusCode, r.body).toBe(200)
    const ok = await t.call('GET', '/api/contact/search', { session: u.session, query: { query: 'Ωmega 中文 😀' } })
    expect(ok.statusCode).toBe(200)
    const c = await t.call('POST', '/api/item/comment', { session: u.session, body: { id: itemId, message: 'naïve 😀 \uFFFD kept' } })
    expect(c.statusCode, c.body).toBe(200)
  })
})

const deep = (n: number, leaf = '1') => '['.repeat(n) + leaf + ']'.repeat(n)
const deepObject = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)

describe('JSON nested deeper than 64 → 400/46 (§15)', () => {
  it('on POST /user/preferences and POST /item, up to 100,000 deep, in the body or in a JSON string field', async () => {
    const before = await dbFingerprint(t.db)
    for (const n of [65, 1000, 100_000]) {
      await refused(t.call('POST', '/api/user/preferences', { session: u.session, body: `{"time_zone": ${deep(n, '"UTC"')}}` }), 400, 46, before)
      await refused(t.call('POST', '/api/user/preferences', { session: u.session, body: `{"x": ${deepObject(n)}}` }), 400, 46, before)
      await refused(t.call('POST', '/api/item', { session: u.session, body: `{"title": "deep", "permissions": ${deep(n)}}` }), 400, 46, before)
      await refused(t.call('POST', '/api/item', { session: u.session, body: deep(n) }), 400, 46, before)
    }
    // a JSON string field: permissions and preference values may arrive as JSON text (§1)
    await refused(t.call('POST', '/api/item', { session: u.session, form: { title: 'deep', permissions: deep(100_000) } }), 400, 46, before)
    await refused(t.call('POST', '/api/user/preferences', { session: u.session, form: { default_sharing_permission_auto: deep(100_000) } }), 400, 46, before)
    // a text preference is text, not JSON: a string of brackets is just an invalid time zone
    await refused(t.call('POST', '/api/user/preferences', { session: u.session, form: { time_zone: deep(100_000, '"UTC"') } }), 400, 102, before)
  })

  it('accepts 64 levels (the limit) as JSON, and brackets inside strings are text', async () => {
    const r = await t.call('POST', '/api/user/preferences', { session: u.session, body: `{"x": ${deep(63)}}` })
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json().x).toBeTruthy()
    // 100 brackets, an escaped quote and an escaped backslash inside a string nest nothing
    const message = '['.repeat(100) + ' \\"quoted\\" \\\\ ' + '{'.repeat(100)
    const c = await t.call('POST', '/api/item/comment', { session: u.session, body: `{"id": ${itemId}, "message": "${message}"}` })
    expect(c.statusCode, c.body).toBe(200)
    expect(c.json().message ?? c.body).toContain('"quoted"')
  })
})

describe('__proto__, constructor and prototype are not parameters (§15)', () => {
  it('a JSON body whose __proto__ holds the parameters is missing them', async () => {
    const before = await dbFingerprint(t.db)
    await refused(t.call('POST', '/api/item/comment', { session: u.session, body: `{"__proto__": {"id": ${itemId}, "message": "smuggled"}}` }), 400, 4, before)
    await refused(t.call('POST', '/api/item/comment', { session: u.session, body: `{"\\u005f_proto__": {"id": ${itemId}, "message": "smuggled"}}` }), 400, 4, before)
    await refused(t.call('POST', '/api/item/comment', { session: u.session, body: `{"constructor": {"prototype": {"id": ${itemId}, "message": "smuggled"}}}` }), 400, 4, before)
  })

  it('nor in a form, a query string or a multipart body', async () => {
    const before = await dbFingerprint(t.db)
    // the app runs in this process (inject): a polluted prototype would show here
    const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort()
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const r = await t.call('POST', '/api/item/comment', { session: u.session, form: { id: itemId, message: 'hello', [key]: 'x' } })
      expect(r.statusCode, r.body).toBe(200)
    }
    expect((await t.call('GET', '/api/item/history', { session: u.session, query: { id: itemId, ['__proto__']: 'x' } })).statusCode).toBe(200)
    const mp = await postMultipart(t, '/api/item/comment', { session: u.session, fields: { ['__proto__']: 'x', id: itemId, message: 'm' } })
    expect(mp.statusCode, mp.body).toBe(200)
    expect(await dbFingerprint(t.db)).not.toBe(before)
    // no object anywhere got a polluted prototype
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys)
    expect(({} as Record<string, unknown>).id).toBeUndefined()
    expect(({} as Record<string, unknown>).message).toBeUndefined()
  })
})
