// Contract §2, rate limits: a per-client budget, and a tighter one for failed sign-ins.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_KEY, createTestApp, errorOf, type TestApp } from './helpers/app.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ smtp: false, env: { RATE_LIMIT_PER_MINUTE: '8', AUTH_FAIL_PER_15MIN_PER_LOGIN: '3', AUTH_FAIL_PER_MINUTE_PER_ADDRESS: '5' } })
})
afterAll(async () => t?.close())

describe('per-client budget', () => {
  it('answers 429/67 with Retry-After and X-RateLimit-* over the budget, per user', async () => {
    const a = await t.signup()
    const b = await t.signup()
    const statuses: number[] = []
    let last
    for (let i = 0; i < 9; i++) {
      last = await t.call('GET', '/api/user', { session: a.session })
      statuses.push(last.statusCode)
      if (i === 0) {
        expect(last.headers['x-ratelimit-limit']).toBe('8')
        expect(Number(last.headers['x-ratelimit-remaining'])).toBe(7)
      }
    }
    expect(statuses.slice(0, 8).every((s) => s === 200)).toBe(true)
    expect(errorOf(last!)).toEqual({ status: 429, code: 67 })
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0)
    expect(last!.headers['x-ratelimit-remaining']).toBe('0')
    expect(Number(last!.headers['x-ratelimit-reset'])).toBeGreaterThan(0)
    // another user of the same key has a budget of their own
    expect((await t.call('GET', '/api/user', { session: b.session })).statusCode).toBe(200)
  })
})

describe('failed sign-ins', () => {
  it('throttles a login after repeated failures, even with the right password then', async () => {
    const x = await createTestApp({ smtp: false, env: { AUTH_FAIL_PER_15MIN_PER_LOGIN: '3', AUTH_FAIL_PER_MINUTE_PER_ADDRESS: '100' } })
    try {
      const u = await x.signup()
      for (let i = 0; i < 3; i++) {
        expect(errorOf(await x.call('GET', '/api/user/authenticate', { query: { login: u.login, password: 'wrong-' + i, api_key: API_KEY } }))).toEqual({ status: 403, code: 3 })
      }
      const r = await x.call('GET', '/api/user/authenticate', { query: { login: u.login, password: u.password, api_key: API_KEY } })
      expect(errorOf(r)).toEqual({ status: 429, code: 67 })
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(60)
    } finally {
      await x.close()
    }
  })

  it('throttles an address after failures across logins', async () => {
    const x = await createTestApp({ smtp: false, env: { AUTH_FAIL_PER_15MIN_PER_LOGIN: '100', AUTH_FAIL_PER_MINUTE_PER_ADDRESS: '2' } })
    try {
      const u = await x.signup()
      await x.call('GET', '/api/user/authenticate', { query: { login: 'ghost1', password: 'wrong-password', api_key: API_KEY } })
      await x.call('GET', '/api/user/authenticate', { query: { login: 'ghost2', password: 'wrong-password', api_key: API_KEY } })
      const r = await x.call('GET', '/api/user/authenticate', { query: { login: u.login, password: u.password, api_key: API_KEY } })
      expect(errorOf(r)).toEqual({ status: 429, code: 67 })
    } finally {
      await x.close()
    }
  })
})

describe('rate-limit gaps (§15, issue 11 #8)', () => {
  it('counts requests with bogus session ids by address, and refuses them before any session lookup', async () => {
    const x = await createTestApp({ smtp: false, env: { RATE_LIMIT_PER_MINUTE: '5' } })
    try {
      const statuses: number[] = []
      for (let i = 0; i < 7; i++) statuses.push((await x.call('GET', '/api/user', { session: `bogus-${i}-${Math.random()}` })).statusCode)
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429])
      // refused without a database: no session lookup happens for them
      await x.db.close()
      const r = await x.call('GET', '/api/user', { session: 'bogus-after' })
      expect(errorOf(r)).toEqual({ status: 429, code: 67 })
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0)
    } finally {
      await x.close().catch(() => {})
    }
  })

  it('counts by user, whatever API key the session came with: a new personal key is no new budget', async () => {
    const x = await createTestApp({ smtp: false, env: { RATE_LIMIT_PER_MINUTE: '6' } })
    try {
      const u = await x.signup()
      const key = (await x.call('POST', '/api/user/apikey', { session: u.session, form: { name: 'mine' } })).json().api_key as string
      const other = await x.call('GET', '/api/user/authenticate', { query: { login: u.login, password: u.password, api_key: key } })
      expect(other.statusCode).toBe(200)
      const second = other.json().session_id as string
      let last
      for (let i = 0; i < 6; i++) last = await x.call('GET', '/api/user', { session: u.session })
      expect(errorOf(last!)).toEqual({ status: 429, code: 67 })
      // the session of the other key shares the user's budget
      expect(errorOf(await x.call('GET', '/api/user', { session: second }))).toEqual({ status: 429, code: 67 })
    } finally {
      await x.close()
    }
  })
})

