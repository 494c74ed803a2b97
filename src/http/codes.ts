// Which response codes a route can answer with, and with which HTTP status (contract §10):
// the codes its declaration lists plus those the plumbing can answer for any route. The
// OpenAPI document lists them per status (src/http/openapi.ts) and the response check of the
// test suite holds every error answer to them (src/http/response-check.ts).
import { Code, statusForCode } from '../platform/errors.js'

export type CodeFacts = {
  /** the codes the route declares (`errors:` of its route() declaration) */
  declared: number[]
  auth: 'session' | 'none' | 'optional'
  rateLimited: boolean
  /** its parameters have a required field (a missing one is 400/4) */
  requiresParams: boolean
  acceptsFiles: boolean
  /** it changes state: a cookie-only cross-site request is refused 403/3 (§15, src/http/cross-site.ts) */
  changes: boolean
}

/**
 * Codes any route may answer with besides its declared ones: 100 (a crash, 500; the database
 * unreachable or the server closing, 503); malformed input (5: a bad encoding, a NUL byte, a
 * field of the wrong form; 46: a broken JSON body; 25: a body over the limit), which the
 * parameter layer answers before the route runs; 4 when a parameter is required; 7 without a
 * session where one is needed; 67 over the rate limit; 3 (403) for a route that changes state
 * and reads a session, refused to a cookie-only cross-site request (§15).
 */
export function implicitCodes(f: Omit<CodeFacts, 'declared' | 'acceptsFiles'>): number[] {
  const codes: number[] = [Code.INTERNAL_ERROR, Code.INVALID_DATA_FORMAT, Code.INVALID_JSON_BODY, Code.EXCEEDED_SIZE]
  if (f.requiresParams) codes.push(Code.IS_MANDATORY)
  if (f.auth === 'session') codes.push(Code.SESSION_NOT_FOUND)
  if (f.rateLimited) codes.push(Code.CUSTOM_API_KEY_USAGE_LIMIT_EXCEEDED)
  if (f.changes && f.auth !== 'none') codes.push(Code.NO_PERMISSIONS)
  return codes
}

/** HTTP statuses a code is sent with: 25 is 413 on file uploads, 400 elsewhere; 20 is 507 (an item or storage limit) or 400 (a request's work over MAX_CASCADE_ITEMS, §15); 100 is 500, or 503 when the database is unavailable */
export function statusesOf(code: number, acceptsFiles: boolean): number[] {
  if (code === Code.EXCEEDED_SIZE) return acceptsFiles ? [400, 413] : [400]
  if (code === Code.LIMIT_EXCEED) return [400, 507]
  if (code === Code.INTERNAL_ERROR) return [500, 503]
  return [statusForCode(code)]
}

/** every code the route can answer, by HTTP status */
export function codesByStatus(f: CodeFacts): Map<number, number[]> {
  const codes = [...new Set([...f.declared, ...implicitCodes(f)])]
  const byStatus = new Map<number, Set<number>>()
  for (const code of codes) {
    for (const status of statusesOf(code, f.acceptsFiles)) {
      if (!byStatus.has(status)) byStatus.set(status, new Set())
      byStatus.get(status)!.add(code)
    }
  }
  return new Map([...byStatus].sort((a, b) => a[0] - b[0]).map(([s, set]) => [s, [...set].sort((a, b) => a - b)]))
}
