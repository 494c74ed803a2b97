// One merged parameter map per request (contract §1): path params, query string and body,
// the body winning over the query and the path over both. Bodies may be url-encoded (with a
// charset), JSON, url-encoding labelled as JSON (the 2018 web client), or multipart; GET and
// DELETE bodies are read too.
//
// Admission comes first (contract §15, docs/security.md): the request is admitted (API key,
// session, cross-site rule, rate limit: src/http/admission.ts) before anything is written.
// Multipart files are streamed to temporary files only once the request is admitted; a file
// part that arrives before any session id (a session_id field may follow it) is held in memory
// up to the body limit, and refused beyond it. Temporary files are removed however the
// request ends: answered, refused, failed, timed out (BODY_IDLE_TIMEOUT_MS) or hung up.
//
// Every text value (query, form, JSON, multipart field, path parameter), and every key, is
// checked: a NUL byte or text that is not valid UTF-8 → 400/5. JSON nested deeper than 64 →
// 400/46; the keys __proto__, constructor and prototype are dropped (src/platform/json.ts).
import { TextDecoder } from 'node:util'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import crypto from 'node:crypto'
import { pipeline } from 'node:stream/promises'
import { Readable, Transform, Writable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import multipart from '@fastify/multipart'
import type { UploadedFile } from '../platform/uploads.js'
import { ApiError, errors } from '../platform/errors.js'
import { FORBIDDEN_KEYS, MAX_JSON_DEPTH, parseClientJson } from '../platform/json.js'

export type ParamMap = Record<string, unknown>

/**
 * Admits the request (src/http/admission.ts) once its parameters are known, or as far as they
 * are (`final` false: a multipart body is still being read). Resolves true once admitted;
 * false when it cannot tell yet (no session id so far on a route that needs one); throws the
 * refusal.
 */
export type Admit = (req: FastifyRequest, reply: FastifyReply, final: boolean) => Promise<boolean>

declare module 'fastify' {
  interface FastifyRequest {
    /** the merged parameter map */
    p: ParamMap
    uploads: UploadedFile[]
  }
  interface FastifyContextConfig {
    /** multipart file parts accepted by this route, streamed to temporary files; maxBytes bounds all of a request's files together */
    acceptFiles?: { maxBytes: number; tooLarge: (max: number) => ApiError }
  }
}

/** a query or form value whose bytes are not valid in its charset (refused as 400/5 with its name) */
class InvalidText {}
const INVALID = new InvalidText()

function charsetOf(contentType: string | undefined): string {
  const m = /charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')
  return (m?.[1] ?? 'utf-8').toLowerCase()
}

function decoderFor(charset: string): TextDecoder {
  // fatal: bytes that are not UTF-8 are an error, not U+FFFD
  return new TextDecoder(charset, { fatal: true })
}

/**
 * `text` holds bytes one char per byte (latin1), percent-escapes become bytes too, and the
 * bytes are decoded in the charset (ISO-8859-1 `Caf%E9` → Café). A char above U+00FF (only
 * from a URL built in process) stands for its UTF-8 bytes. INVALID when the bytes do not decode.
 */
function decodeComponent(text: string, decoder: TextDecoder): string | InvalidText {
  const s = text.replace(/\+/g, ' ')
  const bytes: number[] = []
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x25 && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16))
      i += 2
    } else if (c <= 0xff) {
      bytes.push(c)
    } else {
      const cp = s.codePointAt(i)!
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b)
      if (cp > 0xffff) i++
    }
  }
  try {
    return decoder.decode(Uint8Array.from(bytes))
  } catch {
    return INVALID
  }
}

/**
 * `text`: the body as latin1 (one char per byte), or a query string. A repeated key keeps its
 * last value; forbidden keys are dropped.
 */
