// Download links that work without a session for a limited time (GET /file/url): the file
// route's URL with `expires` (unix seconds) and `signature`, an HMAC-SHA256 with the
// server's URL-signing secret over the file and the expiry. Changing either breaks it.
import crypto from 'node:crypto'
import type { Deps } from '../deps.js'
import { errors } from '../http/errors.js'

function signatureOf(secret: string, itemId: number, fileId: number, expires: number): string {
  return crypto.createHmac('sha256', secret).update(`file:${itemId}:${fileId}:${expires}`).digest('base64url')
}

/** an absolute URL under PUBLIC_URL, valid for FILE_URL_TTL_SECONDS */
export function signedFileUrl(deps: Deps, itemId: number, fileId: number, now = Date.now()): string {
  const expires = Math.floor(now / 1000) + deps.config.FILE_URL_TTL_SECONDS
  const base = deps.config.PUBLIC_URL.endsWith('/') ? deps.config.PUBLIC_URL : deps.config.PUBLIC_URL + '/'
  const u = new URL(`api/file/${itemId}`, base)
  u.searchParams.set('expires', String(expires))
  u.searchParams.set('signature', signatureOf(deps.urlSecret, itemId, fileId, expires))
  return u.toString()
}

/** throws 403/3 unless `signature` is this file's and `expires` has not passed */
export function checkFileSignature(deps: Deps, itemId: number, fileId: number, expires: number, signature: string, now = Date.now()) {
  const expected = Buffer.from(signatureOf(deps.urlSecret, itemId, fileId, expires))
  const given = Buffer.from(signature)
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) throw errors.noPermissions('the download link is not valid')
  if (expires * 1000 <= now) throw errors.noPermissions('the download link has expired')
}
