// Bad input on the item routes: each its contract code, nothing written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, errorOf, type TestApp } from './helpers/app.js'
import { itemsApi, type U } from './items-helpers.js'

let t: TestApp
let api: ReturnType<typeof itemsApi>
let a: U

beforeAll(async () => {
  t = await createTestApp({ smtp: false })
  api = itemsApi(t)
  a = await t.signup()
})
afterAll(async () => t?.close())

async function counts() {
  const r = await t.db.query(`SELECT (SELECT count(*) FROM items)::int AS items, (SELECT count(*) FROM item_permissions)::int AS perms,
    (SELECT count(*) FROM item_history)::int AS history, (SELECT count(*) FROM tags)::int AS tags`)
  return r.rows[0]
}

describe('POST /item refuses bad input and writes nothing', () => {
  const cases: [string, Record<string, unknown>, number][] = [
    ['missing title', { message: 'x' }, 4],
    ['blank title', { title: '   ' }, 4],
    ['title over 255', { title: 'x'.repeat(256) }, 25],
    ['message over 10000', { title: 't', message: 'x'.repeat(10001) }, 25],
    ['category 3', { title: 't', category: 3 }, 6],
    ['category 8', { title: 't', category: 8 }, 6],
    ['category text', { title: 't', category: 'task' }, 5],
    ['color 9', { title: 't', color: 9 }, 6],
    ['color_value not a project colour', { title: 't', color_value: '#123456' }, 6],
    ['priority text', { title: 't', priority: 'high' }, 5],
    ['priority beyond 32 bits', { title: 't', priority: 2 ** 40 }, 5],
    ['NUL in the title', { title: 'a\u0000b' }, 5],
    ['NUL in a tag', { title: 't', tags: ['a\u0000'] }, 5],
    ['alert time beyond 32 bits', { title: 't', alerts: [{ timeType: 4, time: 2 ** 40 }] }, 5],
    ['completed text', { title: 't', completed: 'maybe' }, 5],
    ['start_date text', { title: 't', start_date: 'tomorrow' }, 5],
    ['due_date impossible', { title: 't', due_date: '2020-02-30' }, 5],
    ['recurring_interval 0', { title: 't', recurring: 1, recurring_interval: 0 }, 47],
    ['level 45', { title: 't', permissions: [{ principal: 1, level: 45 }] }, 6],
    ['permissions not JSON', { title: 't', permissions: '[{oops' }, 5],
    ['participant not a number', { title: 't', participants: 'abc' }, 5],
    ['unknown assignee', { title: 't', assignee: 99999 }, 6],
    ['guid with spaces', { title: 't', guid: 'a b' }, 5],
    ['time_est negative', { title: 't', time_est: -1 }, 5],
    ['alerts not an array', { title: 't', alerts: '{"timeType":1}' }, 5],
  ]
  for (const [name, body, code] of cases) {
    it(`${name} → 400/${code}`, async () => {
      const before = await counts()
      const r = await t.call('POST', '/api/item', { session: a.session, body })
      expect(errorOf(r)).toEqual({ status: 400, code })
      expect(typeof r.json().error_message).toBe('string')
      expect(await counts()).toEqual(before)
    })
  }

  it('the same checks apply on PUT, and nothing changes', async () => {
    const x = await api.create(a, { title: 'keep', tags: 'one' })
    const before = await api.row(x.id)
    for (const [, body, code] of cases.filter(([n]) => !n.includes('missing'))) {
      const r = await api.put(a, x.id, body)
      expect(errorOf(r), JSON.stringify(body).slice(0, 60)).toEqual({ status: 400, code })
    }
    expect(await api.row(x.id)).toEqual(before)
  })
})

describe('ids and cycles', () => {
  it('malformed ids → 400/5; unknown ones → 404/1', async () => {
    expect(errorOf(await t.call('GET', '/api/item/1.5', { session: a.session }))).toEqual({ status: 400, code: 5 })
    expect(errorOf(await t.call('GET', '/api/item/-3', { session: a.session }))).toEqual({ status: 400, code: 5 })
    expect(errorOf(await t.call('GET', '/api/item/no-such-guid', { session: a.session }))).toEqual({ status: 404, code: 1 })
    expect(errorOf(await t.call('PUT', '/api/item/12345678', { session: a.session, body: { title: 'x' } }))).toEqual({ status: 404, code: 1 })
    expect(errorOf(await t.call('DELETE', '/api/item/1.5', { session: a.session }))).toEqual({ status: 400, code: 5 })
    expect(errorOf(await t.call('DELETE', '/api/item', { session: a.session }))).toEqual({ status: 400, code: 104 })
  })

  it('moving an item under itself or its descendant → 400/6, nothing changed', async () => {
    const top = await api.create(a, { title: 'top' })
    const mid = await api.create(a, { title: 'mid', parent: top.id })
    const leaf = await api.create(a, { title: 'leaf', parent: mid.id })
    const before = await api.row(top.id)
    expect(errorOf(await api.put(a, top.id, { parent: leaf.id }))).toEqual({ status: 400, code: 6 })
    expect(errorOf(await api.put(a, top.id, { parent: top.id }))).toEqual({ status: 400, code: 6 })
    expect(errorOf(await api.put(a, top.id, { parentGuid: mid.guid }))).toEqual({ status: 400, code: 6 })
    expect(await api.row(top.id)).toEqual(before)
    // a legal move works and the moved item takes the new parent's principals
    const other = await api.create(a, { title: 'other', permissions: [{ principal: (await t.signup()).id, level: 30 }] })
    const moved = await api.put(a, leaf.id, { parent: other.id })
    expect(moved.json()).toMatchObject({ parent: other.id, parentGuid: other.guid })
    expect(moved.json().permissions).toEqual(other.permissions)
    const top2 = await api.put(a, leaf.id, { parent: 0 })
    expect(top2.json().parent).toBe(0)
  })

  it('requests without a session → 401/7', async () => {
    expect(errorOf(await t.call('GET', '/api/item'))).toEqual({ status: 401, code: 7 })
    expect(errorOf(await t.call('POST', '/api/item', { body: { title: 'x' } }))).toEqual({ status: 401, code: 7 })
  })
})
