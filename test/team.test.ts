// Teams (contract §5): creation, GET /business, /list/business, /team, invitations with
// real emails, licences, acceptance by token, by id and at sign-up, removal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_KEY, createTestApp, type TestApp } from './helpers/app.js'
import { createItem, delta, expectError, makeTeam, tick, visibleItems, type TestUser } from './helpers/teams.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ env: { TEAM_LICENSES: '4', TEAM_STORAGE_QUOTA_MB: '7500', DELTA_MARGIN_MS: '0' } })
})
afterAll(async () => t?.close())

type User = TestUser
let n = 0
const domain = () => `team-${process.pid}-${++n}`

async function team(title = 'Dev Team'): Promise<{ owner: User; domainName: string }> {
  const owner = await t.signup()
  const domainName = domain()
  const r = await t.call('POST', '/api/business', { session: owner.session, form: { title, domainName } })
  expect(r.statusCode, r.body).toBe(200)
  return { owner, domainName }
}

async function inviteAndToken(admin: User, email: string, name?: string): Promise<string> {
  const since = t.smtp!.mails.length
  const r = await t.call('POST', '/api/team/member', { session: admin.session, form: { email, name } })
  expect(r.statusCode, r.body).toBe(200)
  expect(r.json()).toEqual({ response_status: 0 })
  return t.smtp!.tokenIn(await t.smtp!.waitFor(email, since))
}


async function confirmEmail(u: User) {
  const mail = await t.smtp!.waitFor(u.email)
  const r = await t.call('GET', '/api/user/confirm', { query: { token: t.smtp!.tokenIn(mail) } })
  expect(r.statusCode, r.body).toBe(200)
}

describe('POST /business', () => {
  it('makes the caller owner with TEAM_BUSINESS and an Everyone group', async () => {
    const { owner, domainName } = await team('Development Team')
    const me = (await t.call('GET', '/api/user', { session: owner.session })).json()
    expect(me).toMatchObject({ accountType: 'TEAM_BUSINESS', level: 200, businessLevel: 100 })
    expect(typeof me.businessId).toBe('number')
    const groups = (await t.call('GET', '/api/group', { session: owner.session })).json()
    expect(groups).toEqual([{ id: expect.any(String), name: 'Everyone', code: 'EVERYONE', color: '#FFFFFF', members: [owner.id], type: 1 }])
    const b = await t.call('GET', '/api/business', { session: owner.session })
    expect(b.statusCode).toBe(200)
    expect(b.json()).toEqual({
      domainName,
      title: 'Development Team',
      licensesNumber: 4,
      licensesUsed: 1,
      storageQuota: 7500,
      storageUsed: 0,
      storageQuotaFormatted: '7.50GB',
      storageUsedFormatted: '0MB',
      expirationDate: null,
      emailInbox: null,
    })
  })

  it('formats storage used from bytes', async () => {
    const { owner } = await team()
    const me = (await t.call('GET', '/api/user', { session: owner.session })).json()
    await t.db.query('UPDATE businesses SET storage_used = $2 WHERE id = $1', [me.businessId, 157_000_000])
    const b = (await t.call('GET', '/api/business', { session: owner.session })).json()
    expect(b.storageUsed).toBe(157)
    expect(b.storageUsedFormatted).toBe('157MB')
  })

  it('answers 16 when already in a team, 37 for a taken or malformed domain, 4 when a field is missing', async () => {
    const { owner, domainName } = await team()
    expectError(await t.call('POST', '/api/business', { session: owner.session, form: { title: 'x', domainName: domain() } }), 412, 16)
    const other = await t.signup()
    expectError(await t.call('POST', '/api/business', { session: other.session, form: { title: 'x', domainName } }), 400, 37)
    expectError(await t.call('POST', '/api/business', { session: other.session, form: { title: 'x', domainName: 'Bad Name!' } }), 400, 37)
    expectError(await t.call('POST', '/api/business', { session: other.session, form: { domainName: domain() } }), 400, 4)
    expectError(await t.call('POST', '/api/business', { session: other.session, form: { title: 'x' } }), 400, 4)
    expectError(await t.call('POST', '/api/business', { form: { title: 'x', domainName: domain() } }), 401, 7)
    // nothing half-written: the failed attempts left the user outside any team
    expect((await t.call('GET', '/api/user', { session: other.session })).json().businessId).toBe(null)
  })

  it('GET /business without a team → 400/33', async () => {
    const u = await t.signup()
    expectError(await t.call('GET', '/api/business', { session: u.session }), 400, 33)
    expectError(await t.call('GET', '/api/team', { session: u.session }), 400, 33)
  })
})

