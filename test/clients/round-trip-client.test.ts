// The §8.1 round trip as a property, through the typed client (clients/typescript:
// openapi-fetch typed by the generated schema.d.ts) against a real listening server on
// 127.0.0.1, as issue 16 asks: a random item is created with POST /api/item, read back by
// GET /api/item/{id}, found the same in GET /api/item, and sent back exactly as rendered with
// PUT (by id, by guid, or by /api/item with the id in the body); the answer is the same
// object, the version does not go up, no history row is written, and the item reads the same
// afterwards. test/clients/round-trip.test.ts holds the wider property (sharing, files, the
// web client's form encoding) over inject; this one is the typed client's.
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_KEY, createTestApp, type TestApp } from '../helpers/app.js'
import { createHitaskClient, unwrap, type HitaskClient, type Item } from '../../clients/typescript/src/index.js'
import { dateIn as dateInForms, itemFields, userText } from './item-arbitraries.js'

let t: TestApp
let api: HitaskClient
let requests = 0

const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Pacific/Chatham']

beforeAll(async () => {
  t = await createTestApp({ smtp: false, env: { RATE_LIMIT_PER_MINUTE: '1000000' } })
  await t.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = t.app.server.address() as AddressInfo
  // the platform's fetch over a real socket; counted, so the test knows the client made the calls
  api = createHitaskClient({ baseUrl: `http://127.0.0.1:${port}`, fetch: (req: Request) => (requests++, fetch(req)) })
  const login = 'rt' + Date.now().toString(36)
  const signup = unwrap(await api.POST('/api/user/signup', { body: { login, email: `${login}@example.com`, password: 'password123', api_key: API_KEY } }))
  api.setSession(signup.session_id)
})
afterAll(async () => t?.close())

const text = (min: number, max: number) => userText(min, max)
const dateIn = dateInForms('+05:45')

const alertArb = fc.oneof(
  fc.record({ timeType: fc.constant(1), timeSpecified: dateIn }),
  fc.record({ timeType: fc.constantFrom(2, 3, 4), time: fc.integer({ min: 0, max: 10000 }) }),
).chain((a) => fc.record({ sound: fc.boolean(), alert: fc.boolean(), email: fc.boolean(), push: fc.boolean(), repeat: fc.integer({ min: 0, max: 5 }), repeatInterval: fc.integer({ min: 1, max: 60 }) }).map((rest) => ({ ...a, ...rest })))

const itemArb = fc.record({
  zone: fc.constantFrom(...ZONES),
  ...itemFields(text, dateIn, ['work', 'Home', 'urgent', 'Ünïcode ✓', '42']),
  category: fc.constantFrom(0, 1, 1, 2, 4),
  time_est: fc.integer({ min: 0, max: 40000 }).map((n) => n / 100),
  time_spent: fc.integer({ min: 0, max: 40000 }).map((n) => n / 8),
  location: fc.option(fc.record({ address: text(0, 30), lat: fc.double({ min: -90, max: 90, noNaN: true }), lng: fc.double({ min: -180, max: 180, noNaN: true }) }), { nil: null }),
  alerts: fc.array(alertArb, { maxLength: 3 }),
  path: fc.constantFrom('id', 'guid', 'body'),
})
type Spec = typeof itemArb extends fc.Arbitrary<infer T> ? T : never

const byId = (id: number | string) => ({ params: { path: { id: String(id) } } })

async function createItem(s: Spec): Promise<Item> {
  unwrap(await api.POST('/api/user/preferences', { body: { time_zone: s.zone } }))
  const { zone: _zone, path: _path, ...fields } = s
  const created = unwrap(await api.POST('/api/item', { body: fields }))
  expect(created).toMatchObject({ title: s.title, category: s.category, priority: s.priority, version: 1 })
  // the tags in the server's order; none is null (§8.1: null when unset)
  if (s.tags.length) expect([...created.tags!].sort()).toEqual([...s.tags].sort())
  else expect(created.tags).toBeNull()
  return created
}

/** the item's stored version and history rows, read from the database */
async function stored(id: number) {
  const row = (await t.db.query('SELECT version, time_last_update FROM items WHERE id = $1', [id])).rows[0]
  const history = Number((await t.db.query('SELECT count(*) AS n FROM item_history WHERE item_id = $1', [id])).rows[0].n)
  return { row, history }
}

/**
 * PUT of the item exactly as rendered. The body is the rendered Item: the client's request
 * type is the input schema, which does not list the output-only fields (id, permission,
 * previews…) nor `null` for every field that takes it ("null means not set", contract §8.1),
 * so the object is passed as the body type; the server must accept it unchanged.
 */
async function putBack(item: Item, path: Spec['path']) {
  const body = item as never
  if (path === 'body') return api.PUT('/api/item', { body })
  return api.PUT('/api/item/{id}', { ...byId(path === 'id' ? item.id : item.guid), body })
}

describe('§8.1 round trip through the typed client, over HTTP', () => {
  it('a random item, read back and PUT back as rendered, is accepted and changes nothing (no version bump)', { timeout: 300_000 }, async () => {
    const before = requests
    const runs = Number(process.env.CLIENTS_ROUND_TRIP_RUNS ?? 40)
    await fc.assert(
      fc.asyncProperty(itemArb, async (s) => {
        const created = await createItem(s)
        const rendered = unwrap(await api.GET('/api/item/{id}', byId(created.id)))
        expect(rendered).toEqual(created)
        expect(unwrap(await api.GET('/api/item')).find((x) => x.id === created.id)).toEqual(rendered)
        const was = await stored(created.id)

        const put = await putBack(rendered, s.path)
        expect(put.response.status, JSON.stringify(put.error)).toBe(200)
        expect(unwrap(put)).toEqual(rendered)
        expect(unwrap(put).version).toBe(rendered.version)
        expect(await stored(created.id)).toEqual(was)
        expect(unwrap(await api.GET('/api/item/{id}', byId(rendered.guid)))).toEqual(rendered)
      }),
      { numRuns: runs },
    )
    // every call went through the client's fetch: six a run
    expect(requests - before).toBeGreaterThanOrEqual(runs * 6)
  })

  it('would see a change: the same item with one field different is a write, and a stale version is refused (the property can fail)', async () => {
    const created = await createItem(fc.sample(itemArb, { numRuns: 1, seed: 11 })[0]!)
    const rendered = unwrap(await api.GET('/api/item/{id}', byId(created.id)))
    const was = await stored(created.id)
    const changed = unwrap(await api.PUT('/api/item/{id}', { ...byId(created.id), body: { ...rendered, priority: rendered.priority === 1 ? 2 : 1 } as never }))
    expect(changed.version).toBe(rendered.version + 1)
    expect(await stored(created.id)).not.toEqual(was)
    // the rendered object is now stale: sent back, it is refused 409/10 and changes nothing
    const stale = await putBack(rendered, 'id')
    expect(stale.response.status).toBe(409)
    expect(stale.error).toMatchObject({ response_status: 10 })
    expect(unwrap(await api.GET('/api/item/{id}', byId(created.id)))).toEqual(changed)
  })
})
