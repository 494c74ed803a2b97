// What a user looks like on the wire: the GET /user object (contract §3) and the answer of
// sign-in and sign-up (§2), both made from a UserRecord.
import type { UserRecord } from './repository.js'
import type { Rendered } from '../platform/responses.js'
import type { SignInView, UserView } from './schemas.js'

export function accountTypeOf(u: Pick<UserRecord, 'accountLevel' | 'businessId'>): string {
  if (u.businessId !== null && u.accountLevel >= 200) return 'TEAM_BUSINESS'
  if (u.businessId !== null || u.accountLevel === 150) return 'TEAM_BASIC'
  if (u.accountLevel >= 100) return 'PERSONAL_PREMIUM'
  return 'PERSONAL_FREE'
}

/** a user is online for this long after their last request */
export const ONLINE_WINDOW_MS = 5 * 60_000

export function isOnline(u: Pick<UserRecord, 'lastSeenAt'>): boolean {
  return !!u.lastSeenAt && Date.now() - u.lastSeenAt.getTime() < ONLINE_WINDOW_MS
}

/** the address the user sees as theirs: a pending change shows (contract §15), though it counts for nothing yet */
const shownEmail = (u: UserRecord) => u.pendingEmail ?? u.email

/** the GET /user shape: `email` the pending address if any, `emailConfirmed` the confirmed one (or null) */
export function userView(u: UserRecord): Rendered<UserView> {
  return {
    id: u.id,
    login: u.login,
    firstName: u.firstName,
    lastName: u.lastName,
    email: shownEmail(u),
    emailConfirmed: u.emailConfirmed,
    accountType: accountTypeOf(u),
    level: u.accountLevel,
    businessId: u.businessId,
    businessLevel: u.businessLevel,
    isOnline: isOnline(u),
    pictureHash: u.pictureHash,
    pictureSource: u.pictureSource,
  }
}

/** the authenticate / signup answer: `email_confirmed` says whether the address shown is confirmed */
export function authView(u: UserRecord, sessionId: string): Rendered<SignInView> {
  const email = shownEmail(u)
  return {
    login_id: u.login,
    account_type: accountTypeOf(u),
    level: u.accountLevel,
    session_id: sessionId,
    id: u.id,
    picture_hash: u.pictureHash,
    email,
    email_confirmed: u.emailConfirmed !== null && u.emailConfirmed.toLowerCase() === email.toLowerCase(),
  }
}
