// Item fields and their rules: guid retries, version, projects and short names, issue ids,
// dates in the caller's zone, tags, contact items, recurrence, alerts, unread, history,
// deleting files with their items (contract §8.1, §8.2, §8.5).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, errorOf, type TestApp } from './helpers/app.js'
import { itemsApi, type U } from './items-helpers.js'

let t: TestApp
let api: ReturnType<typeof itemsApi>
let a: U, b: U

beforeAll(async () => {
  t = await createTestApp({ smtp: false })
  api = itemsApi(t)
  ;[a, b] = await Promise.all([t.signup(), t.signup()])
})
afterAll(async () => t?.close())

describe('guid and version', () => {
  it('a guid the same caller already used returns that item unchanged', async () => {
    const guid = 'retry-guid-1'
    const x = await api.create(a, { guid, title: 'one' })
    const again = await api.create(a, { guid, title: 'two' })
    expect(again).toEqual(x)
    expect((await t.db.query('SELECT count(*)::int AS n FROM items WHERE guid = $1', [guid])).rows[0].n).toBe(1)
  })
  it("someone else's guid → 400/6", async () => {
    const x = await api.create(a, { guid: 'retry-guid-2', title: 'one' })
    const r = await t.call('POST', '/api/item', { session: b.session, body: { guid: x.guid, title: 'mine' } })
    expect(errorOf(r)).toEqual({ status: 400, code: 6 })
  })
  it('a stale version → 409/10, nothing changed', async () => {
    const x = await api.create(a, { title: 'v' })
    expect((await api.put(a, x.id, { title: 'v2', version: 1 })).json().version).toBe(2)
    const before = await api.row(x.id)
    const r = await api.put(a, x.id, { title: 'v3', version: 1 })
    expect(errorOf(r)).toEqual({ status: 409, code: 10 })
    expect(await api.row(x.id)).toEqual(before)
  })
})

describe('projects, short names and issue ids', () => {
  it('short_name is unique per user (400/80, case-insensitive); issue ids count inside the project', async () => {
    const p = await api.create(a, { title: 'API docs', category: 0, short_name: 'APIDOCS' })
    expect(p.short_name).toBe('APIDOCS')
    const dup = await t.call('POST', '/api/item', { session: a.session, body: { title: 'x', category: 0, short_name: 'apidocs' } })
    expect(errorOf(dup)).toEqual({ status: 400, code: 80 })
    // another user may use it
    expect((await api.create(b, { title: 'mine', category: 0, short_name: 'APIDOCS' })).short_name).toBe('APIDOCS')
    const t1 = await api.create(a, { title: 't1', parent: p.id })
    const t2 = await api.create(a, { title: 't2', parent: t1.id })
    expect([t1.issue_id, t2.issue_id]).toEqual(['APIDOCS-1', 'APIDOCS-2'])
    const loose = await api.create(a, { title: 'loose' })
    expect(loose.issue_id).toMatch(/^\d+$/)
    const other = await api.create(a, { title: 'other', category: 0, short_name: 'OTHER' })
    const before = await api.row(other.id)
    const r = await api.put(a, other.id, { short_name: 'ApiDocs' })
    expect(errorOf(r)).toEqual({ status: 400, code: 80 })
    expect(await api.row(other.id)).toEqual(before)
  })
  it('short_name longer than 8 → 400/25, not alphanumeric → 400/5, on a task → 400/6', async () => {
    expect(errorOf(await t.call('POST', '/api/item', { session: a.session, body: { title: 'p', category: 0, short_name: 'ABCDEFGHI' } }))).toEqual({ status: 400, code: 25 })
    expect(errorOf(await t.call('POST', '/api/item', { session: a.session, body: { title: 'p', category: 0, short_name: 'AB-C' } }))).toEqual({ status: 400, code: 5 })
    expect(errorOf(await t.call('POST', '/api/item', { session: a.session, body: { title: 'p', category: 1, short_name: 'ABC' } }))).toEqual({ status: 400, code: 6 })
  })
  it('a project cannot have a parent (400/6)', async () => {
    const p = await api.create(a, { title: 'P', category: 0 })
    expect(errorOf(await t.call('POST', '/api/item', { session: a.session, body: { title: 'sub', category: 0, parent: p.id } }))).toEqual({ status: 400, code: 6 })
  })
  it('PUT cannot move a project under a parent nor make a sub-item a project (400/6, nothing changed)', async () => {
    const p = await api.create(a, { title: 'P', category: 0 })
    const top = await api.create(a, { title: 'top' })
    const child = await api.create(a, { title: 'child', parent: top.id })
    const [pBefore, childBefore] = [await api.row(p.id), await api.row(child.id)]
    expect(errorOf(await api.put(a, p.id, { parent: top.id }))).toEqual({ status: 400, code: 6 })
    expect(errorOf(await api.put(a, child.id, { category: 0 }))).toEqual({ status: 400, code: 6 })
    expect(await api.row(p.id)).toEqual(pBefore)
    expect(await api.row(child.id)).toEqual(childBefore)
  })
  it('short_name is unique per team: a teammate cannot reuse it (400/80), another team can', async () => {
    const [owner, mate, other] = await Promise.all([t.signup(), t.signup(), t.signup()])
    const team = await api.business(owner.id)
    await t.db.query('UPDATE users SET business_id = $1 WHERE id = ANY($2::bigint[])', [team, [owner.id, mate.id]])
    expect((await api.create(owner, { title: 'Team project', category: 0, short_name: 'TEAMP' })).short_name).toBe('TEAMP')
    const dup = await t.call('POST', '/api/item', { session: mate.session, body: { title: 'mine', category: 0, short_name: 'teamp' } })
    expect(errorOf(dup)).toEqual({ status: 400, code: 80 })
    const mates = await t.db.query('SELECT count(*)::int AS n FROM items WHERE user_id = $1', [mate.id])
    expect(mates.rows[0].n).toBe(0)
    expect((await api.create(other, { title: 'theirs', category: 0, short_name: 'TEAMP' })).short_name).toBe('TEAMP')
  })
})

