// Contract §2: API keys, authenticate, sessions, sign-out, sign-up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import crypto from 'node:crypto'
import { API_KEY, createTestApp, errorOf, type TestApp } from './helpers/app.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ env: { AUTH_FAIL_PER_15MIN_PER_LOGIN: '1000', AUTH_FAIL_PER_MINUTE_PER_ADDRESS: '1000' } })
})
afterAll(async () => t?.close())

const sha = (s: string) => crypto.createHash('sha256').update(s).digest('hex')

describe('authenticate', () => {
  it('signs in with login or email, case-insensitive, by GET or POST, and sets the HI_SESSION cookie', async () => {
    const u = await t.signup('AuthCase')
    for (const login of ['AuthCase', 'authcase', 'AUTHCASE@EXAMPLE.COM']) {
      const r = await t.call('GET', '/api/user/authenticate', { query: { login, password: u.password, api_key: API_KEY } })
      expect(r.statusCode).toBe(200)
      const b = r.json()
      expect(Object.keys(b).sort()).toEqual(['account_type', 'email', 'email_confirmed', 'id', 'level', 'login_id', 'picture_hash', 'session_id'].sort())
      expect(b).toMatchObject({ login_id: 'AuthCase', account_type: 'PERSONAL_FREE', level: 0, id: u.id, email: u.email, email_confirmed: false })
      const cookie = String(r.headers['set-cookie'])
      expect(cookie).toContain(`HI_SESSION=${b.session_id}`)
      expect(cookie).toMatch(/HttpOnly/i)
      expect(cookie).toMatch(/SameSite=Lax/i)
      expect(cookie).not.toMatch(/Secure/i)
    }
    const post = await t.call('POST', '/api/user/authenticate', { form: { login: u.login, password: u.password, api_key: API_KEY } })
    expect(post.statusCode).toBe(200)
  })

  it('marks the cookie Secure behind HTTPS', async () => {
    const x = await createTestApp({ smtp: false, env: { TRUST_PROXY: 'true' } })
    try {
      const u = await x.signup()
      const r = await x.call('GET', '/api/user/authenticate', { query: { login: u.login, password: u.password, api_key: API_KEY }, headers: { 'x-forwarded-proto': 'https' } })
      expect(String(r.headers['set-cookie'])).toMatch(/Secure/)
    } finally {
      await x.close()
    }
  })

  it('answers 401/8 without an API key or with an unknown one', async () => {
    const u = await t.signup()
    expect(errorOf(await t.call('GET', '/api/user/authenticate', { query: { login: u.login, password: u.password } }))).toEqual({ status: 401, code: 8 })
    expect(errorOf(await t.call('GET', '/api/user/authenticate', { query: { login: u.login, password: u.password, api_key: 'nope' } }))).toEqual({ status: 401, code: 8 })
  })

  it('answers 403/3 with the same message for a wrong password and an unknown login', async () => {
    const u = await t.signup()
    const wrong = await t.call('GET', '/api/user/authenticate', { query: { login: u.login, password: 'wrong-password', api_key: API_KEY } })
    const unknown = await t.call('GET', '/api/user/authenticate', { query: { login: 'nobody-' + u.login, password: 'wrong-password', api_key: API_KEY } })
    expect(errorOf(wrong)).toEqual({ status: 403, code: 3 })
    expect(errorOf(unknown)).toEqual({ status: 403, code: 3 })
    expect(wrong.json().error_message).toBe('No enough permissions: login or password is incorrect')
    expect(unknown.json()).toEqual(wrong.json())
  })

  it('answers 400/4 when login or password is missing', async () => {
    expect(errorOf(await t.call('GET', '/api/user/authenticate', { query: { password: 'x', api_key: API_KEY } }))).toEqual({ status: 400, code: 4 })
    expect(errorOf(await t.call('GET', '/api/user/authenticate', { query: { login: 'x', api_key: API_KEY } }))).toEqual({ status: 400, code: 4 })
  })
})