describe('GET /list/business', () => {
  it('for a user without a team: team fields null, level 0, inv_sent [], inv_get filled', async () => {
    const { owner, domainName } = await team('Acme')
    const u = await t.signup()
    await inviteAndToken(owner, u.email)
    const r = await t.call('GET', '/api/list/business', { session: u.session })
    expect(r.statusCode).toBe(200)
    const b = r.json()
    expect(b).toMatchObject({
      level: 0,
      domainName: null,
      domainId: null,
      canInvite: false,
      title: null,
      license_usage: null,
      license_count: null,
      expiration_date: null,
      emailInbox: null,
      everyoneGroupId: null,
      inv_sent: [],
      invitationLink: null,
      numberOfProjects: 0,
      numberOfItems: 0,
      numberOfArchived: 0,
      pictureHash: expect.any(String),
      isPremium: false,
      emailConfirmed: false,
    })
    expect(b.accountCreateTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00$/)
    expect(b.inv_get).toEqual([{ id: expect.any(Number), businessId: expect.any(Number), title: 'Acme', inviterName: `First${owner.login} Last` }])
    expect(domainName).toBeTruthy()
  })

  it('for an owner: level, domain, everyoneGroupId and invitations sent', async () => {
    const { owner, domainName } = await team('Acme 2')
    await inviteAndToken(owner, `nobody-${n}@example.com`, 'Jane Roe')
    const b = (await t.call('GET', '/api/list/business', { session: owner.session })).json()
    const groups = (await t.call('GET', '/api/group', { session: owner.session })).json()
    expect(b).toMatchObject({ level: 100, domainName, canInvite: true, title: 'Acme 2', license_usage: 2, license_count: 4, everyoneGroupId: groups[0].id, inv_get: [] })
    expect(b.domainId).toBe((await t.call('GET', '/api/user', { session: owner.session })).json().businessId)
    expect(b.inv_sent).toEqual([{ id: expect.any(Number), userId: null, firstName: 'Jane', lastName: 'Roe', declined: false, inviterName: `First${owner.login} Last` }])
  })
})