export function parseUrlEncoded(text: string, charset = 'utf-8'): ParamMap {
  let decoder: TextDecoder
  try {
    decoder = decoderFor(charset)
  } catch {
    throw errors.invalidFormat('request body charset')
  }
  const out: ParamMap = {}
  for (const pair of text.split('&')) {
    if (!pair) continue
    const eq = pair.indexOf('=')
    const rawKey = decodeComponent(eq < 0 ? pair : pair.slice(0, eq), decoder)
    if (rawKey instanceof InvalidText) throw errors.invalidFormat('parameter name')
    const key = rawKey.trim()
    if (!key || FORBIDDEN_KEYS.has(key)) continue
    const value = eq < 0 ? '' : decodeComponent(pair.slice(eq + 1), decoder)
    // the 2018 web client encodes a null field as the text `null` (docs/transport.md)
    out[key] = value === 'null' ? null : value
  }
  return out
}

/** the query string parser given to Fastify: UTF-8, invalid bytes marked (refused in preValidation) */
export function parseQueryString(text: string): ParamMap {
  try {
    return parseUrlEncoded(text, 'utf-8')
  } catch {
    // a key that is not UTF-8: the whole query is unusable
    return { 'query string': INVALID }
  }
}

/** A body labelled JSON: JSON when it starts with { or [, else url-encoding (contract §1). */
export function parseJsonLabelled(text: string, charset: string): ParamMap {
  const t = text.trim()
  if (!t) return {}
  if (t[0] === '{' || t[0] === '[') {
    const v = parseClientJson(t)
    if (Array.isArray(v)) return { _body: v }
    if (v === null || typeof v !== 'object') throw errors.invalidJsonBody()
    return v as ParamMap
  }
  return parseUrlEncoded(Buffer.from(t, charset === 'utf-8' || charset === 'utf8' ? 'utf8' : 'latin1').toString('latin1'), charset)
}

function parseByContentType(contentType: string | undefined, raw: Buffer): ParamMap {
  const ct = (contentType ?? '').toLowerCase()
  const charset = charsetOf(contentType)
  let decoder: TextDecoder
  try {
    decoder = decoderFor(charset)
  } catch {
    throw errors.invalidFormat('request body charset')
  }
  if (ct.includes('json')) {
    let text: string
    try {
      text = decoder.decode(raw)
    } catch {
      throw errors.invalidFormat('request body', 'not valid ' + charset)
    }
    return parseJsonLabelled(text, charset)
  }
  if (ct.startsWith('application/x-www-form-urlencoded') || ct.startsWith('text/plain') || !ct) {
    // some clients send JSON without a content type
    const first = raw.find((b) => b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d)
    if (first === 0x7b || first === 0x5b) {
      let text: string
      try {
        text = decoder.decode(raw)
      } catch {
        throw errors.invalidFormat('request body', 'not valid ' + charset)
      }
      return parseJsonLabelled(text, charset)
    }
    // percent-escapes are decoded as bytes in the body's charset
    return parseUrlEncoded(raw.toString('latin1'), charset)
  }
  throw errors.invalidFormat('request body')
}

async function readRaw(req: FastifyRequest, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req.raw) {
    size += (chunk as Buffer).length
    if (size > limit) throw errors.tooLarge('request body', limit)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/**
 * `repeatedKeys`: the source is a query string parsed by another parser, where `a=1&a=2`
 * arrives as an array and the last one wins; in a JSON body an array is the value itself
 * (`"tags": ["work","home"]`). Forbidden keys never enter the map.
 */
function mergeInto(target: ParamMap, source: unknown, repeatedKeys = false) {
  if (!source || typeof source !== 'object' || Array.isArray(source)) return
  for (const [k, v] of Object.entries(source as ParamMap)) {
    if (FORBIDDEN_KEYS.has(k)) continue
    target[k] = repeatedKeys && Array.isArray(v) && v.length > 0 ? v[v.length - 1] : v
  }
}

function mergedOf(req: FastifyRequest, body: unknown): ParamMap {
  const merged: ParamMap = {}
  mergeInto(merged, req.query, true)
  if (body && typeof body === 'object' && !Array.isArray(body)) mergeInto(merged, body)
  mergeInto(merged, req.params)
  return merged
}

// a lone surrogate: a string JSON escapes can make, that no UTF-8 encodes
const SURROGATE = /[\uD800-\uDFFF]/
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

function badText(s: string): boolean {
  // the precise test only for the rare text that holds surrogates at all (emoji do)
  return s.includes('\u0000') || (SURROGATE.test(s) && LONE_SURROGATE.test(s))
}

/**
 * 400/5 naming the parameter when any text in the map, or any key at any depth, holds a NUL
 * or is not valid UTF-8. Iterative: the depth of JSON values is bounded already, but the walk
 * needs no stack either way.
 */
export function checkText(map: ParamMap) {
  // values and their depths side by side (a parameter is depth 0; a multipart field typed
  // application/json is parsed by the multipart parser, so its depth is bounded here)
  const values: unknown[] = []
  const depths: number[] = []
  for (const key of Object.keys(map)) {
    if (badText(key)) throw errors.invalidFormat('parameter name')
    values.push(map[key])
    depths.push(0)
    while (values.length) {
      const v = values.pop()
      const depth = depths.pop()!
      if (typeof v === 'string') {
        if (badText(v)) throw errors.invalidFormat(key)
      } else if (v !== null && typeof v === 'object') {
        if (v instanceof InvalidText) throw errors.invalidFormat(key)
        if (depth >= MAX_JSON_DEPTH) throw errors.invalidJsonBody()
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            values.push(v[i])
            depths.push(depth + 1)
          }
        } else {
          for (const k of Object.keys(v)) {
            if (badText(k)) throw errors.invalidFormat(key)
            values.push((v as Record<string, unknown>)[k])
            depths.push(depth + 1)
          }
        }
      }
    }
  }
}