describe('dates in the caller time zone', () => {
  it('reads dates without offset in the time_zone preference and renders in it', async () => {
    const u = await t.signup()
    await t.call('POST', '/api/user/preferences', { session: u.session, form: { time_zone: 'Asia/Tbilisi' } })
    const x = await api.create(u, { title: 'd', start_date: '2016-08-31T11:00:00', due_date: '2016-08-31T11:00:00.000Z', end_date: '2016-09-01' })
    expect(x.start_date).toBe('2016-08-31T11:00:00.000+04:00')
    expect(x.due_date).toBe('2016-08-31T15:00:00.000+04:00')
    expect(x.end_date).toBe('2016-09-01T00:00:00.000+04:00')
    expect(x.time_create).toMatch(/\+04:00$/)
    // another caller sees the same instant in UTC
    await t.db.query(`INSERT INTO item_permissions (item_id, principal, level) VALUES ($1, $2, 10)`, [x.id, String(a.id)])
    expect((await api.get(a, x.id)).json().start_date).toBe('2016-08-31T07:00:00.000+00:00')
  })
  it('a malformed date → 400/5', async () => {
    expect(errorOf(await t.call('POST', '/api/item', { session: a.session, body: { title: 'd', start_date: '31/08/2016' } }))).toEqual({ status: 400, code: 5 })
  })
})

