// Admission: what a request must pass before anything is done for it (contract §2, §15,
// docs/security.md), in this order:
//   1. when it arrives (onRequest): an address whose rate budget is spent → 429, before the
//      body is read or a session looked up;
//   2. once its parameters are known (src/http/params.ts; for a multipart body, before the
//      first file byte is written): a cookie-only session on a route that changes something,
//      from another site → 403/3; the session looked up (401/7 where one is needed; the
//      session is bound to its API key, src/users/sessions.ts); the request counted against
//      the user's budget, or the address's without a valid session → 429.
// Only then are files written and the handler run.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Deps } from '../deps.js'
import { ApiError, errors } from '../platform/errors.js'
import { resolveSession, type SessionUser } from '../users/sessions.js'
import { changesState, isCrossSite, trustedOrigins } from './cross-site.js'
import { countRequest, refuseSpentAddress } from './rate-limit.js'
import { closeAfterReply, type Admit } from './params.js'

export type SessionSource = 'header' | 'param' | 'cookie'

/** the session id sent with a request and where: header, then parameter, then cookie (contract §2) */
export function sessionIdOf(req: FastifyRequest): { id: string; source: SessionSource } | null {
  const header = req.headers['x-hi-session']
  if (typeof header === 'string' && header.trim()) return { id: header.trim(), source: 'header' }
  const param = req.p?.session_id
  if (typeof param === 'string' && param.trim()) return { id: param.trim(), source: 'param' }
  const cookie = (req.cookies as Record<string, string | undefined> | undefined)?.HI_SESSION
  if (cookie) {
    // either the bare id or "session_id=<id>&…"
    if (cookie.includes('=')) {
      const m = /(?:^|&)session_id=([^&]*)/.exec(cookie)
      if (!m?.[1]) return null
      try {
        return { id: decodeURIComponent(m[1]), source: 'cookie' }
      } catch {
        return null // a malformed escape names no session
      }
    }
    const id = cookie.trim()
    return id ? { id, source: 'cookie' } : null
  }
  return null
}

/** the hooks of step 1, and the admission of step 2 for src/http/params.ts to call */
export function registerAdmission(app: FastifyInstance, deps: Deps): Admit {
  app.decorateRequest('user', null)
  app.addHook('onRequest', async (req, reply) => {
    try {
      await refuseSpentAddress(deps, req)
    } catch (e) {
      closeAfterReply(req, reply)
      throw e
    }
  })
  const trusted = trustedOrigins(deps.config)
  const admitted = new WeakSet<FastifyRequest>()

  return async (req: FastifyRequest, reply: FastifyReply, final: boolean): Promise<boolean> => {
    if (admitted.has(req)) return true
    // undefined: not a route() route (an unknown URL, the API reference's pages): anonymous
    const mode = req.routeOptions.config?.auth
    const found = mode && mode !== 'none' ? sessionIdOf(req) : null
    // a multipart body still being read may bring its session_id field later
    if (!found && mode === 'session' && !final) return false
    admitted.add(req)

    if (found?.source === 'cookie' && changesState(req) && isCrossSite(req, trusted)) {
      await countRequest(deps, req, reply, null)
      throw errors.crossSiteRequest()
    }
    let user: SessionUser | null = null
    let refusal: ApiError | null = null
    if (found) {
      try {
        user = await resolveSession(deps, found.id)
      } catch (e) {
        if (!(e instanceof ApiError)) throw e
        // an optional session that is not valid: the request goes on as anonymous
        if (mode === 'session') refusal = e
      }
    } else if (mode === 'session') {
      refusal = errors.sessionNotFound()
    }
    // a request without a valid session is counted by its address
    await countRequest(deps, req, reply, user?.id ?? null)
    if (refusal) throw refusal
    req.user = user
    return true
  }
}