function hasBody(req: FastifyRequest): boolean {
  const len = req.headers['content-length']
  return Boolean((len && len !== '0') || req.headers['transfer-encoding'])
}

/** the raw socket of a real connection (requests injected in tests have none) */
function socketOf(req: FastifyRequest): net.Socket | null {
  const s = req.raw.socket
  return s instanceof net.Socket ? s : null
}

/**
 * A refusal sent before the body has been read: the connection is closed after the answer,
 * rather than the rest of the body being read and thrown away.
 */
export function closeAfterReply(req: FastifyRequest, reply: FastifyReply) {
  if (socketOf(req) && hasBody(req) && !req.raw.complete) reply.header('connection', 'close')
}

// ---- temporary files of a request: created only once admitted, removed however it ends

type TmpFile = { path: string; written: Promise<unknown> }
type UploadState = {
  files: TmpFile[]
  /** holders that may still read the files: the body reader, then the handler */
  holds: number
  /** the response is over (sent, or the connection is gone) */
  ended: boolean
  removed: boolean
  /** the handler has been given the files (releaseUploads) */
  handed: boolean
}
const states = new WeakMap<FastifyRequest, UploadState>()

function stateOf(req: FastifyRequest, reply: FastifyReply): UploadState {
  let st = states.get(req)
  if (!st) {
    st = { files: [], holds: 1, ended: false, removed: false, handed: false }
    states.set(req, st)
    const s = st
    // 'close' comes when the response is done and when the connection dies first
    reply.raw.once('close', () => {
      s.ended = true
      removeIfDone(s)
    })
  }
  return st
}

function removeIfDone(st: UploadState) {
  if (st.removed || !st.ended || st.holds > 0) return
  st.removed = true
  // a file still being written is removed once its stream has closed (else it would be
  // created after the removal)
  const settled = () => undefined
  for (const f of st.files) {
    void f.written
      .then(settled, settled)
      .then(() => fs.promises.rm(f.path, { force: true }))
      .catch(() => {})
  }
}

function release(st: UploadState | undefined) {
  if (!st) return
  st.holds = Math.max(0, st.holds - 1)
  removeIfDone(st)
}

/**
 * The handler of a route is done with the request's files (src/http/route.ts calls it when
 * the handler has finished, however): they are removed once the response is over.
 */
export function releaseUploads(req: FastifyRequest) {
  const st = states.get(req)
  if (st?.handed) {
    st.handed = false
    release(st)
  }
}

/** an app without sessions (a bare app documenting routes) admits every request */
const admitAll: Admit = async () => true

