// Sign in with an external account (contract §13): the web client's "Sign in with Google"
// sends GET /api/v5/user/authenticateExternal?accessToken=…&refreshToken=…&providerId=GOOGLE
// with its API key. Here the provider is a real OpenID Connect provider (oidc-provider) on
// 127.0.0.1, configured as GOOGLE and as CORP, and every access token is a real one it issued
// to a user who signed in at it (authorization code flow over HTTP).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_KEY, createTestApp, errorOf, type TestApp } from '../helpers/app.js'
import { makeTeam } from '../helpers/teams.js'
import { startProvider, type TestProvider } from '../helpers/oidc.js'
import { webClient } from './web-client.js'

let idp: TestProvider
let t: TestApp
beforeAll(async () => {
  idp = await startProvider()
  t = await createTestApp({ env: { OIDC_PROVIDERS: `GOOGLE=${idp.issuer},corp=${idp.issuer}` } })
})
afterAll(async () => {
  await t?.close()
  await idp?.close()
})

let seq = 0
/** an account at the provider → its id */
function account(claims: { email?: string; email_verified?: boolean | string; given_name?: string; family_name?: string }) {
  const id = `acct-${++seq}-${Date.now().toString(36)}`
  idp.accounts.set(id, claims)
  return id
}

/** the web client's request after Google's sign-in, byte for byte */
async function signInExternal(app: TestApp, accessToken: string, o: { refreshToken?: string; providerId?: string; invitation?: string; apiKey?: string | null } = {}) {
  const q = new URLSearchParams({ ...(o.apiKey === null ? {} : { api_key: o.apiKey ?? API_KEY }), accessToken, ...(o.refreshToken ? { refreshToken: o.refreshToken } : {}), providerId: o.providerId ?? 'GOOGLE', ...(o.invitation ? { invitation: o.invitation } : {}) })
  return app.app.inject({ method: 'GET', url: `/api/v5/user/authenticateExternal?${q}` })
}

const userRow = async (email: string) => (await t.db.query('SELECT id, login, email, email_confirmed, first_name, last_name FROM users WHERE email_key = $1', [email.toLowerCase()])).rows[0]

