// Two server instances on one database and one Redis: the request budget and the failed
// sign-in budget are shared, and a sign-out is seen by both at once.
import crypto from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_KEY, createTestApp, createTestDatabase, errorOf, type TestApp } from '../helpers/app.js'

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
let a: TestApp
let b: TestApp
let drop: () => Promise<void>
const prefix = `hitask-test-${crypto.randomBytes(6).toString('hex')}:`

beforeAll(async () => {
  // this suite needs a real Redis (CI and the development machines run one on 6379)
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await probe.connect()
  expect(await probe.ping()).toBe('PONG')
  probe.disconnect()
  const db = await createTestDatabase()
  drop = db.drop
  const env = { REDIS_URL, REDIS_KEY_PREFIX: prefix, RATE_LIMIT_PER_MINUTE: '12', AUTH_FAIL_PER_15MIN_PER_LOGIN: '4', AUTH_FAIL_PER_MINUTE_PER_ADDRESS: '1000' }
  a = await createTestApp({ smtp: false, databaseUrl: db.url, env })
  b = await createTestApp({ smtp: false, databaseUrl: db.url, env })
})
afterAll(async () => {
  await a?.close()
  await b?.close()
  await drop?.()
  const r = new Redis(REDIS_URL)
  const keys = await r.keys(prefix + '*')
  if (keys.length) await r.del(...keys)
  r.disconnect()
})

describe('two instances, one Redis', () => {
  it('share the per-client request budget', async () => {
    expect(a.deps.counters.kind).toBe('redis')
    const u = await a.signup()
    // sign-up itself was one anonymous request; these twelve are the user's budget (anonymous requests count by address)
    for (let i = 0; i < 12; i++) {
      const app = i % 2 === 0 ? a : b
      expect((await app.call('GET', '/api/user', { session: u.session })).statusCode).toBe(200)
    }
    const over = await b.call('GET', '/api/user', { session: u.session })
    expect(errorOf(over)).toEqual({ status: 429, code: 67 })
    expect(errorOf(await a.call('GET', '/api/user', { session: u.session }))).toEqual({ status: 429, code: 67 })
  })

  it('share the failed sign-in budget of a login', async () => {
    const u = await b.signup()
    for (let i = 0; i < 4; i++) {
      const app = i % 2 === 0 ? a : b
      expect(errorOf(await app.call('GET', '/api/user/authenticate', { query: { login: u.login, password: 'wrong-password', api_key: API_KEY } }))).toEqual({ status: 403, code: 3 })
    }
    expect(errorOf(await a.call('GET', '/api/user/authenticate', { query: { login: u.login, password: u.password, api_key: API_KEY } }))).toEqual({ status: 429, code: 67 })
    expect(errorOf(await b.call('GET', '/api/user/authenticate', { query: { login: u.login, password: u.password, api_key: API_KEY } }))).toEqual({ status: 429, code: 67 })
  })

  it('see a sign-out at once', async () => {
    const u = await a.signup()
    expect((await b.call('GET', '/api/item', { session: u.session })).statusCode).toBe(200)
    expect((await a.call('GET', '/api/user/logout', { session: u.session })).statusCode).toBe(200)
    expect(errorOf(await b.call('GET', '/api/item', { session: u.session }))).toEqual({ status: 401, code: 7 })
  })

  // last: it spends this address's budget for the rest of the file
  it('share the budget of an address: bogus session ids on both instances spend one budget', async () => {
    // the earlier anonymous requests of this file (sign-ups, sign-ins) came from this address
    // too, so the budget of 12 is partly spent: at most 12 more are answered before the 429
    const statuses: number[] = []
    for (let i = 0; i < 13; i++) statuses.push((await (i % 2 === 0 ? a : b).call('GET', '/api/user', { session: 'bogus-' + i })).statusCode)
    expect(statuses).toContain(429)
    expect(statuses.slice(statuses.indexOf(429)).every((s) => s === 429)).toBe(true)
    expect(errorOf(await a.call('GET', '/api/user', { session: 'bogus-a' }))).toEqual({ status: 429, code: 67 })
    expect(errorOf(await b.call('GET', '/api/user', { session: 'bogus-b' }))).toEqual({ status: 429, code: 67 })
  })
})