describe('sign-in lockout per account (§15, issue 11 #4)', () => {
  it('counts " login", "LOGIN " and the email as one account', async () => {
    const x = await createTestApp({ smtp: false, env: { AUTH_FAIL_PER_15MIN_PER_LOGIN: '3', AUTH_FAIL_PER_MINUTE_PER_ADDRESS: '100' } })
    try {
      const u = await x.signup()
      for (const login of [` ${u.login}`, `${u.login.toUpperCase()} `, u.email.toUpperCase()]) {
        expect(errorOf(await x.call('GET', '/api/user/authenticate', { query: { login, password: 'wrong-password', api_key: API_KEY } }))).toEqual({ status: 403, code: 3 })
      }
      for (const login of [u.login, ` ${u.email} `]) {
        const r = await x.call('GET', '/api/user/authenticate', { query: { login, password: u.password, api_key: API_KEY } })
        expect(errorOf(r)).toEqual({ status: 429, code: 67 })
      }
      // another account is not affected
      const v = await x.signup()
      expect((await x.call('GET', '/api/user/authenticate', { query: { login: v.login, password: v.password, api_key: API_KEY } })).statusCode).toBe(200)
    } finally {
      await x.close()
    }
  })

  it('counts an unknown login by its normalized form', async () => {
    const x = await createTestApp({ smtp: false, env: { AUTH_FAIL_PER_15MIN_PER_LOGIN: '2', AUTH_FAIL_PER_MINUTE_PER_ADDRESS: '100' } })
    try {
      for (const login of ['Ghost', ' ghost ']) {
        expect(errorOf(await x.call('GET', '/api/user/authenticate', { query: { login, password: 'wrong-password', api_key: API_KEY } }))).toEqual({ status: 403, code: 3 })
      }
      expect(errorOf(await x.call('GET', '/api/user/authenticate', { query: { login: 'GHOST', password: 'wrong-password', api_key: API_KEY } }))).toEqual({ status: 429, code: 67 })
    } finally {
      await x.close()
    }
  })

  it('a wrong old password on POST /user/password counts toward the same budget', async () => {
    const x = await createTestApp({ smtp: false, env: { AUTH_FAIL_PER_15MIN_PER_LOGIN: '3', AUTH_FAIL_PER_MINUTE_PER_ADDRESS: '100' } })
    try {
      const u = await x.signup()
      for (let i = 0; i < 3; i++) {
        expect(errorOf(await x.call('POST', '/api/user/password', { session: u.session, form: { old_password: 'guess-' + i, new_password: 'new-password-1' } }))).toEqual({ status: 400, code: 36 })
      }
      // the right old password is not even checked now, nor is sign-in
      const r = await x.call('POST', '/api/user/password', { session: u.session, form: { old_password: u.password, new_password: 'new-password-1' } })
      expect(errorOf(r)).toEqual({ status: 429, code: 67 })
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(60)
      expect(errorOf(await x.call('GET', '/api/user/authenticate', { query: { login: u.login, password: u.password, api_key: API_KEY } }))).toEqual({ status: 429, code: 67 })
    } finally {
      await x.close()
    }
  })

  it('wrong old passwords count per address too', async () => {
    const x = await createTestApp({ smtp: false, env: { AUTH_FAIL_PER_15MIN_PER_LOGIN: '100', AUTH_FAIL_PER_MINUTE_PER_ADDRESS: '2' } })
    try {
      const a = await x.signup()
      const b = await x.signup()
      expect(errorOf(await x.call('POST', '/api/user/password', { session: a.session, form: { old_password: 'guess-a', new_password: 'new-password-1' } }))).toEqual({ status: 400, code: 36 })
      expect(errorOf(await x.call('POST', '/api/user/password', { session: b.session, form: { old_password: 'guess-b', new_password: 'new-password-1' } }))).toEqual({ status: 400, code: 36 })
      expect(errorOf(await x.call('POST', '/api/user/password', { session: b.session, form: { old_password: b.password, new_password: 'new-password-1' } }))).toEqual({ status: 429, code: 67 })
    } finally {
      await x.close()
    }
  })
})
