// Faults, part 2: the database connection is lost and comes back. While it is gone requests
// fail with a 503 JSON envelope (retryable), nothing is half-written, and the server recovers
// without a restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_KEY, createTestApp, createTestDatabase, type TestApp } from '../helpers/app.js'
import { cuttableProxy, type CuttableProxy } from '../helpers/db-proxy.js'
import { report } from './scale.js'

let t: TestApp
let proxy: CuttableProxy
let dropDb: () => Promise<void>

beforeAll(async () => {
  const db = await createTestDatabase()
  dropDb = db.drop
  const url = new URL(db.url)
  proxy = await cuttableProxy(url)
  const viaProxy = new URL(db.url)
  viaProxy.hostname = '127.0.0.1'
  viaProxy.port = String(proxy.port)
  t = await createTestApp({ smtp: false, databaseUrl: viaProxy.toString() })
})
afterAll(async () => {
  await t?.close()
  await proxy?.close()
  await dropDb?.()
})

describe('database connection lost and back', () => {
  it('answers 503 JSON while it is gone, writes nothing, and recovers without a restart', async () => {
    const u = await t.signup()
    const item = await t.call('POST', '/api/item', { session: u.session, form: { title: 'before the outage' } })
    expect(item.statusCode).toBe(200)

    await proxy.cut()
    const during = [
      await t.call('GET', '/api/item', { session: u.session }),
      await t.call('GET', '/api/user', { session: u.session }),
      await t.call('POST', '/api/item', { session: u.session, form: { title: 'during the outage', guid: 'outage-guid-1' } }),
      // Prisma path, no session lookup first
      await t.call('GET', '/api/user/authenticate', { query: { login: u.login, password: u.password, api_key: API_KEY } }),
      await t.call('GET', '/ready'),
    ]
    for (const r of during) {
      expect(r.statusCode).toBe(503)
      expect(r.headers['content-type']).toMatch(/application\/json/)
      expect(r.json().response_status).toBe(100)
      expect(typeof r.json().error_message).toBe('string')
    }

    await proxy.restore()
    let recovered = false
    for (let i = 0; i < 50 && !recovered; i++) {
      const r = await t.call('GET', '/api/item', { session: u.session })
      recovered = r.statusCode === 200
      if (!recovered) await new Promise((res) => setTimeout(res, 100))
    }
    expect(recovered).toBe(true)
    const items = (await t.call('GET', '/api/item', { session: u.session })).json() as Array<{ title: string; guid: string }>
    expect(items.map((i) => i.title)).toEqual(['before the outage'])
    expect((await t.call('GET', '/api/user/authenticate', { query: { login: u.login, password: u.password, api_key: API_KEY } })).statusCode).toBe(200)
    const created = await t.call('POST', '/api/item', { session: u.session, form: { title: 'after the outage' } })
    expect(created.statusCode).toBe(200)
    report('db-outage', { requestsDuringOutage: during.length, all503: true, recovered })
  })
})
