// Previews (contract §8.1): the web client uploads a picture (multipart, the session in the
// query) and shows `previews[].url` in an <img>, choosing by `size` and `type` (SQUARE,
// PROPORTIONAL). Real pictures made with sharp, real storage, URLs loaded without any header.
import fs from 'node:fs'
import path from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, errorOf, type TestApp } from '../helpers/app.js'
import type { TestUser } from '../helpers/teams.js'
import { rebuildPreviews } from '../../src/files/service.js'
import { webClient, type WebClient } from './web-client.js'

let t: TestApp
let u: TestUser
let c: WebClient
beforeAll(async () => {
  t = await createTestApp({ smtp: false })
  u = await t.signup()
  c = webClient(t, u.session)
})
afterAll(async () => t?.close())

function blobsOf(app: TestApp): string[] {
  const root = path.join(app.dataDir, 'files')
  if (!fs.existsSync(root)) return []
  return (fs.readdirSync(root, { recursive: true }) as string[]).filter((p) => fs.statSync(path.join(root, p)).isFile())
}

/** a photo-like JPEG (a gradient, so the encoder has something to do) */
async function jpeg(width: number, height: number, orientation?: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3)
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw.set([(x * 255) / width, (y * 255) / height, 128], (y * width + x) * 3)
  const img = sharp(raw, { raw: { width, height, channels: 3 } }).jpeg()
  return (orientation ? img.withMetadata({ orientation }) : img).toBuffer()
}

/** loads a preview URL as an <img> does: no session, no header */
async function load(url: string) {
  const u = new URL(url)
  expect(`${u.protocol}//${u.host}`).toBe('http://hitask.test')
  return t.app.inject({ method: 'GET', url: u.pathname + u.search })
}