describe('tags, contact, location', () => {
  it('tags from an array, JSON text or a comma list; replaced as a whole', async () => {
    const x = await api.create(a, { title: 'tags', tags: 'work, home,Work' })
    expect(x.tags).toEqual(['home', 'work'])
    const r = await api.put(a, x.id, { tags: JSON.stringify(['urgent']) })
    expect(r.json().tags).toEqual(['urgent'])
    expect((await api.put(a, x.id, { tags: '' })).json().tags).toBeNull()
    const space = (await t.db.query(`SELECT DISTINCT space FROM tags t JOIN item_tags it ON it.tag_id = t.id`)).rows
    expect(space.every((s) => s.space === `u:${a.id}`)).toBe(true)
  })
  it('the same tags in another order or case are no change (no version, no history, no level needed); another tag is one', async () => {
    const x = await api.create(a, { title: 'tag order', tags: ['alpha', 'beta'], permissions: [{ principal: b.id, level: 10 }] })
    const tagRows = async () => (await t.db.query(`SELECT count(*)::int AS n FROM item_history WHERE item_id = $1 AND property_name = 'tag'`, [x.id])).rows[0].n
    for (const tags of [['beta', 'alpha'], ['Beta', 'ALPHA']]) {
      const r = await api.put(b, x.id, { tags })
      expect(r.statusCode).toBe(200)
      expect(r.json()).toMatchObject({ version: 1, tags: ['alpha', 'beta'] })
    }
    expect(await tagRows()).toBe(0)
    const more = await api.put(a, x.id, { tags: ['beta', 'alpha', 'gamma'] })
    expect(more.json()).toMatchObject({ version: 2, tags: ['alpha', 'beta', 'gamma'] })
    expect(await tagRows()).toBe(1)
  })
  it('contact items keep their jCard; one that is not a jCard → 400/5', async () => {
    const jcard = JSON.stringify(['vcard', [['version', {}, 'text', '4.0'], ['fn', {}, 'text', 'Evert Pot']]])
    const x = await api.create(a, { title: 'Evert', category: 7, contact: jcard })
    expect(x.contact).toBe(jcard)
    expect(JSON.parse(x.contact)[0]).toBe('vcard')
    expect(errorOf(await t.call('POST', '/api/item', { session: a.session, body: { title: 'c', category: 7, contact: '{"a":1}' } }))).toEqual({ status: 400, code: 5 })
  })
  it('location is an object', async () => {
    const x = await api.create(a, { title: 'loc', location: JSON.stringify({ longitude: 123.1234567, latitude: -4.0987654321, address: 'qwe' }) })
    expect(x.location).toEqual({ longitude: 123.1234567, latitude: -4.0987654321, address: 'qwe' })
  })
})

describe('recurrence (§8.5)', () => {
  it('recurring 0–4 and interval 1–999 (else 400/47)', async () => {
    const x = await api.create(a, { title: 'r', recurring: 2, recurring_interval: 3, recurring_end_date: '2030-01-01' })
    expect(x).toMatchObject({ recurring: 2, recurring_interval: 3, recurring_end_date: '2030-01-01T00:00:00.000+00:00' })
    expect(errorOf(await t.call('POST', '/api/item', { session: a.session, body: { title: 'r', recurring: 1, recurring_interval: 0 } }))).toEqual({ status: 400, code: 47 })
    expect(errorOf(await t.call('POST', '/api/item', { session: a.session, body: { title: 'r', recurring: 1, recurring_interval: 1000 } }))).toEqual({ status: 400, code: 47 })
    expect(errorOf(await t.call('POST', '/api/item', { session: a.session, body: { title: 'r', recurring: 5 } }))).toEqual({ status: 400, code: 6 })
  })
  it('completed with instance_date_time completes that occurrence only', async () => {
    const x = await api.create(a, { title: 'daily', recurring: 1, start_date: '2030-01-01T09:00:00Z' })
    const r = await api.put(a, x.id, { completed: true, instance_date_time: '2030-01-03T09:00:00.000Z' })
    expect(r.statusCode).toBe(200)
    expect(r.json().completed).toBe(false)
    expect(r.json().instances).toEqual([{ task_id: x.id, status: 1, start_date: '2030-01-03', start_date_time: '2030-01-03T09:00:00.000+00:00' }])
    const r2 = await api.put(a, x.id, { completed: false, instance_date_time: '2030-01-03T09:00:00.000Z' })
    expect(r2.json().instances[0].status).toBe(0)
  })
  it('cascade=1 with completed completes all descendants', async () => {
    const p = await api.create(a, { title: 'p' })
    const c1 = await api.create(a, { title: 'c1', parent: p.id })
    const c2 = await api.create(a, { title: 'c2', parent: c1.id })
    await api.put(a, p.id, { completed: true, cascade: 1 })
    expect((await api.get(a, c1.id)).json().completed).toBe(true)
    expect((await api.get(a, c2.id)).json().completed).toBe(true)
  })
  it('a cascade writes a completed history entry on each descendant and marks it unread (2) for its people', async () => {
    const p = await api.create(a, { title: 'p', assignee: b.id })
    const c1 = await api.create(a, { title: 'c1', parent: p.id, assignee: b.id })
    const c2 = await api.create(a, { title: 'c2', parent: c1.id, participants: [b.id] })
    for (const x of [c1, c2]) await t.call('GET', `/api/item/read/${x.id}`, { session: b.session })
    expect((await api.put(a, p.id, { completed: true, cascade: 1 })).statusCode).toBe(200)
    for (const x of [c1, c2]) {
      const h = await t.call('GET', '/api/item/history', { session: a.session, query: { id: x.id } })
      expect(h.statusCode).toBe(200)
      expect(h.json().filter((e: any) => e.property_name === 'completed')).toEqual([expect.objectContaining({ value: 'true', user_id: a.id })])
      expect((await api.get(b, x.id)).json().unread).toBe(2)
    }
  })
  it('time tracking: time_spent ≥ 0 (else 400/6)', async () => {
    const x = await api.create(a, { title: 'tt', time_track: 1, time_est: 2.5, time_spent: 1.25 })
    expect(x).toMatchObject({ time_track: true, time_est: 2.5, time_spent: 1.25 })
    expect(errorOf(await api.put(a, x.id, { time_spent: -1 }))).toEqual({ status: 400, code: 6 })
  })
})

