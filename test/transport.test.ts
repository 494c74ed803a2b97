// Contract §1: base paths, the merged parameter map and its wire forms, dates, the error
// envelope, CORS and limits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_KEY, createTestApp, errorOf, formEncode, type TestApp } from './helpers/app.js'
import { postMultipart } from './helpers/multipart.js'

let t: TestApp
let u: Awaited<ReturnType<TestApp['signup']>>
beforeAll(async () => {
  t = await createTestApp()
  u = await t.signup('transport')
})
afterAll(async () => t?.close())

describe('base paths', () => {
  it('serves every method under /api/ and /api/v1/ … /api/v6/ identically', async () => {
    const plain = await t.call('GET', '/api/user', { session: u.session })
    expect(plain.statusCode).toBe(200)
    for (const v of [1, 2, 3, 4, 5, 6]) {
      const r = await t.call('GET', `/api/v${v}/user`, { session: u.session })
      expect(r.statusCode).toBe(200)
      expect(r.json()).toEqual(plain.json())
    }
  })

  it('answers 400/9 for a version above 6 or not a number', async () => {
    for (const path of ['/api/v7/user', '/api/v10/user', '/api/vX/user', '/api/v/user', '/api/v0/user']) {
      const r = await t.call('GET', path, { session: u.session })
      expect(errorOf(r)).toEqual({ status: 400, code: 9 })
    }
  })

  it('answers an over-long path segment with 404/1 and an undecodable URL with 400/5, both JSON', async () => {
    const long = await t.call('GET', '/api/item/' + 'a'.repeat(300), { session: u.session })
    expect(errorOf(long)).toEqual({ status: 404, code: 1 })
    const bad = await t.call('GET', '/api/item/%E0%A4%A', { session: u.session })
    expect(errorOf(bad)).toEqual({ status: 400, code: 5 })
  })

  it('answers unknown routes with the JSON envelope 404/1', async () => {
    for (const [m, path] of [['GET', '/api/nothing-here'], ['POST', '/api/v5/nope'], ['GET', '/not-api']] as const) {
      const r = await t.call(m, path)
      expect(r.headers['content-type']).toMatch(/application\/json/)
      expect(errorOf(r)).toEqual({ status: 404, code: 1 })
      expect(typeof r.json().error_message).toBe('string')
    }
  })
})

