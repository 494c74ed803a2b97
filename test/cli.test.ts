// The admin CLI (src/cli.ts), run as a subprocess on the database of a test app; what it
// does is checked through the API.
import path from 'node:path'
import { spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_KEY, createTestApp, errorOf, type TestApp } from './helpers/app.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ smtp: false })
})
afterAll(() => t?.close())

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: path.resolve(import.meta.dirname, '..'),
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', DATABASE_URL: t.db.url, DATA_DIR: t.dataDir, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (b) => (stdout += b))
    p.stderr.on('data', (b) => (stderr += b))
    p.on('error', reject)
    p.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

const authenticate = (login: string, password: string, apiKey = API_KEY) =>
  t.call('GET', '/api/user/authenticate', { query: { login, password, api_key: apiKey } })

// each test starts node processes: generous time on a loaded 2-core machine
describe('npm run cli', { timeout: 120_000 }, () => {
  it('without a command prints the usage; an unknown one fails with 2', async () => {
    const help = await cli([])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('api-key create')
    const bad = await cli(['frobnicate'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('Usage:')
  })

  it('user create: the account signs in; without --password one is generated and printed', async () => {
    const r = await cli(['user', 'create', '--login', 'alice', '--email', 'alice@example.com', '--password', 'alice-password-1', '--first-name', 'Alice', '--confirmed'])
    expect(r.stderr).not.toMatch(/error|failed/i)
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Created user alice')
    const a = await authenticate('alice', 'alice-password-1')
    expect(a.statusCode).toBe(200)
    const me = await t.call('GET', '/api/user', { session: a.json().session_id })
    expect(me.json()).toMatchObject({ login: 'alice', firstName: 'Alice', email: 'alice@example.com' })
    expect(me.json().emailConfirmed).toBeTruthy()

    const g = await cli(['user', 'create', '--login', 'bob', '--email', 'bob@example.com'])
    expect(g.code).toBe(0)
    const password = /Password: (\S+)/.exec(g.stdout)?.[1]
    expect(password).toBeTruthy()
    expect((await authenticate('bob@example.com', password!)).statusCode).toBe(200)
    const bob = await authenticate('bob', password!)
    expect((await t.call('GET', '/api/user', { session: bob.json().session_id })).json().emailConfirmed).toBeFalsy()
  })

  it('user create applies the sign-up rules', async () => {
    const taken = await cli(['user', 'create', '--login', 'ALICE', '--email', 'other@example.com'])
    expect(taken.code).toBe(1)
    expect(taken.stderr).toContain('error 21')
    const weak = await cli(['user', 'create', '--login', 'carol', '--email', 'carol@example.com', '--password', 'short'])
    expect(weak.code).toBe(1)
    expect(weak.stderr).toContain('error 6')
    const missing = await cli(['user', 'create', '--login', 'dave'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('--email is required')
    expect((await authenticate('carol', 'short')).statusCode).toBe(403)
  })

  it('user reset-password: the new password works, the old one and the sessions do not', async () => {
    const before = await authenticate('alice', 'alice-password-1')
    const session = before.json().session_id
    const r = await cli(['user', 'reset-password', '--user', 'alice@example.com', '--password', 'alice-password-2'])
    expect(r.code).toBe(0)
    expect(errorOf(await t.call('GET', '/api/user', { session }))).toEqual({ status: 401, code: 7 })
    expect(errorOf(await authenticate('alice', 'alice-password-1'))).toEqual({ status: 403, code: 3 })
    expect((await authenticate('alice', 'alice-password-2')).statusCode).toBe(200)

    const unknown = await cli(['user', 'reset-password', '--user', 'nobody'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('no user')
  })

  it("api-key create --user: the user's key, shown once, usable by clients", async () => {
    const r = await cli(['api-key', 'create', '--user', 'alice', '--name', 'reports'])
    expect(r.code).toBe(0)
    const key = /^\s+(\S{20,})$/m.exec(r.stdout)?.[1]
    expect(key).toBeTruthy()
    const a = await authenticate('alice', 'alice-password-2', key!)
    expect(a.statusCode).toBe(200)
    const info = await t.call('GET', '/api/user/apikey', { session: a.json().session_id })
    expect(info.json()).toMatchObject({ name: 'reports', prefix: key!.slice(0, 6) })
    // one per user (contract §2)
    const again = await cli(['api-key', 'create', '--user', 'alice'])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('error 43')
  })

  it('api-key create: a client key for API_KEYS, stored nowhere', async () => {
    const r = await cli(['api-key', 'create', '--name', 'mobile'])
    expect(r.code).toBe(0)
    const key = /API_KEYS=(\S+)/.exec(r.stdout)?.[1]
    expect(key).toBeTruthy()
    expect(errorOf(await authenticate('alice', 'alice-password-2', key!))).toEqual({ status: 401, code: 8 })
    // a server configured with it accepts it
    const other = await createTestApp({ smtp: false, env: { API_KEYS: `${API_KEY},${key}` } })
    try {
      const s = await other.call('POST', '/api/user/signup', { form: { login: 'erin', email: 'erin@example.com', password: 'erin-password-1', api_key: key } })
      expect(s.statusCode).toBe(200)
    } finally {
      await other.close()
    }
  })

  it('team list: each team with its licences used (members + pending invitations)', async () => {
    const empty = await cli(['team', 'list'])
    expect(empty.code).toBe(0)
    expect(empty.stdout).toContain('No teams.')

    const owner = await t.signup('teamowner')
    const b = await t.call('POST', '/api/business', { session: owner.session, form: { title: 'Acme Inc', domainName: 'acme' } })
    expect(b.statusCode).toBe(200)
    const invite = await t.call('POST', '/api/team/member', { session: owner.session, form: { email: 'invitee@example.com', name: 'Invitee' } })
    expect(invite.statusCode).toBe(200)

    const json = await cli(['team', 'list', '--json'])
    expect(json.code).toBe(0)
    const rows = JSON.parse(json.stdout)
    expect(rows).toEqual([
      expect.objectContaining({ title: 'Acme Inc', domain_name: 'acme', owner: 'teamowner', members: 1, pending_invitations: 1, licenses_used: 2, licenses_number: t.config.TEAM_LICENSES }),
    ])
    const table = await cli(['team', 'list'])
    expect(table.stdout).toMatch(new RegExp(`acme\\s+Acme Inc\\s+teamowner\\s+1\\s+1\\s+2/${t.config.TEAM_LICENSES}`))
  })
})