describe('alerts (§8.5)', () => {
  it('are per caller, replaced as a whole, with notificationTime', async () => {
    const x = await api.create(a, {
      title: 'meeting', category: 2, start_date: '2030-05-01T10:00:00Z', due_date: '2030-05-02T10:00:00Z',
      alerts: [{ timeType: 4, time: 15, sound: true }, { timeType: 1, timeSpecified: '2030-04-30T08:00:00Z' }],
    })
    expect(x.alerts).toHaveLength(2)
    expect(x.alerts[0]).toMatchObject({ timeType: 4, time: 15, sound: true, notificationTime: '2030-05-01T09:45:00.000+00:00' })
    expect(x.alerts[1]).toMatchObject({ timeType: 1, notificationTime: '2030-04-30T08:00:00.000+00:00' })
    // keep the first (by id, changed), drop the second, add one
    const r = await api.put(a, x.id, { alerts: JSON.stringify([{ id: x.alerts[0].id, timeType: 3, time: 1 }, { timeType: 2, time: 1 }]) })
    const al = r.json().alerts
    expect(al).toHaveLength(2)
    expect(al[0]).toMatchObject({ id: x.alerts[0].id, timeType: 3, notificationTime: '2030-05-01T09:00:00.000+00:00' })
    expect(al[1]).toMatchObject({ timeType: 2, notificationTime: '2030-04-30T10:00:00.000+00:00' })
    // a task counts back from due_date; no date → no notificationTime
    const task = await api.create(a, { title: 'task', due_date: '2030-05-02T10:00:00Z', alerts: [{ timeType: 3, time: 2 }] })
    expect(task.alerts[0].notificationTime).toBe('2030-05-02T08:00:00.000+00:00')
    const none = await api.create(a, { title: 'none', alerts: [{ timeType: 3, time: 2 }] })
    expect(none.alerts[0].notificationTime).toBeNull()
  })
  it('an id of another item is a new alert (that item keeps its own); an id named twice is one alert, the last entry; as many statements for 6 alerts as for 1', async () => {
    const other = await api.create(a, { title: 'other', alerts: [{ timeType: 4, time: 5 }] })
    const x = await api.create(a, { title: 'replace', due_date: '2030-05-02T10:00:00Z', alerts: [{ timeType: 4, time: 10 }, { timeType: 4, time: 20 }] })
    const [k, drop] = x.alerts
    const r = await api.put(a, x.id, { alerts: JSON.stringify([{ id: other.alerts[0].id, timeType: 3, time: 1 }, { id: k.id, timeType: 4, time: 11 }, { id: k.id, timeType: 4, time: 12 }]) })
    expect(r.statusCode, r.body).toBe(200)
    const al = r.json().alerts
    expect(al.map((x: { id: number; time: number }) => [x.id === k.id, x.time])).toEqual([[true, 12], [false, 1]])
    expect(al.map((x: { id: number }) => x.id)).not.toContain(drop.id)
    expect(al.map((x: { id: number }) => x.id)).not.toContain(other.alerts[0].id)
    const o = await t.db.query('SELECT id, item_id, time FROM item_alerts WHERE id = $1', [other.alerts[0].id])
    expect(o.rows).toEqual([{ id: other.alerts[0].id, item_id: other.id, time: 5 }])
    // set-based: the statements of a replacement do not grow with the number of alerts
    const statementsFor = async (n: number) => {
      const y = await api.create(a, { title: `n${n}`, due_date: '2030-05-02T10:00:00Z', alerts: Array.from({ length: n }, (_, i) => ({ timeType: 4, time: i + 1 })) })
      const alerts = [...y.alerts.map((z: { id: number }, i: number) => ({ id: z.id, timeType: 3, time: i + 1 })).slice(1), { timeType: 2, time: 1 }]
      let count = 0
      const stop = t.db.observe(() => count++)
      try {
        const u = await api.put(a, y.id, { alerts: JSON.stringify(alerts) })
        expect(u.statusCode, u.body).toBe(200)
        expect(u.json().alerts.map((z: { timeType: number; time: number }) => [z.timeType, z.time])).toEqual(alerts.map((z) => [z.timeType, z.time]))
      } finally {
        stop()
      }
      return count
    }
    expect(await statementsFor(6)).toBe(await statementsFor(1))
  })
  it('time missing for 2–4 or timeSpecified for 1 → 400/4; timeType outside 1–4 → 400/6', async () => {
    const x = await api.create(a, { title: 'al' })
    for (const [alerts, code] of [[[{ timeType: 3 }], 4], [[{ timeType: 1 }], 4], [[{ timeType: 7, time: 1 }], 6]] as const) {
      expect(errorOf(await api.put(a, x.id, { alerts }))).toEqual({ status: 400, code })
    }
    expect((await t.db.query('SELECT count(*)::int AS n FROM item_alerts WHERE item_id = $1', [x.id])).rows[0].n).toBe(0)
  })
})