describe('invitations', () => {
  it('invite → email with a one-time link → sign up with it joins the team; a second use → 412/45', async () => {
    const { owner } = await team()
    const email = `newbie-${n}@example.com`
    const token = await inviteAndToken(owner, email, 'New Bie')
    const mail = t.smtp!.mails.find((m) => m.to.includes(email))!
    expect(mail.text).toContain(`http://hitask.test/invitation?token=${token}`)

    // the pending invitation is listed as BIS_WAIT and holds a licence
    const before = (await t.call('GET', '/api/team', { session: owner.session })).json()
    expect(before.map((c: any) => c.subscription)).toEqual(['BIS', 'BIS_WAIT'])
    expect(before[1]).toMatchObject({ email, firstName: 'New', lastName: 'Bie', subscription: 'BIS_WAIT' })

    const login = `newbie${n}`
    const s = await t.call('POST', '/api/user/signup', {
      form: { login, email, password: 'password123', firstName: 'New', lastName: 'Bie', api_key: API_KEY, invitation: token },
    })
    expect(s.statusCode, s.body).toBe(200)
    expect(s.json().account_type).toBe('TEAM_BUSINESS')
    const joined = s.json()
    const me = (await t.call('GET', '/api/user', { session: joined.session_id })).json()
    expect(me).toMatchObject({ businessLevel: 1, level: 200 })
    const groups = (await t.call('GET', '/api/group', { session: joined.session_id })).json()
    expect(groups[0].members.sort()).toEqual([owner.id, joined.id].sort())
    const members = (await t.call('GET', '/api/team', { session: owner.session })).json()
    expect(members.map((c: any) => [c.id, c.subscription])).toEqual([
      [owner.id, 'BIS'],
      [joined.id, 'BIS'],
    ])

    // the same token again: at sign-up and at accept
    const again = await t.call('POST', '/api/user/signup', {
      form: { login: login + 'x', email: 'x' + email, password: 'password123', api_key: API_KEY, invitation: token },
    })
    expectError(again, 412, 45)
    // and no account was created
    const { rows } = await t.db.query('SELECT 1 FROM users WHERE login_key = $1', [login + 'x'])
    expect(rows.length).toBe(0)
    const outsider = await t.signup()
    expectError(await t.call('POST', '/api/team/member/accept', { session: outsider.session, form: { token } }), 412, 45)
  })

  it('an existing user accepts by token; an unknown token → 400/6', async () => {
    const { owner } = await team()
    const u = await t.signup()
    const token = await inviteAndToken(owner, u.email)
    expectError(await t.call('POST', '/api/team/member/accept', { session: u.session, form: { token: 'nope' } }), 400, 6)
    expectError(await t.call('POST', '/api/team/member/accept', { session: u.session, form: {} }), 400, 104)
    const r = await t.call('POST', '/api/team/member/accept', { session: u.session, form: { token } })
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json()).toEqual({ response_status: 0 })
    expect((await t.call('GET', '/api/user', { session: u.session })).json()).toMatchObject({ accountType: 'TEAM_BUSINESS', businessLevel: 1 })
  })

  it('accept by id needs the invitation to my confirmed email (403/19, 404/1), then joins; twice → 412/45', async () => {
    const { owner } = await team()
    const u = await t.signup()
    await inviteAndToken(owner, u.email)
    const inv = (await t.call('GET', '/api/list/business', { session: u.session })).json().inv_get[0]
    expectError(await t.call('POST', '/api/team/member/accept', { session: u.session, form: { id: inv.id } }), 403, 19)
    const stranger = await t.signup()
    expectError(await t.call('POST', '/api/team/member/accept', { session: stranger.session, form: { id: inv.id } }), 404, 1)
    await confirmEmail(u)
    const r = await t.call('POST', '/api/team/member/accept', { session: u.session, form: { id: inv.id } })
    expect(r.statusCode, r.body).toBe(200)
    const b = (await t.call('GET', '/api/list/business', { session: u.session })).json()
    expect(b).toMatchObject({ level: 1, inv_get: [] })
    expectError(await t.call('POST', '/api/team/member/accept', { session: u.session, form: { id: inv.id } }), 412, 45)
  })

  it('a declined invitation cannot be accepted (412/45) and shows as declined', async () => {
    const { owner } = await team()
    const u = await t.signup()
    const token = await inviteAndToken(owner, u.email)
    await confirmEmail(u)
    const inv = (await t.call('GET', '/api/list/business', { session: u.session })).json().inv_get[0]
    const d = await t.call('POST', '/api/team/member/decline', { session: u.session, form: { id: inv.id } })
    expect(d.statusCode, d.body).toBe(200)
    expectError(await t.call('POST', '/api/team/member/accept', { session: u.session, form: { token } }), 412, 45)
    expectError(await t.call('POST', '/api/team/member/decline', { session: u.session, form: { id: inv.id } }), 412, 45)
    const sent = (await t.call('GET', '/api/list/business', { session: owner.session })).json().inv_sent
    expect(sent).toEqual([expect.objectContaining({ id: inv.id, userId: u.id, declined: true })])
  })

  it('a user already in a team cannot accept (412/16)', async () => {
    const a = await team()
    const b = await team()
    const token = await inviteAndToken(a.owner, `late-${n}@example.com`)
    // b's owner holds a's token (e.g. forwarded mail) but is in a team already
    expectError(await t.call('POST', '/api/team/member/accept', { session: b.owner.session, form: { token } }), 412, 16)
  })

  it('invite codes: 400/5 bad email, 412/16 member, 412/79 already invited, 403/3 not admin, 400/33 no team', async () => {
    const { owner } = await team()
    const email = `dup-${n}@example.com`
    expectError(await t.call('POST', '/api/team/member', { session: owner.session, form: { email: 'not-an-email' } }), 400, 5)
    expectError(await t.call('POST', '/api/team/member', { session: owner.session, form: {} }), 400, 4)
    expectError(await t.call('POST', '/api/team/member', { session: owner.session, form: { email: owner.email } }), 412, 16)
    await inviteAndToken(owner, email)
    expectError(await t.call('POST', '/api/team/member', { session: owner.session, form: { email: email.toUpperCase() } }), 412, 79)
    const member = await t.signup()
    const token = await inviteAndToken(owner, member.email)
    await t.call('POST', '/api/team/member/accept', { session: member.session, form: { token } })
    expectError(await t.call('POST', '/api/team/member', { session: member.session, form: { email: `x-${n}@example.com` } }), 403, 3)
    const loner = await t.signup()
    expectError(await t.call('POST', '/api/team/member', { session: loner.session, form: { email: `y-${n}@example.com` } }), 400, 33)
  })

  it('licences: members + pending invitations > licensesNumber → 400/12, freed by removing an invitation', async () => {
    const { owner } = await team() // 4 licences, the owner uses one
    for (let i = 0; i < 3; i++) await inviteAndToken(owner, `lic-${n}-${i}@example.com`)
    const r = await t.call('POST', '/api/team/member', { session: owner.session, form: { email: `lic-${n}-x@example.com` } })
    expectError(r, 400, 12)
    expect((await t.call('GET', '/api/business', { session: owner.session })).json()).toMatchObject({ licensesNumber: 4, licensesUsed: 4 })
    const waiting = (await t.call('GET', '/api/team', { session: owner.session })).json().filter((c: any) => c.subscription === 'BIS_WAIT')
    expect(waiting.length).toBe(3)
    const del = await t.call('DELETE', '/api/team/member', { session: owner.session, query: { id: waiting[0].id } })
    expect(del.statusCode, del.body).toBe(200)
    await inviteAndToken(owner, `lic-${n}-x@example.com`)
    // resend of a pending invitation needs no new licence; a new address over the limit → 12
    const since = t.smtp!.mails.length
    const re = await t.call('POST', '/api/team/member/resend', { session: owner.session, form: { email: `lic-${n}-x@example.com` } })
    expect(re.statusCode, re.body).toBe(200)
    await t.smtp!.waitFor(`lic-${n}-x@example.com`, since)
    expectError(await t.call('POST', '/api/team/member/resend', { session: owner.session, form: { email: `lic-${n}-y@example.com` } }), 400, 12)
  })

  it('resend sends a new working link; codes 5 and 16', async () => {
    const { owner } = await team()
    const u = await t.signup()
    const first = await inviteAndToken(owner, u.email)
    const since = t.smtp!.mails.length
    const r = await t.call('POST', '/api/team/member/resend', { session: owner.session, form: { email: u.email } })
    expect(r.statusCode, r.body).toBe(200)
    const second = t.smtp!.tokenIn(await t.smtp!.waitFor(u.email, since))
    expect(second).not.toBe(first)
    expect((await t.call('POST', '/api/team/member/accept', { session: u.session, form: { token: second } })).statusCode).toBe(200)
    expectError(await t.call('POST', '/api/team/member/resend', { session: owner.session, form: { email: u.email } }), 412, 16)
    expectError(await t.call('POST', '/api/team/member/resend', { session: owner.session, form: { email: 'bad' } }), 400, 5)
    // the other link of an accepted invitation is dead too
    const other = await t.signup()
    expectError(await t.call('POST', '/api/team/member/accept', { session: other.session, form: { token: first } }), 412, 45)
  })
})

