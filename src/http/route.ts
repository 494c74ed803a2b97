// One way to declare an API method: its paths, who may call it, the zod schema of its
// merged parameters, and a handler that returns the JSON to send. The same declaration
// feeds validation, authentication and the OpenAPI document.
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify'
import { z } from 'zod'
import type { Deps } from '../deps.js'
import { ApiError, errors } from '../platform/errors.js'
import { parseWith } from './validate.js'
import { apiVersionOf } from './version.js'
import type { SessionUser } from '../users/sessions.js'
import type { UploadedFile } from '../platform/uploads.js'
import { isRawAnswer, type Answer } from '../platform/responses.js'
import type { CodeFacts } from './codes.js'
import { releaseUploads } from './params.js'

/** session: a signed-in user is required; none: public; optional: user when a session is sent */
export type AuthMode = 'session' | 'none' | 'optional'

export type RouteContext<P, A extends AuthMode = 'session'> = {
  p: P
  req: FastifyRequest
  reply: FastifyReply
  deps: Deps
  user: A extends 'session' ? SessionUser : SessionUser | null
  /** time zone for dates in and out: the user's preference, UTC without one */
  tz: string
  /** N of /api/vN/…, null for /api/… */
  version: number | null
  files: UploadedFile[]
}

export type RouteSpec<S extends z.ZodType, A extends AuthMode> = {
  method: HTTPMethods | HTTPMethods[]
  url: string | string[]
  auth?: A
  params?: S
  summary?: string
  tags?: string[]
  /** response codes this route can answer with besides those of src/http/codes.ts, for the OpenAPI document */
  errors?: number[]
  /**
   * the success answer: the zod schema of its JSON (from the domain's schemas.ts), or
   * `rawAnswer(contentType, …)` for bytes. The OpenAPI document and the generated client
   * read it; the test suite checks every answer against it (src/http/response-check.ts).
   * Absent only on routes that never succeed.
   */
  response?: Answer
  /** headers of the success answer, for the OpenAPI document: name → description */
  responseHeaders?: Record<string, string>
  /** the example of the success answer in /docs; built from the schema's examples when absent */
  example?: unknown
  /** multipart files accepted, streamed to temporary files */
  files?: { maxBytes: number | ((deps: Deps) => number); tooLarge: (max: number) => ApiError; /** the multipart field the file comes in, for the OpenAPI document (default `file`) */ field?: string }
  /** served at the site root instead of under /api */
  root?: boolean
  /** false: not counted by the per-client rate limit */
  rateLimit?: boolean
  /**
   * the route changes something (for the cross-site rule, src/http/cross-site.ts); by default
   * every method but GET and HEAD does: set it on a GET route that changes state
   */
  changes?: boolean
  handler: (ctx: RouteContext<z.infer<S>, A>) => Promise<unknown> | unknown
}

declare module 'fastify' {
  interface FastifyRequest {
    user: SessionUser | null
  }
  interface FastifyContextConfig {
    auth?: AuthMode
    /** the codes the declaration lists */
    codes?: number[]
    /** what decides the codes it can answer (src/http/codes.ts) */
    codeFacts?: CodeFacts
    /** the success answer, its headers and example (RouteSpec) */
    answer?: Answer
    answerHeaders?: Record<string, string>
    answerExample?: unknown
    fileField?: string
  }
}

export const API_PREFIX = '/api'

/** whether a parameter schema has a required field (a request without it is 400/4) */
function requiresParams(schema: z.ZodType | undefined): boolean {
  if (!schema) return false
  try {
    const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { required?: string[] }
    return (json.required?.length ?? 0) > 0
  } catch {
    return true
  }
}
const BODY_TYPES = ['application/x-www-form-urlencoded', 'application/json', 'multipart/form-data']

/** what every routes module exports by default: registers its routes (src/app.ts lists them) */
export type RouteModule = (route: ReturnType<typeof defineRoutes>, deps: Deps, app: FastifyInstance) => void | Promise<void>

export function defineRoutes(app: FastifyInstance, deps: Deps) {
  return function route<S extends z.ZodType = z.ZodObject<Record<string, never>>, A extends AuthMode = 'session'>(spec: RouteSpec<S, A>) {
    const urls = Array.isArray(spec.url) ? spec.url : [spec.url]
    const auth: AuthMode = spec.auth ?? 'session'
    const schema = (spec.params ?? z.object({})) as z.ZodType
    const methods = Array.isArray(spec.method) ? spec.method : [spec.method]
    // one Fastify route per method, so each is documented with its own parameter location
    for (const url of urls) for (const method of methods) {
      const codeFacts: CodeFacts = {
        declared: spec.errors ?? [],
        auth,
        rateLimited: spec.rateLimit !== false,
        requiresParams: requiresParams(spec.params),
        acceptsFiles: Boolean(spec.files),
        changes: spec.changes ?? (method !== 'GET' && method !== 'HEAD'),
      }
      app.route({
        method,
        // an explicit HEAD replaces the one Fastify derives from the GET
        ...(method === 'GET' && methods.includes('HEAD') ? { exposeHeadRoute: false } : {}),
        url: spec.root || url.startsWith(API_PREFIX + '/') ? url : API_PREFIX + url,
        config: {
          auth,
          codes: spec.errors,
          codeFacts,
          answer: spec.response,
          answerHeaders: spec.responseHeaders,
          answerExample: spec.example,
          fileField: spec.files ? (spec.files.field ?? 'file') : undefined,
          rateLimit: spec.rateLimit === false ? false : undefined,
          changes: spec.changes,
          acceptFiles: spec.files
            ? {
                maxBytes: typeof spec.files.maxBytes === 'function' ? spec.files.maxBytes(deps) : spec.files.maxBytes,
                tooLarge: spec.files.tooLarge,
              }
            : undefined,
        } as any,
        schema: {
          summary: spec.summary,
          tags: spec.tags,
          // documentation only (src/http/openapi.ts): the merged map is validated below, in
          // the handler; a GET reads the query string, other methods also a form, JSON or
          // multipart body
          ...(spec.params ? (method === 'GET' || method === 'HEAD' ? { querystring: spec.params } : { body: spec.params, consumes: BODY_TYPES }) : {}),
          // the JSON answer's schema, turned into JSON Schema by src/http/openapi.ts
          ...(spec.response && !isRawAnswer(spec.response) ? { response: { 200: spec.response } } : {}),
        } as any,
        // the merged map is validated by `parseWith` below, not per request part, and the
        // response schema documents the answer without reshaping it
        validatorCompiler: () => () => true,
        serializerCompiler: () => (data: unknown) => JSON.stringify(data),
        handler: async (req, reply) => {
          const user = req.user
          if (auth === 'session' && !user) throw errors.sessionNotFound()
          let result: unknown
          try {
            const p = parseWith(schema, req.p) as z.infer<S>
            result = await spec.handler({
              p,
              req,
              reply,
              deps,
              user: user as any,
              tz: user?.timeZone ?? 'UTC',
              version: apiVersionOf(req.raw),
              files: req.uploads ?? [],
            })
          } finally {
            // the request's temporary files are removed once the response is over
            releaseUploads(req)
          }
          // a handler that sent the answer itself returns the reply (the send may still be
          // running through async onSend hooks, so reply.sent alone does not say it)
          if (reply.sent || result === reply) return reply
          if (result === undefined) return reply.send({ response_status: 0 })
          return reply.send(result)
        },
      })
    }
  }
}
