// POST /item (contract §8.2): the answer is the item as the caller sees it, so it is the same,
// byte for byte, as reading the item back; the issue numbers of concurrent creates are distinct
// and consecutive; a plain create is a handful of statements (docs/performance.md "Creating items").
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from './helpers/app.js'

let t: TestApp
let a: Awaited<ReturnType<TestApp['signup']>>
let b: Awaited<ReturnType<TestApp['signup']>>
let c: Awaited<ReturnType<TestApp['signup']>>

beforeAll(async () => {
  t = await createTestApp({ smtp: false })
  a = await t.signup()
  b = await t.signup()
  c = await t.signup()
})
afterAll(async () => t?.close())

const post = (session: string, body: Record<string, unknown>) => t.call('POST', '/api/item', { session, body })

/** the POST answer, and the same item read back by its creator */
async function createdAndRead(session: string, body: Record<string, unknown>) {
  const r = await post(session, body)
  expect(r.statusCode, r.body).toBe(200)
  const read = await t.call('GET', `/api/item/${r.json().id}`, { session })
  expect(read.statusCode).toBe(200)
  return { created: r.body, read: read.body, item: r.json() }
}

describe('the answer of POST /item is the item as read back', () => {
  it('a plain task, and one with every field', async () => {
    const plain = await createdAndRead(a.session, { title: 'plain' })
    expect(plain.created).toBe(plain.read)

    // an existing tag in another case: the answer shows the stored name
    await post(a.session, { title: 'tagged before', tags: ['Work'] })
    const full = await createdAndRead(a.session, {
      title: 'full', message: 'm', category: 2, completed: true, color: 3, color_value: '#5e93c3', priority: 30000,
      start_date: '2030-01-01T09:00:00Z', end_date: '2030-01-01T10:00:00Z', due_date: '2030-01-02', recurring: 1, recurring_interval: 2,
      time_track: true, time_est: 5, time_spent: 1, starred: true, tags: ['work', 'beta', 'Alpha'],
      alerts: [{ timeType: 4, time: 10, email: true }, { timeType: 1, timeSpecified: '2029-12-31T08:00:00Z', push: true }, { timeType: 2, time: 1 }],
      location: JSON.stringify({ longitude: 1.5, latitude: -2.25, address: 'here' }),
      permissions: [{ principal: b.id, level: 60 }], assignee: b.id, participants: [c.id, b.id],
    })
    expect(full.created).toBe(full.read)
    expect(full.item).toMatchObject({ tags: ['Alpha', 'beta', 'Work'], starred: true, completed: true, shared: true, permission: 100, assignee: b.id, unread: null })
    expect(full.item.alerts.map((x: { timeType: number }) => x.timeType)).toEqual([4, 1, 2])
    expect(full.item.permissions).toEqual(
      [{ principal: String(a.id), level: 100 }, { principal: String(b.id), level: 60 }, { principal: String(c.id), level: 50 }].sort((x, y) => (x.principal < y.principal ? -1 : 1)),
    )
    // the people named get it unread as new (3); the creator does not
    expect((await t.call('GET', `/api/item/${full.item.id}`, { session: b.session })).json().unread).toBe(3)
    expect((await t.call('GET', `/api/item/${full.item.id}`, { session: c.session })).json().unread).toBe(3)
  })

  it('a sub-item of a shared project with a short name, and an alert-only item (not starred)', async () => {
    const project = (await post(b.session, { title: 'proj', category: 0, short_name: 'PRJ' + b.id, permissions: [{ principal: a.id, level: 60 }] })).json()
    const child = await createdAndRead(a.session, { title: 'child', parent: project.id })
    expect(child.created).toBe(child.read)
    expect(child.item).toMatchObject({ parent: project.id, parentGuid: project.guid, issue_id: `PRJ${b.id}-1` })
    // the project's owner gets the project unread as modified (2)
    expect((await t.call('GET', `/api/item/${project.id}`, { session: b.session })).json().unread).toBe(2)
    const byGuid = await createdAndRead(a.session, { title: 'by guid', parent: 0, parentGuid: project.guid, guid: 'client-guid-' + a.id, alerts: [{ timeType: 3, time: 2 }] })
    expect(byGuid.created).toBe(byGuid.read)
    expect(byGuid.item).toMatchObject({ guid: 'client-guid-' + a.id, issue_id: `PRJ${b.id}-2`, starred: false })
    // the same guid again: the same item, unchanged
    const again = await post(a.session, { title: 'other title', guid: 'client-guid-' + a.id })
    expect(again.body).toBe(byGuid.read)
  })
})

describe('issue numbers', () => {
  it('concurrent creates of one user get distinct consecutive numbers; a project numbers its own', async () => {
    const u = await t.signup()
    const first = Number((await post(u.session, { title: 'n0' })).json().issue_id)
    const answers = await Promise.all(Array.from({ length: 12 }, (_, k) => post(u.session, { title: 'n' + (k + 1) })))
    const numbers = answers.map((r) => Number(r.json().issue_id)).sort((x, y) => x - y)
    expect(numbers).toEqual(Array.from({ length: 12 }, (_, k) => first + 1 + k))
    const p = (await post(u.session, { title: 'p', category: 0, short_name: 'Q' + u.id })).json()
    const kids = await Promise.all(Array.from({ length: 6 }, (_, k) => post(u.session, { title: 'k' + k, parent: p.id })))
    expect(kids.map((r) => r.json().issue_id).sort()).toEqual(Array.from({ length: 6 }, (_, k) => `Q${u.id}-${k + 1}`).sort())
    // the owner's sequence went on only for the project itself
    expect(Number((await post(u.session, { title: 'after' })).json().issue_id)).toBe(first + 14)
    // a create that fails writes nothing and takes no number
    const items = async () => (await t.db.query('SELECT count(*)::int AS n FROM items WHERE user_id = $1', [u.id])).rows[0].n
    const history = async () => (await t.db.query('SELECT count(*)::int AS n FROM item_history WHERE user_id = $1', [u.id])).rows[0].n
    const [n0, h0] = [await items(), await history()]
    const dup = await post(u.session, { title: 'dup', category: 0, short_name: 'Q' + u.id, permissions: [{ principal: a.id, level: 50 }] })
    expect(dup.json().response_status).toBe(80)
    expect([await items(), await history()]).toEqual([n0, h0])
    expect(Number((await post(u.session, { title: 'next' })).json().issue_id)).toBe(first + 15)
  })
})

describe('cost', () => {
  it('a top-level create without tags or alerts sends at most 3 statements: the session, the preference, the write', async () => {
    const u = await t.signup()
    await post(u.session, { title: 'warm' })
    const seen: string[] = []
    const stop = t.db.observe((text) => void seen.push(text))
    try {
      expect((await post(u.session, { title: 'counted' })).statusCode).toBe(200)
    } finally {
      stop()
    }
    expect(seen.length, seen.join('\n')).toBeLessThanOrEqual(3)
  })
})