describe('GET /user/authenticateExternal', () => {
  it('a new account takes the email\'s local part as its login, numbered past the logins already taken (any case)', async () => {
    const base = `Collide${Date.now().toString(36)}`
    await t.signup(base.toLowerCase())
    await t.signup(`${base.toUpperCase()}2`)
    const acct = account({ email: `${base}@example.org`, email_verified: true, given_name: 'C', family_name: 'Ollide' })
    const r = await signInExternal(t, (await idp.accessToken(acct)).accessToken)
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json().login_id).toBe(`${base}3`)
  })

  it('signs up a new user with the verified email (confirmed), answers as /user/authenticate, and signs the same user in next time', async () => {
    const email = `jane.doe.${seq}@example.org`
    const acct = account({ email, email_verified: true, given_name: 'Jane', family_name: 'Doe' })
    const token = await idp.accessToken(acct)
    expect(token.accessToken.length).toBeGreaterThan(20)
    const r = await signInExternal(t, token.accessToken, { refreshToken: token.refreshToken ?? 'a-refresh-token' })
    expect(r.statusCode, r.body).toBe(200)
    const body = r.json()
    expect(Object.keys(body).sort()).toEqual(['account_type', 'email', 'email_confirmed', 'id', 'level', 'login_id', 'picture_hash', 'session_id'])
    expect(body).toMatchObject({ email, email_confirmed: true, account_type: 'PERSONAL_FREE', level: 0 })
    expect(body.login_id).toMatch(/^jane\.doe\./)
    expect(r.headers['set-cookie']).toMatch(/^HI_SESSION=/)
    expect(await userRow(email)).toMatchObject({ first_name: 'Jane', last_name: 'Doe', email_confirmed: email })
    // the session works as any other, in the client's form
    const me = await webClient(t, body.session_id).get('user')
    expect(me.json()).toMatchObject({ id: body.id, email, emailConfirmed: email, firstName: 'Jane' })
    expect((await webClient(t, body.session_id).get('user/external')).json()).toEqual([{ providerId: 'GOOGLE', email, time_create: expect.any(String) }])
    // the next sign-in with a new token of the same account is the same user
    const again = await signInExternal(t, (await idp.accessToken(acct)).accessToken)
    expect(again.json().id).toBe(body.id)
    expect((await t.db.query('SELECT count(*)::int AS n FROM users WHERE email_key = $1', [email.toLowerCase()])).rows[0].n).toBe(1)
  })

  it('signs in the user whose confirmed email it is, and links the account', async () => {
    const u = await t.signup()
    const since = t.smtp!.mails.length
    await t.call('POST', '/api/user/update', { session: u.session, form: { email: `confirmed.${u.login}@example.org` } })
    const mail = await t.smtp!.waitFor(`confirmed.${u.login}@example.org`, since)
    expect((await t.call('GET', '/api/user/confirm', { query: { token: t.smtp!.tokenIn(mail) } })).statusCode).toBe(200)
    const acct = account({ email: `Confirmed.${u.login}@EXAMPLE.org`, email_verified: 'true' })
    const r = await signInExternal(t, (await idp.accessToken(acct)).accessToken)
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json().id).toBe(u.id)
    const links = (await t.db.query('SELECT provider, subject FROM external_accounts WHERE user_id = $1', [u.id])).rows
    expect(links).toEqual([{ provider: 'GOOGLE', subject: acct }])
  })

  it('does not sign in an account that holds the address unconfirmed (400/22), nor a token without a verified email (400/50)', async () => {
    const u = await t.signup()
    const before = (await t.db.query('SELECT count(*)::int AS n FROM users')).rows[0].n
    const squatted = account({ email: u.email, email_verified: true })
    expect(errorOf(await signInExternal(t, (await idp.accessToken(squatted)).accessToken))).toEqual({ status: 400, code: 22 })
    const unverified = account({ email: `unverified.${seq}@example.org`, email_verified: false })
    expect(errorOf(await signInExternal(t, (await idp.accessToken(unverified)).accessToken))).toEqual({ status: 400, code: 50 })
    const noEmail = account({ given_name: 'Nobody' })
    expect(errorOf(await signInExternal(t, (await idp.accessToken(noEmail)).accessToken))).toEqual({ status: 400, code: 50 })
    expect((await t.db.query('SELECT count(*)::int AS n FROM users')).rows[0].n).toBe(before)
    expect((await t.db.query('SELECT count(*)::int AS n FROM external_accounts WHERE user_id = $1', [u.id])).rows[0].n).toBe(0)
  })

  it('answers 50 for a token the provider refuses, 49 for an unknown provider, 401/8 without an API key, 4 without a token', async () => {
    expect(errorOf(await signInExternal(t, 'not-a-token-the-provider-issued'))).toEqual({ status: 400, code: 50 })
    const token = (await idp.accessToken(account({ email: `x${seq}@example.org`, email_verified: true }))).accessToken
    expect(errorOf(await signInExternal(t, token, { providerId: 'FACEBOOK' }))).toEqual({ status: 400, code: 49 })
    expect(errorOf(await signInExternal(t, token, { apiKey: null }))).toEqual({ status: 401, code: 8 })
    expect(errorOf(await signInExternal(t, token, { apiKey: 'wrong-key' }))).toEqual({ status: 401, code: 8 })
    expect(errorOf(await t.app.inject({ method: 'GET', url: `/api/v5/user/authenticateExternal?api_key=${API_KEY}&providerId=GOOGLE` }))).toEqual({ status: 400, code: 4 })
    // the id is matched without regard to case (configured as "corp")
    expect((await signInExternal(t, token, { providerId: 'Corp' })).statusCode).toBe(200)
  })

  it('without OIDC_PROVIDERS every provider is 49; an unreachable provider is 503, never a sign-in', async () => {
    const bare = await createTestApp({ smtp: false })
    const gone = await createTestApp({ smtp: false, env: { OIDC_PROVIDERS: 'GOOGLE=http://127.0.0.1:9' } })
    try {
      expect(errorOf(await signInExternal(bare, 'anything'))).toEqual({ status: 400, code: 49 })
      const r = await signInExternal(gone, 'anything')
      expect(r.statusCode).toBe(503)
      expect(r.json().response_status).toBe(100)
    } finally {
      await bare.close()
      await gone.close()
    }
  })

  it('with an invitation: another email → 400/51 (nothing created); the invited email signs up and joins the team', async () => {
    const team = await makeTeam(t)
    const invited = `invited.${seq}@example.org`
    const since = t.smtp!.mails.length
    expect((await t.call('POST', '/api/team/member', { session: team.owner.session, form: { email: invited } })).statusCode).toBe(200)
    const invitation = t.smtp!.tokenIn(await t.smtp!.waitFor(invited, since))
    const other = account({ email: `someone.else.${seq}@example.org`, email_verified: true })
    expect(errorOf(await signInExternal(t, (await idp.accessToken(other)).accessToken, { invitation }))).toEqual({ status: 400, code: 51 })
    expect(await userRow(`someone.else.${seq}@example.org`)).toBeUndefined()
    const right = account({ email: invited, email_verified: true, given_name: 'Invited' })
    const r = await signInExternal(t, (await idp.accessToken(right)).accessToken, { invitation })
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json().account_type).toBe('TEAM_BUSINESS')
    expect((await webClient(t, r.json().session_id).get('user')).json()).toMatchObject({ businessId: team.businessId, businessLevel: 1 })
    // used once
    const again = account({ email: invited, email_verified: true })
    expect(errorOf(await signInExternal(t, (await idp.accessToken(again)).accessToken, { invitation }))).toEqual({ status: 412, code: 45 })
  })
})