describe('assignee', () => {
  it('is accepted as assigneeId too, on create and update', async () => {
    const x = await api.create(a, { title: 'by alias', assigneeId: b.id })
    expect(x.assignee).toBe(b.id)
    // a top-level item is shared with the person it names (§8.3)
    expect(x.permissions).toContainEqual({ principal: String(b.id), level: 50 })
    const r = await api.put(a, x.id, { assigneeId: 0 })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toMatchObject({ id: x.id, assignee: 0, version: 2 })
  })
})

describe('unread', () => {
  it('3 for a new item, 2 when modified, cleared by GET /item/read', async () => {
    const x = await api.create(a, { title: 'u', assignee: b.id })
    expect((await api.get(b, x.id)).json().unread).toBe(3)
    expect((await api.get(a, x.id)).json().unread).toBeNull()
    const read = await t.call('GET', `/api/item/read/${x.id}`, { session: b.session })
    expect(read.json()).toEqual({ response_status: 0 })
    expect((await api.get(b, x.id)).json().unread).toBeNull()
    await api.put(a, x.id, { title: 'u2' })
    expect((await api.get(b, x.id)).json().unread).toBe(2)
    // b's own change does not mark b; it marks the owner
    await api.put(b, x.id, { completed: true })
    expect((await api.get(a, x.id)).json().unread).toBe(2)
    // a sub-item marks the parent modified for its people
    await t.call('GET', `/api/item/read/${x.id}`, { session: b.session })
    await api.create(a, { title: 'sub', parent: x.id })
    expect((await api.get(b, x.id)).json().unread).toBe(2)
  })
})