describe('DELETE /team/member', () => {
  it('removes a member (back to a personal account, out of Everyone); codes 4, 404/1, 403/3', async () => {
    const { owner } = await team()
    const u = await t.signup()
    const token = await inviteAndToken(owner, u.email)
    await t.call('POST', '/api/team/member/accept', { session: u.session, form: { token } })
    expectError(await t.call('DELETE', '/api/team/member', { session: u.session, query: { id: owner.id } }), 403, 3)
    expectError(await t.call('DELETE', '/api/team/member', { session: owner.session, query: { id: owner.id } }), 403, 3)
    expectError(await t.call('DELETE', '/api/team/member', { session: owner.session }), 400, 4)
    expectError(await t.call('DELETE', '/api/team/member', { session: owner.session, query: { id: 999999 } }), 404, 1)
    const r = await t.call('DELETE', '/api/team/member', { session: owner.session, query: { id: u.id } })
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json()).toEqual({ response_status: 0 })
    expect((await t.call('GET', '/api/user', { session: u.session })).json()).toMatchObject({ businessId: null, businessLevel: null, accountType: 'PERSONAL_FREE' })
    expect((await t.call('GET', '/api/group', { session: owner.session })).json()[0].members).toEqual([owner.id])
    expect((await t.call('GET', '/api/team', { session: owner.session })).json().map((c: any) => c.id)).toEqual([owner.id])
    expectError(await t.call('DELETE', '/api/team/member', { session: owner.session, query: { id: u.id } }), 404, 1)
  })

  it('removing an invitation kills its link (412/45); an invited user is removed by their user id', async () => {
    const { owner } = await team()
    const u = await t.signup()
    const token = await inviteAndToken(owner, u.email)
    const waiting = (await t.call('GET', '/api/team', { session: owner.session })).json()[1]
    expect(waiting).toMatchObject({ id: u.id, subscription: 'BIS_WAIT', login: u.login })
    const r = await t.call('DELETE', '/api/team/member', { session: owner.session, form: { id: u.id } })
    expect(r.statusCode, r.body).toBe(200)
    expectError(await t.call('POST', '/api/team/member/accept', { session: u.session, form: { token } }), 412, 45)
    expect((await t.call('GET', '/api/team', { session: owner.session })).json().length).toBe(1)
  })
})

