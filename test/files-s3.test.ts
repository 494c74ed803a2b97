// The S3-compatible storage (STORAGE=s3) against a real S3 protocol server: s3rver, an
// S3-compatible server written in JavaScript, on a local port with its own folder. Uploads,
// previews, downloads (with a session and through a signed link) and blob removal all go
// through @aws-sdk/client-s3 exactly as against AWS or MinIO.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import sharp from 'sharp'
import S3rver from 's3rver'
import { CreateBucketCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from './helpers/app.js'
import { postMultipart } from './helpers/multipart.js'

const BUCKET = 'hitask-files'
let s3dir: string
let server: S3rver
let client: S3Client
let t: TestApp

beforeAll(async () => {
  s3dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hitask-s3-'))
  server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3dir })
  const { port } = await server.run()
  const endpoint = `http://127.0.0.1:${port}`
  client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } })
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }))
  t = await createTestApp({
    smtp: false,
    env: { STORAGE: 's3', S3_BUCKET: BUCKET, S3_ENDPOINT: endpoint, S3_ACCESS_KEY_ID: 'S3RVER', S3_SECRET_ACCESS_KEY: 'S3RVER', S3_FORCE_PATH_STYLE: 'true' },
  })
})
afterAll(async () => {
  await t?.close()
  await server?.close()
  fs.rmSync(s3dir, { recursive: true, force: true })
})

async function keysInBucket(): Promise<string[]> {
  const r = await client.send(new ListObjectsV2Command({ Bucket: BUCKET }))
  return (r.Contents ?? []).map((o) => o.Key!).sort()
}

describe('STORAGE=s3', () => {
  it('stores uploads and previews in the bucket, serves them, and removes them with the item', async () => {
    expect(t.deps.storage.kind).toBe('s3')
    const u = await t.signup()
    const png = await sharp({ create: { width: 400, height: 300, channels: 3, background: { r: 10, g: 120, b: 200 } } }).png().toBuffer()
    const up = await postMultipart(t, '/api/file/upload', { session: u.session, files: [{ field: 'file', name: 'photo.png', data: png, type: 'image/png' }] })
    expect(up.statusCode, up.body).toBe(200)
    const item = up.json()
    expect(item.file_size).toBe(png.length)
    expect(item.previews.length).toBeGreaterThan(0)
    const keys = await keysInBucket()
    expect(keys.length).toBe(1 + item.previews.length)

    // the bytes come back unchanged (no aws-chunked framing stored with them)
    const dl = await t.app.inject({ method: 'GET', url: `/api/file/${item.id}`, headers: { 'x-hi-session': u.session } })
    expect(dl.statusCode).toBe(200)
    expect(dl.headers['content-type']).toMatch(/image\/png/)
    expect(Buffer.compare(dl.rawPayload, png)).toBe(0)
    const link = new URL((await t.call('GET', '/api/file/url', { session: u.session, query: { id: item.id } })).json().url)
    const viaLink = await t.app.inject({ method: 'GET', url: link.pathname + link.search })
    expect(viaLink.statusCode).toBe(200)
    expect(Buffer.compare(viaLink.rawPayload, png)).toBe(0)
    for (const k of keys) await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: k }))

    const del = await t.call('DELETE', `/api/item/${item.id}`, { session: u.session })
    expect(del.json()).toEqual({ response_status: 0 })
    let left = await keysInBucket()
    for (let i = 0; i < 50 && left.length; i++) {
      await new Promise((r) => setTimeout(r, 100))
      left = await keysInBucket()
    }
    expect(left).toEqual([])
  })
})
