// Contract §3 (users) and §4 (emails and one-time tokens).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_KEY, createTestApp, errorOf, type TestApp } from './helpers/app.js'
import { makeTeam } from './helpers/teams.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(async () => t?.close())

describe('GET /user', () => {
  it('returns the documented shape', async () => {
    const u = await t.signup('shape')
    const r = await t.call('GET', '/api/user', { session: u.session })
    expect(r.statusCode).toBe(200)
    const b = r.json()
    expect(Object.keys(b).sort()).toEqual(
      ['id', 'login', 'firstName', 'lastName', 'email', 'emailConfirmed', 'accountType', 'level', 'businessId', 'businessLevel', 'isOnline', 'pictureHash', 'pictureSource'].sort(),
    )
    expect(b).toMatchObject({ id: u.id, login: 'shape', email: 'shape@example.com', emailConfirmed: null, accountType: 'PERSONAL_FREE', level: 0, businessId: null, businessLevel: null, isOnline: true, pictureSource: 2 })
  })
})

describe('isOnline', () => {
  it('is true for a user who made a request within the last 5 minutes, false after', async () => {
    const team = await makeTeam(t, 1)
    const mate = team.members[0]!
    const seen = async () => ((await t.call('GET', '/api/team', { session: team.owner.session })).json() as Array<{ id: number; isOnline: boolean }>).find((m) => m.id === mate.id)!.isOnline
    await t.db.query(`UPDATE users SET last_seen_at = now() - interval '4 minutes' WHERE id = $1`, [mate.id])
    expect(await seen()).toBe(true)
    await t.db.query(`UPDATE users SET last_seen_at = now() - interval '6 minutes' WHERE id = $1`, [mate.id])
    await t.db.query(`UPDATE sessions SET last_used_at = now() - interval '6 minutes' WHERE user_id = $1`, [mate.id])
    expect(await seen()).toBe(false)
    // a request of their own brings them back
    expect((await t.call('GET', '/api/user', { session: mate.session })).json().isOnline).toBe(true)
    expect(await seen()).toBe(true)
  })
})

describe('POST /user/update', () => {
  it('changes names and login, with returnInfo or the status answer; PUT /user is an alias', async () => {
    const u = await t.signup()
    const r = await t.call('POST', '/api/user/update', { session: u.session, form: { firstname: 'Zoe', lastname: 'Ray', loginId: u.login + 'x' } })
    expect(r.json()).toEqual({ response_status: 0 })
    const me = (await t.call('GET', '/api/user', { session: u.session })).json()
    expect(me).toMatchObject({ firstName: 'Zoe', lastName: 'Ray', login: u.login + 'x' })
    const put = await t.call('PUT', '/api/user', { session: u.session, body: { firstName: 'Zed', returnInfo: 'true' } })
    expect(put.json()).toMatchObject({ id: u.id, firstName: 'Zed' })
  })

  it('keeps a new email unconfirmed until its own link is used', async () => {
    const u = await t.signup()
    const first = t.smtp!.tokenIn(await t.smtp!.waitFor(u.email))
    await t.call('GET', '/api/user/confirm', { query: { token: first } })
    expect((await t.call('GET', '/api/user', { session: u.session })).json().emailConfirmed).toBe(u.email)
    const newEmail = 'new-' + u.email
    const since = t.smtp!.mails.length
    const r = await t.call('POST', '/api/user/update', { session: u.session, form: { email: newEmail, returnInfo: 'true' } })
    expect(r.json()).toMatchObject({ email: newEmail, emailConfirmed: u.email })
    const mail = await t.smtp!.waitFor(newEmail, since)
    expect((await t.call('GET', '/api/user/confirm', { query: { token: t.smtp!.tokenIn(mail) } })).statusCode).toBe(200)
    expect((await t.call('GET', '/api/user', { session: u.session })).json().emailConfirmed).toBe(newEmail)
  })

  it('answers 21/22/38/39/40 as sign-up does, and changes nothing', async () => {
    const a = await t.signup()
    const b = await t.signup()
    const before = (await t.call('GET', '/api/user', { session: b.session })).json()
    const cases: Array<[Record<string, string>, number]> = [
      [{ loginId: a.login.toUpperCase() }, 21],
      [{ email: a.email }, 22],
      [{ email: 'broken@' }, 38],
      [{ loginId: 'x' }, 39],
      [{ firstname: 'y'.repeat(65) }, 40],
      [{ lastname: 'tab\tname', firstname: 'Fine' }, 40],
    ]
    for (const [form, code] of cases) expect(errorOf(await t.call('POST', '/api/user/update', { session: b.session, form }))).toEqual({ status: 400, code })
    expect((await t.call('GET', '/api/user', { session: b.session })).json()).toEqual(before)
  })
})

