// Failed sign-ins have their own, tighter budget than the request rate limit (contract §2,
// §15, docs/security.md): AUTH_FAIL_PER_MINUTE_PER_ADDRESS per address per minute and
// AUTH_FAIL_PER_15MIN_PER_LOGIN per account per 15 minutes, counted in the shared
// CounterStore. The account is the user the login or email names (" dave", "DAVE " and
// dave@example.com are one account); a login that names nobody is counted by its normalized
// form (trimmed, lower case). A wrong old password on POST /user/password is a failure of
// the same kind: it counts toward the same two budgets.
import type { Deps } from '../deps.js'
import { errors } from '../platform/errors.js'

const ADDRESS_WINDOW_MS = 60_000
const ACCOUNT_WINDOW_MS = 15 * 60_000

/** the counter key of an account: the user's id when the login names one, else the normalized login */
export function signInAccount(userId: number | null | undefined, login = ''): string {
  return userId != null ? `user:${userId}` : `login:${login.trim().toLowerCase()}`
}

const addressKey = (ip: string) => `authfail:ip:${ip}`
const accountKey = (account: string) => `authfail:${account}`

/** 429/67 when the address or the account has no failures left; checked before any password is verified */
export async function checkAuthFailureBudget(deps: Deps, ip: string, account: string) {
  const [byIp, byAccount] = await Promise.all([
    deps.counters.peek(addressKey(ip), ADDRESS_WINDOW_MS),
    deps.counters.peek(accountKey(account), ACCOUNT_WINDOW_MS),
  ])
  const over = [
    byIp.count >= deps.config.AUTH_FAIL_PER_MINUTE_PER_ADDRESS ? byIp : null,
    byAccount.count >= deps.config.AUTH_FAIL_PER_15MIN_PER_LOGIN ? byAccount : null,
  ].filter(Boolean) as { resetAt: number }[]
  if (over.length) {
    const resetAt = Math.max(...over.map((o) => o.resetAt))
    const retry = Math.max(1, Math.ceil((resetAt - Date.now()) / 1000))
    throw errors.tooManyRequests({
      'Retry-After': String(retry),
      'X-RateLimit-Limit': String(deps.config.AUTH_FAIL_PER_15MIN_PER_LOGIN),
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': String(retry),
    })
  }
}

export async function countAuthFailure(deps: Deps, ip: string, account: string) {
  await Promise.all([deps.counters.hit(addressKey(ip), ADDRESS_WINDOW_MS), deps.counters.hit(accountKey(account), ACCOUNT_WINDOW_MS)])
}

/**
 * A password check under the budget: 429/67 before `verify` runs when the address or the
 * account has no failures left; a failed `verify` is counted. Resolves what `verify` did.
 */
export async function verifyWithinBudget(deps: Deps, ip: string, account: string, verify: () => Promise<boolean>): Promise<boolean> {
  await checkAuthFailureBudget(deps, ip, account)
  const ok = await verify()
  if (!ok) await countAuthFailure(deps, ip, account)
  return ok
}