describe('sessions', () => {
  it('reads the session from the header, the session_id parameter, and the HI_SESSION cookie in both forms', async () => {
    const u = await t.signup()
    const ok = (r: { statusCode: number; json: () => any }) => {
      expect(r.statusCode).toBe(200)
      expect(r.json().id).toBe(u.id)
    }
    ok(await t.call('GET', '/api/user', { headers: { 'x-hi-session': u.session } }))
    ok(await t.call('GET', '/api/user', { query: { session_id: u.session } }))
    ok(await t.call('POST', '/api/user/update', { form: { session_id: u.session, returnInfo: 'true' } }))
    ok(await t.call('GET', '/api/user', { headers: { cookie: `HI_SESSION=${u.session}` } }))
    ok(await t.call('GET', '/api/user', { headers: { cookie: `HI_SESSION=${encodeURIComponent(`session_id=${u.session}&lang=en`)}` } }))
  })

  it('answers 401/7, not a crash, for a cookie with a malformed escape', async () => {
    const r = await t.call('GET', '/api/user', { headers: { cookie: `HI_SESSION=${encodeURIComponent('session_id=%E0%A4%A&x=1')}` } })
    expect(errorOf(r)).toEqual({ status: 401, code: 7 })
  })

  it('takes the header before the parameter, and the parameter before the cookie', async () => {
    const a = await t.signup()
    const b = await t.signup()
    const r1 = await t.call('GET', '/api/user', { headers: { 'x-hi-session': a.session, cookie: `HI_SESSION=${b.session}` }, query: { session_id: b.session } })
    expect(r1.json().id).toBe(a.id)
    const r2 = await t.call('GET', '/api/user', { headers: { cookie: `HI_SESSION=${b.session}` }, query: { session_id: a.session } })
    expect(r2.json().id).toBe(a.id)
  })

  it('answers 401/7 for a missing, unknown, or signed-out session', async () => {
    expect(errorOf(await t.call('GET', '/api/user'))).toEqual({ status: 401, code: 7 })
    expect(errorOf(await t.call('GET', '/api/user', { session: 'not-a-session' }))).toEqual({ status: 401, code: 7 })
    const u = await t.signup()
    const out = await t.call('GET', '/api/user/logout', { session: u.session })
    expect(out.statusCode).toBe(200)
    expect(out.json()).toEqual({ response_status: 0 })
    const r = await t.call('GET', '/api/user', { session: u.session })
    expect(errorOf(r)).toEqual({ status: 401, code: 7 })
    expect(r.json().error_message).toBe('Session not found, please authenticate first')
  })

  it('expires a session after the idle time', async () => {
    const u = await t.signup()
    await t.db.query(`UPDATE sessions SET last_used_at = now() - interval '31 days' WHERE id_hash = $1`, [sha(u.session)])
    expect(errorOf(await t.call('GET', '/api/user', { session: u.session }))).toEqual({ status: 401, code: 7 })
    const left = await t.db.query('SELECT 1 FROM sessions WHERE id_hash = $1', [sha(u.session)])
    expect(left.rowCount).toBe(0)
  })

  it('stores sessions hashed, never the id itself', async () => {
    const u = await t.signup()
    const rows = await t.db.query('SELECT id_hash FROM sessions WHERE user_id = $1', [u.id])
    expect(rows.rows.map((r) => r.id_hash)).toContain(sha(u.session))
    const raw = await t.db.query(`SELECT count(*)::int AS n FROM sessions WHERE id_hash = $1`, [u.session])
    expect(raw.rows[0].n).toBe(0)
  })

  it('binds a session to the API key that created it', async () => {
    const owner = await t.signup()
    const key = (await t.call('POST', '/api/user/apikey', { session: owner.session, form: { name: 'integration' } })).json().api_key as string
    const other = await t.signup()
    const viaKey = await t.call('GET', '/api/user/authenticate', { query: { login: other.login, password: other.password, api_key: key } })
    expect(viaKey.statusCode).toBe(200)
    const sid = viaKey.json().session_id
    expect((await t.call('GET', '/api/user', { session: sid })).statusCode).toBe(200)
    await t.call('DELETE', '/api/user/apikey', { session: owner.session })
    expect(errorOf(await t.call('GET', '/api/user', { session: sid }))).toEqual({ status: 401, code: 7 })
    // the owner's own session came from the configured key and lives on
    expect((await t.call('GET', '/api/user', { session: owner.session })).statusCode).toBe(200)
  })
})

