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