export async function registerParams(app: FastifyInstance, o: { bodyLimit: number; tmpDir?: string; bodyIdleTimeoutMs?: number; admit?: Admit }) {
  const opts = { bodyIdleTimeoutMs: 30_000, admit: admitAll, ...o }
  const tmpDir = opts.tmpDir ?? path.join(os.tmpdir(), 'hitask-uploads')
  fs.mkdirSync(tmpDir, { recursive: true })

  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: opts.bodyLimit }, (req, body, done) => {
    try {
      done(null, parseByContentType(req.headers['content-type'], body as Buffer))
    } catch (e) {
      done(e as Error, undefined)
    }
  })
  app.addContentTypeParser(['application/x-www-form-urlencoded', 'text/plain'], { parseAs: 'buffer', bodyLimit: opts.bodyLimit }, (req, body, done) => {
    try {
      done(null, parseByContentType(req.headers['content-type'], body as Buffer))
    } catch (e) {
      done(e as Error, undefined)
    }
  })
  // any other JSON-ish type (application/vnd.api+json, …)
  app.addContentTypeParser(/^application\/.*\+json/, { parseAs: 'buffer', bodyLimit: opts.bodyLimit }, (req, body, done) => {
    try {
      done(null, parseByContentType('application/json; charset=' + charsetOf(req.headers['content-type']), body as Buffer))
    } catch (e) {
      done(e as Error, undefined)
    }
  })
  await app.register(multipart, {
    limits: { fieldSize: opts.bodyLimit, fields: 200, parts: 220, files: 10, fileSize: Number.MAX_SAFE_INTEGER },
  })

  app.decorateRequest('p', null as unknown as ParamMap)
  app.decorateRequest('uploads', null as unknown as UploadedFile[])

  // A body that stops arriving ends the request: the socket is closed after
  // BODY_IDLE_TIMEOUT_MS without a byte, until the body has been received.
  app.addHook('onRequest', async (req) => {
    const socket = socketOf(req)
    if (!socket || !hasBody(req) || req.raw.complete) return
    const idle = () => {
      req.log.info({ reqId: req.id, ms: opts.bodyIdleTimeoutMs }, 'request body idle: connection closed')
      socket.destroy()
    }
    socket.setTimeout(opts.bodyIdleTimeoutMs)
    socket.on('timeout', idle)
    const done = () => {
      socket.off('timeout', idle)
      socket.setTimeout(app.server.timeout ?? 0)
    }
    req.raw.once('end', done)
    req.raw.once('close', done)
  })

  app.addHook('preValidation', async (req, reply) => {
    req.uploads = []
    try {
      let body: unknown = req.body
      // Fastify does not read GET/HEAD bodies; the contract merges them too.
      if ((req.method === 'GET' || req.method === 'HEAD') && body === undefined && hasBody(req)) {
        const ct = req.headers['content-type'] ?? ''
        if (!ct.toLowerCase().startsWith('multipart/')) body = parseByContentType(ct, await readRaw(req, opts.bodyLimit))
      }
      const held: Held[] = []
      if (req.isMultipart()) body = await readMultipart(req, reply, tmpDir, opts, held)
      req.p = mergedOf(req, body)
      await opts.admit(req, reply, true)
      // file parts held in memory until the session was known go to disk now
      for (const h of held) await writeUpload(req, reply, tmpDir, h.upload, Readable.from(h.chunks), req.routeOptions.config!.acceptFiles!, opts.bodyLimit)
      checkText(req.p)
      const st = states.get(req)
      if (st) st.handed = true
    } catch (e) {
      release(states.get(req))
      closeAfterReply(req, reply)
      throw e
    }
  })

  // the response is over: whatever the handler did not release is removed too
  app.addHook('onResponse', async (req) => {
    const st = states.get(req)
    if (!st) return
    st.ended = true
    st.holds = 0
    removeIfDone(st)
  })

}

type Held = { upload: UploadedFile; chunks: Buffer[] }

/** the declared body is larger than the route's files may be, whatever else it holds: 413 before a byte of them is read */
function checkDeclaredLength(req: FastifyRequest, accept: NonNullable<FastifyRequest['routeOptions']['config']['acceptFiles']>, bodyLimit: number) {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > accept.maxBytes + bodyLimit) throw accept.tooLarge(accept.maxBytes)
}

const fileBytesOf = new WeakMap<FastifyRequest, number>()

