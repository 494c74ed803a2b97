// Accounts: sign-up, sign-in, profile, password, email confirmation and reset (contract §2–§4).
// Every write is one transaction (deps.db.tx); emails go out once it has committed.
import argon2 from 'argon2'
import crypto from 'node:crypto'
import type { Deps } from '../deps.js'
import type { Tx } from '../platform/db/pool.js'
import { errors } from '../platform/errors.js'
import { checkApiKey, createSession } from './sessions.js'
import { consumeToken, issueToken, revokeUserTokens, sendTokenLink } from './tokens.js'
import { MailText } from '../platform/mailer.js'
import { initialsOf, renderInitialsAvatar } from '../avatars/initials.js'
import { insertAvatar } from '../avatars/repository.js'
import { signInAccount, verifyWithinBudget } from './sign-in-throttle.js'
import { deleteUserSessions } from './session-repository.js'
import {
  adoptPendingEmail,
  confirmEmailAddress,
  findCredentials,
  findUserByEmail,
  findUserById,
  findUserByLoginOrEmail,
  idByEmail,
  idByLogin,
  loginsStartingWith,
  insertUser,
  isUniqueViolation,
  passwordHashOf,
  setPasswordHash,
  updateProfile,
  type ProfileChange,
  type UserRecord,
} from './repository.js'
import { authView } from './view.js'

// argon2id, OWASP's first recommended setting (19 MiB, 2 passes, 1 lane)
const ARGON2 = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const
// verified against for unknown logins, so they take as long as a wrong password
let dummyHash: Promise<string> | undefined

