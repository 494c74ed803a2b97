// The log: pino JSON, one line per request (request id, route, status, time), errors with
// their request id, and never a secret: passwords, session ids, API keys, email tokens,
// wherever the client put them (query string, form, JSON, header, cookie).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_KEY, createTestApp, errorOf, type TestApp } from './helpers/app.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t?.close())

const parsed = () => t.logLines.flatMap((l) => l.split('\n').filter(Boolean)).map((l) => JSON.parse(l) as Record<string, any>)

describe('the request log', () => {
  it('never holds a secret, whatever the client does with it', async () => {
    const secrets: Record<string, string> = { configuredApiKey: API_KEY }
    const login = 'logsuser' + Date.now().toString(36)
    const email = `${login}@example.com`
    const firstPassword = 'first-Secret-pw-1'
    secrets.firstPassword = firstPassword

    // sign-up, form body
    const signup = await t.call('POST', '/api/user/signup', {
      form: { login, email, password: firstPassword, firstName: 'Log', lastName: 'Test', api_key: API_KEY },
    })
    expect(signup.statusCode).toBe(200)
    secrets.signupSession = signup.json().session_id
    secrets.confirmToken = t.smtp!.tokenIn(await t.smtp!.waitFor(email))

    // the 2018 web client: everything in the query string, versioned path
    const auth = await t.call('GET', `/api/v5/user/authenticate?login=${login}&password=${encodeURIComponent(firstPassword)}&api_key=${API_KEY}`)
    expect(auth.statusCode).toBe(200)
    const session = auth.json().session_id as string
    secrets.session = session
    expect((await t.call('GET', `/api/v5/user?session_id=${session}&api_key=${API_KEY}`)).statusCode).toBe(200)
    // a wrong password, and the session in a cookie and in a form field
    const wrong = await t.call('GET', `/api/user/authenticate?login=${login}&password=wrong-Secret-pw-9&api_key=${API_KEY}`)
    expect(errorOf(wrong)).toEqual({ status: 403, code: 3 })
    secrets.wrongPassword = 'wrong-Secret-pw-9'
    expect((await t.call('GET', '/api/user', { headers: { cookie: `HI_SESSION=${session}` } })).statusCode).toBe(200)

    // email confirmation with the token in the query string
    expect((await t.call('GET', `/api/user/confirm?token=${secrets.confirmToken}`)).statusCode).toBe(200)

    // password change, JSON body with the session id in it
    const secondPassword = 'second-Secret-pw-2'
    secrets.secondPassword = secondPassword
    const change = await t.call('POST', '/api/user/password', { body: { session_id: session, old_password: firstPassword, new_password: secondPassword } })
    expect(change.statusCode).toBe(200)

    // password reset by email, then with the token
    const before = t.smtp!.mails.length
    expect((await t.call('POST', '/api/user/password/reset', { form: { email } })).statusCode).toBe(200)
    const resetMail = await t.smtp!.waitFor(email, before)
    secrets.resetToken = t.smtp!.tokenIn(resetMail)
    expect(secrets.resetToken).not.toBe(secrets.confirmToken)
    const thirdPassword = 'third-Secret-pw-3'
    secrets.thirdPassword = thirdPassword
    const reset = await t.call('POST', '/api/user/password/reset/confirm', { form: { token: secrets.resetToken, new_password: thirdPassword } })
    expect(reset.statusCode).toBe(200)

    // sign in again, create the user's API key and use it
    const again = await t.call('POST', `/api/user/authenticate?api_key=${API_KEY}`, { form: { login, password: thirdPassword } })
    expect(again.statusCode).toBe(200)
    const session2 = again.json().session_id as string
    secrets.session2 = session2
    const key = await t.call('POST', `/api/user/apikey?session_id=${session2}`, { form: { name: 'logs' } })
    expect(key.statusCode).toBe(200)
    secrets.userApiKey = key.json().api_key
    const withKey = await t.call('GET', `/api/user/authenticate?login=${login}&password=${thirdPassword}&api_key=${secrets.userApiKey}`)
    expect(withKey.statusCode).toBe(200)
    secrets.session3 = withKey.json().session_id

    // a crash while the session is in the query string
    await t.db.query('ALTER TABLE users RENAME COLUMN last_name TO last_name_gone')
    try {
      const crash = await t.call('GET', `/api/user?session_id=${session2}&api_key=${API_KEY}`)
      expect(errorOf(crash)).toEqual({ status: 500, code: 100 })
    } finally {
      await t.db.query('ALTER TABLE users RENAME COLUMN last_name_gone TO last_name')
    }

    const log = t.logLines.join('')
    expect(log.length).toBeGreaterThan(1000)
    for (const [name, value] of Object.entries(secrets)) {
      expect(typeof value, name).toBe('string')
      expect(value.length, name).toBeGreaterThanOrEqual(8)
      expect(log.includes(value), `${name} appears in the log`).toBe(false)
      // nor percent-encoded
      expect(log.includes(encodeURIComponent(value)), `${name} (encoded) appears in the log`).toBe(false)
    }
  })

  it('redacts secrets in anything logged, up to two levels deep', async () => {
    const before = t.logLines.length
    t.app.log.warn(
      {
        p: { password: 'redact-me-1', session_id: 'redact-me-2', api_key: 'redact-me-3', token: 'redact-me-4', title: 'kept-value' },
        req: { query: { new_password: 'redact-me-5', old_password: 'redact-me-6' }, headers: { 'x-hi-session': 'redact-me-7', cookie: 'HI_SESSION=redact-me-8', authorization: 'redact-me-9' } },
        headers: { 'x-hi-session': 'redact-me-10' },
      },
      'probe',
    )
    const line = t.logLines.slice(before).join('')
    expect(line).toContain('kept-value')
    expect(line).toContain('[redacted]')
    expect(line).not.toMatch(/redact-me/)
  })

  it('is JSON, one line per request with its id, route, status and time', async () => {
    const lines = parsed()
    const requests = lines.filter((l) => l.msg === 'request')
    // the 13 calls of the first test
    expect(requests.length).toBe(13)
    for (const l of requests) {
      expect(typeof l.reqId).toBe('string')
      expect(typeof l.route).toBe('string')
      expect(typeof l.status).toBe('number')
      expect(typeof l.ms).toBe('number')
      expect(l.level).toBe(30)
      // route templates only: no query strings or raw URLs
      expect(l.route).not.toContain('?')
      expect(l.url).toBeUndefined()
    }
    const ids = requests.map((l) => l.reqId)
    expect(new Set(ids).size).toBe(ids.length)
    expect(requests.some((l) => l.route === '/api/user/authenticate' && l.status === 403)).toBe(true)
  })

  it('logs a crash once, at error level, with its request id and the error', async () => {
    const lines = parsed()
    const crash = lines.find((l) => l.msg === 'request' && l.status === 500)!
    expect(crash).toBeTruthy()
    const errors = lines.filter((l) => l.level === 50 && l.reqId === crash.reqId)
    expect(errors).toHaveLength(1)
    expect(errors[0]!.err?.message).toMatch(/last_name/)
    expect(typeof errors[0]!.err?.stack).toBe('string')
  })
})
