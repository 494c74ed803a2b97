// `/api/v1/…` to `/api/v6/…` serve the same methods as `/api/…`; only the preferences format
// depends on the version (contract §1, §3.1). The prefix is stripped before routing and kept
// on the raw request; an unknown version routes to a handler answering 400/9.
import type { IncomingMessage } from 'node:http'

export const MAX_API_VERSION = 6
export const BAD_VERSION_PATH = '/api/__unsupported_version__'

type Tagged = IncomingMessage & { hitaskVersion?: number | null }

export function rewriteVersionedUrl(req: IncomingMessage): string {
  const url = req.url ?? '/'
  const m = /^\/api\/(v[^/?#]*)(?=[/?#]|$)(.*)$/.exec(url)
  if (!m) return url
  const n = /^v(\d{1,3})$/.exec(m[1]!)
  const version = n ? Number(n[1]) : NaN
  if (!Number.isInteger(version) || version < 1 || version > MAX_API_VERSION) return BAD_VERSION_PATH
  ;(req as Tagged).hitaskVersion = version
  const rest = m[2] ?? ''
  return '/api' + (rest.startsWith('/') ? rest : '/' + rest)
}

/** the N of /api/vN/…, or null for the unversioned /api/… */
export function apiVersionOf(req: IncomingMessage): number | null {
  return (req as Tagged).hitaskVersion ?? null
}
