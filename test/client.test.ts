// The typed client (clients/typescript: openapi-fetch typed by openapi-typescript from the
// server's OpenAPI document) is current, and drives the API: sign-up and sign-in, the item
// round trip (create, read, update, list, delta, delete), comments, tags, an error. Every
// answer also goes through the suite's response check (src/http/response-check.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_KEY, createTestApp, type TestApp } from './helpers/app.js'
import { injectFetch } from '../src/http/inject-fetch.js'
import { clientFiles, openapiDocument, staleFiles } from '../scripts/client-generate.js'
import { createHitaskClient, cursorOf, HitaskError, unwrap, type HitaskClient, type Item } from '../clients/typescript/src/index.js'

let t: TestApp
let api: HitaskClient
let other: HitaskClient

const client = () => createHitaskClient({ baseUrl: 'http://hitask.test', fetch: injectFetch(t.app) })

beforeAll(async () => {
  t = await createTestApp({ smtp: false })
  api = client()
  other = client()
})
afterAll(() => t?.close())

describe('clients/typescript', () => {
  it('is generated from the document the server serves, and is current (npm run client:generate)', { timeout: 120_000 }, async () => {
    const doc = await openapiDocument()
    // the document does not depend on the configuration or the database
    expect((await t.call('GET', '/api/openapi.json')).json()).toEqual(doc)
    expect(staleFiles(await clientFiles(doc))).toEqual([])
  })
})

describe('the item round trip through the typed client', () => {
  let owner: { id: number; login: string }
  let created: Item

  it('signs up, signs in and reads the user', async () => {
    const login = 'cl' + Date.now().toString(36)
    const signup = unwrap(
      await api.POST('/api/user/signup', { body: { login, email: `${login}@example.com`, password: 'password123', firstName: 'Cleo', lastName: 'Client', api_key: API_KEY } }),
    )
    expect(signup.login_id).toBe(login)
    const signedIn = await api.signIn({ login, password: 'password123', apiKey: API_KEY })
    expect(api.session).toBe(signedIn.session_id)
    const me = unwrap(await api.GET('/api/user'))
    expect(me).toMatchObject({ id: signup.id, login, firstName: 'Cleo', accountType: 'PERSONAL_FREE' })
    owner = { id: me.id, login }

    const o = 'co' + Date.now().toString(36)
    other.setSession(unwrap(await other.POST('/api/user/signup', { body: { login: o, email: `${o}@example.com`, password: 'password123', api_key: API_KEY } })).session_id)
  })

  it('creates an item and reads it back by id and by guid', async () => {
    created = unwrap(
      await api.POST('/api/item', {
        body: { title: 'Write the client', message: 'typed end to end', category: 1, priority: 30000, tags: ['api', 'client'], due_date: '2030-05-20T09:00:00.000+00:00' },
      }),
    )
    expect(created).toMatchObject({ title: 'Write the client', message: 'typed end to end', category: 1, priority: 30000, user_id: owner.id, version: 1, permission: 100 })
    expect(created.tags).toEqual(['api', 'client'])
    expect(created.due_date).toBe('2030-05-20T09:00:00.000+00:00')
    const byId = unwrap(await api.GET('/api/item/{id}', { params: { path: { id: String(created.id) } } }))
    expect(byId).toEqual(created)
    const byGuid = unwrap(await api.GET('/api/item/{id}', { params: { path: { id: created.guid } } }))
    expect(byGuid.id).toBe(created.id)
  })

  it('updates it: only the fields sent change, the version goes up', async () => {
    const updated = unwrap(await api.PUT('/api/item/{id}', { params: { path: { id: String(created.id) } }, body: { title: 'Write and test the client', completed: true } }))
    expect(updated).toMatchObject({ id: created.id, title: 'Write and test the client', completed: true, message: 'typed end to end', version: 2 })
    expect(updated.tags).toEqual(['api', 'client'])
    // a version older than the stored one is refused (409/10)
    const stale = await api.PUT('/api/item/{id}', { params: { path: { id: String(created.id) } }, body: { title: 'late', version: 1 } })
    expect(stale.response.status).toBe(409)
    expect(stale.error?.response_status).toBe(10)
    created = updated
  })

  it('lists items with a cursor and follows the delta', async () => {
    const list = await api.GET('/api/item')
    const items = unwrap(list)
    expect(items.map((i) => i.id)).toContain(created.id)
    const cursor = cursorOf(list.response)
    expect(cursor).toBeGreaterThan(0)

    const second = unwrap(await api.POST('/api/item', { body: { title: 'Second', category: 4 } }))
    const delta = await api.GET('/api/item/delta/{cursor}', { params: { path: { cursor: String(cursor) } } })
    const entries = unwrap(delta)
    const changed = entries.filter((e) => e.changed)
    expect(changed.map((e) => e.id)).toContain(second.id)
    const full = changed.find((e) => e.id === second.id)
    expect(full && full.changed && full.title).toBe('Second')
    expect(entries.map((e) => e.id).sort()).toEqual([created.id, second.id].sort())
    expect(cursorOf(delta.response)).toBeGreaterThanOrEqual(cursor!)
  })

  it('comments, tags and history', async () => {
    const comment = unwrap(await api.POST('/api/item/comment', { body: { id: String(created.id), message: 'first comment' } }))
    expect(comment).toMatchObject({ item_id: created.id, user_id: owner.id, message: 'first comment' })
    const tag = unwrap(await api.POST('/api/tag', { body: { name: 'urgent', item_id: String(created.id) } }))
    expect(tag).toMatchObject({ name: 'urgent', shared: false })
    const history = unwrap(await api.GET('/api/item/history', { params: { query: { id: String(created.id) } } }))
    expect(history.map((h) => h.property_name)).toEqual(expect.arrayContaining(['created', 'title', 'comment', 'tag']))
    const item = unwrap(await api.GET('/api/item/{id}', { params: { path: { id: String(created.id) } } }))
    expect(item.last_comment).toBe('first comment')
    expect(item.tags).toEqual(['api', 'client', 'urgent'])
  })

  it('errors are typed: another user gets 404/1, unwrap throws a HitaskError', async () => {
    const r = await other.GET('/api/item/{id}', { params: { path: { id: String(created.id) } } })
    expect(r.response.status).toBe(404)
    expect(r.error).toMatchObject({ response_status: 1 })
    let thrown: unknown
    try {
      unwrap(r)
    } catch (e) {
      thrown = e
    }
    expect(thrown).toBeInstanceOf(HitaskError)
    expect(thrown).toMatchObject({ status: 404, code: 1 })
  })

  it('deletes the item and signs out', async () => {
    expect(unwrap(await api.DELETE('/api/item/{id}', { params: { path: { id: String(created.id) } } }))).toEqual({ response_status: 0 })
    expect((await api.GET('/api/item/{id}', { params: { path: { id: String(created.id) } } })).response.status).toBe(404)
    await api.signOut()
    expect(api.session).toBeNull()
    const after = await api.GET('/api/user')
    expect(after.response.status).toBe(401)
    expect(after.error?.response_status).toBe(7)
  })
})
