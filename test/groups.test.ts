// Groups (contract §6): listing, administration rights, the Everyone group's invariants, and
// group membership as a permission principal (GET /item and the delta feed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from './helpers/app.js'
import { createItem, delta, expectError, joinTeam, makeTeam, tick, visibleItems, type TestUser as User } from './helpers/teams.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ env: { DELTA_MARGIN_MS: '0' } })
})
afterAll(async () => t?.close())



const teamWith = (members: number) => makeTeam(t, members)

async function makeAdmin(u: User) {
  // no route sets business levels yet: an administrator is made directly in the database
  await t.db.query('UPDATE users SET business_level = 10 WHERE id = $1', [u.id])
}

describe('groups', () => {
  it('GET /group without a team is empty', async () => {
    const u = await t.signup()
    const r = await t.call('GET', '/api/group', { session: u.session })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toEqual([])
  })

  it('Everyone always holds exactly the members: creation, joins, removals', async () => {
    const { owner, members, everyone } = await teamWith(2)
    const list = (await t.call('GET', '/api/group', { session: members[0]!.session })).json()
    expect(list).toEqual([{ id: everyone, name: 'Everyone', code: 'EVERYONE', color: '#FFFFFF', members: [owner.id, ...members.map((m) => m.id)].sort((a, b) => a - b), type: 1 }])
    await t.call('DELETE', '/api/team/member', { session: owner.session, query: { id: members[0]!.id } })
    expect((await t.call('GET', '/api/group', { session: owner.session })).json()[0].members).toEqual([owner.id, members[1]!.id].sort((a, b) => a - b))
    // the removed member sees no group of the team any more
    expect((await t.call('GET', '/api/group', { session: members[0]!.session })).json()).toEqual([])
  })

  it('an administrator creates, updates, fills and deletes a group', async () => {
    const { owner, members } = await teamWith(2)
    const c = await t.call('POST', '/api/group', { session: owner.session, form: { name: 'Design', code: 'DSG', color: '#ff0000' } })
    expect(c.statusCode, c.body).toBe(200)
    const g = c.json()
    expect(g).toEqual({ id: expect.any(String), name: 'Design', code: 'DSG', color: '#ff0000', members: [], type: 0 })

    const add = await t.call('POST', `/api/group/${g.id}/contact/${members[0]!.id}`, { session: owner.session })
    expect(add.statusCode, add.body).toBe(200)
    expect(add.json().members).toEqual([members[0]!.id])
    // the query-string form
    const add2 = await t.call('POST', `/api/group/${g.id}/contact`, { session: owner.session, query: { id: members[1]!.id } })
    expect(add2.json().members).toEqual([members[0]!.id, members[1]!.id].sort((a, b) => a - b))
    const rm = await t.call('DELETE', `/api/group/${g.id}/contact/${members[1]!.id}`, { session: owner.session })
    expect(rm.statusCode).toBe(200)
    expect(rm.json().members).toEqual([members[0]!.id])

    const u = await t.call('PUT', '/api/group', { session: owner.session, form: { id: g.id, name: 'Designers', color: '#00ff00' } })
    expect(u.statusCode, u.body).toBe(200)
    expect(u.json()).toMatchObject({ id: g.id, name: 'Designers', code: 'DSG', color: '#00ff00' })

    const list = (await t.call('GET', '/api/group', { session: members[1]!.session })).json()
    expect(list.map((x: any) => x.name)).toEqual(['Everyone', 'Designers'])

    const d = await t.call('DELETE', '/api/group', { session: owner.session, query: { id: g.id } })
    expect(d.statusCode, d.body).toBe(200)
    expect(d.json()).toEqual({ response_status: 0 })
    expect((await t.call('GET', '/api/group', { session: owner.session })).json().length).toBe(1)
    // the members are still in the team
    expect((await t.call('GET', '/api/team', { session: owner.session })).json().length).toBe(3)
    expectError(await t.call('DELETE', '/api/group', { session: owner.session, query: { id: g.id } }), 404, 1)
  })

  it('a non-administrator managing groups → 403/3; an administrator (10) may', async () => {
    const { owner, members, everyone } = await teamWith(2)
    const g = (await t.call('POST', '/api/group', { session: owner.session, form: { name: 'Ops' } })).json()
    const m = members[0]!
    expectError(await t.call('POST', '/api/group', { session: m.session, form: { name: 'Mine' } }), 403, 3)
    expectError(await t.call('PUT', '/api/group', { session: m.session, form: { id: g.id, name: 'X' } }), 403, 3)
    expectError(await t.call('DELETE', '/api/group', { session: m.session, query: { id: g.id } }), 403, 3)
    expectError(await t.call('POST', `/api/group/${g.id}/contact/${m.id}`, { session: m.session }), 403, 3)
    expectError(await t.call('DELETE', `/api/group/${g.id}/contact/${m.id}`, { session: m.session }), 403, 3)
    expectError(await t.call('DELETE', '/api/group', { session: m.session, query: { id: everyone } }), 403, 3)
    const loner = await t.signup()
    expectError(await t.call('POST', '/api/group', { session: loner.session, form: { name: 'Solo' } }), 403, 3)
    await makeAdmin(m)
    const r = await t.call('POST', `/api/group/${g.id}/contact/${members[1]!.id}`, { session: m.session })
    expect(r.statusCode, r.body).toBe(200)
  })

  it('codes: Everyone cannot be deleted (403/17) nor hand-edited; 404/1 unknown group or non-member; 400/4 missing fields', async () => {
    const { owner, members, everyone } = await teamWith(1)
    expectError(await t.call('DELETE', '/api/group', { session: owner.session, query: { id: everyone } }), 403, 17)
    expectError(await t.call('DELETE', `/api/group/${everyone}/contact/${members[0]!.id}`, { session: owner.session }), 403, 17)
    expectError(await t.call('PUT', '/api/group', { session: owner.session, form: { id: everyone, code: 'OTHER' } }), 403, 17)
    const renamed = await t.call('PUT', '/api/group', { session: owner.session, form: { id: everyone, name: 'All of us' } })
    expect(renamed.json()).toMatchObject({ name: 'All of us', code: 'EVERYONE', type: 1 })

    const g = (await t.call('POST', '/api/group', { session: owner.session, form: { name: 'G' } })).json()
    const outsider = await t.signup()
    expectError(await t.call('POST', `/api/group/${g.id}/contact/${outsider.id}`, { session: owner.session }), 404, 1)
    expectError(await t.call('POST', `/api/group/not-a-group/contact/${members[0]!.id}`, { session: owner.session }), 404, 1)
    expectError(await t.call('PUT', '/api/group', { session: owner.session, form: { id: 'nope', name: 'x' } }), 404, 1)
    expectError(await t.call('DELETE', '/api/group', { session: owner.session }), 400, 4)
    expectError(await t.call('POST', '/api/group', { session: owner.session, form: {} }), 400, 4)
    expectError(await t.call('POST', `/api/group/${g.id}/contact/abc`, { session: owner.session }), 400, 5)
    // another team's group is unknown here
    const other = await teamWith(0)
    expectError(await t.call('DELETE', '/api/group', { session: other.owner.session, query: { id: g.id } }), 404, 1)
  })
})

