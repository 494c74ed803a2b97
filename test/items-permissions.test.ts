// Every rule and error code of contract §8.3, each with the exact status and code, and
// nothing changed after a refused write.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, errorOf, type TestApp } from './helpers/app.js'
import { itemsApi, permsOf, type U } from './items-helpers.js'

let t: TestApp
let api: ReturnType<typeof itemsApi>
let owner: U, b: U, c: U, d: U

beforeAll(async () => {
  t = await createTestApp({ smtp: false })
  api = itemsApi(t)
  ;[owner, b, c, d] = await Promise.all([t.signup(), t.signup(), t.signup(), t.signup()])
})
afterAll(async () => t?.close())

/** a top-level item of `owner` shared with b at `level` */
async function sharedWith(level: number, extra: Record<string, unknown> = {}) {
  return api.create(owner, { title: 'shared', permissions: [{ principal: b.id, level }], ...extra })
}

/** asserts the refusal and that the row (fields and permissions) is unchanged */
async function refused(r: Awaited<ReturnType<typeof api.put>>, id: number, before: unknown, status: number, code: number) {
  expect(errorOf(r)).toEqual({ status, code })
  expect(await api.row(id)).toEqual(before)
}

describe('levels and input forms', () => {
  it('a level outside the list → 400/6, nothing stored', async () => {
    const r = await t.call('POST', '/api/item', { session: owner.session, body: { title: 'x', permissions: [{ principal: b.id, level: 55 }] } })
    expect(errorOf(r)).toEqual({ status: 400, code: 6 })
    expect((await t.db.query(`SELECT count(*)::int AS n FROM items WHERE title = 'x'`)).rows[0].n).toBe(0)
  })

  it('an unknown or malformed principal → 400/6', async () => {
    const x = await sharedWith(10)
    const before = await api.row(x.id)
    await refused(await api.put(owner, x.id, { permissions: [{ principal: owner.id, level: 100 }, { principal: 987654, level: 10 }] }), x.id, before, 400, 6)
    await refused(await api.put(owner, x.id, { permissions: [{ principal: owner.id, level: 100 }, { principal: 'not a principal!', level: 10 }] }), x.id, before, 400, 6)
  })

  it('accepts the legacy map form and JSON text', async () => {
    const x = await api.create(owner, { title: 'legacy', permissions: JSON.stringify({ [b.id]: 20 }) })
    expect(permsOf(x)).toEqual({ [owner.id]: 100, [b.id]: 20 })
    const r = await t.call('PUT', `/api/item/${x.id}`, { session: owner.session, form: { permissions: JSON.stringify([{ principal: owner.id, level: 100 }, { principal: String(c.id), level: 30 }, { principal: b.id, level: 20 }]) } })
    expect(r.statusCode).toBe(200)
    expect(permsOf(r.json())).toEqual({ [owner.id]: 100, [b.id]: 20, [c.id]: 30 })
    expect(r.json().shared).toBe(true)
  })

  it('effective level is the highest of own and group entries', async () => {
    const biz = await api.business(owner.id)
    const g = await api.group(biz, [c.id])
    const x = await api.create(owner, { title: 'grp', permissions: [{ principal: c.id, level: 10 }, { principal: g, level: 60 }] })
    const r = await api.get(c, x.id)
    expect(r.json().permission).toBe(60)
    expect((await api.put(c, x.id, { title: 'by group' })).json().title).toBe('by group')
    // d is in no group: invisible
    expect(errorOf(await api.get(d, x.id))).toEqual({ status: 404, code: 1 })
  })

  it('invisible items are 404/1 for every route, never 403', async () => {
    const x = await api.create(owner, { title: 'private' })
    const before = await api.row(x.id)
    expect(errorOf(await api.get(b, x.id))).toEqual({ status: 404, code: 1 })
    await refused(await api.put(b, x.id, { title: 'hack' }), x.id, before, 404, 1)
    await refused(await t.call('DELETE', `/api/item/${x.id}`, { session: b.session }), x.id, before, 404, 1)
    expect(errorOf(await t.call('GET', `/api/item/read/${x.id}`, { session: b.session }))).toEqual({ status: 404, code: 1 })
    expect((await api.list(b)).map((i) => i.id)).not.toContain(x.id)
  })
})