describe('parameter forms', () => {
  it('reads session_id and api_key from the query string of a url-encoded POST labelled JSON (2018 web client)', async () => {
    const r = await t.app.inject({
      method: 'POST',
      url: `/api/v5/user/preferences?session_id=${u.session}&api_key=${API_KEY}`,
      headers: { 'content-type': 'application/json; charset=UTF-8' },
      payload: 'time_zone=Europe%2FParis&default_sharing_permission_last=' + encodeURIComponent(JSON.stringify([{ principal: u.id, level: 100 }])),
    })
    expect(r.statusCode).toBe(200)
    expect(r.json().time_zone).toBe('Europe/Paris')
    // old format under /api/v5: the array comes back as JSON text
    expect(JSON.parse(r.json().default_sharing_permission_last)).toEqual([{ principal: u.id, level: 100 }])
  })

  it('reads session_id as a form field on POST and as a query parameter on GET (scripted clients)', async () => {
    const post = await t.call('POST', '/api/user/update', { form: { session_id: u.session, firstname: 'Form', returnInfo: 'true' } })
    expect(post.statusCode).toBe(200)
    expect(post.json().firstName).toBe('Form')
    const get = await t.call('GET', `/api/user?session_id=${u.session}`)
    expect(get.statusCode).toBe(200)
    expect(get.json().firstName).toBe('Form')
  })

  it('reads session_id and fields from a multipart body', async () => {
    const r = await postMultipart(t, '/api/user/preferences', { fields: { session_id: u.session, language: 'de' } })
    expect(r.statusCode).toBe(200)
    expect(r.json().language).toBe('de')
  })

  it('parses a JSON object body', async () => {
    const r = await t.call('POST', '/api/user/update', { session: u.session, body: { lastname: 'Json', returnInfo: true } })
    expect(r.statusCode).toBe(200)
    expect(r.json().lastName).toBe('Json')
  })

  it('keeps an array of a JSON body whole, and takes the last of a repeated query key', async () => {
    const item = await t.call('POST', '/api/item', { session: u.session, body: { title: 'arrays', tags: ['work', 'home'] } })
    expect(item.statusCode).toBe(200)
    expect([...item.json().tags].sort()).toEqual(['home', 'work'])
    const r = await t.call('POST', '/api/user/update?lastname=First&lastname=Second&returnInfo=1', { session: u.session })
    expect(r.json().lastName).toBe('Second')
  })

  it('lets the body win over the query string', async () => {
    const r = await t.call('POST', '/api/user/update?lastname=FromQuery&returnInfo=1', { session: u.session, form: { lastname: 'FromBody' } })
    expect(r.json().lastName).toBe('FromBody')
  })

  it('honours a charset on a form body (ISO-8859-1 Caf%E9 is Café)', async () => {
    const r = await t.app.inject({
      method: 'POST',
      url: '/api/user/update',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=ISO-8859-1', 'x-hi-session': u.session },
      payload: 'firstname=Caf%E9&returnInfo=true',
    })
    expect(r.statusCode).toBe(200)
    expect(r.json().firstName).toBe('Café')
    const utf8 = await t.call('POST', '/api/user/update', { session: u.session, form: { firstname: 'Café', returnInfo: 'true' } })
    expect(utf8.json().firstName).toBe('Café')
  })

  it('merges the body of a GET (curl -d … -X GET /user/authenticate)', async () => {
    const r = await t.app.inject({
      method: 'GET',
      url: '/api/user/authenticate',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: formEncode({ login: u.login, password: u.password, api_key: API_KEY }),
    })
    expect(r.statusCode).toBe(200)
    expect(r.json().id).toBe(u.id)
  })

  it('merges the body of a DELETE', async () => {
    const other = await t.signup()
    expect((await t.call('POST', '/api/user/apikey', { session: other.session, form: { name: 'k' } })).statusCode).toBe(200)
    const r = await t.call('DELETE', '/api/user/apikey', { form: { session_id: other.session } })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toEqual({ response_status: 0 })
    expect(errorOf(await t.call('GET', '/api/user/apikey', { session: other.session }))).toEqual({ status: 404, code: 1 })
  })

  it('accepts booleans as true/false/1/0 and numbers as strings', async () => {
    for (const v of ['true', '1', true, 1]) {
      const r = await t.call('POST', '/api/user/update', { session: u.session, body: { returnInfo: v } })
      expect(r.json().id).toBe(u.id)
    }
    for (const v of ['false', '0', false, 0]) {
      const r = await t.call('POST', '/api/user/update', { session: u.session, body: { returnInfo: v } })
      expect(r.json()).toEqual({ response_status: 0 })
    }
    const bad = await t.call('POST', '/api/user/update', { session: u.session, body: { returnInfo: 'maybe' } })
    expect(errorOf(bad)).toEqual({ status: 400, code: 5 })
  })
})

describe('malformed and oversized bodies', () => {
  it('answers 400/46 for a JSON-looking body that is not JSON, and writes nothing', async () => {
    const before = (await t.call('GET', '/api/user', { session: u.session })).json()
    const r = await t.call('POST', '/api/user/update', { session: u.session, headers: { 'content-type': 'application/json' }, body: '{"firstname": "X",' })
    expect(errorOf(r)).toEqual({ status: 400, code: 46 })
    expect((await t.call('GET', '/api/user', { session: u.session })).json()).toEqual(before)
  })

  it('answers 400/25 for a body over the limit', async () => {
    const r = await t.call('POST', '/api/user/update', { session: u.session, form: { firstname: 'x'.repeat(1024 * 1024 + 10) } })
    expect(errorOf(r)).toEqual({ status: 400, code: 25 })
  })

  it('answers 400/5 for a body type it cannot read', async () => {
    const r = await t.call('POST', '/api/user/update', { session: u.session, headers: { 'content-type': 'application/xml' }, body: '<a/>' })
    expect(errorOf(r)).toEqual({ status: 400, code: 5 })
  })

  it('answers 400/5 for a broken multipart body', async () => {
    const r = await t.app.inject({
      method: 'POST',
      url: '/api/user/preferences',
      headers: { 'content-type': 'multipart/form-data; boundary=xyz', 'x-hi-session': u.session },
      payload: '--xyz\r\nContent-Disposition: form-data; name="language"\r\n\r\nfr\r\n--xy',
    })
    expect(errorOf(r)).toEqual({ status: 400, code: 5 })
  })
})