describe('a group as a permission principal', () => {
  it("joining or leaving a group changes the member's GET /item at once, and their delta marks it", async () => {
    const { owner, members } = await makeTeam(t, 2)
    const [m, other] = members as [User, User]
    const g = (await t.call('POST', '/api/group', { session: owner.session, form: { name: 'Inner' } })).json()
    const doc = await createItem(t, owner, { title: 'For the group', permissions: [{ principal: g.id, level: 20 }] })
    const own = await createItem(t, m, { title: 'My own' })
    expect((await visibleItems(t, m)).ids).toEqual([own.id])
    await tick()
    const cursor = (await visibleItems(t, m)).cursor
    const ownerCursor = (await visibleItems(t, owner)).cursor
    await tick()

    expect((await t.call('POST', `/api/group/${g.id}/contact/${m.id}`, { session: owner.session })).statusCode).toBe(200)
    const now = await visibleItems(t, m)
    expect(now.ids).toEqual([doc.id, own.id].sort((a, b) => a - b))
    expect(now.items.find((i) => i.id === doc.id).permission).toBe(20)
    const d = await delta(t, m, cursor)
    expect(d.get(doc.id)).toBe(true)
    // the owner's view did not change; a member outside the group still does not see it
    expect((await delta(t, owner, ownerCursor)).get(doc.id)).toBe(false)
    expect((await visibleItems(t, other)).ids).not.toContain(doc.id)
    expect((await t.call('GET', `/api/item/${doc.id}`, { session: m.session })).statusCode).toBe(200)

    await tick()
    const cursor2 = now.cursor
    expect((await t.call('DELETE', `/api/group/${g.id}/contact/${m.id}`, { session: owner.session })).statusCode).toBe(200)
    expect((await visibleItems(t, m)).ids).toEqual([own.id])
    const d2 = await delta(t, m, cursor2)
    expect(d2.has(doc.id)).toBe(false)
    expect(d2.get(own.id)).toBe(true)
    expectError(await t.call('GET', `/api/item/${doc.id}`, { session: m.session }), 404, 1)
  })

  it("deleting a group takes its grants away from its members and off the items' lists", async () => {
    const { owner, members } = await makeTeam(t, 1)
    const m = members[0]!
    const g = (await t.call('POST', '/api/group', { session: owner.session, form: { name: 'Temp' } })).json()
    await t.call('POST', `/api/group/${g.id}/contact/${m.id}`, { session: owner.session })
    const doc = await createItem(t, owner, { title: 'Doc', permissions: [{ principal: g.id, level: 60 }] })
    expect((await visibleItems(t, m)).ids).toEqual([doc.id])
    await tick()
    const ownerCursor = (await visibleItems(t, owner)).cursor
    await tick()
    expect((await t.call('DELETE', '/api/group', { session: owner.session, query: { id: g.id } })).statusCode).toBe(200)
    expect((await visibleItems(t, m)).ids).toEqual([])
    const view = (await t.call('GET', `/api/item/${doc.id}`, { session: owner.session })).json()
    expect(view.permissions).toEqual([{ principal: String(owner.id), level: 100 }])
    expect(view.shared).toBe(false)
    expect((await delta(t, owner, ownerCursor)).get(doc.id)).toBe(true)
  })

  it('the Everyone group gives a newly joined member the team items', async () => {
    const { owner, everyone } = await makeTeam(t)
    const doc = await createItem(t, owner, { title: 'All hands', permissions: [{ principal: everyone, level: 10 }] })
    const m = await joinTeam(t, owner)
    expect((await visibleItems(t, m)).ids).toEqual([doc.id])
  })
})
