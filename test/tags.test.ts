// Tags (contract §9): list with `shared`, add (level 60), rename and delete across the
// caller's items in one transaction, visible in the items' `tags` and in the delta feed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from './helpers/app.js'
import { createItem, delta, expectError, makeTeam, tick, visibleItems, type TestUser } from './helpers/teams.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ env: { DELTA_MARGIN_MS: '0' } })
})
afterAll(async () => t?.close())

const getItem = async (u: TestUser, id: number) => {
  const r = await t.call('GET', `/api/item/${id}`, { session: u.session })
  expect(r.statusCode, r.body).toBe(200)
  return r.json()
}
const tags = async (u: TestUser) => {
  const r = await t.call('GET', '/api/tag', { session: u.session })
  expect(r.statusCode, r.body).toBe(200)
  return r.json() as { id: number; name: string; shared: boolean }[]
}

describe('tags of a user without a team', () => {
  it('POST /tag adds a tag to an item; GET /tag lists it; the item shows it', async () => {
    const u = await t.signup()
    const item = await createItem(t, u, { title: 'Plan' })
    const r = await t.call('POST', '/api/tag', { session: u.session, form: { name: 'Work', item_id: item.id } })
    expect(r.statusCode, r.body).toBe(200)
    const tag = r.json()
    expect(tag).toEqual({ id: expect.any(Number), name: 'Work', shared: false })
    const after = await getItem(u, item.id)
    expect(after.tags).toEqual(['Work'])
    expect(after.version).toBe(item.version + 1)
    expect(await tags(u)).toEqual([tag])
    // the same name again, any case: nothing changes
    const again = await t.call('POST', '/api/tag', { session: u.session, form: { name: 'work', item_id: item.guid } })
    expect(again.json()).toEqual(tag)
    expect((await getItem(u, item.id)).version).toBe(item.version + 1)
    // the change is in the item's history (read from the table: GET /item/history is another module's)
    const h = await t.db.query('SELECT value FROM item_history WHERE item_id = $1 AND property_name = $2', [item.id, 'tag'])
    expect(h.rows.map((x) => x.value)).toEqual(['Work'])
    // a tag added by item update shares the row
    const other = await createItem(t, u, { title: 'Other', tags: 'work,home' })
    const list = await tags(u)
    expect(list.map((x) => x.name)).toEqual(['home', 'Work'])
    expect(list.find((x) => x.name === 'Work')!.id).toBe(tag.id)
    expect((await getItem(u, other.id)).tags).toEqual(['home', 'Work'])
  })

  it('POST /tag codes: 400/4 name or item_id missing, 404/1 unknown or invisible item, 403/3 below level 60, 400/25 too long', async () => {
    const u = await t.signup()
    const v = await t.signup()
    const item = await createItem(t, u, { title: 'Mine', permissions: [{ principal: u.id, level: 100 }, { principal: v.id, level: 50 }] })
    expectError(await t.call('POST', '/api/tag', { session: u.session, form: { item_id: item.id } }), 400, 4)
    expectError(await t.call('POST', '/api/tag', { session: u.session, form: { name: '  ', item_id: item.id } }), 400, 4)
    expectError(await t.call('POST', '/api/tag', { session: u.session, form: { name: 'x' } }), 400, 4)
    expectError(await t.call('POST', '/api/tag', { session: u.session, form: { name: 'x', item_id: 99999999 } }), 404, 1)
    expectError(await t.call('POST', '/api/tag', { session: u.session, form: { name: 'x'.repeat(101), item_id: item.id } }), 400, 25)
    const stranger = await t.signup()
    expectError(await t.call('POST', '/api/tag', { session: stranger.session, form: { name: 'x', item_id: item.id } }), 404, 1)
    expectError(await t.call('POST', '/api/tag', { session: v.session, form: { name: 'x', item_id: item.id } }), 403, 3)
    expect((await getItem(u, item.id)).tags).toBe(null)
    expectError(await t.call('GET', '/api/tag'), 401, 7)
  })

  it('shared is true for a tag on a shared item', async () => {
    const u = await t.signup()
    const v = await t.signup()
    const mine = await createItem(t, u, { title: 'private' })
    const shared = await createItem(t, u, { title: 'shared', permissions: [{ principal: v.id, level: 60 }] })
    await t.call('POST', '/api/tag', { session: u.session, form: { name: 'solo', item_id: mine.id } })
    const r = await t.call('POST', '/api/tag', { session: u.session, form: { name: 'both', item_id: shared.id } })
    expect(r.json()).toMatchObject({ name: 'both', shared: true })
    expect((await tags(u)).map((x) => [x.name, x.shared])).toEqual([
      ['both', true],
      ['solo', false],
    ])
    // v sees only the tag of the item shared with them
    expect((await tags(v)).map((x) => [x.name, x.shared])).toEqual([['both', true]])
    // v (level 60) may tag it too; the tag row is the item's space
    const vt = await t.call('POST', '/api/tag', { session: v.session, form: { name: 'from-v', item_id: shared.id } })
    expect(vt.statusCode, vt.body).toBe(200)
    expect((await getItem(u, shared.id)).tags).toEqual(['both', 'from-v'])
  })
})

