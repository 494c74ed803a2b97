// Contract §15: nothing is written to disk or to the database for a request before its API key
// and session are checked and its rate limit counted, and a client that stops sending or hangs
// up leaves nothing behind in DATA_DIR/tmp, however the request ends. Real HTTP over real
// sockets (a hang-up cannot be injected), the real temporary folder watched with inotify.
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from './helpers/app.js'
import { dbFingerprint } from './reliability/db-snapshot.js'

const MiB = 1024 * 1024
const BOUNDARY = '----hitask-test-boundary'

let t: TestApp
let port = 0

beforeAll(async () => {
  t = await createTestApp({
    smtp: false,
    env: { FILE_MAX_BYTES: String(20 * MiB), BODY_IDLE_TIMEOUT_MS: '1000', RATE_LIMIT_PER_MINUTE: '100000' },
  })
  await t.app.listen({ port: 0, host: '127.0.0.1' })
  port = (t.app.server.address() as net.AddressInfo).port
})
afterAll(async () => t?.close())

const tmpDirOf = (app: TestApp) => path.join(app.dataDir, 'tmp')

/** bytes of every file under the app's temporary folder */
function tmpBytes(app: TestApp): number {
  const dir = tmpDirOf(app)
  if (!fs.existsSync(dir)) return 0
  let total = 0
  for (const name of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const st = fs.statSync(path.join(dir, name), { throwIfNoEntry: false })
    if (st?.isFile()) total += st.size
  }
  return total
}

/** records every file created in the temporary folder while it runs */
function watchTmp(app: TestApp) {
  const dir = tmpDirOf(app)
  fs.mkdirSync(dir, { recursive: true })
  const created: string[] = []
  const w = fs.watch(dir, (event, name) => {
    if (event === 'rename' && name) created.push(name)
  })
  return {
    created,
    async stop() {
      // inotify events of writes that already happened are delivered by now; one more turn of
      // the loop for good measure
      await new Promise((r) => setTimeout(r, 50))
      w.close()
      return created
    },
  }
}

function filePreamble(field = 'file', name = 'big.bin') {
  return Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${field}"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`)
}
function fieldPart(name: string, value: string) {
  return Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`)
}

/** a complete multipart body: fields (in order), one file of `size` bytes, then trailing fields */
function multipart(o: { before?: Record<string, string>; size: number; after?: Record<string, string> }): Buffer {
  const parts: Buffer[] = []
  for (const [k, v] of Object.entries(o.before ?? {})) parts.push(fieldPart(k, v))
  parts.push(filePreamble(), Buffer.alloc(o.size, 0x61), Buffer.from('\r\n'))
  for (const [k, v] of Object.entries(o.after ?? {})) parts.push(fieldPart(k, v))
  parts.push(Buffer.from(`--${BOUNDARY}--\r\n`))
  return Buffer.concat(parts)
}

type RawResponse = { status: number; headers: Record<string, string>; body: string }

/**
 * A raw HTTP/1.1 request on its own socket: the head, then `body` (or nothing more when
 * `body` is null: the client goes quiet). Resolves with the response, or null when the
 * server closed the connection without one.
 */
function rawRequest(o: { method?: string; url: string; headers?: Record<string, string>; contentLength: number | 'chunked'; body: Buffer | null }): { socket: net.Socket; response: Promise<RawResponse | null> } {
  const socket = net.connect(port, '127.0.0.1')
  const head =
    `${o.method ?? 'POST'} ${o.url} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\n` +
    (o.contentLength === 'chunked' ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${o.contentLength}\r\n`) +
    Object.entries(o.headers ?? {})
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('') +
    '\r\n'
  let buffered = Buffer.alloc(0)
  const response = new Promise<RawResponse | null>((resolve) => {
    let done = false
    const parse = (final: boolean) => {
      if (done) return
      const text = buffered.toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      if (end < 0) return final ? ((done = true), resolve(null)) : undefined
      const lines = text.slice(0, end).split('\r\n')
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0]!)?.[1])
      const headers = Object.fromEntries(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
      const length = Number(headers['content-length'] ?? NaN)
      const body = buffered.subarray(end + 4)
      if (Number.isFinite(length) ? body.length < length && !final : !final) return
      done = true
      // one request per connection: the test is done with it
      socket.destroy()
      resolve({ status, headers, body: body.subarray(0, Number.isFinite(length) ? length : body.length).toString('utf8') })
    }
    socket.on('data', (c) => {
      buffered = Buffer.concat([buffered, c])
      parse(false)
    })
    socket.on('error', () => {})
    socket.on('close', () => parse(true))
  })
  socket.write(head)
  // write, not end: a half-closed connection is one the server may drop before answering
  if (o.body) socket.write(o.body)
  return { socket, response }
}

