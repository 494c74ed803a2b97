// Security review, the checkable parts (docs/reliability.md has the whole review): password
// hashing parameters, entropy of session ids, keys and tokens, signed file URLs, upload
// names that try to leave the storage folder.
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_KEY, createTestApp, errorOf, type TestApp } from '../helpers/app.js'
import { postMultipart } from '../helpers/multipart.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ env: { RATE_LIMIT_PER_MINUTE: '100000' } })
})
afterAll(async () => t?.close())

const bits = (s: string) => Buffer.from(s, 'base64url').length * 8

function allFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]))
}

describe('secrets', () => {
  it('hashes passwords with argon2id at 19 MiB, 2 passes, 1 lane', async () => {
    const u = await t.signup()
    const r = await t.db.query('SELECT password_hash FROM users WHERE id = $1', [u.id])
    expect(r.rows[0].password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/)
  })

  it('gives session ids of 128+ random bits, never repeated', async () => {
    const u = await t.signup()
    const ids = new Set<string>()
    for (let i = 0; i < 200; i++) {
      const r = await t.call('GET', '/api/user/authenticate', { query: { login: u.login, password: u.password, api_key: API_KEY } })
      const sid = r.json().session_id as string
      expect(sid).toMatch(/^[A-Za-z0-9_-]+$/)
      expect(bits(sid)).toBeGreaterThanOrEqual(128)
      ids.add(sid)
    }
    expect(ids.size).toBe(200)
  }, 120_000)

  it('gives email tokens and API keys of 128+ random bits', async () => {
    const u = await t.signup()
    const token = t.smtp!.tokenIn(await t.smtp!.waitFor(u.email))
    expect(bits(token)).toBeGreaterThanOrEqual(128)
    const key = (await t.call('POST', '/api/user/apikey', { session: u.session, form: { name: 'k' } })).json().api_key as string
    expect(bits(key)).toBeGreaterThanOrEqual(128)
  })
})

describe('files', () => {
  it('keeps blobs inside the storage folder whatever the uploaded name', async () => {
    const u = await t.signup()
    const marker = 'escape-' + crypto.randomBytes(6).toString('hex')
    const names = [`../../../../../../tmp/${marker}.txt`, `..\\..\\..\\${marker}.txt`, `/etc/${marker}`, `${marker}\u0000.png`, `a/b/../../${marker}`]
    for (const name of names) {
      const r = await postMultipart(t, '/api/file/upload', { session: u.session, files: [{ field: 'file', name, data: Buffer.from('hello') }] })
      expect(r.statusCode).toBe(200)
      const id = r.json().id
      const dl = await t.call('GET', `/api/file/${id}`, { session: u.session })
      expect(dl.statusCode).toBe(200)
      expect(dl.body).toBe('hello')
      // the header cannot be broken out of, nor carry a path
      const cd = String(dl.headers['content-disposition'])
      expect(cd).not.toMatch(/[\r\n]/)
      expect(cd).not.toMatch(/filename="[^"]*[\\/][^"]*"/)
    }
    expect(fs.existsSync(`/tmp/${marker}.txt`)).toBe(false)
    expect(fs.existsSync(`/etc/${marker}`)).toBe(false)
    const storage = path.join(t.dataDir, 'files')
    const stored = allFiles(storage)
    expect(stored.length).toBeGreaterThanOrEqual(names.length)
    for (const f of stored) expect(path.resolve(f).startsWith(path.resolve(storage) + path.sep)).toBe(true)
    // nothing anywhere else in the data folder is named after the upload
    expect(allFiles(t.dataDir).filter((f) => f.includes(marker))).toEqual([])
  })

  it('refuses a signed URL moved to another file, re-dated, or expired', async () => {
    const u = await t.signup()
    const up = async (name: string) => (await postMultipart(t, '/api/file/upload', { session: u.session, files: [{ field: 'file', name, data: Buffer.from(name) }] })).json().id as number
    const a = await up('a.txt')
    const b = await up('b.txt')
    const link = new URL((await t.call('GET', '/api/file/url', { session: u.session, query: { id: a } })).json().url)
    const sig = link.searchParams.get('signature')!
    const exp = Number(link.searchParams.get('expires'))
    expect((await t.app.inject({ method: 'GET', url: `${link.pathname}${link.search}` })).statusCode).toBe(200)
    for (const url of [`/api/file/${b}?expires=${exp}&signature=${sig}`, `/api/file/${a}?expires=${exp + 3600}&signature=${sig}`, `/api/file/${a}?expires=${Math.floor(Date.now() / 1000) - 1}&signature=${sig}`]) {
      const r = await t.app.inject({ method: 'GET', url })
      expect(r.statusCode).toBeGreaterThanOrEqual(401)
      expect(r.statusCode).toBeLessThanOrEqual(404)
      expect(r.body).not.toBe('a.txt')
      expect(r.body).not.toBe('b.txt')
    }
  })

  it("never serves another user's file, by id or by a guessed avatar name", async () => {
    const owner = await t.signup()
    const other = await t.signup()
    const id = (await postMultipart(t, '/api/file/upload', { session: owner.session, files: [{ field: 'file', name: 'secret.txt', data: Buffer.from('secret') }] })).json().id
    expect(errorOf(await t.call('GET', `/api/file/${id}`, { session: other.session }))).toEqual({ status: 404, code: 1 })
    expect(errorOf(await t.call('GET', '/api/file/url', { session: other.session, query: { id } }))).toEqual({ status: 404, code: 1 })
    expect((await t.call('GET', '/avatar/..%2F..%2Fetc%2Fpasswd.64.gif')).statusCode).toBe(404)
  })
})