describe('what members see', () => {
  it('signing up with the emailed link shows the project the team shares with Everyone', async () => {
    const { owner, everyone } = await makeTeam(t)
    const project = await createItem(t, owner, { title: 'Team project', category: 0, permissions: [{ principal: everyone, level: 60 }] })
    const task = await createItem(t, owner, { title: 'Task', parent: project.id })
    const secret = await createItem(t, owner, { title: 'Owner only' })
    const email = `joiner-${process.pid}-${++n}@example.com`
    const token = await inviteAndToken(owner, email)
    const s = await t.call('POST', '/api/user/signup', { form: { login: `joiner${process.pid}${n}`, email, password: 'password123', api_key: API_KEY, invitation: token } })
    expect(s.statusCode, s.body).toBe(200)
    const joined = { id: s.json().id, session: s.json().session_id } as User
    const seen = await visibleItems(t, joined)
    expect(seen.ids).toEqual([project.id, task.id].sort((a, b) => a - b))
    expect(seen.ids).not.toContain(secret.id)
    expect(seen.items.find((i) => i.id === project.id)).toMatchObject({ title: 'Team project', permission: 60 })
  })

  it('a removed member loses the team items at once (GET /item and delta), keeps their own', async () => {
    const { owner, members, everyone } = await makeTeam(t, 2)
    const [m, other] = members as [User, User]
    const project = await createItem(t, owner, { title: 'Team project', category: 0, permissions: [{ principal: everyone, level: 60 }] })
    const direct = await createItem(t, owner, { title: 'Direct', permissions: [{ principal: m.id, level: 60 }], assignee: m.id })
    const mine = await createItem(t, m, { title: 'Mine', permissions: [{ principal: everyone, level: 10 }] })
    const before = await visibleItems(t, m)
    expect(before.ids).toEqual([project.id, direct.id, mine.id].sort((a, b) => a - b))
    await tick()
    const cursor = before.cursor
    const otherCursor = (await visibleItems(t, other)).cursor
    await tick()

    const r = await t.call('DELETE', '/api/team/member', { session: owner.session, query: { id: m.id } })
    expect(r.statusCode, r.body).toBe(200)

    expect((await visibleItems(t, m)).ids).toEqual([mine.id])
    const d = await delta(t, m, cursor)
    expect([...d.keys()]).toEqual([mine.id])
    expect(d.get(mine.id)).toBe(true) // what they can see changed
    // the owner's item no longer names them, nor assigns it to them
    const ownerView = (await t.call('GET', `/api/item/${direct.id}`, { session: owner.session })).json()
    expect(ownerView.permissions).toEqual([{ principal: String(owner.id), level: 100 }])
    expect(ownerView.assignee).toBe(0) // no assignee renders as 0 (item view)
    expect(ownerView.shared).toBe(false)
    // the team still sees what the removed member had shared with it; others' deltas: the
    // project did not change for them, the item that lost a principal did not concern them
    const od = await delta(t, other, otherCursor)
    expect(od.get(project.id)).toBe(false)
    expect(od.get(mine.id)).toBe(false)
  })
})

