// CORS (contract §1, §15, docs/security.md): any origin may call the API from a browser, but
// only the origins listed in CORS_ORIGINS may do so with credentials (the HI_SESSION cookie):
// they get their origin echoed with Access-Control-Allow-Credentials; every other origin gets
// `*` and no credentials, so a browser does not let its pages read cookie-authenticated
// answers. CORS_ORIGINS unset: no origin gets credentials. (`*` in the list means nothing
// more than unset: credentials are never given to every origin.)
import type { FastifyCorsOptions } from '@fastify/cors'
import type { Config } from '../platform/config.js'
import { originOf } from './cross-site.js'

const common = {
  allowedHeaders: ['content-type', 'x-hi-session'],
  exposedHeaders: ['X-Cursor', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'Retry-After'],
  methods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
}

export function corsOptionsFor(config: Config): FastifyCorsOptions {
  const listed = new Set(config.CORS_ORIGINS.map(originOf).filter((o): o is string => o !== null))
  return {
    hook: 'onRequest',
    delegator: (req, cb) => {
      const origin = req.headers.origin
      const o = typeof origin === 'string' ? originOf(origin) : null
      if (o !== null && listed.has(o)) cb(null, { ...common, origin: true, credentials: true })
      else cb(null, { ...common, origin: '*', credentials: false })
    },
  }
}
