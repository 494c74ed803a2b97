// Random tokens and their stored form. Session ids, API keys and one-time tokens are never
// stored: only their sha256, so a database leak does not hand out sessions.
import crypto from 'node:crypto'

/** `bytes` random bytes as base64url (24 bytes = 192 bits) */
export function randomToken(bytes = 24): string {
  return crypto.randomBytes(bytes).toString('base64url')
}

export function sha256(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex')
}

/** constant-time equality of two strings */
export function safeEqual(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest()
  const hb = crypto.createHash('sha256').update(b).digest()
  return crypto.timingSafeEqual(ha, hb) && a.length === b.length
}

export function hmac(secret: string, text: string): string {
  return crypto.createHmac('sha256', secret).update(text).digest('base64url')
}