export const LOGIN_RE = /^[A-Za-z0-9._-]{3,64}$/
const EMAIL_RE = /^[^\s@<>()[\]\\,;:"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

export function checkLogin(login: string) {
  if (!LOGIN_RE.test(login)) throw errors.badLogin()
}
const isEmail = (address: string) => address.length <= 254 && EMAIL_RE.test(address)
export function checkEmail(email: string) {
  if (!isEmail(email)) throw errors.badEmail()
}
/** an address someone is invited at (a contact or a team member): trimmed, else 400/5 on `email` */
export function invitedAddress(email: string): string {
  const address = email.trim()
  if (!isEmail(address)) throw errors.invalidFormat('email')
  return address
}
export function checkName(name: string) {
  if (name.length > 64 || CONTROL.test(name)) throw errors.badName()
}
export function checkPassword(password: string, field = 'password') {
  if (password.length < 8) throw errors.invalidData(field, ': at least 8 characters')
  if (password.length > 1024) throw errors.tooLarge(field, 1024)
}

function hashPassword(password: string) {
  return argon2.hash(password, ARGON2)
}

export async function getUser(deps: Deps, id: number): Promise<UserRecord> {
  const u = await findUserById(deps.db, id)
  if (!u) throw errors.notFound('User')
  return u
}

/** a user by login or email (any case), or null: the admin CLI names users this way */
export function lookupUser(deps: Deps, loginOrEmail: string): Promise<UserRecord | null> {
  return findUserByLoginOrEmail(deps.db, loginOrEmail)
}

/** a concurrent sign-up or change took the login or the email between the check and the write */
function uniqueViolationError(e: unknown): unknown {
  if (isUniqueViolation(e, 'login_key')) return errors.loginTaken()
  if (isUniqueViolation(e, 'email_key')) return errors.emailRegistered()
  return e
}

/** issues a confirmation token for `address` (the sign-up address, or a pending one) in `tx`; the email goes once `tx` commits */
async function confirmationAfterCommit(deps: Deps, tx: Tx, user: Pick<UserRecord, 'id' | 'firstName'>, address: string) {
  const token = await issueToken(deps, tx, 'confirm_email', { userId: user.id, email: address })
  tx.afterCommit(() =>
    sendTokenLink(deps, {
      to: address,
      path: 'api/user/confirm',
      token,
      subject: MailText.trusted('Please confirm your email address'),
      name: user.firstName,
      before: MailText.trusted('Please confirm your email address by opening this link:'),
      what: 'confirmation',
    }),
  )
}

export type SignupInput = { login: string; email: string; password: string; firstName: string; lastName: string }

/** what joins a new account to something (a team, an inviter's contacts) inside the sign-up transaction */
export type JoinAtSignup = (tx: Tx, userId: number) => Promise<void>

/**
 * Hooks other domains add to sign-up. `invitation` checks an invitation token before the
 * account is created (and throws when it cannot be used); what it returns runs in the
 * sign-up transaction. Set by src/teams/routes.ts, so this domain does not import teams.
 */
export const signupHooks: { invitation?: (deps: Deps, token: string) => Promise<JoinAtSignup> } = {}

type AccountOptions = { join?: JoinAtSignup; emailConfirmed?: boolean }

/**
 * Creates the account with its initials avatar by the sign-up rules, in one transaction
 * with what `join` adds and what `finish` does with the new user; a confirmation email
 * goes out after the commit unless the address is taken as confirmed.
 */
async function createAccount<T>(deps: Deps, input: SignupInput, opts: AccountOptions, finish: (tx: Tx, user: UserRecord) => Promise<T>): Promise<T> {
  checkLogin(input.login)
  checkEmail(input.email)
  checkName(input.firstName)
  checkName(input.lastName)
  checkPassword(input.password)
  if ((await idByLogin(deps.db, input.login)) !== null) throw errors.loginTaken()
  if ((await idByEmail(deps.db, input.email)) !== null) throw errors.emailRegistered()
  // the slow parts before the transaction, so it holds its connection briefly
  const passwordHash = await hashPassword(input.password)
  const pictureHash = crypto.randomUUID()
  const avatar = await renderInitialsAvatar(initialsOf(input.firstName, input.lastName, input.login), pictureHash)
  try {
    return await deps.db.tx(async (tx) => {
      const created = await insertUser(tx, {
        login: input.login,
        email: input.email,
        emailConfirmed: opts.emailConfirmed ? input.email : null,
        firstName: input.firstName,
        lastName: input.lastName,
        passwordHash,
        pictureHash,
        pictureSource: 2,
      })
      await insertAvatar(tx, { hash: pictureHash, userId: created.id, source: 2, image: avatar })
      if (opts.join) await opts.join(tx, created.id)
      // joining a team changes the row
      const user = opts.join ? (await findUserById(tx, created.id))! : created
      if (!opts.emailConfirmed) await confirmationAfterCommit(deps, tx, user, user.email)
      return finish(tx, user)
    })
  } catch (e) {
    throw uniqueViolationError(e)
  }
}

/**
 * POST /user/signup: the account, signed in with a session bound to `apiKey`. An
 * `invitation` token (team or contact invitation) is checked first and used in the same
 * transaction.
 */
export async function signup(deps: Deps, input: SignupInput, apiKey: unknown, invitation?: string) {
  const apiKeyHash = await checkApiKey(deps, apiKey)
  const join = invitation && signupHooks.invitation ? await signupHooks.invitation(deps, invitation) : undefined
  return createAccount(deps, input, { join }, async (tx, user) => {
    const sessionId = await createSession(tx, user.id, apiKeyHash)
    return { sessionId, body: authView(user, sessionId) }
  })
}

/**
 * Sign-up by an external sign-in (contract §13, src/users/external.ts): the address the
 * provider verified is confirmed at once; the login is made from it (its local part, made
 * valid and unique); the password is random (a reset link sets one). `link` and `join` run in
 * the sign-up transaction. → the authenticate answer, with a session bound to the API key.
 */
export async function signupExternal(
  deps: Deps,
  input: { email: string; firstName: string; lastName: string },
  apiKeyHash: string,
  opts: { join?: JoinAtSignup; link: (tx: Tx, userId: number) => Promise<void> },
) {
  const login = await freeLoginFrom(deps, input.email)
  const clean = (name: string) => name.replace(CONTROL, '').trim().slice(0, 64)
  const account: SignupInput = { login, email: input.email, password: crypto.randomBytes(24).toString('base64url'), firstName: clean(input.firstName), lastName: clean(input.lastName) }
  const join: JoinAtSignup = async (tx, userId) => {
    await opts.link(tx, userId)
    if (opts.join) await opts.join(tx, userId)
  }
  return createAccount(deps, account, { join, emailConfirmed: true }, async (tx, user) => {
    const sessionId = await createSession(tx, user.id, apiKeyHash)
    return { sessionId, body: authView(user, sessionId) }
  })
}

/** a login no one has, from an email's local part: `jane.doe`, `jane.doe2`, … */
async function freeLoginFrom(deps: Deps, email: string): Promise<string> {
  let base = (email.split('@')[0] ?? '').replace(/[^A-Za-z0-9._-]/g, '').slice(0, 56)
  if (base.length < 3) base = (base + 'user').slice(0, 56)
  // usually free: one indexed lookup; else the logins already taken among base2 … base999 in
  // one query (a prefix read, which the login index cannot serve under every collation)
  if ((await idByLogin(deps.db, base)) === null) return base
  const taken = await loginsStartingWith(deps.db, base)
  for (let n = 2; n < 1000; n++) {
    if (!taken.has(`${base}${n}`.toLowerCase())) return `${base}${n}`
  }
  return `${base.slice(0, 40)}${crypto.randomBytes(6).toString('hex')}`
}

/** the admin CLI's `user create`: an account by the sign-up rules, without a session */
export function createUser(deps: Deps, input: SignupInput, opts: { emailConfirmed: boolean }): Promise<UserRecord> {
  return createAccount(deps, input, { emailConfirmed: opts.emailConfirmed }, async (_tx, user) => user)
}

/** POST /user/authenticate: by login or email; 403/3 for a wrong login or password, alike in answer and time */
export async function authenticate(deps: Deps, login: string, password: string, apiKey: unknown, ip: string) {
  const apiKeyHash = await checkApiKey(deps, apiKey)
  const found = await findCredentials(deps.db, login)
  dummyHash ??= hashPassword(crypto.randomBytes(16).toString('hex'))
  // failures counted per address and per account (the user the login names), §15
  const verify = async () => (await argon2.verify(found?.passwordHash ?? (await dummyHash!), password).catch(() => false)) && Boolean(found)
  const ok = await verifyWithinBudget(deps, ip, signInAccount(found?.user.id, login), verify)
  if (!found || !ok) throw errors.wrongLogin()
  const sessionId = await createSession(deps.db, found.user.id, apiKeyHash)
  return { sessionId, body: authView(found.user, sessionId) }
}

export type UserUpdate = { firstName?: string; lastName?: string; email?: string; login?: string }

export async function updateUser(deps: Deps, id: number, input: UserUpdate): Promise<UserRecord> {
  const current = await getUser(deps, id)
  const change: ProfileChange = {}
  if (input.login !== undefined && input.login !== current.login) {
    checkLogin(input.login)
    const other = await idByLogin(deps.db, input.login)
    if (other !== null && other !== id) throw errors.loginTaken()
    change.login = input.login
  }
  // a new address is pending until its link is used: it counts for nothing before (contract
  // §15). The address in effect again drops the pending one; the pending one again (a client
  // sending back the user object it read) changes nothing, unless someone has taken it since (22).
  if (input.email !== undefined) {
    const wanted = input.email.toLowerCase()
    if (wanted === current.email.toLowerCase()) {
      if (current.pendingEmail !== null) change.pendingEmail = null
    } else {
      checkEmail(input.email)
      const other = await idByEmail(deps.db, input.email)
      if (other !== null && other !== id) throw errors.emailRegistered()
      if (wanted !== current.pendingEmail?.toLowerCase()) change.pendingEmail = input.email
    }
  }
  if (input.firstName !== undefined) {
    checkName(input.firstName)
    change.firstName = input.firstName
  }
  if (input.lastName !== undefined) {
    checkName(input.lastName)
    change.lastName = input.lastName
  }
  if (!Object.keys(change).length) return current
  try {
    return await deps.db.tx(async (tx) => {
      const updated = await updateProfile(tx, id, change)
      if (!updated) throw errors.notFound('User')
      // the new address takes effect when its own link is used
      if (change.pendingEmail) await confirmationAfterCommit(deps, tx, updated, change.pendingEmail)
      return updated
    })
  } catch (e) {
    throw uniqueViolationError(e)
  }
}

/**
 * The new password hash; every session but `keepSessionHash` ends (all of them for null) and
 * every outstanding reset link stops working (contract §15).
 */
async function replacePassword(tx: Tx, id: number, passwordHash: string, keepSessionHash: string | null) {
  await setPasswordHash(tx, id, passwordHash)
  await deleteUserSessions(tx, id, keepSessionHash)
  await revokeUserTokens(tx, id, 'reset_password')
}

/** POST /user/password: the user's other sessions end */
export async function changePassword(deps: Deps, id: number, oldPassword: string, newPassword: string, keepSessionHash: string, ip: string) {
  const current = await passwordHashOf(deps.db, id)
  if (current === null) throw errors.notFound('User')
  // a wrong old password is a failed sign-in: same budget (§15)
  if (!(await verifyWithinBudget(deps, ip, signInAccount(id), () => argon2.verify(current, oldPassword).catch(() => false)))) {
    throw errors.passwordMismatch()
  }
  checkPassword(newPassword, 'new_password')
  const passwordHash = await hashPassword(newPassword)
  await deps.db.tx((tx) => replacePassword(tx, id, passwordHash, keepSessionHash))
}

/** the admin CLI's `user reset-password`: as after a reset by email, every session ends */
export async function setPassword(deps: Deps, id: number, password: string) {
  checkPassword(password)
  const passwordHash = await hashPassword(password)
  await deps.db.tx((tx) => replacePassword(tx, id, passwordHash, null))
}

const badToken = errors.badToken

/**
 * GET /user/confirm: the link confirms the address in effect (the sign-up address), or makes
 * the pending address the one in effect. A link for an address the user has since replaced or
 * dropped confirms nothing (400/6, the token spent); one for an address someone else now holds
 * answers 400/22 and changes nothing.
 */
export async function confirmEmail(deps: Deps, token: string) {
  try {
    // the token is spent even when it confirms nothing: that transaction returns, never throws
    const confirmed = await deps.db.tx(async (tx) => {
      const r = await consumeToken(deps, tx, 'confirm_email', token)
      if (r.state !== 'ok' || !r.row?.userId || !r.row.email) return false
      const { userId, email } = r.row
      if (await confirmEmailAddress(tx, userId, email)) return true
      const holder = await idByEmail(tx, email)
      if (holder !== null && holder !== userId) throw errors.emailRegistered()
      if (!(await adoptPendingEmail(tx, userId, email))) return false
      // reset links went to the old address: they stop working with it
      await revokeUserTokens(tx, userId, 'reset_password')
      return true
    })
    if (!confirmed) throw badToken()
  } catch (e) {
    throw uniqueViolationError(e)
  }
}

export async function requestPasswordReset(deps: Deps, email: string) {
  const u = await findUserByEmail(deps.db, email.trim())
  if (!u) return // same answer whether the address exists or not
  // a new link: the older ones stop working (contract §15)
  const token = await deps.db.tx(async (tx) => {
    await revokeUserTokens(tx, u.id, 'reset_password')
    return issueToken(deps, tx, 'reset_password', { userId: u.id, email: u.email })
  })
  await sendTokenLink(deps, {
    to: u.email,
    path: 'reset-password',
    token,
    subject: MailText.trusted('Reset your password'),
    name: u.firstName,
    before: MailText.trusted('To choose a new password, open this link:'),
    after: MailText.trusted('If you did not ask for it, ignore this email.'),
    what: 'password reset',
  })
}

export async function confirmPasswordReset(deps: Deps, token: string, newPassword: string) {
  // a refused password does not spend the token
  checkPassword(newPassword, 'new_password')
  const passwordHash = await hashPassword(newPassword)
  const done = await deps.db.tx(async (tx) => {
    const r = await consumeToken(deps, tx, 'reset_password', token)
    if (r.state !== 'ok' || !r.row?.userId) return false
    // whoever knew the old password is signed out
    await replacePassword(tx, r.row.userId, passwordHash, null)
    return true
  })
  if (!done) throw badToken()
}
