// The test suite's check of every answer against what its route declares (RouteSpec.response
// and the codes of src/http/codes.ts): a success must match the route's zod schema, an error
// must be the envelope with a code the route documents for that status. Registered only when
// buildApp is given `checkResponses` (test/helpers/app.ts always does; a production server
// never does).
//
// A violation is reported to `checkResponses` and the request answers 500/100 instead, with
// the problem in error_message, so the test that made the request fails, and
// createTestApp's close() fails the file too, whatever the test asserted.
//
// Streamed answers (a Readable passed to reply.send, as the item lists are when they are
// written row by row) are read to the end here, parsed and checked as a whole, and the bytes
// are sent on unchanged: in tests only, so the check costs nothing in production. A response
// compressed by an earlier hook is decompressed for the check. Answers written to reply.raw
// directly (server-sent events) bypass onSend and are not checked.
import { Readable } from 'node:stream'
import zlib from 'node:zlib'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { z } from 'zod'
import { errorEnvelope, isRawAnswer } from '../platform/responses.js'
import { codesByStatus } from './codes.js'

export type ResponseViolation = { method: string; url: string; route: string; status: number; problem: string }

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer))
  return Buffer.concat(chunks)
}

function decoded(bytes: Buffer, encoding: unknown): Buffer {
  switch (String(encoding ?? '').toLowerCase()) {
    case 'gzip':
      return zlib.gunzipSync(bytes)
    case 'br':
      return zlib.brotliDecompressSync(bytes)
    case 'deflate':
      return zlib.inflateSync(bytes)
    default:
      return bytes
  }
}

/** the first few problems zod found, with their paths (`[3].previews[0].url: …`) */
function describeIssues(error: z.ZodError): string {
  const lines = error.issues.slice(0, 5).map((i) => `${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('') || '(root)'}: ${i.message}`)
  const more = error.issues.length > 5 ? ` (and ${error.issues.length - 5} more)` : ''
  return lines.join('; ') + more
}

/** what is wrong with this answer, or null */
export function answerProblem(req: FastifyRequest, status: number, body: unknown): string | null {
  const config = req.routeOptions.config ?? {}
  if (status >= 400) {
    const r = errorEnvelope.safeParse(body)
    if (!r.success) return `not the error envelope: ${describeIssues(r.error)}`
    // a route's error must be one its declaration documents; answers of no route (an unknown
    // path, a refused version) only need the envelope
    if (!config.codeFacts) return null
    const documented = codesByStatus(config.codeFacts).get(status) ?? []
    if (!documented.includes(r.data.response_status)) {
      return `code ${r.data.response_status} with HTTP ${status} is not in the route's documented codes for that status (${documented.join(', ') || 'none'}): add it to the route's errors`
    }
    return null
  }
  const answer = config.answer
  if (!answer || isRawAnswer(answer)) return null
  const r = (answer as z.ZodType).safeParse(body)
  return r.success ? null : `does not match the declared response schema: ${describeIssues(r.error)}`
}

export function registerResponseCheck(app: FastifyInstance, report: (v: ResponseViolation) => void) {
  app.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const status = reply.statusCode
    if (req.method === 'HEAD' || status < 200 || status === 204 || status === 304 || (status >= 300 && status < 400)) return payload
    const config = req.routeOptions.config ?? {}
    // bytes (files, avatars, metrics, the docs' assets) are not JSON; errors always are
    if (status < 400 && (!config.answer || isRawAnswer(config.answer))) return payload

    let bytes: Buffer | null = null
    let out = payload
    if (typeof payload === 'string') bytes = Buffer.from(payload)
    else if (Buffer.isBuffer(payload)) bytes = payload
    else if (payload instanceof Readable) {
      bytes = await bytesOf(payload)
      out = bytes
    }
    const violation = (problem: string): ResponseViolation => ({ method: req.method, url: req.url, route: req.routeOptions.url ?? 'unmatched', status, problem })

    let problem: string | null
    if (bytes === null) problem = `an answer of type ${typeof payload} that is neither a string, a Buffer nor a stream`
    else {
      let body: unknown
      try {
        body = JSON.parse(decoded(bytes, reply.getHeader('content-encoding')).toString('utf8'))
        problem = answerProblem(req, status, body)
      } catch (e) {
        problem = `not JSON: ${(e as Error).message}`
      }
    }
    if (!problem) return out
    report(violation(problem))
    // the request answers 500 with the envelope saying what was wrong
    reply.code(500).type('application/json; charset=utf-8').removeHeader('content-encoding').removeHeader('content-length')
    return JSON.stringify({ error_message: `response check: ${req.method} ${req.routeOptions.url ?? req.url} answered ${status} that ${problem}`, response_status: 100 })
  })
}