describe('previews of an uploaded picture', () => {
  it('lists {url, size, type} for every size up to the picture, SQUARE and PROPORTIONAL, each loadable by an <img>', async () => {
    const data = await jpeg(700, 400)
    const r = await c.upload('file/upload', [{ field: 'file', name: 'photo.jpg', data, type: 'image/jpeg' }])
    expect(r.statusCode, r.body).toBe(200)
    const item = r.json()
    const previews = item.previews as { url: string; size: number; type: string }[]
    for (const p of previews) expect(Object.keys(p).sort()).toEqual(['size', 'type', 'url'])
    const of = (type: string) => previews.filter((p) => p.type === type).map((p) => p.size)
    // squares up to the shorter edge (400), proportional ones up to the longer (700)
    expect(of('SQUARE')).toEqual([30, 60, 125, 250, 320])
    expect(of('PROPORTIONAL')).toEqual([30, 60, 125, 250, 320, 500, 640])
    for (const p of previews) {
      const got = await load(p.url)
      expect(got.statusCode, `${p.type} ${p.size}: ${got.body.slice(0, 200)}`).toBe(200)
      expect(got.headers['content-type']).toBe('image/jpeg')
      const meta = await sharp(got.rawPayload).metadata()
      if (p.type === 'SQUARE') expect([meta.width, meta.height]).toEqual([p.size, p.size])
      else expect([meta.width, meta.height]).toEqual([p.size, Math.round((p.size * 400) / 700)])
    }
    // the same list in GET /item, with the same URLs (stable: the browser caches them)
    const listed = ((await c.get('item')).json() as any[]).find((x) => x.id === item.id)
    expect(listed.previews).toEqual(previews)
    // the blob and one blob per preview are stored
    expect(blobsOf(t).length).toBe(1 + previews.length)
  })

  it('refuses a tampered or moved link with 403/3, and serves a link to a deleted file no more', async () => {
    const item = (await c.upload('file/upload', [{ field: 'file', name: 'p.jpg', data: await jpeg(300, 300), type: 'image/jpeg' }])).json()
    const url = new URL(item.previews.find((p: { type: string; size: number }) => p.type === 'SQUARE' && p.size === 250).url)
    const tamper = async (k: string, v: string) => {
      const x = new URL(url)
      x.searchParams.set(k, v)
      return errorOf(await load(x.toString()))
    }
    expect(await tamper('preview', '125')).toEqual({ status: 403, code: 3 })
    expect(await tamper('type', 'PROPORTIONAL')).toEqual({ status: 403, code: 3 })
    expect(await tamper('expires', String(Number(url.searchParams.get('expires')) + 1))).toEqual({ status: 403, code: 3 })
    expect(await tamper('signature', 'x' + url.searchParams.get('signature')!.slice(1))).toEqual({ status: 403, code: 3 })
    // a preview link does not download the file itself
    const whole = new URL(url)
    whole.searchParams.delete('preview')
    whole.searchParams.delete('type')
    expect(errorOf(await load(whole.toString()))).toEqual({ status: 403, code: 3 })
    expect((await c.del(`item/${item.id}`, {})).statusCode).toBe(200)
    expect(errorOf(await load(url.toString()))).toEqual({ status: 403, code: 3 })
  })

  it('applies the EXIF orientation, keeps transparency in PNG, lists [] for a picture smaller than every size and null for other files', async () => {
    // 200 × 100 stored, shown turned a quarter (orientation 6): 100 × 200
    const turned = (await c.upload('file/upload', [{ field: 'file', name: 'turned.jpg', data: await jpeg(200, 100, 6), type: 'image/jpeg' }])).json()
    const p125 = turned.previews.find((p: { type: string; size: number }) => p.type === 'PROPORTIONAL' && p.size === 125)
    const meta = await sharp((await load(p125.url)).rawPayload).metadata()
    expect([meta.width, meta.height]).toEqual([63, 125])
    expect(turned.previews.filter((p: { type: string }) => p.type === 'SQUARE').map((p: { size: number }) => p.size)).toEqual([30, 60])

    const clear = await sharp({ create: { width: 64, height: 64, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer()
    const png = (await c.upload('file/upload', [{ field: 'file', name: 'clear.png', data: clear, type: 'image/png' }])).json()
    expect(png.previews.map((p: { size: number }) => p.size)).toEqual([30, 60, 30, 60])
    const got = await load(png.previews[0].url)
    expect(got.headers['content-type']).toBe('image/png')
    expect((await sharp(got.rawPayload).metadata()).hasAlpha).toBe(true)

    const tiny = await sharp({ create: { width: 20, height: 20, channels: 3, background: '#888' } }).png().toBuffer()
    expect((await c.upload('file/upload', [{ field: 'file', name: 'tiny.png', data: tiny, type: 'image/png' }])).json().previews).toEqual([])
    const text = (await c.upload('file/upload', [{ field: 'file', name: 'notes.txt', data: Buffer.from('hello'), type: 'text/plain' }])).json()
    expect(text.previews).toBeNull()
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="500" height="500"><rect width="500" height="500"/></svg>')
    expect((await c.upload('file/upload', [{ field: 'file', name: 'x.svg', data: svg, type: 'image/svg+xml' }])).json().previews).toBeNull()
  })
})

describe('files stored before these previews', () => {
  it('list no previews until `npm run cli -- previews rebuild` makes them, which also removes the old ones', async () => {
    const other = await t.signup()
    const oc = webClient(t, other.session)
    const item = (await oc.upload('file/upload', [{ field: 'file', name: 'old.jpg', data: await jpeg(640, 480), type: 'image/jpeg' }])).json()
    // what an upload stored before: PNGs fitting in 64 and 256 px, without a type
    const row = (await t.db.query('SELECT id, storage_key, previews FROM files WHERE item_id = $1', [item.id])).rows[0]
    for (const p of row.previews) await t.deps.storage.delete(p.storage_key)
    const old = [
      { size: 64, storage_key: `${row.storage_key}.p64.png`, content_type: 'image/png', width: 64, height: 48 },
      { size: 256, storage_key: `${row.storage_key}.p256.png`, content_type: 'image/png', width: 256, height: 192 },
    ]
    for (const p of old) await t.deps.storage.putBuffer(p.storage_key, await sharp(await jpeg(p.width, p.height)).png().toBuffer(), 'image/png')
    await t.db.query('UPDATE files SET previews = $2::jsonb WHERE id = $1', [row.id, JSON.stringify(old)])
    const before = (await oc.get(`item/${item.id}`)).json()
    expect(before.previews).toEqual([])
    // the old ones still load with a session, as before
    expect((await t.call('GET', `/api/file/${item.id}`, { session: other.session, query: { preview: 256 } })).statusCode).toBe(200)

    const done = await rebuildPreviews(t.deps)
    expect(done).toMatchObject({ rebuilt: 1 })
    const after = (await oc.get(`item/${item.id}`)).json()
    expect(after.previews.map((p: { type: string; size: number }) => `${p.type} ${p.size}`)).toEqual([
      ...[30, 60, 125, 250, 320].map((s) => `SQUARE ${s}`),
      ...[30, 60, 125, 250, 320, 500, 640].map((s) => `PROPORTIONAL ${s}`),
    ])
    expect(after.version).toBe(before.version)
    for (const p of after.previews) expect((await load(p.url)).statusCode).toBe(200)
    for (const p of old) expect(await t.deps.storage.exists(p.storage_key)).toBe(false)
    // nothing left to do the second time
    expect(await rebuildPreviews(t.deps)).toMatchObject({ rebuilt: 0 })
  })
})
