// One-time tokens carried by emails (contract §4): 256 random bits, stored as sha256,
// expiring, usable once. Consuming is a single conditional UPDATE, so two concurrent uses
// cannot both succeed.
import type { Deps } from '../deps.js'
import type { Sql } from '../platform/db/pool.js'
import { errors } from '../platform/errors.js'
import { inert, type MailText } from '../platform/mailer.js'
import { randomToken, sha256 } from '../platform/secrets.js'
import { findTokenUse, insertToken, revokeTokens, useToken, type UsedToken } from './token-repository.js'

export type TokenPurpose = 'confirm_email' | 'reset_password' | 'team_invitation' | 'signup_invitation'

/** writes a new token for `target` through `db` (the caller's transaction, or deps.db), valid TOKEN_TTL_HOURS */
export async function issueToken(
  deps: Deps,
  db: Sql,
  purpose: TokenPurpose,
  target: { userId?: number; email?: string; invitationId?: number },
): Promise<string> {
  const token = randomToken(32)
  await insertToken(db, {
    tokenHash: sha256(token),
    purpose,
    userId: target.userId ?? null,
    email: target.email ?? null,
    invitationId: target.invitationId ?? null,
    expiresAt: new Date(Date.now() + deps.config.TOKEN_TTL_HOURS * 3_600_000),
  })
  return token
}

export type TokenRow = UsedToken

export type TokenState = 'ok' | 'unknown' | 'used' | 'expired'

/** marks the token used and returns it, or why it cannot be used */
export async function consumeToken(deps: Deps, db: Sql, purpose: TokenPurpose, token: string): Promise<{ state: TokenState; row?: TokenRow }> {
  const hash = sha256(token)
  const row = await useToken(db, hash, purpose)
  if (row) return { state: 'ok', row }
  const existing = await findTokenUse(db, hash, purpose)
  if (!existing) return { state: 'unknown' }
  return { state: existing.usedAt ? 'used' : 'expired' }
}

export function actionLink(deps: Deps, pathname: string, token: string): string {
  const u = new URL(pathname, deps.config.PUBLIC_URL.endsWith('/') ? deps.config.PUBLIC_URL : deps.config.PUBLIC_URL + '/')
  u.searchParams.set('token', token)
  return u.toString()
}

/**
 * Emails a one-time link (`PUBLIC_URL/<path>?token=…`). Sending is best effort: a failure is
 * logged, not thrown, so the action that caused the email stands. `subject`, `before` and
 * `after` are MailText (users' values in them made inert by `mailText`); `name`, the greeting,
 * is a user's text and is made inert here.
 */
export async function sendTokenLink(
  deps: Deps,
  mail: { to: string; path: string; token: string; subject: MailText; name?: string | null; before: MailText; after?: MailText; what: string; context?: Record<string, unknown> },
) {
  const link = actionLink(deps, mail.path, mail.token)
  const days = Math.round(deps.config.TOKEN_TTL_HOURS / 24)
  const name = inert(mail.name, 100)
  const text = `Hello${name ? ' ' + name : ''},\n\n${mail.before.value}\n${link}\n\n${mail.after ? mail.after.value + ' ' : ''}The link works once and expires in ${days} day${days === 1 ? '' : 's'}.\n`
  await deps.mailer.send({ to: mail.to, subject: mail.subject.value, text }).catch((e) => deps.log.error({ err: e, ...mail.context }, `could not send the ${mail.what} email`))
}

const HOUR_MS = 3_600_000

/**
 * Counts one invitation email of `userId` against INVITES_PER_HOUR_PER_USER (team and contact
 * invitations, resends included): over it → 429/67, thrown before the invitation is written.
 * If the counters cannot be reached the email is let through, as requests are.
 */
export async function chargeInvitationEmail(deps: Deps, userId: number) {
  let hit: { count: number; resetAt: number }
  try {
    hit = await deps.counters.hit(`invites:user:${userId}`, HOUR_MS)
  } catch (e) {
    deps.log.warn({ err: e }, 'invitation budget not counted: counters unavailable')
    return
  }
  const limit = deps.config.INVITES_PER_HOUR_PER_USER
  if (hit.count <= limit) return
  const retry = String(Math.max(1, Math.ceil((hit.resetAt - Date.now()) / 1000)))
  throw errors.tooManyInvitations({ 'Retry-After': retry, 'X-RateLimit-Limit': String(limit), 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': retry })
}

/** every outstanding token of `purpose` for the user stops working (a reset link after a password change) */
export async function revokeUserTokens(db: Sql, userId: number, purpose: TokenPurpose) {
  await revokeTokens(db, userId, purpose)
}
