// Avatars and user pictures (contract §3): uploads with crop, the initials avatar, and the
// GIFs served by hash at the documented sizes.
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

type Rgb = [number, number, number]
/** a PNG of vertical stripes of the given colours, each `stripe` pixels wide */
async function stripes(colours: Rgb[], stripe: number, height: number, format: 'png' | 'jpeg' | 'gif' | 'webp' = 'png'): Promise<Buffer> {
  const width = colours.length * stripe
  const px = Buffer.alloc(width * height * 3)
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const c = colours[Math.floor(x / stripe)]!
      px.set(c, (y * width + x) * 3)
    }
  return sharp(px, { raw: { width, height, channels: 3 } })[format]().toBuffer()
}

/** the colour at the middle of an avatar GIF */
async function centreColour(gif: Buffer): Promise<Rgb> {
  const { data, info } = await sharp(gif).removeAlpha().raw().toBuffer({ resolveWithObject: true })
  const o = (Math.floor(info.height / 2) * info.width + Math.floor(info.width / 2)) * info.channels
  return [data[o]!, data[o + 1]!, data[o + 2]!]
}

function near(c: Rgb, want: Rgb) {
  for (let i = 0; i < 3; i++) expect(Math.abs(c[i]! - want[i]!)).toBeLessThan(40)
}

const RED: Rgb = [220, 20, 20]
const GREEN: Rgb = [20, 200, 20]
const BLUE: Rgb = [20, 20, 220]

async function me(session: string) {
  const r = await t.call('GET', '/api/user', { session })
  expect(r.statusCode).toBe(200)
  return r.json()
}

describe('GET /avatar/{hash}.{size}.gif', () => {
  it('serves the initials avatar every user gets at sign-up, at each documented size', async () => {
    const u = await t.signup()
    const info = await me(u.session)
    expect(info.pictureSource).toBe(2)
    for (const size of [16, 20, 22, 24, 32, 40, 44, 48, 64, 80, 88, 96, 100, 128, 192, 200]) {
      const r = await t.call('GET', `/avatar/${info.pictureHash}.${size}.gif`)
      expect(r.statusCode).toBe(200)
      expect(r.headers['content-type']).toBe('image/gif')
      const meta = await sharp(r.rawPayload).metadata()
      expect([meta.format, meta.width, meta.height]).toEqual(['gif', size, size])
    }
  })

  it('is public, served under /api/ too, with long-cache headers and an ETag', async () => {
    const u = await t.signup()
    const { pictureHash } = await me(u.session)
    const root = await t.call('GET', `/avatar/${pictureHash}.48.gif`)
    const api = await t.call('GET', `/api/avatar/${pictureHash}.48.gif`)
    const versioned = await t.call('GET', `/api/v5/avatar/${pictureHash}.48.gif`)
    for (const r of [root, api, versioned]) {
      expect(r.statusCode).toBe(200)
      expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable')
      expect(r.headers.etag).toBe(`"${pictureHash}-48"`)
    }
    expect(Buffer.compare(root.rawPayload, api.rawPayload)).toBe(0)
    const again = await t.call('GET', `/avatar/${pictureHash}.48.gif`, { headers: { 'if-none-match': `"${pictureHash}-48"` } })
    expect(again.statusCode).toBe(304)
    expect(again.rawPayload.length).toBe(0)
    // a list, a weak form and * name it too (RFC 9110); another tag does not
    for (const header of [`"other", "${pictureHash}-48"`, `W/"${pictureHash}-48"`, '*']) {
      expect((await t.call('GET', `/avatar/${pictureHash}.48.gif`, { headers: { 'if-none-match': header } })).statusCode, header).toBe(304)
    }
    expect((await t.call('GET', `/avatar/${pictureHash}.48.gif`, { headers: { 'if-none-match': '"other"' } })).statusCode).toBe(200)
  })

  it('answers 404/1 for a size outside the list, an unknown hash or a malformed name', async () => {
    const u = await t.signup()
    const { pictureHash } = await me(u.session)
    for (const url of [
      `/avatar/${pictureHash}.65.gif`,
      `/avatar/${pictureHash}.0.gif`,
      `/avatar/${pictureHash}.2000.gif`,
      `/avatar/${crypto.randomUUID()}.64.gif`,
      `/avatar/${pictureHash}.64.png`,
      `/avatar/${pictureHash}.gif`,
      `/api/avatar/../${pictureHash}.64.gif`,
    ]) {
      const r = await t.call('GET', url)
      expect(errorOf(r), url).toEqual({ status: 404, code: 1 })
    }
  })
})

