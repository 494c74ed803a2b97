// One merged parameter map per request (contract §1): path params, query string and body,
import { TextDecoder } from 'node:util'
// the body winning over the query and the path over both. Bodies may be url-encoded (with a
// charset), JSON, url-encoding labelled as JSON (the 2018 web client), or multipart; GET and
// DELETE bodies are read too. Multipart files are streamed to temporary files, never held
// in memory, and removed when the response is sent.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import crypto from 'node:crypto'
import { pipeline } from 'node:stream/promises'
import { Transform, Writable } from 'node:stream'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import multipart from '@fastify/multipart'
import { ApiError, Code, errors } from './errors.js'

export type UploadedFile = {
  field: string
  filename: string
  mimetype: string
  /** temporary file holding the bytes; removed after the response */
  tmpPath: string
  size: number
}

export type ParamMap = Record<string, unknown>

declare module 'fastify' {
  interface FastifyRequest {
    /** the merged parameter map */
    p: ParamMap
    uploads: UploadedFile[]
  }
  interface FastifyContextConfig {
    /** multipart file parts accepted by this route, streamed to temporary files */
    acceptFiles?: { maxBytes: number; tooLarge: (max: number) => ApiError }
  }
}

const invalidJson = () => new ApiError(Code.INVALID_JSON_BODY, 'The JSON body you provided in request is invalid')

function charsetOf(contentType: string | undefined): string {
  const m = /charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')
  return (m?.[1] ?? 'utf-8').toLowerCase()
}

/**
 * `text` holds the body's bytes one char per byte (latin1); percent-escapes become bytes too,
 * and the bytes are decoded in the body's charset (ISO-8859-1 `Caf%E9` → Café).
 */
function decodeComponent(text: string, decoder: TextDecoder): string {
  const s = text.replace(/\+/g, ' ')
  const bytes: number[] = []
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c === '%' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16))
      i += 2
    } else {
      bytes.push(c.charCodeAt(0) & 0xff)
    }
  }
  return decoder.decode(Uint8Array.from(bytes))
}

/** `text`: the body as latin1 (one char per byte) */
export function parseUrlEncoded(text: string, charset = 'utf-8'): ParamMap {
  let decoder: TextDecoder
  try {
    decoder = new TextDecoder(charset)
  } catch {
    throw errors.invalidFormat('request body charset')
  }
  const out: ParamMap = {}
  for (const pair of text.split('&')) {
    if (!pair) continue
    const eq = pair.indexOf('=')
    const key = decodeComponent(eq < 0 ? pair : pair.slice(0, eq), decoder).trim()
    const value = eq < 0 ? '' : decodeComponent(pair.slice(eq + 1), decoder)
    if (key) out[key] = value
  }
  return out
}

/** A body labelled JSON: JSON when it starts with { or [, else url-encoding (contract §1). */
export function parseJsonLabelled(text: string, charset: string): ParamMap {
  const t = text.trim()
  if (!t) return {}
  if (t[0] === '{' || t[0] === '[') {
    let v: unknown
    try {
      v = JSON.parse(t)
    } catch {
      throw invalidJson()
    }
    if (Array.isArray(v)) return { _body: v }
    if (v === null || typeof v !== 'object') throw invalidJson()
    return v as ParamMap
  }
  return parseUrlEncoded(Buffer.from(t, charset === 'utf-8' || charset === 'utf8' ? 'utf8' : 'latin1').toString('latin1'), charset)
}