/** streams `source` to a new temporary file of the (admitted) request; the request's files together stay within maxBytes */
async function writeUpload(
  req: FastifyRequest,
  reply: FastifyReply,
  tmpDir: string,
  upload: UploadedFile,
  source: Readable,
  accept: NonNullable<FastifyRequest['routeOptions']['config']['acceptFiles']>,
  bodyLimit: number,
) {
  const st = stateOf(req, reply)
  if (st.removed) throw errors.invalidFormat('multipart body', 'the request has ended')
  if (!st.files.length) checkDeclaredLength(req, accept, bodyLimit)
  const tmpPath = path.join(tmpDir, crypto.randomBytes(16).toString('hex'))
  upload.tmpPath = tmpPath
  req.uploads.push(upload)
  let tooLarge = false
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      upload.size += chunk.length
      const total = (fileBytesOf.get(req) ?? 0) + chunk.length
      fileBytesOf.set(req, total)
      if (total > accept.maxBytes) {
        tooLarge = true
        cb(accept.tooLarge(accept.maxBytes))
        return
      }
      cb(null, chunk)
    },
  })
  const written = pipeline(source, counter, fs.createWriteStream(tmpPath))
  st.files.push({ path: tmpPath, written })
  try {
    await written
  } catch (e) {
    if (tooLarge) throw accept.tooLarge(accept.maxBytes)
    throw e
  }
}

/**
 * Reads every part: fields into the map, files (where the route accepts them) to temp files
 * once the request is admitted, or into `held` (memory, up to the body limit) while no session
 * id has arrived; other files are drained.
 */
async function readMultipart(req: FastifyRequest, reply: FastifyReply, tmpDir: string, opts: { bodyLimit: number; admit: Admit }, held: Held[]): Promise<ParamMap> {
  const fields: ParamMap = {}
  const accept = req.routeOptions.config?.acceptFiles
  let admitted = false
  let heldBytes = 0
  fileBytesOf.set(req, 0)
  try {
    for await (const part of req.parts()) {
      if (part.type === 'field') {
        if (FORBIDDEN_KEYS.has(part.fieldname)) continue
        const value = typeof part.value === 'string' ? part.value : String(part.value ?? '')
        // the multipart parser decodes bytes that are not UTF-8 as U+FFFD
        if (value.includes('\uFFFD')) throw errors.invalidFormat(part.fieldname)
        fields[part.fieldname] = value
        continue
      }
      if (!accept) {
        // not a file route: drain and ignore the bytes (a pipeline, so a truncated body
        // rejects instead of waiting forever for an 'end' that never comes)
        await pipeline(part.file, new Writable({ write: (_c, _e, cb) => cb() }))
        continue
      }
      const upload: UploadedFile = { field: part.fieldname, filename: part.filename ?? '', mimetype: part.mimetype, tmpPath: '', size: 0 }
      if (!admitted) {
        req.p = mergedOf(req, fields)
        admitted = await opts.admit(req, reply, false)
      }
      if (admitted) {
        await writeUpload(req, reply, tmpDir, upload, part.file, accept, opts.bodyLimit)
        continue
      }
      // no session id yet: held in memory, as much as any body may be before it is checked
      const chunks: Buffer[] = []
      for await (const chunk of part.file) {
        heldBytes += (chunk as Buffer).length
        if (heldBytes > opts.bodyLimit) throw errors.sessionNotFoundBeforeFile(opts.bodyLimit)
        chunks.push(chunk as Buffer)
      }
      held.push({ upload, chunks })
    }
  } catch (e) {
    if (e instanceof ApiError) throw e
    const code = (e as { code?: string }).code
    // a part named after a property of Object.prototype (__proto__, constructor, …): the
    // parser skipped it and reports it once the body is over; the contract ignores such keys
    if (code === 'FST_PROTO_VIOLATION' && req.raw.readableEnded) return fields
    if (code === 'FST_REQ_FILE_TOO_LARGE' || code === 'FST_PARTS_LIMIT' || code === 'FST_FILES_LIMIT' || code === 'FST_FIELDS_LIMIT') {
      throw errors.tooLarge('request body', req.server.initialConfig.bodyLimit ?? 0)
    }
    throw errors.invalidFormat('multipart body')
  }
  return fields
}