describe('POST /user/picture', () => {
  it('stores an uploaded picture under a new hash: pictureSource 100, centre square when no crop is given', async () => {
    const u = await t.signup()
    const before = await me(u.session)
    // red | green | blue, 100 px each: the centre square is the green one
    const png = await stripes([RED, GREEN, BLUE], 100, 100)
    const r = await postMultipart(t, '/api/user/picture', { session: u.session, files: [{ field: 'picture', name: 'me.png', data: png, type: 'image/png' }] })
    expect(r.statusCode).toBe(200)
    const { hash } = r.json()
    expect(typeof hash).toBe('string')
    expect(hash).not.toBe(before.pictureHash)
    const after = await me(u.session)
    expect(after.pictureHash).toBe(hash)
    expect(after.pictureSource).toBe(100)
    const img = await t.call('GET', `/avatar/${hash}.200.gif`)
    expect(img.statusCode).toBe(200)
    const meta = await sharp(img.rawPayload).metadata()
    expect([meta.width, meta.height]).toEqual([200, 200])
    near(await centreColour(img.rawPayload), GREEN)
    // the previous avatar is gone with its hash
    expect(errorOf(await t.call('GET', `/avatar/${before.pictureHash}.64.gif`))).toEqual({ status: 404, code: 1 })
  })

  it('crops to the square x, y, width', async () => {
    const u = await t.signup()
    const png = await stripes([RED, GREEN, BLUE], 100, 100)
    const r = await postMultipart(t, '/api/user/picture', {
      session: u.session,
      fields: { x: 200, y: 0, width: 100 },
      files: [{ field: 'picture', name: 'me.png', data: png }],
    })
    expect(r.statusCode).toBe(200)
    near(await centreColour((await t.call('GET', `/avatar/${r.json().hash}.64.gif`)).rawPayload), BLUE)
    const left = await postMultipart(t, '/api/user/picture', {
      session: u.session,
      fields: { x: '0', y: '0', width: '100' },
      files: [{ field: 'picture', name: 'me.png', data: png }],
    })
    expect(left.statusCode).toBe(200)
    near(await centreColour((await t.call('GET', `/avatar/${left.json().hash}.64.gif`)).rawPayload), RED)
  })

  it('accepts jpeg, jpg and gif pictures', async () => {
    const u = await t.signup()
    for (const [name, format] of [['a.jpeg', 'jpeg'], ['a.jpg', 'jpeg'], ['a.gif', 'gif'], ['A.PNG', 'png']] as const) {
      const data = await stripes([BLUE], 120, 80, format)
      const r = await postMultipart(t, '/api/user/picture', { session: u.session, files: [{ field: 'picture', name, data }] })
      expect(r.statusCode, name).toBe(200)
      expect((await me(u.session)).pictureHash).toBe(r.json().hash)
    }
  })

  it('refuses data that is not an image (400/6), other formats (400/5) and a picture over 1 MB (400/25)', async () => {
    const u = await t.signup()
    const before = await me(u.session)
    const notImage = await postMultipart(t, '/api/user/picture', {
      session: u.session,
      files: [{ field: 'picture', name: 'fake.png', data: Buffer.from('this is not an image at all, just text'), type: 'image/png' }],
    })
    expect(errorOf(notImage)).toEqual({ status: 400, code: 6 })

    const bmpName = await postMultipart(t, '/api/user/picture', { session: u.session, files: [{ field: 'picture', name: 'pic.bmp', data: await stripes([RED], 50, 50) }] })
    expect(errorOf(bmpName)).toEqual({ status: 400, code: 5 })
    const webp = await postMultipart(t, '/api/user/picture', { session: u.session, files: [{ field: 'picture', name: 'pic.png', data: await stripes([RED], 50, 50, 'webp') }] })
    expect(errorOf(webp)).toEqual({ status: 400, code: 5 })

    // random noise does not compress: a 1000x700 PNG of it is about 2 MB
    const noise = await sharp(crypto.randomBytes(1000 * 700 * 3), { raw: { width: 1000, height: 700, channels: 3 } }).png().toBuffer()
    expect(noise.length).toBeGreaterThan(2_000_000)
    const big = await postMultipart(t, '/api/user/picture', { session: u.session, files: [{ field: 'picture', name: 'big.png', data: noise }] })
    expect(errorOf(big)).toEqual({ status: 400, code: 25 })

    const none = await postMultipart(t, '/api/user/picture', { session: u.session, fields: { x: 1 } })
    expect(errorOf(none)).toEqual({ status: 400, code: 4 })
    // nothing changed
    expect((await me(u.session)).pictureHash).toBe(before.pictureHash)
  })

  it('refuses crops outside the image, partial or malformed crops (400/34)', async () => {
    const u = await t.signup()
    const png = await stripes([RED, GREEN], 100, 100)
    for (const fields of [
      { x: 150, y: 0, width: 100 },
      { x: 0, y: 1, width: 100 },
      { x: 0, y: 0, width: 0 },
      { x: -1, y: 0, width: 10 },
      { x: 0, y: 0 },
      { width: 50 },
      { x: 'a', y: 0, width: 10 },
    ] as Record<string, string | number>[]) {
      const r = await postMultipart(t, '/api/user/picture', { session: u.session, fields, files: [{ field: 'picture', name: 'p.png', data: png }] })
      expect(errorOf(r), JSON.stringify(fields)).toEqual({ status: 400, code: 34 })
    }
  })

  it('needs a session (401/7)', async () => {
    const r = await postMultipart(t, '/api/user/picture', { files: [{ field: 'picture', name: 'p.png', data: await stripes([RED], 10, 10) }] })
    expect(errorOf(r)).toEqual({ status: 401, code: 7 })
  })
})

