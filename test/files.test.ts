// File items (contract §8.2 /file/*): streaming upload to real storage, previews, signed
// links, quotas kept exact through every delete path, blobs removed with their items.
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, errorOf, type TestApp } from './helpers/app.js'
import { postMultipart } from './helpers/multipart.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ smtp: false })
})
afterAll(async () => {
  await t?.close()
})

/** every blob under the app's storage folder, relative paths */
function blobsOf(app: TestApp): string[] {
  const root = path.join(app.dataDir, 'files')
  if (!fs.existsSync(root)) return []
  return (fs.readdirSync(root, { recursive: true }) as string[]).filter((p) => fs.statSync(path.join(root, p)).isFile())
}

async function project(app: TestApp, session: string, extra: Record<string, unknown> = {}) {
  const r = await app.call('POST', '/api/item', { session, body: { title: 'Project ' + crypto.randomBytes(3).toString('hex'), category: 0, ...extra } })
  expect(r.statusCode).toBe(200)
  return r.json()
}

async function photo(width = 300, height = 200): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 80, b: 30 } } }).png().toBuffer()
}

async function upload(app: TestApp, session: string, data: Buffer, name: string, fields: Record<string, string | number> = {}, type = 'application/octet-stream') {
  return postMultipart(app, '/api/file/upload', { session, fields, files: [{ field: 'file', name, data, type }] })
}

async function storageUsed(app: TestApp, userId: number): Promise<number> {
  const r = await app.db.query<{ storage_used: number }>('SELECT storage_used FROM users WHERE id = $1', [userId])
  return Number(r.rows[0]!.storage_used)
}

