// Contract §15, cross-site requests through the cookie: a request authenticated only by the
// HI_SESSION cookie that changes anything (GET routes that change state included) is refused
// 403/3 when Sec-Fetch-Site is cross-site or same-site, or, without Sec-Fetch-Site, when its
// Origin is neither the server's own (PUBLIC_URL) nor listed in CORS_ORIGINS; it writes
// nothing and sends no email. Clients that send the session themselves are never refused.
// CORS: unset CORS_ORIGINS allows any origin without credentials; listed origins get them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import { createTestApp, errorOf, type TestApp } from './helpers/app.js'
import { createItem, makeTeam } from './helpers/teams.js'
import { dbFingerprint } from './reliability/db-snapshot.js'

let t: TestApp
const LISTED = 'https://app.example.com'
beforeAll(async () => {
  t = await createTestApp({ env: { CORS_ORIGINS: LISTED, RATE_LIMIT_PER_MINUTE: '100000' } })
})
afterAll(async () => t?.close())

const cookie = (session: string) => ({ cookie: `HI_SESSION=${session}` })

/** the request refused with 403/3, having written nothing */
async function refusedWritingNothing(send: () => Promise<LightMyRequestResponse>) {
  const before = await dbFingerprint(t.db)
  const mails = t.smtp!.mails.length
  const r = await send()
  expect(errorOf(r), r.body).toEqual({ status: 403, code: 3 })
  expect(await dbFingerprint(t.db)).toBe(before)
  // give an email that should not exist the time one would take to arrive
  await new Promise((res) => setTimeout(res, 200))
  expect(t.smtp!.mails.length).toBe(mails)
}

describe('cookie-only requests from another site (§15)', () => {
  it('refuses GET /contact/removefrombusiness from a cross-site page: the member keeps the team', async () => {
    const team = await makeTeam(t, 1)
    const member = team.members[0]!
    for (const site of ['cross-site', 'same-site']) {
      await refusedWritingNothing(() =>
        t.call('GET', '/api/contact/removefrombusiness', { query: { id: member.id }, headers: { ...cookie(team.owner.session), 'sec-fetch-site': site } }),
      )
    }
    const me = (await t.call('GET', '/api/user', { session: member.session })).json()
    expect(me.businessId).toBe(team.businessId)
  })

  it('refuses GET /contact/invite (no email goes out), GET /archive/restore, POST /item and DELETE /item', async () => {
    const u = await t.signup()
    const item = await createItem(t, u, { title: 'archived', category: 1 })
    expect((await t.call('POST', '/api/item/archive', { session: u.session, form: { id: item.id } })).statusCode).toBe(200)
    const kept = await createItem(t, u, { title: 'kept', category: 1 })
    const h = { ...cookie(u.session), 'sec-fetch-site': 'cross-site' }
    await refusedWritingNothing(() => t.call('GET', '/api/contact/invite', { query: { email: 'victim-friend@example.com', name: 'Friend' }, headers: h }))
    await refusedWritingNothing(() => t.call('GET', '/api/archive/restore', { query: { id: item.id }, headers: h }))
    await refusedWritingNothing(() => t.call('POST', '/api/item', { form: { title: 'forged' }, headers: h }))
    await refusedWritingNothing(() => t.call('DELETE', `/api/item/${kept.id}`, { headers: h }))
    await refusedWritingNothing(() => t.call('GET', '/api/user/logout', { headers: h }))
  })

  it('without Sec-Fetch-Site, refuses an Origin that is neither PUBLIC_URL nor listed, and `null`', async () => {
    const u = await t.signup()
    for (const origin of ['https://evil.example.com', 'null', 'http://hitask.test.evil.com', 'https://app.example.com.evil.com', 'http://app.example.com']) {
      await refusedWritingNothing(() => t.call('POST', '/api/item', { form: { title: 'forged' }, headers: { ...cookie(u.session), origin } }))
    }
  })

  it('lets through same-origin and none, the server own origin, listed origins, and requests with neither header', async () => {
    const u = await t.signup()
    const cases: Record<string, string>[] = [
      { 'sec-fetch-site': 'same-origin' },
      { 'sec-fetch-site': 'none' },
      { origin: 'http://hitask.test' },
      { origin: LISTED },
      { origin: 'HTTPS://APP.EXAMPLE.COM:443' },
      {},
    ]
    for (const extra of cases) {
      const r = await t.call('POST', '/api/item', { form: { title: 'mine' }, headers: { ...cookie(u.session), ...extra } })
      expect(r.statusCode, JSON.stringify(extra) + r.body).toBe(200)
    }
  })

  it('never refuses clients that send the session themselves (parameter or header), whatever the headers', async () => {
    const u = await t.signup()
    const h = { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example.com' }
    expect((await t.call('POST', '/api/item', { form: { title: 'a', session_id: u.session }, headers: h })).statusCode).toBe(200)
    expect((await t.call('POST', '/api/item', { query: { session_id: u.session }, form: { title: 'b' }, headers: h })).statusCode).toBe(200)
    expect((await t.call('POST', '/api/item', { session: u.session, form: { title: 'c' }, headers: { ...h, ...cookie(u.session) } })).statusCode).toBe(200)
    // the 2018 web client: session_id in the query of a GET that changes state
    const item = await createItem(t, u, { title: 'archived', category: 1 })
    await t.call('POST', '/api/item/archive', { session: u.session, form: { id: item.id } })
    expect((await t.call('GET', '/api/archive/restore', { query: { id: item.id, session_id: u.session }, headers: { ...h, ...cookie(u.session) } })).statusCode).toBe(200)
  })

  it('reading with the cookie from another site is not refused (CORS keeps the answer from the page)', async () => {
    const u = await t.signup()
    const r = await t.call('GET', '/api/item', { headers: { ...cookie(u.session), 'sec-fetch-site': 'cross-site', origin: 'https://evil.example.com' } })
    expect(r.statusCode).toBe(200)
    expect(r.headers['access-control-allow-credentials']).toBeUndefined()
  })
})

describe('CORS credentials (§15)', () => {
  it('CORS_ORIGINS unset: any origin, never with credentials', async () => {
    const x = await createTestApp({ smtp: false })
    try {
      const pre = await x.app.inject({
        method: 'OPTIONS',
        url: '/api/item',
        headers: { origin: 'https://anything.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-hi-session,content-type' },
      })
      expect(pre.statusCode).toBeLessThan(300)
      expect(pre.headers['access-control-allow-origin']).toBe('*')
      expect(pre.headers['access-control-allow-credentials']).toBeUndefined()
      expect(String(pre.headers['access-control-allow-headers']).toLowerCase()).toContain('x-hi-session')
      const g = await x.call('GET', '/health', { headers: { origin: 'https://anything.example.com' } })
      expect(g.headers['access-control-allow-origin']).toBe('*')
      expect(g.headers['access-control-allow-credentials']).toBeUndefined()
    } finally {
      await x.close()
    }
  })

  it('listed origins get their origin back with credentials; others get neither', async () => {
    const ok = await t.call('GET', '/health', { headers: { origin: LISTED } })
    expect(ok.headers['access-control-allow-origin']).toBe(LISTED)
    expect(ok.headers['access-control-allow-credentials']).toBe('true')
    const no = await t.call('GET', '/health', { headers: { origin: 'https://evil.example.com' } })
    expect(no.headers['access-control-allow-origin']).not.toBe('https://evil.example.com')
    expect(no.headers['access-control-allow-credentials']).toBeUndefined()
  })
})