describe('history', () => {
  it('create and every field change write typed rows with the actor name', async () => {
    const x = await api.create(a, { title: 'h' })
    await api.put(a, x.id, { title: 'h2', priority: 30000, completed: true, due_date: '2030-01-01T00:00:00Z', tags: 'x' })
    const r = await t.db.query('SELECT property_name, property_type, value, user_id, user_name FROM item_history WHERE item_id = $1 ORDER BY id', [x.id])
    const rows = r.rows.map((h) => [h.property_name, h.property_type, h.value])
    expect(rows).toEqual([
      ['created', 'VOID', null],
      ['title', 'STRING', 'h2'],
      ['priority', 'INTEGER', '30000'],
      ['due_date', 'DATE', '2030-01-01T00:00:00.000+00:00'],
      ['completed', 'BOOLEAN', 'true'],
      ['tag', 'STRING', 'x'],
    ])
    expect(r.rows[0].user_id).toBe(a.id)
    expect(r.rows[0].user_name).toMatch(/^First\S+ Last$/)
  })
  it('a refused change writes no history', async () => {
    const x = await api.create(a, { title: 'h', permissions: [{ principal: b.id, level: 10 }] })
    await api.put(b, x.id, { title: 'nope' })
    const r = await t.db.query('SELECT count(*)::int AS n FROM item_history WHERE item_id = $1', [x.id])
    expect(r.rows[0].n).toBe(1)
  })
})

describe('delete removes files and their blobs', () => {
  it("deleting a project removes its files' blobs and previews", async () => {
    const p = await api.create(a, { title: 'P', category: 0 })
    const f = await api.create(a, { title: 'file.txt', category: 5, parent: p.id })
    const keys = ['it/' + f.id + '/blob', 'it/' + f.id + '/p1']
    for (const k of keys) await t.deps.storage.putBuffer(k, Buffer.from('data'), 'text/plain')
    await t.db.query(
      `INSERT INTO files (item_id, storage_key, content_type, size, name, owner_id, previews) VALUES ($1, $2, 'text/plain', 4, 'file.txt', $3, $4)`,
      [f.id, keys[0], a.id, JSON.stringify([{ size: 125, type: 'SQUARE', storage_key: keys[1], content_type: 'image/png', width: 125, height: 125 }])],
    )
    const got = (await api.get(a, f.id)).json()
    expect(got.file_size).toBe(4)
    expect(got.previews).toEqual([{ size: 125, type: 'SQUARE', url: expect.stringMatching(/^http:\/\/hitask\.test\/api\/file\/\d+\?preview=125&type=SQUARE&expires=\d+&signature=/) }])
    for (const k of keys) expect(await t.deps.storage.exists(k)).toBe(true)
    expect((await t.call('DELETE', `/api/item/${p.guid}`, { session: a.session })).statusCode).toBe(200)
    for (const k of keys) expect(await t.deps.storage.exists(k)).toBe(false)
    expect((await t.db.query('SELECT count(*)::int AS n FROM files WHERE item_id = $1', [f.id])).rows[0].n).toBe(0)
  })
})

describe('item limit', () => {
  it('POST /item past the account limit (ITEM_LIMITS) → 507/20, nothing written; a guid retry still answers', async () => {
    const t2 = await createTestApp({ smtp: false, env: { ITEM_LIMITS: '0:2' } })
    try {
      const u = await t2.signup()
      const first = (await t2.call('POST', '/api/item', { session: u.session, body: { title: '1', guid: 'limit-guid-1' } })).json()
      expect((await t2.call('POST', '/api/item', { session: u.session, body: { title: '2' } })).statusCode).toBe(200)
      const r = await t2.call('POST', '/api/item', { session: u.session, body: { title: '3' } })
      expect(errorOf(r)).toEqual({ status: 507, code: 20 })
      expect((await t2.db.query('SELECT count(*)::int AS n FROM items')).rows[0].n).toBe(2)
      expect((await t2.call('POST', '/api/item', { session: u.session, body: { title: '1', guid: 'limit-guid-1' } })).json()).toEqual(first)
    } finally {
      await t2.close()
    }
  })
})
