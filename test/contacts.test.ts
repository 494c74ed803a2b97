// Contacts (contract §7): every subscription state, request/approve/remove, invitations by
// email, team membership through contacts, and a search that cannot list the users.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_KEY, createTestApp, type TestApp } from './helpers/app.js'
import { expectError, type TestUser } from './helpers/teams.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(async () => t?.close())

type User = TestUser
let n = 0


const contacts = async (u: User, query: Record<string, unknown> = {}) => (await t.call('GET', '/api/contact', { session: u.session, query })).json() as any[]
const subs = async (u: User) => Object.fromEntries((await contacts(u)).map((c) => [c.id, c.subscription]))

async function teamOf(owner: User) {
  const r = await t.call('POST', '/api/business', { session: owner.session, form: { title: 'C', domainName: `c-${process.pid}-${++n}` } })
  expect(r.statusCode, r.body).toBe(200)
}

describe('contacts', () => {
  it('request (TO / FROM), approve (BOTH), remove on both sides', async () => {
    const a = await t.signup()
    const b = await t.signup()
    const r = await t.call('POST', '/api/contact', { session: a.session, form: { login: b.login.toUpperCase() } })
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json()).toMatchObject({ id: b.id, login: b.login, subscription: 'TO', email: null })
    expect(await subs(a)).toEqual({ [b.id]: 'TO' })
    expect(await subs(b)).toEqual({ [a.id]: 'FROM' })
    expectError(await t.call('POST', '/api/contact', { session: a.session, form: { id: b.id } }), 412, 15)

    const ok = await t.call('GET', '/api/contact/approve', { session: b.session, query: { id: a.id } })
    expect(ok.statusCode, ok.body).toBe(200)
    const c = ok.json()
    expect(c).toEqual({
      id: a.id,
      login: a.login,
      firstName: `First${a.login}`,
      lastName: 'Last',
      name: `First${a.login} Last`,
      fullName: `First${a.login} Last`,
      email: a.email,
      emailConfirmed: null,
      accountType: 'PERSONAL_FREE',
      level: 0,
      businessId: null,
      businessLevel: null,
      isOnline: true,
      pictureHash: expect.any(String),
      pictureSource: 2,
      subscription: 'BOTH',
    })
    expect(await subs(a)).toEqual({ [b.id]: 'BOTH' })
    expectError(await t.call('POST', '/api/contact', { session: b.session, form: { email: a.email } }), 412, 15)

    const d = await t.call('DELETE', '/api/contact', { session: b.session, query: { id: a.id } })
    expect(d.statusCode, d.body).toBe(200)
    expect(d.json()).toEqual({ response_status: 0 })
    expect(await contacts(a)).toEqual([])
    expect(await contacts(b)).toEqual([])
    expectError(await t.call('DELETE', '/api/contact', { session: b.session, query: { id: a.id } }), 404, 1)
  })

  it('asking back someone who asked me connects us; approve codes', async () => {
    const a = await t.signup()
    const b = await t.signup()
    await t.call('POST', '/api/contact', { session: a.session, form: { id: b.id } })
    // the requester cannot approve its own request
    expectError(await t.call('GET', '/api/contact/approve', { session: a.session, query: { id: b.id } }), 404, 1)
    const r = await t.call('POST', '/api/contact', { session: b.session, form: { id: a.id } })
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json().subscription).toBe('BOTH')
    expect(await subs(a)).toEqual({ [b.id]: 'BOTH' })
    expectError(await t.call('GET', '/api/contact/approve', { session: a.session }), 400, 4)
    expectError(await t.call('GET', '/api/contact/approve', { session: a.session, query: { id: 'x' } }), 400, 5)
  })

  it('codes: self → 400/14, unknown → 404/1, nothing given → 400/104', async () => {
    const a = await t.signup()
    expectError(await t.call('POST', '/api/contact', { session: a.session, form: { id: a.id } }), 400, 14)
    expectError(await t.call('POST', '/api/contact', { session: a.session, form: { login: 'no-such-login-x' } }), 404, 1)
    expectError(await t.call('POST', '/api/contact', { session: a.session, form: { email: 'nobody@nowhere.example' } }), 404, 1)
    expectError(await t.call('POST', '/api/contact', { session: a.session, form: { id: 99999999 } }), 404, 1)
    expectError(await t.call('POST', '/api/contact', { session: a.session, form: {} }), 400, 104)
    expectError(await t.call('DELETE', '/api/contact', { session: a.session }), 400, 4)
  })

  it('POST /contact names the user by id, else login, else email (docs/contacts.md)', async () => {
    const [a, byId, byLogin, byEmail] = [await t.signup(), await t.signup(), await t.signup(), await t.signup()]
    const r1 = await t.call('POST', '/api/contact', { session: a.session, form: { id: byId.id, login: byLogin.login, email: byEmail.email } })
    expect(r1.statusCode, r1.body).toBe(200)
    expect(r1.json()).toMatchObject({ id: byId.id, subscription: 'TO' })
    const r2 = await t.call('POST', '/api/contact', { session: a.session, form: { login: byLogin.login, email: byEmail.email } })
    expect(r2.statusCode, r2.body).toBe(200)
    expect(r2.json()).toMatchObject({ id: byLogin.id, subscription: 'TO' })
    expect(await subs(a)).toEqual({ [byId.id]: 'TO', [byLogin.id]: 'TO' })
  })

  it('includeSelf=1 adds me as SELF; team mates are BIS, invitations to my team BIS_WAIT', async () => {
    const owner = await t.signup()
    await teamOf(owner)
    expect((await contacts(owner, { includeSelf: 1 })).map((c) => [c.id, c.subscription])).toEqual([[owner.id, 'SELF']])
    expect((await contacts(owner, { includeSelf: 1 }))[0].email).toBe(owner.email)

    const mate = await t.signup()
    const since = t.smtp!.mails.length
    await t.call('POST', '/api/team/member', { session: owner.session, form: { email: mate.email } })
    expect(await subs(owner)).toEqual({ [mate.id]: 'BIS_WAIT' })
    await t.call('POST', '/api/team/member/accept', { session: mate.session, form: { token: t.smtp!.tokenIn(await t.smtp!.waitFor(mate.email, since)) } })
    expect(await subs(owner)).toEqual({ [mate.id]: 'BIS' })
    expect(await subs(mate)).toEqual({ [owner.id]: 'BIS' })
    // a team mate is a contact already
    expectError(await t.call('POST', '/api/contact', { session: mate.session, form: { id: owner.id } }), 412, 15)
  })

  it('search: prefix of login or name (2+ chars), exact email, at most 50, never a list of everyone', async () => {
    const a = await t.signup()
    const tag = `zq${process.pid}x`
    const found: User[] = []
    for (let i = 0; i < 3; i++) found.push(await t.signup(`${tag}${i}`, { firstName: `Zorro${i}`, lastName: 'Quill' }))
    const q = async (query: string | undefined) => {
      const r = await t.call('GET', '/api/contact/search', { session: a.session, query: query === undefined ? {} : { query } })
      expect(r.statusCode, r.body).toBe(200)
      return r.json() as any[]
    }
    expect((await q(tag)).map((c) => c.login).sort()).toEqual(found.map((u) => u.login).sort())
    expect((await q(tag.toUpperCase())).length).toBe(3)
    expect((await q('zorro1')).map((c) => c.id)).toEqual([found[1]!.id])
    expect((await q('Zorro2 Qu')).map((c) => c.id)).toEqual([found[2]!.id])
    // not a substring search
    expect(await q(tag.slice(1))).toEqual([])
    // wildcards are literal
    expect(await q('%%')).toEqual([])
    expect(await q('__')).toEqual([])
    // too short or blank: nothing
    expect(await q('z')).toEqual([])
    expect(await q('  ')).toEqual([])
    expect(await q(undefined)).toEqual([])
    // exact email, shown because the caller typed it; a prefix of an email finds nothing
    const byEmail = await q(found[0]!.email.toUpperCase())
    expect(byEmail.map((c) => [c.id, c.email])).toEqual([[found[0]!.id, found[0]!.email]])
    expect(await q(found[0]!.email.slice(0, -3))).toEqual([])
    // unconnected results carry no email and no subscription
    expect((await q(tag))[0]).toMatchObject({ email: null, subscription: null })
    // the caller is never in the results
    expect(await q(a.login)).toEqual([])
  })

  it('search returns at most 50', async () => {
    const a = await t.signup()
    const tag = `many${process.pid}`
    await t.db.query(
      `INSERT INTO users (login, login_key, email, email_key, password_hash, picture_hash)
       SELECT $1 || g, $1 || g, $1 || g || '@example.com', $1 || g || '@example.com', 'x', $1 || 'pic' || g FROM generate_series(1, 60) g`,
      [tag],
    )
    const r = await t.call('GET', '/api/contact/search', { session: a.session, query: { query: tag } })
    expect(r.statusCode).toBe(200)
    expect(r.json().length).toBe(50)
  })

  it('invite: an unknown address gets a sign-up link that connects us; an existing user gets a request', async () => {
    const a = await t.signup()
    const email = `friend-${process.pid}-${++n}@example.com`
    const since = t.smtp!.mails.length
    const r = await t.call('GET', '/api/contact/invite', { session: a.session, query: { email, name: 'Friend' } })
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json()).toEqual({ response_status: 0 })
    const mail = await t.smtp!.waitFor(email, since)
    const token = t.smtp!.tokenIn(mail)
    expect(mail.text).toContain('http://hitask.test/signup?token=')
    const s = await t.call('POST', '/api/user/signup', { form: { login: `friend${process.pid}${n}`, email, password: 'password123', api_key: API_KEY, invitation: token } })
    expect(s.statusCode, s.body).toBe(200)
    expect(await subs(a)).toEqual({ [s.json().id]: 'BOTH' })

    const b = await t.signup()
    const r2 = await t.call('GET', '/api/contact/invite', { session: a.session, query: { email: b.email } })
    expect(r2.statusCode, r2.body).toBe(200)
    expect(r2.json()).toMatchObject({ id: b.id, subscription: 'TO' })
    expect(await subs(b)).toEqual({ [a.id]: 'FROM' })

    expectError(await t.call('GET', '/api/contact/invite', { session: a.session, query: { email: 'bad@' } }), 400, 5)
    expectError(await t.call('GET', '/api/contact/invite', { session: a.session }), 400, 4)
    expectError(await t.call('GET', '/api/contact/invite', { session: a.session, query: { email: a.email } }), 400, 14)
  })

  it('addtobusiness invites a contact into my team; removefrombusiness removes them', async () => {
    const owner = await t.signup()
    const friend = await t.signup()
    await t.call('POST', '/api/contact', { session: owner.session, form: { id: friend.id } })
    await t.call('GET', '/api/contact/approve', { session: friend.session, query: { id: owner.id } })
    expectError(await t.call('GET', '/api/contact/addtobusiness', { session: owner.session, query: { id: friend.id } }), 400, 33)
    await teamOf(owner)

    const stranger = await t.signup()
    expectError(await t.call('GET', '/api/contact/addtobusiness', { session: owner.session, query: { id: stranger.id } }), 404, 1)
    expectError(await t.call('GET', '/api/contact/addtobusiness', { session: owner.session }), 400, 4)

    const since = t.smtp!.mails.length
    const r = await t.call('GET', '/api/contact/addtobusiness', { session: owner.session, query: { id: friend.id } })
    expect(r.statusCode, r.body).toBe(200)
    expect(await subs(owner)).toEqual({ [friend.id]: 'BIS_WAIT' })
    expectError(await t.call('GET', '/api/contact/addtobusiness', { session: owner.session, query: { id: friend.id } }), 412, 79)
    const token = t.smtp!.tokenIn(await t.smtp!.waitFor(friend.email, since))
    expect((await t.call('POST', '/api/team/member/accept', { session: friend.session, form: { token } })).statusCode).toBe(200)
    expect(await subs(owner)).toEqual({ [friend.id]: 'BIS' })
    expectError(await t.call('GET', '/api/contact/addtobusiness', { session: owner.session, query: { id: friend.id } }), 412, 16)
    // a plain member may not manage the team
    expectError(await t.call('GET', '/api/contact/removefrombusiness', { session: friend.session, query: { id: owner.id } }), 403, 3)
    expectError(await t.call('GET', '/api/contact/addtobusiness', { session: friend.session, query: { id: owner.id } }), 403, 3)

    const rm = await t.call('GET', '/api/contact/removefrombusiness', { session: owner.session, query: { id: friend.id } })
    expect(rm.statusCode, rm.body).toBe(200)
    // back to a plain contact
    expect(await subs(owner)).toEqual({ [friend.id]: 'BOTH' })
    expectError(await t.call('GET', '/api/contact/removefrombusiness', { session: owner.session, query: { id: friend.id } }), 404, 1)
  })
})