describe('POST /user/password', () => {
  it('changes the password, ends the other sessions, keeps this one', async () => {
    const u = await t.signup()
    const second = (await t.call('GET', '/api/user/authenticate', { query: { login: u.login, password: u.password, api_key: API_KEY } })).json().session_id
    const r = await t.call('POST', '/api/user/password', { session: u.session, form: { old_password: u.password, new_password: 'brand-new-pass' } })
    expect(r.json()).toEqual({ response_status: 0 })
    expect((await t.call('GET', '/api/user', { session: u.session })).statusCode).toBe(200)
    expect(errorOf(await t.call('GET', '/api/user', { session: second }))).toEqual({ status: 401, code: 7 })
    expect(errorOf(await t.call('GET', '/api/user/authenticate', { query: { login: u.login, password: u.password, api_key: API_KEY } }))).toEqual({ status: 403, code: 3 })
    expect((await t.call('GET', '/api/user/authenticate', { query: { login: u.login, password: 'brand-new-pass', api_key: API_KEY } })).statusCode).toBe(200)
  })

  it('answers 36 for a wrong old password, 6 for a weak new one, 4 for a missing one', async () => {
    const u = await t.signup()
    expect(errorOf(await t.call('POST', '/api/user/password', { session: u.session, form: { old_password: 'not-it-at-all', new_password: 'brand-new-pass' } }))).toEqual({ status: 400, code: 36 })
    expect(errorOf(await t.call('POST', '/api/user/password', { session: u.session, form: { old_password: u.password, new_password: 'short' } }))).toEqual({ status: 400, code: 6 })
    expect(errorOf(await t.call('POST', '/api/user/password', { session: u.session, form: { old_password: u.password } }))).toEqual({ status: 400, code: 4 })
    expect((await t.call('GET', '/api/user/authenticate', { query: { login: u.login, password: u.password, api_key: API_KEY } })).statusCode).toBe(200)
  })
})

describe('email confirmation', () => {
  it('refuses an unknown, used or expired token with 400/6', async () => {
    expect(errorOf(await t.call('GET', '/api/user/confirm', { query: { token: 'x'.repeat(43) } }))).toEqual({ status: 400, code: 6 })
    expect(errorOf(await t.call('GET', '/api/user/confirm'))).toEqual({ status: 400, code: 4 })
    const u = await t.signup()
    const token = t.smtp!.tokenIn(await t.smtp!.waitFor(u.email))
    await t.db.query(`UPDATE one_time_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [u.id])
    expect(errorOf(await t.call('GET', '/api/user/confirm', { query: { token } }))).toEqual({ status: 400, code: 6 })
    expect((await t.call('GET', '/api/user', { session: u.session })).json().emailConfirmed).toBeNull()
  })

  it('stores tokens hashed', async () => {
    const u = await t.signup()
    const token = t.smtp!.tokenIn(await t.smtp!.waitFor(u.email))
    const raw = await t.db.query('SELECT count(*)::int AS n FROM one_time_tokens WHERE token_hash = $1', [token])
    expect(raw.rows[0].n).toBe(0)
  })
})

describe('password reset', () => {
  it('emails a one-time link; confirming sets the password and ends every session', async () => {
    const u = await t.signup()
    const since = t.smtp!.mails.length
    expect((await t.call('POST', '/api/user/password/reset', { form: { email: u.email.toUpperCase() } })).json()).toEqual({ response_status: 0 })
    const mail = await t.smtp!.waitFor(u.email, since)
    expect(mail.subject).toMatch(/reset/i)
    expect(mail.text).toContain('http://hitask.test/reset-password?token=')
    const token = t.smtp!.tokenIn(mail)
    const r = await t.call('POST', '/api/user/password/reset/confirm', { form: { token, new_password: 'after-reset-1' } })
    expect(r.json()).toEqual({ response_status: 0 })
    expect(errorOf(await t.call('GET', '/api/user', { session: u.session }))).toEqual({ status: 401, code: 7 })
    expect((await t.call('GET', '/api/user/authenticate', { query: { login: u.login, password: 'after-reset-1', api_key: API_KEY } })).statusCode).toBe(200)
    // once only
    expect(errorOf(await t.call('POST', '/api/user/password/reset/confirm', { form: { token, new_password: 'after-reset-2' } }))).toEqual({ status: 400, code: 6 })
  })

  it('answers the same for an unknown address and sends nothing', async () => {
    const since = t.smtp!.mails.length
    const r = await t.call('POST', '/api/user/password/reset', { form: { email: 'nobody-here@example.com' } })
    expect(r.json()).toEqual({ response_status: 0 })
    await new Promise((r) => setTimeout(r, 300))
    expect(t.smtp!.mails.slice(since).filter((m) => m.to.includes('nobody-here@example.com'))).toHaveLength(0)
  })

  it('refuses a weak new password (6) and a bad token (6), changing nothing', async () => {
    const u = await t.signup()
    const since = t.smtp!.mails.length
    await t.call('POST', '/api/user/password/reset', { form: { email: u.email } })
    const token = t.smtp!.tokenIn(await t.smtp!.waitFor(u.email, since))
    expect(errorOf(await t.call('POST', '/api/user/password/reset/confirm', { form: { token, new_password: 'short' } }))).toEqual({ status: 400, code: 6 })
    expect(errorOf(await t.call('POST', '/api/user/password/reset/confirm', { form: { token: 'nope', new_password: 'long-enough-1' } }))).toEqual({ status: 400, code: 6 })
    // the token was not spent by the refused attempt
    expect((await t.call('POST', '/api/user/password/reset/confirm', { form: { token, new_password: 'long-enough-1' } })).statusCode).toBe(200)
  })
})

describe('emails without SMTP', () => {
  it('writes them to the log', async () => {
    const x = await createTestApp({ smtp: false })
    try {
      const u = await x.signup()
      expect(x.logLines.some((l) => l.includes('SMTP_URL not set') && l.includes(u.email))).toBe(true)
    } finally {
      await x.close()
    }
  })
})
