// One-time tokens carried by emails (contract §4): 256 random bits, stored as sha256,
// expiring, usable once. Consuming is a single conditional UPDATE, so two concurrent uses
// cannot both succeed.
import type { Deps } from '../deps.js'
import { randomToken, sha256 } from '../lib/secrets.js'

export type TokenPurpose = 'confirm_email' | 'reset_password' | 'team_invitation' | 'signup_invitation'

type Tx = Pick<Deps['db']['prisma'], 'oneTimeToken'>

export async function issueToken(
  deps: Deps,
  purpose: TokenPurpose,
  target: { userId?: number; email?: string; invitationId?: number },
  tx: Tx = deps.db.prisma,
): Promise<string> {
  const token = randomToken(32)
  await tx.oneTimeToken.create({
    data: {
      tokenHash: sha256(token),
      purpose,
      userId: target.userId === undefined ? null : BigInt(target.userId),
      email: target.email ?? null,
      invitationId: target.invitationId === undefined ? null : BigInt(target.invitationId),
      expiresAt: new Date(Date.now() + deps.config.TOKEN_TTL_HOURS * 3_600_000),
    },
  })
  return token
}

export type TokenRow = { id: number; userId: number | null; email: string | null; invitationId: number | null }

export type TokenState = 'ok' | 'unknown' | 'used' | 'expired'

/** marks the token used and returns it, or why it cannot be used */
export async function consumeToken(deps: Deps, purpose: TokenPurpose, token: string, tx: { $queryRawUnsafe: Deps['db']['prisma']['$queryRawUnsafe'] } = deps.db.prisma): Promise<{ state: TokenState; row?: TokenRow }> {
  const hash = sha256(token)
  const used = await tx.$queryRawUnsafe<Array<{ id: bigint; user_id: bigint | null; email: string | null; invitation_id: bigint | null }>>(
    `UPDATE one_time_tokens SET used_at = now()
      WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
      RETURNING id, user_id, email, invitation_id`,
    hash,
    purpose,
  )
  const r = used[0]
  if (r) {
    return { state: 'ok', row: { id: Number(r.id), userId: r.user_id === null ? null : Number(r.user_id), email: r.email, invitationId: r.invitation_id === null ? null : Number(r.invitation_id) } }
  }
  const existing = await tx.$queryRawUnsafe<Array<{ used_at: Date | null }>>(`SELECT used_at FROM one_time_tokens WHERE token_hash = $1 AND purpose = $2`, hash, purpose)
  if (!existing[0]) return { state: 'unknown' }
  return { state: existing[0].used_at ? 'used' : 'expired' }
}

export function actionLink(deps: Deps, pathname: string, token: string): string {
  const u = new URL(pathname, deps.config.PUBLIC_URL.endsWith('/') ? deps.config.PUBLIC_URL : deps.config.PUBLIC_URL + '/')
  u.searchParams.set('token', token)
  return u.toString()
}

/**
 * Emails a one-time link (`PUBLIC_URL/<path>?token=…`). Sending is best effort: a failure is
 * logged, not thrown, so the action that caused the email stands.
 */
export async function sendTokenLink(
  deps: Deps,
  mail: { to: string; path: string; token: string; subject: string; name?: string; before: string; after?: string; what: string; context?: Record<string, unknown> },
) {
  const link = actionLink(deps, mail.path, mail.token)
  const days = Math.round(deps.config.TOKEN_TTL_HOURS / 24)
  const text = `Hello${mail.name ? ' ' + mail.name : ''},\n\n${mail.before}\n${link}\n\n${mail.after ? mail.after + ' ' : ''}The link works once and expires in ${days} day${days === 1 ? '' : 's'}.\n`
  await deps.mailer.send({ to: mail.to, subject: mail.subject, text }).catch((e) => deps.log.error({ err: e, ...mail.context }, `could not send the ${mail.what} email`))
}