/** streams `bytes` of a file part at most, as fast as the socket takes them, unless the server answers or closes first */
async function streamFile(socket: net.Socket, bytes: number, preamble: Buffer = filePreamble()) {
  socket.write(preamble)
  const chunk = Buffer.alloc(64 * 1024, 0x62)
  for (let sent = 0; sent < bytes && !socket.destroyed; sent += chunk.length) {
    if (!socket.write(chunk)) await new Promise<void>((r) => (socket.once('drain', r), socket.once('close', r)))
  }
}

/** the server has closed every connection (each request ended, however) */
async function serverQuiet(deadlineMs = 15_000) {
  const until = Date.now() + deadlineMs
  for (;;) {
    const n = await new Promise<number>((r) => t.app.server.getConnections((_e, c) => r(c)))
    if (n === 0) return
    if (Date.now() > until) throw new Error(`${n} connections still open`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** the temporary folder is empty, waiting for removals in flight; its bytes otherwise */
async function tmpSettles(app: TestApp, deadlineMs = 10_000): Promise<number> {
  const until = Date.now() + deadlineMs
  for (;;) {
    const b = tmpBytes(app)
    if (b === 0 || Date.now() > until) return b
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('uploads: checked first, streamed second (§15)', () => {
  it('10 connections without a session that stream large files and hang up leave nothing in tmp', async () => {
    const watch = watchTmp(t)
    const conns = Array.from({ length: 10 }, () => rawRequest({ url: '/api/file/upload', contentLength: 50 * MiB, body: null }))
    await Promise.all(conns.map((c) => streamFile(c.socket, 4 * MiB)))
    for (const c of conns) c.socket.destroy()
    await serverQuiet()
    const created = await watch.stop()
    expect(await tmpSettles(t)).toBe(0)
    expect(created).toEqual([])
  })

  it('complete uploads without a session answer 401/7 and write nothing to disk or the database', async () => {
    const before = await dbFingerprint(t.db)
    const watch = watchTmp(t)
    const body = multipart({ size: 6 * MiB })
    const answers = await Promise.all(Array.from({ length: 6 }, () => rawRequest({ url: '/api/file/upload', contentLength: body.length, body }).response))
    const created = await watch.stop()
    for (const a of answers) {
      expect(a?.status).toBe(401)
      expect(JSON.parse(a!.body).response_status).toBe(7)
    }
    expect(created).toEqual([])
    expect(await dbFingerprint(t.db)).toBe(before)
  })

  it('a signed-in client over its rate limit gets 429/67 and nothing is written', async () => {
    const x = await createTestApp({ smtp: false, env: { RATE_LIMIT_PER_MINUTE: '3' } })
    try {
      const u = await x.signup()
      for (let i = 0; i < 3; i++) expect((await x.call('GET', '/api/user', { session: u.session })).statusCode).toBe(200)
      const before = await dbFingerprint(x.db)
      const watch = watchTmp(x)
      const body = multipart({ size: 2 * MiB })
      const r = await x.app.inject({ method: 'POST', url: '/api/file/upload', headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'x-hi-session': u.session }, payload: body })
      const created = await watch.stop()
      expect(r.statusCode).toBe(429)
      expect(r.json().response_status).toBe(67)
      expect(created).toEqual([])
      expect(await dbFingerprint(x.db)).toBe(before)
    } finally {
      await x.close()
    }
  })

  it('takes session_id from a field after the file (form parameters follow the parts in RestAssured) for a small file', async () => {
    const u = await t.signup()
    const body = multipart({ size: 1000, after: { session_id: u.session } })
    const r = await rawRequest({ url: '/api/file/upload', contentLength: body.length, body }).response
    expect(r?.status).toBe(200)
    expect(JSON.parse(r!.body).category).toBe(5)
    // and before it, for any size
    const big = multipart({ before: { session_id: u.session }, size: 3 * MiB })
    const r2 = await rawRequest({ url: '/api/file/upload', contentLength: big.length, body: big }).response
    expect(r2?.status).toBe(200)
    expect(await tmpSettles(t)).toBe(0)
  })

  it('refuses a file larger than the body limit whose session_id comes after it, writing nothing', async () => {
    const u = await t.signup()
    const watch = watchTmp(t)
    const body = multipart({ size: 2 * MiB, after: { session_id: u.session } })
    const r = await rawRequest({ url: '/api/file/upload', contentLength: body.length, body }).response
    const created = await watch.stop()
    expect(r?.status).toBe(401)
    expect(JSON.parse(r!.body).response_status).toBe(7)
    expect(created).toEqual([])
  })
})

describe('uploads: nothing left behind however the request ends (§15)', () => {
  it('a signed-in client that hangs up in the middle of the file', async () => {
    const u = await t.signup()
    const conns = Array.from({ length: 4 }, () => rawRequest({ url: '/api/file/upload', headers: { 'x-hi-session': u.session }, contentLength: 15 * MiB, body: null }))
    await Promise.all(conns.map((c) => streamFile(c.socket, 3 * MiB)))
    // the bytes reached the temporary folder (the upload was accepted and streamed)
    const until = Date.now() + 10_000
    while (tmpBytes(t) < 4 * MiB && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
    expect(tmpBytes(t)).toBeGreaterThan(0)
    for (const c of conns) c.socket.destroy()
    await serverQuiet()
    expect(await tmpSettles(t)).toBe(0)
  })

  it('a signed-in client that stops sending: the request ends after BODY_IDLE_TIMEOUT_MS and its file is removed', async () => {
    const u = await t.signup()
    const c = rawRequest({ url: '/api/file/upload', headers: { 'x-hi-session': u.session }, contentLength: 15 * MiB, body: null })
    await streamFile(c.socket, 2 * MiB)
    const until = Date.now() + 10_000
    while (tmpBytes(t) === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
    expect(tmpBytes(t)).toBeGreaterThan(0)
    // the client keeps the connection open and sends nothing more: the server ends the
    // request (this waits for the connection to close or an answer, whichever comes)
    await c.response
    await serverQuiet()
    expect(await tmpSettles(t)).toBe(0)
  })

  it('a body that breaks off mid-part (malformed) answers 400 and leaves nothing', async () => {
    const u = await t.signup()
    const body = Buffer.concat([filePreamble(), Buffer.alloc(2 * MiB, 0x63), Buffer.from('\r\n--not-the-boundary')])
    const r = await rawRequest({ url: '/api/file/upload', headers: { 'x-hi-session': u.session }, contentLength: body.length, body }).response
    expect(r?.status).toBe(400)
    expect(await tmpSettles(t)).toBe(0)
  })

  it('a file over FILE_MAX_BYTES while streaming (no Content-Length) answers 413/25 and leaves nothing', async () => {
    const u = await t.signup()
    // chunked: the size is known only while reading
    const c = rawRequest({ url: '/api/file/upload', headers: { 'x-hi-session': u.session }, contentLength: 'chunked', body: null })
    const send = (b: Buffer) => c.socket.write(`${b.length.toString(16)}\r\n`) && c.socket.write(Buffer.concat([b, Buffer.from('\r\n')]))
    let answered = false
    void c.response.then(() => (answered = true))
    send(filePreamble())
    const chunk = Buffer.alloc(256 * 1024, 0x64)
    for (let sent = 0; sent < 30 * MiB && !answered && !c.socket.destroyed; sent += chunk.length) {
      if (!send(chunk)) await new Promise<void>((r) => (c.socket.once('drain', r), c.socket.once('close', r)))
    }
    const r = await c.response
    expect(r?.status).toBe(413)
    expect(JSON.parse(r!.body).response_status).toBe(25)
    c.socket.destroy()
    await serverQuiet()
    expect(await tmpSettles(t)).toBe(0)
  })

  it('refuses an upload whose Content-Length is over FILE_MAX_BYTES before reading the file', async () => {
    const u = await t.signup()
    const watch = watchTmp(t)
    // only the head, the part header and the first 64 KiB are sent (the parser holds back the
    // last bytes it has, in case they begin a boundary): the answer must come without the rest
    const c = rawRequest({ url: '/api/file/upload', headers: { 'x-hi-session': u.session }, contentLength: 60 * MiB, body: null })
    c.socket.write(Buffer.concat([filePreamble(), Buffer.alloc(64 * 1024, 0x65)]))
    const r = await c.response
    const created = await watch.stop()
    expect(r?.status).toBe(413)
    expect(JSON.parse(r!.body).response_status).toBe(25)
    expect(created).toEqual([])
  })
})
