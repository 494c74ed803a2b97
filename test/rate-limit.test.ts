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