describe('the owner rule', () => {
  it("a new item's list without the owner gets the owner at 100; an update's → 400/76", async () => {
    const x = await sharedWith(10)
    expect(permsOf(x)).toEqual({ [owner.id]: 100, [b.id]: 10 })
    const before = await api.row(x.id)
    await refused(await api.put(owner, x.id, { permissions: [{ principal: b.id, level: 20 }] }), x.id, before, 400, 76)
    const r = await api.put(owner, x.id, { permissions: [{ principal: owner.id, level: 100 }, { principal: b.id, level: 20 }] })
    expect(permsOf(r.json())).toEqual({ [owner.id]: 100, [b.id]: 20 })
  })

  it('giving the owner a lower level → 400/76 (on create and update)', async () => {
    const r = await t.call('POST', '/api/item', { session: owner.session, body: { title: 'o', permissions: [{ principal: owner.id, level: 70 }] } })
    expect(errorOf(r)).toEqual({ status: 400, code: 76 })
    const x = await sharedWith(10)
    const before = await api.row(x.id)
    await refused(await api.put(owner, x.id, { permissions: [{ principal: owner.id, level: 80 }] }), x.id, before, 400, 76)
  })

  it("removing the owner's entry (level 0) → 400/76", async () => {
    const x = await sharedWith(10)
    const before = await api.row(x.id)
    await refused(await api.put(owner, x.id, { permissions: [{ principal: owner.id, level: 0 }, { principal: b.id, level: 10 }] }), x.id, before, 400, 76)
  })
})

describe('per-field levels (403/3, nothing changed)', () => {
  const cases: [string, Record<string, unknown>, number][] = [
    ['title', { title: 'new' }, 60],
    ['message', { message: 'new' }, 60],
    ['priority', { priority: 30001 }, 60],
    ['tags', { tags: 'a,b' }, 60],
    ['start_date', { start_date: '2030-01-01' }, 60],
    ['completed', { completed: true }, 50],
    ['time_spent', { time_spent: 2 }, 50],
    ['assignee', { assignee: 0 }, 40],
    ['participants', { participants: '' }, 40],
  ]
  for (const [field, body, needed] of cases) {
    it(`${field} needs ${needed}`, async () => {
      const below = needed === 40 ? 30 : needed === 50 ? 40 : 50
      const x = await sharedWith(below, field === 'assignee' ? { assignee: c.id } : field === 'participants' ? { participants: [c.id] } : {})
      const before = await api.row(x.id)
      await refused(await api.put(b, x.id, body), x.id, before, 403, 3)
      await t.db.query('UPDATE item_permissions SET level = $1 WHERE item_id = $2 AND principal = $3', [needed, x.id, String(b.id)])
      const r = await api.put(b, x.id, body)
      expect(r.statusCode).toBe(200)
      expect(r.json().version).toBe(2)
    })
  }

  it('sending unchanged values needs no level', async () => {
    const x = await sharedWith(10, { priority: 21000 })
    const r = await api.put(b, x.id, { title: x.title, priority: 21000 })
    expect(r.statusCode).toBe(200)
    expect(r.json().version).toBe(1)
  })

  it('starred, alerts and read state need only 10', async () => {
    const x = await sharedWith(10)
    const r = await api.put(b, x.id, { starred: true, alerts: [{ timeType: 4, time: 5 }] })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toMatchObject({ starred: true, version: 1 })
    expect(r.json().alerts).toHaveLength(1)
    expect((await api.get(owner, x.id)).json()).toMatchObject({ starred: false, alerts: null })
    expect((await t.call('GET', `/api/item/read/${x.id}`, { session: b.session })).statusCode).toBe(200)
  })

  it('delete needs 100: visible below it → 403/3', async () => {
    const x = await sharedWith(80)
    const before = await api.row(x.id)
    await refused(await t.call('DELETE', `/api/item/${x.id}`, { session: b.session }), x.id, before, 403, 3)
  })
})