describe('POST /file/upload', () => {
  it('creates a file item (category 5) under the parent, with size, type and image previews', async () => {
    const u = await t.signup()
    const p = await project(t, u.session)
    const before = blobsOf(t).length
    const png = await photo()
    const r = await upload(t, u.session, png, 'photo.png', { parent_id: p.id }, 'image/png')
    expect(r.statusCode).toBe(200)
    const item = r.json()
    expect(item).toMatchObject({ category: 5, title: 'photo.png', file_size: png.length, parent: p.id, user_id: u.id })
    expect(typeof item.id).toBe('number')
    // squares up to 200 px, proportional ones up to 300 (contract §8.1; test/clients/previews.test.ts has the rest)
    expect(item.previews.map((x: { type: string; size: number }) => `${x.type} ${x.size}`)).toEqual(['SQUARE 30', 'SQUARE 60', 'SQUARE 125', 'PROPORTIONAL 30', 'PROPORTIONAL 60', 'PROPORTIONAL 125', 'PROPORTIONAL 250'])
    expect(JSON.stringify(item.previews)).not.toContain('storage_key')
    // the file and its seven previews are on disk
    expect(blobsOf(t).length).toBe(before + 8)
    expect(await storageUsed(t, u.id)).toBe(png.length)
    // the item is an ordinary item: GET /item/{id}
    const got = await t.call('GET', `/api/item/${item.id}`, { session: u.session })
    expect(got.statusCode).toBe(200)
    expect(got.json()).toMatchObject({ id: item.id, category: 5, file_size: png.length })
    // and the parent's history says a file was added
    const h = await t.call('GET', '/api/item/history', { session: u.session, query: { id: p.id } })
    expect(h.json().some((e: { property_name: string; value: string }) => e.property_name === 'file' && e.value === 'photo.png')).toBe(true)
  })

  it('keeps the content type and the bytes; a file that is not an image gets no previews', async () => {
    const u = await t.signup()
    const data = Buffer.from('hello,world\n1,2\n')
    const r = await upload(t, u.session, data, 'C:\\Users\\me\\table.csv', {}, 'text/csv')
    expect(r.statusCode).toBe(200)
    const item = r.json()
    expect(item).toMatchObject({ title: 'table.csv', file_size: data.length, previews: null, category: 5 })
    const d = await t.call('GET', `/api/file/${item.id}`, { session: u.session })
    expect(d.statusCode).toBe(200)
    expect(d.headers['content-type']).toBe('text/csv')
    expect(d.headers['content-disposition']).toBe(`attachment; filename="table.csv"; filename*=UTF-8''table.csv`)
    expect(d.headers['x-content-type-options']).toBe('nosniff')
    expect(Buffer.compare(d.rawPayload, data)).toBe(0)
  })

  it('encodes any file name safely in Content-Disposition', async () => {
    const u = await t.signup()
    const name = 'отчёт «final»; x=1 (2).txt'
    const r = await upload(t, u.session, Buffer.from('x'), name, {}, 'text/plain')
    expect(r.statusCode).toBe(200)
    const d = await t.call('GET', `/api/file/${r.json().id}`, { session: u.session })
    const cd = d.headers['content-disposition'] as string
    expect(cd).toMatch(/^attachment; filename="[\x20-\x7e]+"; filename\*=UTF-8''[A-Za-z0-9%._~!-]+$/)
    expect(cd.match(/"/g)!.length).toBe(2)
    expect(decodeURIComponent(cd.split("UTF-8''")[1]!)).toBe(name)
    expect(r.json().title).toBe(name)
  })

  it('answers the same item for a retried guid, charging the quota once', async () => {
    const u = await t.signup()
    const guid = crypto.randomUUID()
    const a = await upload(t, u.session, Buffer.alloc(1000, 1), 'a.bin', { guid })
    const b = await upload(t, u.session, Buffer.alloc(1000, 1), 'a.bin', { guid })
    expect(a.statusCode).toBe(200)
    expect(b.statusCode).toBe(200)
    expect(b.json().id).toBe(a.json().id)
    expect(a.json().guid).toBe(guid)
    expect(await storageUsed(t, u.id)).toBe(1000)
    const other = await t.signup()
    expect(errorOf(await upload(t, other.session, Buffer.alloc(10), 'b.bin', { guid }))).toEqual({ status: 400, code: 6 })
  })

  it('needs level 30 on the parent (403/3), a visible parent (404/1), a file (400/4) and a session (401/7)', async () => {
    const owner = await t.signup()
    const viewer = await t.signup()
    const adder = await t.signup()
    const p = await project(t, owner.session, {
      permissions: [
        { principal: viewer.id, level: 20 },
        { principal: adder.id, level: 30 },
      ],
    })
    expect(errorOf(await upload(t, viewer.session, Buffer.from('x'), 'x.txt', { parent_id: p.id }))).toEqual({ status: 403, code: 3 })
    expect((await upload(t, adder.session, Buffer.from('x'), 'x.txt', { parent_id: p.id })).statusCode).toBe(200)
    const stranger = await t.signup()
    expect(errorOf(await upload(t, stranger.session, Buffer.from('x'), 'x.txt', { parent_id: p.id }))).toEqual({ status: 404, code: 1 })
    expect(errorOf(await postMultipart(t, '/api/file/upload', { session: owner.session, fields: { parent_id: p.id } }))).toEqual({ status: 400, code: 4 })
    expect(errorOf(await upload(t, '', Buffer.from('x'), 'x.txt'))).toEqual({ status: 401, code: 7 })
  })
})

describe('limits', () => {
  it('refuses a file over FILE_MAX_BYTES with 413/25, storing nothing', async () => {
    const small = await createTestApp({ smtp: false, env: { FILE_MAX_BYTES: '1000' } })
    try {
      const u = await small.signup()
      const r = await upload(small, u.session, crypto.randomBytes(5000), 'big.bin')
      expect(errorOf(r)).toEqual({ status: 413, code: 25 })
      expect((await upload(small, u.session, crypto.randomBytes(1000), 'ok.bin')).statusCode).toBe(200)
      expect(blobsOf(small).length).toBe(1)
    } finally {
      await small.close()
    }
  })

  it('refuses an upload over the user quota with 507/20 and keeps storage_used exact through deletes', async () => {
    const q = await createTestApp({ smtp: false, env: { USER_STORAGE_QUOTA_MB: '1' } })
    try {
      const u = await q.signup()
      const p = await project(q, u.session)
      const a = await upload(q, u.session, crypto.randomBytes(600_000), 'a.bin', { parent_id: p.id })
      expect(a.statusCode).toBe(200)
      const over = await upload(q, u.session, crypto.randomBytes(600_000), 'b.bin', { parent_id: p.id })
      expect(errorOf(over)).toEqual({ status: 507, code: 20 })
      expect(await storageUsed(q, u.id)).toBe(600_000)
      expect(blobsOf(q).length).toBe(1)
      const b = await upload(q, u.session, crypto.randomBytes(400_000), 'b.bin')
      expect(b.statusCode).toBe(200)
      expect(await storageUsed(q, u.id)).toBe(1_000_000)
      // deleting the file item itself, then the project holding the other
      expect((await q.call('DELETE', `/api/item/${b.json().id}`, { session: u.session })).statusCode).toBe(200)
      expect(await storageUsed(q, u.id)).toBe(600_000)
      expect((await q.call('DELETE', `/api/item/${p.id}`, { session: u.session })).statusCode).toBe(200)
      expect(await storageUsed(q, u.id)).toBe(0)
      expect(blobsOf(q)).toEqual([])
    } finally {
      await q.close()
    }
  })

  it("charges a team's files to the team quota", async () => {
    const u = await t.signup()
    const b = await t.db.query<{ id: number }>(
      `INSERT INTO businesses (title, domain_name, owner_id, storage_quota) VALUES ('T', $1, $2, 1) RETURNING id`,
      ['t' + crypto.randomBytes(4).toString('hex'), u.id],
    )
    await t.db.query('UPDATE users SET business_id = $1, business_level = 100, account_level = 200 WHERE id = $2', [b.rows[0]!.id, u.id])
    const ok = await upload(t, u.session, crypto.randomBytes(700_000), 'a.bin')
    expect(ok.statusCode).toBe(200)
    expect(errorOf(await upload(t, u.session, crypto.randomBytes(700_000), 'b.bin'))).toEqual({ status: 507, code: 20 })
    const used = await t.db.query('SELECT storage_used FROM businesses WHERE id = $1', [b.rows[0]!.id])
    expect(Number(used.rows[0].storage_used)).toBe(700_000)
    expect(await storageUsed(t, u.id)).toBe(0)
  })
})

describe('downloads', () => {
  it('GET /file/url gives a link that downloads without a session', async () => {
    const u = await t.signup()
    const png = await photo(50, 50)
    const item = (await upload(t, u.session, png, 'p.png', {}, 'image/png')).json()
    const r = await t.call('GET', '/api/file/url', { session: u.session, query: { id: item.id } })
    expect(r.statusCode).toBe(200)
    const body = r.json()
    expect(body).toMatchObject({ content_type: 'image/png', mime_type: 'image/png' })
    const url = new URL(body.url)
    expect(url.origin).toBe('http://hitask.test')
    const d = await t.call('GET', url.pathname + url.search)
    expect(d.statusCode).toBe(200)
    expect(d.headers['content-type']).toBe('image/png')
    expect(d.headers['content-disposition']).toMatch(/^inline; filename="p.png"/)
    expect(Buffer.compare(d.rawPayload, png)).toBe(0)
  })

  it('refuses a tampered link (403/3) and a request with neither session nor link (401/7)', async () => {
    const u = await t.signup()
    const a = (await upload(t, u.session, Buffer.from('aaa'), 'a.txt')).json()
    const b = (await upload(t, u.session, Buffer.from('bbb'), 'b.txt')).json()
    const url = new URL((await t.call('GET', '/api/file/url', { session: u.session, query: { id: a.id } })).json().url)
    const sig = url.searchParams.get('signature')!
    const exp = url.searchParams.get('expires')!
    const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1)
    for (const q of [
      `/api/file/${a.id}?expires=${exp}&signature=${flipped}`,
      `/api/file/${a.id}?expires=${Number(exp) + 1000}&signature=${sig}`,
      `/api/file/${b.id}?expires=${exp}&signature=${sig}`,
      `/api/file/${a.id}?signature=${sig}`,
      `/api/file/${a.id}?expires=${exp}`,
    ]) {
      expect(errorOf(await t.call('GET', q)), q).toEqual({ status: 403, code: 3 })
    }
    expect(errorOf(await t.call('GET', `/api/file/${a.id}`))).toEqual({ status: 401, code: 7 })
  })

  it('refuses a link after it expires', async () => {
    const short = await createTestApp({ smtp: false, env: { FILE_URL_TTL_SECONDS: '1' } })
    try {
      const u = await short.signup()
      const item = (await upload(short, u.session, Buffer.from('soon gone'), 'a.txt')).json()
      const url = new URL((await short.call('GET', '/api/file/url', { session: u.session, query: { id: item.id } })).json().url)
      const expires = Number(url.searchParams.get('expires')) * 1000
      await new Promise((r) => setTimeout(r, Math.max(0, expires - Date.now()) + 50))
      expect(errorOf(await short.call('GET', url.pathname + url.search))).toEqual({ status: 403, code: 3 })
    } finally {
      await short.close()
    }
  })

  it("answers 404/1 for another user's file, by id and for a link", async () => {
    const u = await t.signup()
    const other = await t.signup()
    const item = (await upload(t, u.session, Buffer.from('private'), 'a.txt')).json()
    expect(errorOf(await t.call('GET', `/api/file/${item.id}`, { session: other.session }))).toEqual({ status: 404, code: 1 })
    expect(errorOf(await t.call('GET', '/api/file/url', { session: other.session, query: { id: item.id } }))).toEqual({ status: 404, code: 1 })
    // an item that is not a file
    const task = await t.call('POST', '/api/item', { session: u.session, body: { title: 'a task' } })
    expect(errorOf(await t.call('GET', '/api/file/url', { session: u.session, query: { id: task.json().id } }))).toEqual({ status: 404, code: 1 })
  })

  it('serves the previews listed in the item', async () => {
    const u = await t.signup()
    const item = (await upload(t, u.session, await photo(400, 100), 'wide.png', {}, 'image/png')).json()
    const d = await t.call('GET', `/api/file/${item.id}`, { session: u.session, query: { preview: 250 } })
    expect(d.statusCode).toBe(200)
    expect(d.headers['content-type']).toBe('image/jpeg')
    const meta = await sharp(d.rawPayload).metadata()
    expect([meta.width, meta.height]).toEqual([250, 63])
    const square = await t.call('GET', `/api/file/${item.id}`, { session: u.session, query: { preview: 60, type: 'SQUARE' } })
    expect(await sharp(square.rawPayload).metadata()).toMatchObject({ width: 60, height: 60 })
    expect(errorOf(await t.call('GET', `/api/file/${item.id}`, { session: u.session, query: { preview: 100 } }))).toEqual({ status: 404, code: 1 })
    // squares only up to the shorter edge (100 px)
    expect(errorOf(await t.call('GET', `/api/file/${item.id}`, { session: u.session, query: { preview: 125, type: 'SQUARE' } }))).toEqual({ status: 404, code: 1 })
  })
})

describe('deleting', () => {
  it("deleting a project removes its files' blobs, previews included, from disk", async () => {
    const u = await t.signup()
    const p = await project(t, u.session)
    const task = (await t.call('POST', '/api/item', { session: u.session, body: { title: 'task', parent: p.id } })).json()
    const before = new Set(blobsOf(t))
    const a = await upload(t, u.session, await photo(), 'a.png', { parent_id: p.id }, 'image/png')
    const b = await upload(t, u.session, Buffer.from('nested'), 'b.txt', { parent_id: task.id })
    expect(a.statusCode).toBe(200)
    expect(b.statusCode).toBe(200)
    const added = blobsOf(t).filter((x) => !before.has(x))
    // a.png, its seven previews, b.txt
    expect(added.length).toBe(9)
    expect((await t.call('DELETE', `/api/item/${p.id}`, { session: u.session })).statusCode).toBe(200)
    const left = new Set(blobsOf(t))
    expect(added.filter((x) => left.has(x))).toEqual([])
    expect(await storageUsed(t, u.id)).toBe(0)
    const queued = await t.db.query('SELECT count(*)::int AS n FROM deleted_blobs')
    expect(queued.rows[0].n).toBe(0)
  })
})
