// Groups (contract §6): listing, administration rights, the Everyone group's invariants, and
// group membership as a permission principal (GET /item and the delta feed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from './helpers/app.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(async () => t?.close())

type User = Awaited<ReturnType<TestApp['signup']>>
let n = 0

function expectError(r: { statusCode: number; json: () => any; body: string }, status: number, code: number) {
  expect(r.statusCode, r.body).toBe(status)
  expect(r.json().response_status).toBe(code)
}

/** an owner and `members` members who joined through emailed invitations */
async function teamWith(members: number): Promise<{ owner: User; members: User[]; everyone: string }> {
  const owner = await t.signup()
  const r = await t.call('POST', '/api/business', { session: owner.session, form: { title: 'T', domainName: `g-${process.pid}-${++n}` } })
  expect(r.statusCode, r.body).toBe(200)
  const out: User[] = []
  for (let i = 0; i < members; i++) {
    const u = await t.signup()
    const since = t.smtp!.mails.length
    expect((await t.call('POST', '/api/team/member', { session: owner.session, form: { email: u.email } })).statusCode).toBe(200)
    const token = t.smtp!.tokenIn(await t.smtp!.waitFor(u.email, since))
    expect((await t.call('POST', '/api/team/member/accept', { session: u.session, form: { token } })).statusCode).toBe(200)
    out.push(u)
  }
  const groups = (await t.call('GET', '/api/group', { session: owner.session })).json()
  return { owner, members: out, everyone: groups[0].id }
}

async function makeAdmin(u: User) {
  // no route sets business levels yet: an administrator is made directly in the database
  await t.db.pool.query('UPDATE users SET business_level = 10 WHERE id = $1', [u.id])
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