describe('DELETE /user/picture', () => {
  it('goes back to a generated initials avatar under a new hash', async () => {
    const u = await t.signup()
    const up = await postMultipart(t, '/api/user/picture', { session: u.session, files: [{ field: 'picture', name: 'p.png', data: await stripes([RED], 60, 60) }] })
    expect(up.statusCode).toBe(200)
    const r = await t.call('DELETE', '/api/user/picture', { session: u.session })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toEqual({ response_status: 0 })
    const info = await me(u.session)
    expect(info.pictureSource).toBe(2)
    expect(info.pictureHash).not.toBe(up.json().hash)
    const img = await t.call('GET', `/avatar/${info.pictureHash}.32.gif`)
    expect(img.statusCode).toBe(200)
    expect(errorOf(await t.call('GET', `/avatar/${up.json().hash}.32.gif`))).toEqual({ status: 404, code: 1 })
  })

  it('answers the user object with returninfo=true', async () => {
    const u = await t.signup()
    const r = await t.call('DELETE', '/api/user/picture', { session: u.session, query: { returninfo: 'true' } })
    expect(r.statusCode).toBe(200)
    const body = r.json()
    expect(body).toMatchObject({ id: u.id, login: u.login, pictureSource: 2 })
    expect(body.pictureHash).toBe((await me(u.session)).pictureHash)
  })
})
