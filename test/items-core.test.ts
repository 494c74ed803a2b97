// The item object and the basic routes: create, get, list, update, delete (contract §8.1, §8.2).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, errorOf, type TestApp } from './helpers/app.js'

let t: TestApp
let a: Awaited<ReturnType<TestApp['signup']>>
let b: Awaited<ReturnType<TestApp['signup']>>

beforeAll(async () => {
  t = await createTestApp({ smtp: false })
  a = await t.signup()
  b = await t.signup()
})
afterAll(async () => t?.close())

const FIELDS = `id, guid, user_id, title, message, category, completed, color, color_value, parent, parentGuid, short_name, issue_id,
recurring, recurring_interval, recurring_end_date, instances, start_date, end_date, due_date, is_all_day, time_create,
time_last_update, version, shared, starred, time_track, time_est, time_spent, priority, assignee, participants, tags, location,
alerts, unread, permission, permissions, last_comment_id, last_comment, last_comment_user_id, last_comment_create_datetime,
file_size, previews, contact, publish_url, last_transition_time, last_transition_user, children`.split(',').map((s) => s.trim())

describe('item object', () => {
  it('POST /item returns the created item with every field of §8.1', async () => {
    const r = await t.call('POST', '/api/item', { session: a.session, form: { title: 'First', message: 'Hello', category: 1 } })
    expect(r.statusCode).toBe(200)
    const it = r.json()
    for (const f of FIELDS) expect(it, f).toHaveProperty(f)
    expect(Object.keys(it).sort()).toEqual([...FIELDS].sort())
    expect(it).toMatchObject({
      title: 'First', message: 'Hello', category: 1, completed: false, user_id: a.id, parent: 0, version: 1, priority: 20000,
      shared: false, starred: false, permission: 100, permissions: [{ principal: String(a.id), level: 100 }], color_value: '#5e93c3',
    })
    expect(typeof it.id).toBe('number')
    expect(it.guid).toMatch(/^[0-9a-f-]{36}$/)
    expect(it.issue_id).toBe('1')
    expect(it.time_create).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$/)
  })

  it('GET /item/{id} and /item/{guid} return it; another user gets 404/1', async () => {
    const c = (await t.call('POST', '/api/item', { session: a.session, body: { title: 'Mine' } })).json()
    expect((await t.call('GET', `/api/item/${c.id}`, { session: a.session })).json().title).toBe('Mine')
    expect((await t.call('GET', `/api/item/${c.guid}`, { session: a.session })).json().id).toBe(c.id)
    expect(errorOf(await t.call('GET', `/api/item/${c.id}`, { session: b.session }))).toEqual({ status: 404, code: 1 })
    expect(errorOf(await t.call('GET', `/api/item/999999`, { session: a.session }))).toEqual({ status: 404, code: 1 })
  })

  it('GET /item lists what the caller sees, with X-Cursor', async () => {
    const r = await t.call('GET', '/api/item', { session: b.session })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toEqual([])
    expect(Number(r.headers['x-cursor'])).toBeGreaterThan(0)
    const ra = await t.call('GET', '/api/item', { session: a.session })
    expect(ra.json().length).toBe(2)
    // the versioned paths of the 2018 web client serve the same
    const rv = await t.call('GET', '/api/v5/item', { query: { session_id: a.session } })
    expect(rv.statusCode).toBe(200)
    expect(rv.json().map((i: any) => i.id)).toEqual(ra.json().map((i: any) => i.id))
  })

  it('PUT changes only the fields present and bumps version', async () => {
    const c = (await t.call('POST', '/api/item', { session: a.session, body: { title: 'T', message: 'M', priority: 30000 } })).json()
    const r = await t.call('PUT', `/api/item/${c.id}`, { session: a.session, form: { title: 'T2' } })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toMatchObject({ title: 'T2', message: 'M', priority: 30000, version: 2 })
    const r2 = await t.call('PUT', '/api/item', { session: a.session, body: { guid: c.guid, completed: 'true' } })
    expect(r2.json()).toMatchObject({ completed: true, version: 3, last_transition_user: a.id })
    expect(errorOf(await t.call('PUT', '/api/item', { session: a.session, body: { title: 'x' } }))).toEqual({ status: 400, code: 104 })
  })

  it('DELETE removes the item and its subtree', async () => {
    const p = (await t.call('POST', '/api/item', { session: a.session, body: { title: 'P', category: 0 } })).json()
    const c = (await t.call('POST', '/api/item', { session: a.session, body: { title: 'C', parent: p.id } })).json()
    expect(c.parent).toBe(p.id)
    expect(c.parentGuid).toBe(p.guid)
    // the web client sends parent=0 next to the parentGuid that names the parent
    const byGuid = (await t.call('POST', '/api/item', { session: a.session, form: { title: 'G', parent: 0, parentGuid: p.guid } })).json()
    expect(byGuid.parent).toBe(p.id)
    expect(errorOf(await t.call('DELETE', `/api/item/${p.id}`, { session: b.session }))).toEqual({ status: 404, code: 1 })
    const r = await t.call('DELETE', `/api/item/${p.id}`, { session: a.session })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toEqual({ response_status: 0 })
    expect(errorOf(await t.call('GET', `/api/item/${c.id}`, { session: a.session }))).toEqual({ status: 404, code: 1 })
  })
})

describe('cost and defaults', () => {
  it('listing N items costs the same number of queries for 3 items as for 30', async () => {
    const u = await t.signup()
    const v = await t.signup()
    for (let i = 0; i < 3; i++) await t.call('POST', '/api/item', { session: u.session, body: { title: 'few ' + i, tags: 'a', alerts: [{ timeType: 4, time: 1 }] } })
    const p = (await t.call('POST', '/api/item', { session: v.session, body: { title: 'proj', category: 0 } })).json()
    for (let i = 0; i < 30; i++) await t.call('POST', '/api/item', { session: v.session, body: { title: 'many ' + i, parent: i % 2 ? p.id : 0, tags: 'b', alerts: [{ timeType: 4, time: 1 }] } })
    let n = 0
    const stop = t.db.observe(() => n++)
    try {
      n = 0
      expect((await t.call('GET', '/api/item', { session: u.session })).json()).toHaveLength(3)
      const few = n
      n = 0
      expect((await t.call('GET', '/api/item', { session: v.session })).json()).toHaveLength(31)
      expect(n).toBe(few)
      // session, sync point, groups, the visible ids (the list is then read in batches:
      // docs/performance.md), the batch's JSON statement; these items have alerts, which the
      // JavaScript renderer writes: BEGIN, their rows, six kinds of extras, COMMIT
      expect(few).toBeLessThanOrEqual(14)
    } finally {
      stop()
    }
  })

  it('a top-level item without a list gets default_new_item_sharing_permission', async () => {
    const u = await t.signup()
    const friend = await t.signup()
    await t.call('POST', '/api/user/preferences', { session: u.session, body: { default_new_item_sharing_permission: JSON.stringify([{ principal: String(friend.id), level: 20 }]) } })
    const x = (await t.call('POST', '/api/item', { session: u.session, body: { title: 'auto shared' } })).json()
    expect(x.permissions).toEqual([{ principal: String(friend.id), level: 20 }, { principal: String(u.id), level: 100 }].sort((p, q) => (p.principal < q.principal ? -1 : 1)))
    expect(x.shared).toBe(true)
    expect((await t.call('GET', `/api/item/${x.id}`, { session: friend.session })).json().permission).toBe(20)
  })
})
