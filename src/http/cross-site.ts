// Cross-site requests through the cookie (contract §15, docs/security.md): a browser sends the
// HI_SESSION cookie with a request another site makes it send (a form post, an <img src>, a
// fetch). A request authenticated ONLY by that cookie that changes something is refused
// (403/3) when the browser says it comes from another site, or from no origin this server
// trusts. Requests that carry the session id themselves (header or parameter) cannot be
// forged this way and are never refused by this rule.
import type { FastifyRequest } from 'fastify'
import type { Config } from '../platform/config.js'

/** scheme://host[:port], lower case, default ports dropped; null when not an origin */
export function originOf(url: string): string | null {
  try {
    const u = new URL(url)
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null
    return u.origin.toLowerCase()
  } catch {
    return null
  }
}

/** the origins whose pages may use the cookie: the server's own (PUBLIC_URL) and CORS_ORIGINS */
export function trustedOrigins(config: Config): Set<string> {
  const set = new Set<string>()
  const own = originOf(config.PUBLIC_URL)
  if (own) set.add(own)
  for (const o of config.CORS_ORIGINS) {
    const n = originOf(o)
    if (n) set.add(n)
  }
  return set
}

/**
 * True when the request comes from another site by its headers: Sec-Fetch-Site other than
 * `same-origin` or `none` (`cross-site`, `same-site`, and any value browsers do not send);
 * without Sec-Fetch-Site, an Origin that is not trusted (`null` included). Neither header
 * (a non-browser client, or an old browser's same-origin GET) is not cross-site.
 */
export function isCrossSite(req: FastifyRequest, trusted: Set<string>): boolean {
  const site = req.headers['sec-fetch-site']
  if (site !== undefined) {
    const v = String(site).trim().toLowerCase()
    return v !== 'same-origin' && v !== 'none'
  }
  const origin = req.headers.origin
  if (origin === undefined) return false
  const o = originOf(String(origin))
  return o === null || !trusted.has(o)
}

/** whether the route changes anything: its `changes` flag, else any method but GET and HEAD */
export function changesState(req: FastifyRequest): boolean {
  const flag = req.routeOptions.config?.changes
  if (flag !== undefined) return flag
  return req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS'
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** the route changes state (src/http/route.ts: explicit on GET routes that do) */
    changes?: boolean
  }
}
