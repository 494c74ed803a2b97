// One way to declare an API method: its paths, who may call it, the zod schema of its
// merged parameters, and a handler that returns the JSON to send. The same declaration
// feeds validation, authentication and the OpenAPI document.
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify'
import { z } from 'zod'
import type { Deps } from '../deps.js'
import { ApiError, errors } from './errors.js'
import { parseWith } from './validate.js'
import { apiVersionOf } from './version.js'
import { resolveSession, type SessionUser } from '../services/auth.js'
import type { UploadedFile } from './params.js'

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
  /** response codes this route can answer with, for the OpenAPI document */
  errors?: number[]
  /** the success shape, for the OpenAPI document */
  response?: z.ZodType
  /** multipart files accepted, streamed to temporary files */
  files?: { maxBytes: number | ((deps: Deps) => number); tooLarge: (max: number) => ApiError }
  /** served at the site root instead of under /api */
  root?: boolean
  /** false: not counted by the per-client rate limit */
  rateLimit?: boolean
  handler: (ctx: RouteContext<z.infer<S>, A>) => Promise<unknown> | unknown
}

declare module 'fastify' {
  interface FastifyRequest {
    user: SessionUser | null
  }
  interface FastifyContextConfig {
    auth?: AuthMode
    codes?: number[]
  }
}

export const API_PREFIX = '/api'
const BODY_TYPES = ['application/x-www-form-urlencoded', 'application/json', 'multipart/form-data']

/** the session id sent with a request: header, then parameter, then cookie (contract §2) */
export function sessionIdOf(req: FastifyRequest): string | null {
  const header = req.headers['x-hi-session']
  if (typeof header === 'string' && header.trim()) return header.trim()
  const param = req.p?.session_id
  if (typeof param === 'string' && param.trim()) return param.trim()
  const cookie = (req.cookies as Record<string, string | undefined> | undefined)?.HI_SESSION
  if (cookie) {
    // either the bare id or "session_id=<id>&…"
    if (cookie.includes('=')) {
      const m = /(?:^|&)session_id=([^&]*)/.exec(cookie)
      if (!m?.[1]) return null
      try {
        return decodeURIComponent(m[1])
      } catch {
        return null // a malformed escape names no session
      }
    }
    return cookie.trim() || null
  }
  return null
}

export function defineRoutes(app: FastifyInstance, deps: Deps) {
  return function route<S extends z.ZodType = z.ZodObject<{}>, A extends AuthMode = 'session'>(spec: RouteSpec<S, A>) {
    const urls = Array.isArray(spec.url) ? spec.url : [spec.url]
    const auth: AuthMode = spec.auth ?? 'session'
    const schema = (spec.params ?? z.object({})) as z.ZodType
    const methods = Array.isArray(spec.method) ? spec.method : [spec.method]
    // one Fastify route per method, so each is documented with its own parameter location
    for (const url of urls) for (const method of methods) {
      app.route({
        method,
        // an explicit HEAD replaces the one Fastify derives from the GET
        ...(method === 'GET' && methods.includes('HEAD') ? { exposeHeadRoute: false } : {}),
        url: spec.root || url.startsWith(API_PREFIX + '/') ? url : API_PREFIX + url,
        config: {
          auth,
          codes: spec.errors,
          rateLimit: spec.rateLimit === false ? false : undefined,
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
          ...(spec.response ? { response: { 200: spec.response } } : {}),
        } as any,
        // the merged map is validated by `parseWith` below, not per request part, and the
        // response schema documents the answer without reshaping it
        validatorCompiler: () => () => true,
        serializerCompiler: () => (data: unknown) => JSON.stringify(data),
        handler: async (req, reply) => {
          const user = req.user
          if (auth === 'session' && !user) throw errors.sessionNotFound()
          const p = parseWith(schema, req.p) as z.infer<S>
          const result = await spec.handler({
            p,
            req,
            reply,
            deps,
            user: user as any,
            tz: user?.timeZone ?? 'UTC',
            version: apiVersionOf(req.raw),
            files: req.uploads ?? [],
          })
          if (reply.sent) return reply
          if (result === undefined) return reply.send({ response_status: 0 })
          return reply.send(result)
        },
      })
    }
  }
}

/** Resolves the session of routes that use one, before rate limiting and the handler. */
export function registerSessionHook(app: FastifyInstance, deps: Deps) {
  app.decorateRequest('user', null)
  app.addHook('preValidation', async (req) => {
    const mode = req.routeOptions.config?.auth
    if (!mode || mode === 'none') return
    const sid = sessionIdOf(req)
    if (!sid) {
      if (mode === 'session') throw errors.sessionNotFound()
      return
    }
    try {
      req.user = await resolveSession(deps, sid)
    } catch (e) {
      if (mode === 'session' || !(e instanceof ApiError)) throw e
    }
  })
}