describe('rename and delete', () => {
  it('PUT /tag/{id} renames on every item the caller sees, keeping the id; the delta marks those items', async () => {
    const { owner, members, everyone } = await makeTeam(t, 1)
    const m = members[0]!
    const a = await createItem(t, owner, { title: 'A', tags: 'draft', permissions: [{ principal: everyone, level: 60 }] })
    const b = await createItem(t, owner, { title: 'B', tags: 'draft' })
    const c = await createItem(t, owner, { title: 'C', permissions: [{ principal: everyone, level: 60 }] })
    const tag = (await tags(owner)).find((x) => x.name === 'draft')!
    expect(tag.shared).toBe(true)
    await tick()
    const cursor = (await visibleItems(t, m)).cursor
    const ownerCursor = (await visibleItems(t, owner)).cursor
    await tick()

    const r = await t.call('PUT', `/api/tag/${tag.id}`, { session: owner.session, form: { name: 'final' } })
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json()).toEqual({ id: tag.id, name: 'final', shared: true })
    expect((await getItem(owner, a.id)).tags).toEqual(['final'])
    expect((await getItem(owner, b.id)).tags).toEqual(['final'])
    expect((await getItem(m, a.id)).tags).toEqual(['final'])
    const d = await delta(t, m, cursor)
    expect(d.get(a.id)).toBe(true)
    expect(d.get(c.id)).toBe(false) // untagged: unchanged
    const od = await delta(t, owner, ownerCursor)
    expect([od.get(a.id), od.get(b.id), od.get(c.id)]).toEqual([true, true, false])
  })

  it("rename writes each item's own tag list to its history and marks the items unread for their owner", async () => {
    const { owner, members, everyone } = await makeTeam(t, 1)
    const m = members[0]!
    const x = await createItem(t, owner, { title: 'X', tags: 'draft', permissions: [{ principal: everyone, level: 60 }] })
    const y = await createItem(t, owner, { title: 'Y', tags: 'draft,home', permissions: [{ principal: everyone, level: 60 }] })
    const tag = (await tags(m)).find((e) => e.name === 'draft')!
    const r = await t.call('PUT', `/api/tag/${tag.id}`, { session: m.session, form: { name: 'final' } })
    expect(r.statusCode, r.body).toBe(200)
    const tagHistory = async (id: number) => {
      const h = await t.call('GET', '/api/item/history', { session: owner.session, query: { id } })
      expect(h.statusCode, h.body).toBe(200)
      return (h.json() as any[]).filter((e) => e.property_name === 'tag' && e.user_id === m.id).map((e) => e.value)
    }
    expect(await tagHistory(x.id)).toEqual(['final'])
    expect(await tagHistory(y.id)).toEqual(['final,home'])
    // 2: modified (items.ts UNREAD.MODIFIED); the one who renamed is not marked
    expect((await getItem(owner, x.id)).unread).toBe(2)
    expect((await getItem(owner, y.id)).unread).toBe(2)
    expect((await getItem(m, x.id)).unread ?? 0).toBe(0)
  })

  it('rename: 403/3 if the tag is on an item the caller may not modify (nothing changes), 404/1 unknown or unseen tag, 400/4 no name', async () => {
    const { owner, members, everyone } = await makeTeam(t, 1)
    const m = members[0]!
    const a = await createItem(t, owner, { title: 'A', tags: 'ro', permissions: [{ principal: everyone, level: 20 }] })
    await createItem(t, m, { title: 'M', tags: 'ro' })
    const tag = (await tags(m)).find((x) => x.name === 'ro')!
    expectError(await t.call('PUT', `/api/tag/${tag.id}`, { session: m.session, form: { name: 'rw' } }), 403, 3)
    expectError(await t.call('DELETE', `/api/tag/${tag.id}`, { session: m.session }), 403, 3)
    expect((await getItem(m, a.id)).tags).toEqual(['ro'])
    expectError(await t.call('PUT', `/api/tag/${tag.id}`, { session: m.session, form: {} }), 400, 4)
    expectError(await t.call('PUT', '/api/tag/99999999', { session: m.session, form: { name: 'x' } }), 404, 1)
    expectError(await t.call('DELETE', '/api/tag/99999999', { session: m.session }), 404, 1)
    expectError(await t.call('PUT', '/api/tag/abc', { session: m.session, form: { name: 'x' } }), 400, 5)
    // a tag only on items the caller cannot see does not exist for them
    const stranger = await t.signup()
    expectError(await t.call('PUT', `/api/tag/${tag.id}`, { session: stranger.session, form: { name: 'x' } }), 404, 1)
    expectError(await t.call('DELETE', `/api/tag/${tag.id}`, { session: stranger.session }), 404, 1)
  })

  it("rename never touches items the caller cannot see: their items move to a row with the new name", async () => {
    const { owner, members } = await makeTeam(t, 1)
    const m = members[0]!
    const mine = await createItem(t, m, { title: 'mine', tags: 'Shared-name' })
    const theirs = await createItem(t, owner, { title: 'private', tags: 'shared-name' })
    const tag = (await tags(m))[0]!
    expect((await tags(owner))[0]!.id).toBe(tag.id) // one row for the team
    const r = await t.call('PUT', `/api/tag/${tag.id}`, { session: m.session, form: { name: 'Renamed' } })
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json().id).not.toBe(tag.id)
    expect((await getItem(m, mine.id)).tags).toEqual(['Renamed'])
    expect((await getItem(owner, theirs.id)).tags).toEqual(['Shared-name'])
    expect((await tags(owner)).map((x) => [x.id, x.name])).toEqual([[tag.id, 'Shared-name']])
  })

  it('rename onto an existing name merges the two tags', async () => {
    const u = await t.signup()
    const a = await createItem(t, u, { title: 'a', tags: 'one' })
    const b = await createItem(t, u, { title: 'b', tags: 'two' })
    const both = await createItem(t, u, { title: 'ab', tags: 'one,two' })
    const list = await tags(u)
    const one = list.find((x) => x.name === 'one')!
    const two = list.find((x) => x.name === 'two')!
    const r = await t.call('PUT', `/api/tag/${one.id}`, { session: u.session, form: { name: 'TWO' } })
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json()).toEqual({ id: two.id, name: 'two', shared: false })
    expect((await tags(u)).map((x) => x.name)).toEqual(['two'])
    for (const i of [a, b, both]) expect((await getItem(u, i.id)).tags).toEqual(['two'])
  })

  it('DELETE /tag/{id} removes it from every item the caller sees; the delta marks them', async () => {
    const u = await t.signup()
    const a = await createItem(t, u, { title: 'a', tags: 'gone,kept' })
    const b = await createItem(t, u, { title: 'b', tags: 'gone' })
    const c = await createItem(t, u, { title: 'c', tags: 'kept' })
    const gone = (await tags(u)).find((x) => x.name === 'gone')!
    await tick()
    const cursor = (await visibleItems(t, u)).cursor
    await tick()
    const r = await t.call('DELETE', `/api/tag/${gone.id}`, { session: u.session })
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json()).toEqual({ response_status: 0 })
    expect((await getItem(u, a.id)).tags).toEqual(['kept'])
    expect((await getItem(u, b.id)).tags).toBe(null) // no tags: null (§8.1)
    expect((await tags(u)).map((x) => x.name)).toEqual(['kept'])
    const d = await delta(t, u, cursor)
    expect([d.get(a.id), d.get(b.id), d.get(c.id)]).toEqual([true, true, false])
    expectError(await t.call('DELETE', `/api/tag/${gone.id}`, { session: u.session }), 404, 1)
  })
})