describe('/user/external: link, list, unlink', () => {
  it('links the account of a token (56 when another user has it, 57 when the caller has another of that provider) and unlinks it', async () => {
    const u = await t.signup()
    const c = webClient(t, u.session)
    expect((await c.get('user/external')).json()).toEqual([])
    const workEmail = `work.${seq}@corp.example`
    const mine = account({ email: workEmail, email_verified: true })
    const linked = await c.post('user/external', { providerId: 'CORP', accessToken: (await idp.accessToken(mine)).accessToken })
    expect(linked.statusCode, linked.body).toBe(200)
    expect(linked.json()).toEqual({ providerId: 'CORP', email: workEmail, time_create: expect.any(String) })
    // the same account again: nothing changes
    expect((await c.post('user/external', { providerId: 'CORP', accessToken: (await idp.accessToken(mine)).accessToken })).statusCode).toBe(200)
    expect((await c.get('user/external')).json()).toHaveLength(1)
    // now the account signs this user in, whatever its email
    expect((await signInExternal(t, (await idp.accessToken(mine)).accessToken, { providerId: 'CORP' })).json().id).toBe(u.id)

    const another = account({ email: `other.${seq}@corp.example`, email_verified: true })
    expect(errorOf(await c.post('user/external', { providerId: 'CORP', accessToken: (await idp.accessToken(another)).accessToken }))).toEqual({ status: 400, code: 57 })
    const v = await t.signup()
    expect(errorOf(await webClient(t, v.session).post('user/external', { providerId: 'CORP', accessToken: (await idp.accessToken(mine)).accessToken }))).toEqual({ status: 400, code: 56 })
    expect(errorOf(await c.post('user/external', { providerId: 'CORP', accessToken: 'refused' }))).toEqual({ status: 400, code: 50 })
    expect(errorOf(await c.post('user/external', { providerId: 'NOPE', accessToken: 'x' }))).toEqual({ status: 400, code: 49 })

    expect((await c.del('user/external', { providerId: 'corp' })).json()).toEqual({ response_status: 0 })
    expect((await c.get('user/external')).json()).toEqual([])
    expect(errorOf(await c.del('user/external', { providerId: 'CORP' }))).toEqual({ status: 404, code: 1 })
    // unlinked, the other user may take it
    expect((await webClient(t, v.session).post('user/external', { providerId: 'CORP', accessToken: (await idp.accessToken(mine)).accessToken })).statusCode).toBe(200)
    expect(errorOf(await t.app.inject({ method: 'GET', url: '/api/v5/user/external' }))).toEqual({ status: 401, code: 7 })
  })
})