describe('API keys', () => {
  it('creates a key once, shows only its prefix afterwards, refuses a second one, deletes it', async () => {
    const u = await t.signup()
    expect(errorOf(await t.call('GET', '/api/user/apikey', { session: u.session }))).toEqual({ status: 404, code: 1 })
    const c = await t.call('POST', '/api/user/apikey', { session: u.session, form: { name: 'my app' } })
    expect(c.statusCode).toBe(200)
    const { api_key, name } = c.json()
    expect(name).toBe('my app')
    expect(api_key.length).toBeGreaterThanOrEqual(24)
    const g = (await t.call('GET', '/api/user/apikey', { session: u.session })).json()
    expect(Object.keys(g).sort()).toEqual(['name', 'prefix', 'time_create'])
    expect(g.name).toBe('my app')
    expect(api_key.startsWith(g.prefix)).toBe(true)
    expect(JSON.stringify(g)).not.toContain(api_key)
    expect(errorOf(await t.call('POST', '/api/user/apikey', { session: u.session, form: { name: 'again' } }))).toEqual({ status: 400, code: 43 })
    const stored = await t.db.query('SELECT key_hash FROM api_keys WHERE user_id = $1', [u.id])
    expect(stored.rows[0].key_hash).toBe(sha(api_key))
    // the key works for authenticate and signup
    expect((await t.call('GET', '/api/user/authenticate', { query: { login: u.login, password: u.password, api_key } })).statusCode).toBe(200)
    expect((await t.call('DELETE', '/api/user/apikey', { session: u.session })).json()).toEqual({ response_status: 0 })
    expect(errorOf(await t.call('DELETE', '/api/user/apikey', { session: u.session }))).toEqual({ status: 404, code: 1 })
    expect(errorOf(await t.call('GET', '/api/user/authenticate', { query: { login: u.login, password: u.password, api_key } }))).toEqual({ status: 401, code: 8 })
  })

  it('needs a name (400/4) and a session (401/7)', async () => {
    const u = await t.signup()
    expect(errorOf(await t.call('POST', '/api/user/apikey', { session: u.session }))).toEqual({ status: 400, code: 4 })
    expect(errorOf(await t.call('POST', '/api/user/apikey', { form: { name: 'x' } }))).toEqual({ status: 401, code: 7 })
  })

  it('creates one key for concurrent requests; the others answer 400/43', async () => {
    const u = await t.signup()
    const answers = await Promise.all([0, 1, 2, 3].map((i) => t.call('POST', '/api/user/apikey', { session: u.session, form: { name: `app ${i}` } })))
    expect(answers.filter((r) => r.statusCode === 200)).toHaveLength(1)
    for (const r of answers.filter((r) => r.statusCode !== 200)) expect(errorOf(r)).toEqual({ status: 400, code: 43 })
  })
})