function parseByContentType(contentType: string | undefined, raw: Buffer): ParamMap {
  const ct = (contentType ?? '').toLowerCase()
  const charset = charsetOf(contentType)
  let text: string
  try {
    text = new TextDecoder(charset).decode(raw)
  } catch {
    throw errors.invalidFormat('request body charset')
  }
  if (ct.includes('json')) return parseJsonLabelled(text, charset)
  if (ct.startsWith('application/x-www-form-urlencoded') || ct.startsWith('text/plain') || !ct) {
    const t = text.trim()
    // some clients send JSON without a content type
    if (t.startsWith('{') || t.startsWith('[')) return parseJsonLabelled(t, charset)
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
 * `repeatedKeys`: the source is a query string, where `a=1&a=2` arrives as an array and the
 * last one wins; in a JSON body an array is the value itself (`"tags": ["work","home"]`).
 */
function mergeInto(target: ParamMap, source: unknown, repeatedKeys = false) {
  if (!source || typeof source !== 'object' || Array.isArray(source)) return
  for (const [k, v] of Object.entries(source as ParamMap)) {
    target[k] = repeatedKeys && Array.isArray(v) && v.length > 0 ? v[v.length - 1] : v
  }
}

export async function registerParams(app: FastifyInstance, opts: { bodyLimit: number; tmpDir?: string }) {
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

  app.addHook('preValidation', async (req) => {
    req.uploads = []
    let body: unknown = req.body
    // Fastify does not read GET/HEAD bodies; the contract merges them too.
    if ((req.method === 'GET' || req.method === 'HEAD') && body === undefined && (req.headers['content-length'] && req.headers['content-length'] !== '0' || req.headers['transfer-encoding'])) {
      const ct = req.headers['content-type'] ?? ''
      if (!ct.toLowerCase().startsWith('multipart/')) body = parseByContentType(ct, await readRaw(req, opts.bodyLimit))
    }
    if (req.isMultipart()) body = await readMultipart(req, tmpDir)
    const merged: ParamMap = {}
    mergeInto(merged, req.query, true)
    if (body && typeof body === 'object' && !Array.isArray(body)) mergeInto(merged, body)
    mergeInto(merged, req.params)
    req.p = merged
  })

  app.addHook('onResponse', async (req) => {
    for (const f of req.uploads ?? []) fs.rm(f.tmpPath, { force: true }, () => {})
  })
}

/** Reads every part: fields into the map, files (where the route accepts them) to temp files. */
async function readMultipart(req: FastifyRequest, tmpDir: string): Promise<ParamMap> {
  const fields: ParamMap = {}
  const accept = req.routeOptions.config?.acceptFiles
  try {
    for await (const part of req.parts()) {
      if (part.type === 'field') {
        fields[part.fieldname] = typeof part.value === 'string' ? part.value : String(part.value ?? '')
        continue
      }
      if (!accept) {
        // not a file route: drain and ignore the bytes (a pipeline, so a truncated body
        // rejects instead of waiting forever for an 'end' that never comes)
        await pipeline(part.file, new Writable({ write: (_c, _e, cb) => cb() }))
        continue
      }
      const tmpPath = path.join(tmpDir, crypto.randomBytes(16).toString('hex'))
      const uploaded: UploadedFile = { field: part.fieldname, filename: part.filename ?? '', mimetype: part.mimetype, tmpPath, size: 0 }
      req.uploads.push(uploaded)
      let tooLarge = false
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          uploaded.size += chunk.length
          if (uploaded.size > accept.maxBytes) {
            tooLarge = true
            cb(accept.tooLarge(accept.maxBytes))
            return
          }
          cb(null, chunk)
        },
      })
      try {
        await pipeline(part.file, counter, fs.createWriteStream(tmpPath))
      } catch (e) {
        if (tooLarge) throw accept.tooLarge(accept.maxBytes)
        throw e
      }
    }
  } catch (e) {
    if (e instanceof ApiError) throw e
    const code = (e as { code?: string }).code
    if (code === 'FST_REQ_FILE_TOO_LARGE' || code === 'FST_PARTS_LIMIT' || code === 'FST_FILES_LIMIT' || code === 'FST_FIELDS_LIMIT') {
      throw errors.tooLarge('request body', req.server.initialConfig.bodyLimit ?? 0)
    }
    throw errors.invalidFormat('multipart body')
  }
  return fields
}
