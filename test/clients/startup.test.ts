// What the 2018 web client sends when it starts, replayed byte for byte (API v5, api_key and
// session_id in the query, url-encoded bodies labelled application/json), and every key it
// reads from the answers: sign-in, the user, preferences, the team (GET /list/business, a
// bare object: contract §5 amended), the items.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_KEY, createTestApp, type TestApp } from '../helpers/app.js'
import { makeTeam, type TestUser } from '../helpers/teams.js'
import { DATE_OUT, ITEM_KEYS, webClient, WEB_CONTENT_TYPE } from './web-client.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(async () => t?.close())

const LIST_BUSINESS_KEYS = [
  'level', 'domainName', 'domainId', 'canInvite', 'title', 'license_usage', 'license_count', 'expiration_date', 'emailInbox',
  'everyoneGroupId', 'inv_sent', 'inv_get', 'invitationLink', 'numberOfProjects', 'numberOfItems', 'numberOfArchived',
  'accountCreateTime', 'pictureHash', 'isPremium', 'emailConfirmed',
].sort()

describe('sign-in', () => {
  it('GET /api/v5/user/authenticate?login&password&api_key → the keys the client keeps', async () => {
    const u = await t.signup()
    const r = await t.app.inject({ method: 'GET', url: `/api/v5/user/authenticate?login=${u.login}&password=${u.password}&api_key=${API_KEY}` })
    expect(r.statusCode).toBe(200)
    expect(Object.keys(r.json()).sort()).toEqual(['account_type', 'email', 'email_confirmed', 'id', 'level', 'login_id', 'picture_hash', 'session_id'])
    expect(r.json()).toMatchObject({ id: u.id, login_id: u.login, account_type: 'PERSONAL_FREE', level: 0, email: u.email, email_confirmed: false })
    // a wrong password is 403/3, which the client shows as "incorrect login"
    const bad = await t.app.inject({ method: 'GET', url: `/api/v5/user/authenticate?login=${u.login}&password=wrong-one&api_key=${API_KEY}` })
    expect(bad.statusCode).toBe(403)
    expect(bad.json().response_status).toBe(3)
  })
})

describe('GET /list/business (every client calls it at start)', () => {
  it('answers a bare object with everyoneGroupId at its top, for a team member', async () => {
    const team = await makeTeam(t, 1)
    const c = webClient(t, team.owner.session)
    const r = await t.app.inject({ method: 'GET', url: `/api/v5/list/business?api_key=${API_KEY}&session_id=${team.owner.session}` })
    expect(r.statusCode).toBe(200)
    const b = r.json()
    expect(Object.keys(b).sort()).toEqual(LIST_BUSINESS_KEYS)
    expect(b.everyoneGroupId).toBe(team.everyone)
    expect(b).toMatchObject({ level: 100, domainId: team.businessId, canInvite: true, title: 'Team', license_usage: 2, inv_sent: [], inv_get: [] })
    expect(b.accountCreateTime).toMatch(DATE_OUT)
    // the client keeps the answer as it is and grants "Everyone" with that id: the grant sticks
    const item = await c.post('item', { title: 'for everyone', permissions: [{ principal: String(team.owner.id), level: 100 }, { principal: b.everyoneGroupId, level: 60 }] })
    expect(item.statusCode, item.body).toBe(200)
    const member = webClient(t, team.members[0]!.session)
    const seen = await member.get(`item/${item.json().id}`)
    expect(seen.statusCode).toBe(200)
    expect(seen.json().permission).toBe(60)
    expect(seen.json().permissions).toContainEqual({ principal: team.everyone, level: 60 })
  })

  it('answers the same bare object without a team: team fields null, level 0, inv_sent [], inv_get filled', async () => {
    const team = await makeTeam(t)
    const u = await t.signup()
    const inv = await webClient(t, team.owner.session).post('team/member', { email: u.email })
    expect(inv.statusCode, inv.body).toBe(200)
    const b = (await webClient(t, u.session).get('list/business')).json()
    expect(Object.keys(b).sort()).toEqual(LIST_BUSINESS_KEYS)
    expect(b).toMatchObject({ level: 0, domainName: null, domainId: null, canInvite: false, title: null, everyoneGroupId: null, inv_sent: [] })
    expect(b.inv_get).toEqual([{ id: expect.any(Number), businessId: team.businessId, title: 'Team', inviterName: expect.any(String) }])
  })
})

describe('preferences and items at start', () => {
  let u: TestUser
  beforeAll(async () => {
    u = await t.signup()
  })

  it('POST /api/v5/user/preferences, byte for byte as the client sends it', async () => {
    const r = await t.app.inject({
      method: 'POST',
      url: `/api/v5/user/preferences?api_key=${API_KEY}&session_id=${u.session}`,
      headers: { 'content-type': WEB_CONTENT_TYPE },
      payload: 'time_zone=Europe%2FBerlin&default_sharing_permission_last=%5B%7B%22principal%22%3A' + u.id + '%2C%22level%22%3A100%7D%5D',
    })
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json().time_zone).toBe('Europe/Berlin')
    expect(JSON.parse(r.json().default_sharing_permission_last)).toEqual([{ principal: u.id, level: 100 }])
  })

  it('GET /api/v5/item: every item with every key of §8.1, dates in the caller zone', async () => {
    const c = webClient(t, u.session)
    const made = await c.post('item', 'title=Call%20Bob&category=1&start_date=2018-03-05T10%3A00%3A00.000%2B01%3A00&priority=20000')
    expect(made.statusCode, made.body).toBe(200)
    const r = await c.get('item')
    expect(r.statusCode).toBe(200)
    expect(r.headers['x-cursor']).toMatch(/^\d+$/)
    const item = r.json().find((x: { id: number }) => x.id === made.json().id)
    expect(Object.keys(item).sort()).toEqual(ITEM_KEYS)
    expect(item).toMatchObject({ title: 'Call Bob', category: 1, start_date: '2018-03-05T10:00:00.000+01:00', children: null, previews: null, permission: 100 })
    expect(item.time_create).toMatch(/\+0[12]:00$/)
  })
})