it('answers 400/5, not a hang, for a truncated file part sent to a route without files', async () => {
  const r = await t.app.inject({
    method: 'POST',
    url: '/api/user/preferences',
    headers: { 'content-type': 'multipart/form-data; boundary=abc', 'x-hi-session': u.session },
    payload: Buffer.from('--abc\r\nContent-Disposition: form-data; name="file"; filename="x.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--ab'),
  })
  expect(errorOf(r)).toEqual({ status: 400, code: 5 })
})

describe('dates out', () => {
  it("renders dates in the caller's time_zone preference, UTC by default", async () => {
    const x = await t.signup()
    await t.call('POST', '/api/user/apikey', { session: x.session, form: { name: 'dates' } })
    const utc = (await t.call('GET', '/api/user/apikey', { session: x.session })).json().time_create as string
    expect(utc).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$/)
    await t.call('POST', '/api/user/preferences', { session: x.session, form: { time_zone: 'Asia/Kolkata' } })
    const ist = (await t.call('GET', '/api/user/apikey', { session: x.session })).json().time_create as string
    expect(ist).toMatch(/\+05:30$/)
    expect(new Date(ist).getTime()).toBe(new Date(utc).getTime())
  })
})

describe('CORS', () => {
  // credentials only for listed origins (§15): test/cross-site.test.ts
  it('allows x-hi-session, and exposes X-Cursor', async () => {
    const r = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/item',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET', 'access-control-request-headers': 'x-hi-session,content-type' },
    })
    expect(r.statusCode).toBeLessThan(300)
    expect(String(r.headers['access-control-allow-headers']).toLowerCase()).toContain('x-hi-session')
    const g = await t.call('GET', '/api/user', { session: u.session, headers: { origin: 'https://app.example.com' } })
    expect(String(g.headers['access-control-expose-headers'])).toContain('X-Cursor')
  })
})

describe('CORS with configured origins', () => {
  it('gives credentials to the listed origins only', async () => {
    const x = await createTestApp({ smtp: false, env: { CORS_ORIGINS: 'https://app.example.com,https://other.example.com' } })
    try {
      const ok = await x.call('GET', '/health', { headers: { origin: 'https://app.example.com' } })
      expect(ok.headers['access-control-allow-origin']).toBe('https://app.example.com')
      expect(ok.headers['access-control-allow-credentials']).toBe('true')
      // any other origin may call, but without credentials (§15)
      const no = await x.call('GET', '/health', { headers: { origin: 'https://evil.example.com' } })
      expect(no.headers['access-control-allow-origin']).toBe('*')
      expect(no.headers['access-control-allow-credentials']).toBeUndefined()
    } finally {
      await x.close()
    }
  })
})

describe('health', () => {
  it('answers /health and /ready outside /api', async () => {
    expect((await t.call('GET', '/health')).json()).toEqual({ status: 'ok' })
    expect((await t.call('GET', '/ready')).json()).toEqual({ status: 'ready' })
  })
})

describe('crashes', () => {
  it('turns an unexpected failure into 500/100 with the request id, logged', async () => {
    const x = await createTestApp({ smtp: false })
    try {
      const v = await x.signup()
      // a broken database schema makes the user query fail in a way no input can cause
      await x.db.query('ALTER TABLE users RENAME COLUMN first_name TO first_name_gone')
      const r = await x.call('GET', '/api/user', { session: v.session })
      expect(errorOf(r)).toEqual({ status: 500, code: 100 })
      expect(r.body).not.toMatch(/first_name_gone|at .*\.ts/)
      const reqId = /request ([0-9a-f-]{36})/.exec(r.json().error_message)?.[1]
      expect(reqId).toBeTruthy()
      expect(x.logLines.some((l) => l.includes(reqId!) && l.includes('"level":50'))).toBe(true)
    } finally {
      await x.close()
    }
  })

  it('answers /ready with 503 when the database is gone', async () => {
    const x = await createTestApp({ smtp: false })
    try {
      await x.db.close()
      const r = await x.call('GET', '/ready')
      expect(r.statusCode).toBe(503)
      expect(r.json().response_status).toBe(100)
    } finally {
      await x.close()
    }
  })
})