describe('permissions needs 70 to add and raise up to 70, 100 for the rest', () => {
  it('at 60 any permission change → 403/3', async () => {
    const x = await sharedWith(60)
    const before = await api.row(x.id)
    await refused(await api.put(b, x.id, { permissions: [{ principal: owner.id, level: 100 }, { principal: b.id, level: 60 }, { principal: c.id, level: 10 }] }), x.id, before, 403, 3)
  })
  it('at 70: adds a principal at ≤ 70 and raises to 70', async () => {
    const x = await sharedWith(70, { permissions: [{ principal: b.id, level: 70 }, { principal: d.id, level: 10 }] })
    const r = await api.put(b, x.id, { permissions: [{ principal: owner.id, level: 100 }, { principal: b.id, level: 70 }, { principal: c.id, level: 70 }, { principal: d.id, level: 50 }] })
    expect(r.statusCode).toBe(200)
    expect(permsOf(r.json())).toEqual({ [owner.id]: 100, [b.id]: 70, [c.id]: 70, [d.id]: 50 })
  })
  it('at 70: granting above 70, lowering or removing → 403/3', async () => {
    const x = await sharedWith(70, { permissions: [{ principal: b.id, level: 70 }, { principal: d.id, level: 30 }] })
    const before = await api.row(x.id)
    await refused(await api.put(b, x.id, { permissions: [{ principal: owner.id, level: 100 }, { principal: b.id, level: 70 }, { principal: d.id, level: 30 }, { principal: c.id, level: 80 }] }), x.id, before, 403, 3)
    await refused(await api.put(b, x.id, { permissions: [{ principal: owner.id, level: 100 }, { principal: b.id, level: 70 }, { principal: d.id, level: 20 }] }), x.id, before, 403, 3)
    await refused(await api.put(b, x.id, { permissions: [{ principal: owner.id, level: 100 }, { principal: b.id, level: 70 }] }), x.id, before, 403, 3)
  })
  it('at 100: lowers and removes', async () => {
    const x = await sharedWith(100, { permissions: [{ principal: b.id, level: 100 }, { principal: d.id, level: 30 }] })
    const r = await api.put(b, x.id, { permissions: [{ principal: owner.id, level: 100 }, { principal: b.id, level: 100 }, { principal: c.id, level: 80 }] })
    expect(permsOf(r.json())).toEqual({ [owner.id]: 100, [b.id]: 100, [c.id]: 80 })
  })
})

describe('parent rules', () => {
  async function project() {
    const p = await api.create(owner, { title: 'P', category: 0, permissions: [{ principal: b.id, level: 30 }, { principal: c.id, level: 60 }] })
    const child = await api.create(owner, { title: 'child', parent: p.id })
    return { p, child }
  }

  it('a child inherits the parent list', async () => {
    const { child } = await project()
    expect(permsOf(child)).toEqual({ [owner.id]: 100, [b.id]: 30, [c.id]: 60 })
  })

  it('adding a principal not on the parent → 400/73', async () => {
    const { child } = await project()
    const before = await api.row(child.id)
    await refused(await api.put(owner, child.id, { permissions: [{ principal: owner.id, level: 100 }, { principal: b.id, level: 30 }, { principal: c.id, level: 60 }, { principal: d.id, level: 10 }] }), child.id, before, 400, 73)
    const r = await t.call('POST', '/api/item', { session: owner.session, body: { title: 'c2', parent: child.id, permissions: [{ principal: d.id, level: 10 }] } })
    expect(errorOf(r)).toEqual({ status: 400, code: 73 })
  })

  it('a level below the parent → 400/77', async () => {
    const { child } = await project()
    const before = await api.row(child.id)
    await refused(await api.put(owner, child.id, { permissions: [{ principal: owner.id, level: 100 }, { principal: b.id, level: 20 }, { principal: c.id, level: 60 }] }), child.id, before, 400, 77)
  })

  it('removing a principal of the parent → 400/74', async () => {
    const { child } = await project()
    const before = await api.row(child.id)
    await refused(await api.put(owner, child.id, { permissions: [{ principal: owner.id, level: 100 }, { principal: c.id, level: 60 }] }), child.id, before, 400, 74)
  })

  it('a higher level than the parent is fine', async () => {
    const { child } = await project()
    const r = await api.put(owner, child.id, { permissions: [{ principal: owner.id, level: 100 }, { principal: b.id, level: 50 }, { principal: c.id, level: 60 }] })
    expect(permsOf(r.json())).toEqual({ [owner.id]: 100, [b.id]: 50, [c.id]: 60 })
  })

  it('parent changes flow down: new principals and raised floors; removed principals go', async () => {
    const { p, child } = await project()
    const grand = await api.create(owner, { title: 'grand', parent: child.id })
    await api.put(owner, child.id, { permissions: [{ principal: owner.id, level: 100 }, { principal: b.id, level: 50 }, { principal: c.id, level: 60 }] })
    const r = await api.put(owner, p.id, { permissions: [{ principal: owner.id, level: 100 }, { principal: b.id, level: 40 }, { principal: d.id, level: 20 }] })
    expect(r.statusCode).toBe(200)
    expect(permsOf((await api.get(owner, child.id)).json())).toEqual({ [owner.id]: 100, [b.id]: 50, [d.id]: 20 })
    // grand got b at 50 when the child was raised (floors flow down) and keeps it
    expect(permsOf((await api.get(owner, grand.id)).json())).toEqual({ [owner.id]: 100, [b.id]: 50, [d.id]: 20 })
    expect(errorOf(await api.get(c, grand.id))).toEqual({ status: 404, code: 1 })
    expect((await api.get(d, grand.id)).json().permission).toBe(20)
  })

  it('cascadeAcl=1 makes every descendant equal to the parent', async () => {
    const { p, child } = await project()
    await api.put(owner, child.id, { permissions: [{ principal: owner.id, level: 100 }, { principal: b.id, level: 80 }, { principal: c.id, level: 60 }] })
    const r = await api.put(owner, p.id, { permissions: [{ principal: owner.id, level: 100 }, { principal: b.id, level: 30 }, { principal: c.id, level: 60 }], cascadeAcl: 1 })
    expect(r.statusCode).toBe(200)
    expect(permsOf((await api.get(owner, child.id)).json())).toEqual({ [owner.id]: 100, [b.id]: 30, [c.id]: 60 })
  })

  it('creating under a parent needs 30 there (403/3); an unknown parent → 404/1', async () => {
    const p = await api.create(owner, { title: 'P', category: 0, permissions: [{ principal: b.id, level: 20 }] })
    expect(errorOf(await t.call('POST', '/api/item', { session: b.session, body: { title: 'c', parent: p.id } }))).toEqual({ status: 403, code: 3 })
    expect(errorOf(await t.call('POST', '/api/item', { session: d.session, body: { title: 'c', parent: p.id } }))).toEqual({ status: 404, code: 1 })
    expect(errorOf(await t.call('POST', '/api/item', { session: b.session, body: { title: 'c', parentGuid: 'no-such-guid' } }))).toEqual({ status: 404, code: 1 })
    await t.db.query('UPDATE item_permissions SET level = 30 WHERE item_id = $1 AND principal = $2', [p.id, String(b.id)])
    const child = (await t.call('POST', '/api/item', { session: b.session, body: { title: 'c', parent: p.id } })).json()
    expect(child).toMatchObject({ user_id: b.id, permission: 100, parent: p.id })
    expect(permsOf(child)).toEqual({ [owner.id]: 100, [b.id]: 100 })
  })
})