describe('sign-up', () => {
  const base = () => {
    const login = 's' + crypto.randomBytes(4).toString('hex')
    return { login, email: `${login}@example.com`, password: 'password123', firstName: 'Ann', lastName: 'Lee', api_key: API_KEY }
  }

  it('creates the account, signs it in and gives it an initials avatar', async () => {
    const f = base()
    const r = await t.call('POST', '/api/user/signup', { form: f })
    expect(r.statusCode).toBe(200)
    const b = r.json()
    expect(b).toMatchObject({ login_id: f.login, account_type: 'PERSONAL_FREE', level: 0, email: f.email, email_confirmed: false })
    expect(String(r.headers['set-cookie'])).toContain(`HI_SESSION=${b.session_id}`)
    const me = (await t.call('GET', '/api/user', { session: b.session_id })).json()
    expect(me).toMatchObject({ id: b.id, login: f.login, firstName: 'Ann', lastName: 'Lee', pictureSource: 2, pictureHash: b.picture_hash })
    const av = await t.db.query('SELECT source FROM avatars WHERE hash = $1', [b.picture_hash])
    expect(av.rows[0].source).toBe(2)
    const stored = await t.db.query('SELECT password_hash FROM users WHERE id = $1', [b.id])
    expect(stored.rows[0].password_hash).toMatch(/^\$argon2id\$/)
  })

  it('answers each contract code for bad sign-ups, and creates nothing', async () => {
    const taken = base()
    await t.call('POST', '/api/user/signup', { form: taken })
    const count = async () => (await t.db.query('SELECT count(*)::int AS n FROM users')).rows[0].n
    const before = await count()
    const cases: Array<[Record<string, string | undefined>, number, number]> = [
      [{ ...base(), login: taken.login.toUpperCase() }, 400, 21],
      [{ ...base(), email: taken.email.toUpperCase() }, 400, 22],
      [{ ...base(), email: 'not-an-email' }, 400, 38],
      [{ ...base(), email: 'a@b' }, 400, 38],
      [{ ...base(), login: 'ab' }, 400, 39],
      [{ ...base(), login: 'has space' }, 400, 39],
      [{ ...base(), login: 'x'.repeat(65) }, 400, 39],
      [{ ...base(), firstName: 'x'.repeat(65) }, 400, 40],
      [{ ...base(), lastName: 'bad\u0007name' }, 400, 40],
      [{ ...base(), password: 'short' }, 400, 6],
      [{ ...base(), api_key: undefined }, 401, 8],
      [{ ...base(), api_key: 'wrong' }, 401, 8],
      [{ ...base(), login: undefined }, 400, 4],
      [{ ...base(), password: undefined }, 400, 4],
    ]
    for (const [form, status, code] of cases) {
      const r = await t.call('POST', '/api/user/signup', { form })
      expect({ form, ...errorOf(r) }).toEqual({ form, status, code })
    }
    expect(await count()).toBe(before)
  })

  it('names concurrent sign-ups for one login (21) or one email (22): one account each, never a 500', async () => {
    const count = async () => (await t.db.query('SELECT count(*)::int AS n FROM users')).rows[0].n
    const before = await count()
    const sameLogin = base()
    const byLogin = await Promise.all([0, 1, 2, 3].map((i) => t.call('POST', '/api/user/signup', { form: { ...sameLogin, email: `${i}-${sameLogin.email}` } })))
    const sameEmail = base()
    const byEmail = await Promise.all([0, 1, 2, 3].map((i) => t.call('POST', '/api/user/signup', { form: { ...sameEmail, login: `${sameEmail.login}${i}` } })))
    for (const [answers, code] of [[byLogin, 21], [byEmail, 22]] as const) {
      expect(answers.filter((r) => r.statusCode === 200)).toHaveLength(1)
      for (const r of answers.filter((r) => r.statusCode !== 200)) expect(errorOf(r)).toEqual({ status: 400, code })
    }
    expect(await count()).toBe(before + 2)
  })

  it('sends a confirmation email whose link confirms the address once', async () => {
    const f = base()
    const since = t.smtp!.mails.length
    const r = (await t.call('POST', '/api/user/signup', { form: f })).json()
    const mail = await t.smtp!.waitFor(f.email, since)
    expect(mail.text).toContain('http://hitask.test/api/user/confirm?token=')
    const token = t.smtp!.tokenIn(mail)
    expect(token.length).toBeGreaterThanOrEqual(22) // ≥ 128 bits in base64url
    expect((await t.call('GET', '/api/user/confirm', { query: { token } })).json()).toEqual({ response_status: 0 })
    expect((await t.call('GET', '/api/user', { session: r.session_id })).json().emailConfirmed).toBe(f.email)
    expect(errorOf(await t.call('GET', '/api/user/confirm', { query: { token } }))).toEqual({ status: 400, code: 6 })
  })
})