describe('concurrency', () => {
  it('concurrent invitations never exceed the licences', async () => {
    const { owner } = await makeTeam(t) // 4 licences, 1 used
    const emails = Array.from({ length: 6 }, (_, i) => `race-${process.pid}-${++n}-${i}@example.com`)
    const rs = await Promise.all(emails.map((email) => t.call('POST', '/api/team/member', { session: owner.session, form: { email } })))
    const codes = rs.map((r) => (r.statusCode === 200 ? 0 : r.json().response_status)).sort()
    expect(codes).toEqual([0, 0, 0, 12, 12, 12])
    expect((await t.call('GET', '/api/business', { session: owner.session })).json().licensesUsed).toBe(4)
  })

  it('two sign-ups racing with one invitation token: one joins, the other gets 412/45 and no account', async () => {
    const { owner } = await makeTeam(t)
    const email = `racer-${process.pid}-${++n}@example.com`
    const token = await inviteAndToken(owner, email)
    const logins = [`racera${process.pid}${n}`, `racerb${process.pid}${n}`]
    const rs = await Promise.all(
      logins.map((login) => t.call('POST', '/api/user/signup', { form: { login, email: `${login}@example.com`, password: 'password123', api_key: API_KEY, invitation: token } })),
    )
    const ok = rs.filter((r) => r.statusCode === 200)
    const failed = rs.filter((r) => r.statusCode !== 200)
    expect(ok.length).toBe(1)
    expect(failed.map((r) => [r.statusCode, r.json().response_status])).toEqual([[412, 45]])
    const { rows } = await t.db.query('SELECT count(*)::int AS n FROM users WHERE login_key = ANY($1)', [logins])
    expect(rows[0].n).toBe(1)
    expect((await t.call('GET', '/api/team', { session: owner.session })).json().map((c: any) => c.id)).toContain(ok[0]!.json().id)
  })
})