describe('assignee and participants', () => {
  it('under a parent they must already see it → 400/75', async () => {
    const p = await api.create(owner, { title: 'P', category: 0, permissions: [{ principal: b.id, level: 10 }] })
    const child = await api.create(owner, { title: 'c', parent: p.id })
    const before = await api.row(child.id)
    await refused(await api.put(owner, child.id, { assignee: d.id }), child.id, before, 400, 75)
    await refused(await api.put(owner, child.id, { participants: [b.id, d.id] }), child.id, before, 400, 75)
    const ok = await api.put(owner, child.id, { assignee: b.id, participants: [b.id] })
    expect(ok.json()).toMatchObject({ assignee: b.id, participants: [b.id] })
  })

  it('on a top-level item naming them shares it at 50 when they had less', async () => {
    const x = await api.create(owner, { title: 'top', permissions: [{ principal: b.id, level: 10 }, { principal: c.id, level: 80 }], assignee: b.id })
    expect(permsOf(x)).toEqual({ [owner.id]: 100, [b.id]: 50, [c.id]: 80 })
    const r = await api.put(owner, x.id, { participants: `${c.id},${d.id}` })
    expect(permsOf(r.json())).toEqual({ [owner.id]: 100, [b.id]: 50, [c.id]: 80, [d.id]: 50 })
    expect((await api.get(d, x.id)).json().unread).toBe(3)
  })

  it("removing the assignee's or a participant's permission → 400/78", async () => {
    const x = await api.create(owner, { title: 'top', assignee: b.id, participants: [c.id] })
    const before = await api.row(x.id)
    await refused(await api.put(owner, x.id, { permissions: [{ principal: owner.id, level: 100 }, { principal: c.id, level: 50 }] }), x.id, before, 400, 78)
    await refused(await api.put(owner, x.id, { permissions: [{ principal: owner.id, level: 100 }, { principal: b.id, level: 50 }] }), x.id, before, 400, 78)
    const r = await api.put(owner, x.id, { permissions: [{ principal: owner.id, level: 100 }, { principal: b.id, level: 20 }, { principal: c.id, level: 10 }] })
    expect(r.statusCode).toBe(200)
  })
})
