// Download links that work without a session for a limited time (GET /file/url): the file
// route's URL with `expires` (unix seconds) and `signature`, an HMAC-SHA256 with the
// server's URL-signing secret over the file and the expiry. Changing either breaks it.
// Previews get their own links (an item's `previews[].url`, loaded by an <img>): signed over
// the file, the preview's type and size and the expiry, which is the end of the next
// PREVIEW_URL_TTL_SECONDS period, so a preview's URL stays the same for a whole period (the
// browser caches it) and works for at least one period (docs/files.md "Previews").
import crypto from 'node:crypto'
import type { Deps } from '../deps.js'
import { errors } from '../platform/errors.js'

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

function previewSignatureOf(secret: string, itemId: number, fileId: number, type: string, size: number, expires: number): string {
  return crypto.createHmac('sha256', secret).update(`preview:${itemId}:${fileId}:${type}:${size}:${expires}`).digest('base64url')
}

/** the absolute URL of one preview of the file, valid until the end of the next PREVIEW_URL_TTL_SECONDS period */
export function signedPreviewUrl(deps: Deps, itemId: number, fileId: number, type: string, size: number, now = Date.now()): string {
  const period = deps.config.PREVIEW_URL_TTL_SECONDS
  const expires = (Math.floor(now / 1000 / period) + 2) * period
  const base = deps.config.PUBLIC_URL.endsWith('/') ? deps.config.PUBLIC_URL : deps.config.PUBLIC_URL + '/'
  const u = new URL(`api/file/${itemId}`, base)
  u.searchParams.set('preview', String(size))
  u.searchParams.set('type', type)
  u.searchParams.set('expires', String(expires))
  u.searchParams.set('signature', previewSignatureOf(deps.urlSecret, itemId, fileId, type, size, expires))
  return u.toString()
}

/** throws 403/3 unless `signature` is this preview's and `expires` has not passed */
export function checkPreviewSignature(deps: Deps, itemId: number, fileId: number, type: string, size: number, expires: number, signature: string, now = Date.now()) {
  compareSignatures(previewSignatureOf(deps.urlSecret, itemId, fileId, type, size, expires), signature)
  if (expires * 1000 <= now) throw errors.noPermissions('the preview link has expired')
}

function compareSignatures(expectedText: string, signature: string) {
  const expected = Buffer.from(expectedText)
  const given = Buffer.from(signature)
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) throw errors.noPermissions('the download link is not valid')
}

/** throws 403/3 unless `signature` is this file's and `expires` has not passed */
export function checkFileSignature(deps: Deps, itemId: number, fileId: number, expires: number, signature: string, now = Date.now()) {
  compareSignatures(signatureOf(deps.urlSecret, itemId, fileId, expires), signature)
  if (expires * 1000 <= now) throw errors.noPermissions('the download link has expired')
}
