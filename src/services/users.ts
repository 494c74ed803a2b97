// Accounts: sign-up, sign-in, profile, password, email confirmation and reset (contract §2–§4).
import argon2 from 'argon2'
import crypto from 'node:crypto'
import type { Deps } from '../deps.js'
import { ApiError, Code, errors } from '../http/errors.js'
import { createSession, endOtherSessions } from './auth.js'
import { consumeToken, issueToken, sendTokenLink } from './tokens.js'
import { initialsOf, renderInitialsAvatar } from './initials-avatar.js'
import { checkAuthFailureBudget, countAuthFailure } from '../http/rate-limit.js'

// argon2id, OWASP's first recommended setting (19 MiB, 2 passes, 1 lane)
const ARGON2 = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const
// verified against for unknown logins, so they take as long as a wrong password
let dummyHash: Promise<string> | undefined

export const LOGIN_RE = /^[A-Za-z0-9._-]{3,64}$/
export const EMAIL_RE = /^[^\s@<>()[\]\\,;:"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

export function checkLogin(login: string) {
  if (!LOGIN_RE.test(login)) throw new ApiError(Code.REGISTER_INVALID_LOGIN_FORMAT, 'Invalid data format of user name')
}
export function checkEmail(email: string) {
  if (email.length > 254 || !EMAIL_RE.test(email)) throw new ApiError(Code.REGISTER_INVALID_EMAIL_FORMAT, 'Invalid data format of email')
}
export function checkName(name: string) {
  if (name.length > 64 || CONTROL.test(name)) throw new ApiError(Code.REGISTER_INVALID_NAME_FORMAT, 'Invalid data format of first name or last name')
}
export function checkPassword(password: string, field = 'password') {
  if (password.length < 8) throw new ApiError(Code.INVALID_DATA, `${field} is not valid: at least 8 characters`)
  if (password.length > 1024) throw errors.tooLarge(field, 1024)
}

export function hashPassword(password: string) {
  return argon2.hash(password, ARGON2)
}

export type UserRow = {
  id: bigint
  login: string
  email: string
  emailConfirmed: string | null
  firstName: string
  lastName: string
  accountLevel: number
  businessId: bigint | null
  businessLevel: number | null
  pictureHash: string
  pictureSource: number
  lastSeenAt: Date | null
}

export function accountTypeOf(u: Pick<UserRow, 'accountLevel' | 'businessId'>): string {
  if (u.businessId !== null && u.accountLevel >= 200) return 'TEAM_BUSINESS'
  if (u.businessId !== null || u.accountLevel === 150) return 'TEAM_BASIC'
  if (u.accountLevel >= 100) return 'PERSONAL_PREMIUM'
  return 'PERSONAL_FREE'
}

export const ONLINE_WINDOW_MS = 5 * 60_000

export function isOnline(u: Pick<UserRow, 'lastSeenAt'>): boolean {
  return !!u.lastSeenAt && Date.now() - u.lastSeenAt.getTime() < ONLINE_WINDOW_MS
}

/** the GET /user shape */
export function userView(u: UserRow) {
  return {
    id: Number(u.id),
    login: u.login,
    firstName: u.firstName,
    lastName: u.lastName,
    email: u.email,
    emailConfirmed: u.emailConfirmed,
    accountType: accountTypeOf(u),
    level: u.accountLevel,
    businessId: u.businessId === null ? null : Number(u.businessId),
    businessLevel: u.businessLevel,
    isOnline: isOnline(u),
    pictureHash: u.pictureHash,
    pictureSource: u.pictureSource,
  }
}

/** the authenticate / signup answer */
function authView(u: UserRow, sessionId: string) {
  return {
    login_id: u.login,
    account_type: accountTypeOf(u),
    level: u.accountLevel,
    session_id: sessionId,
    id: Number(u.id),
    picture_hash: u.pictureHash,
    email: u.email,
    email_confirmed: u.emailConfirmed !== null && u.emailConfirmed.toLowerCase() === u.email.toLowerCase(),
  }
}

export async function getUser(deps: Deps, id: number): Promise<UserRow> {
  const u = await deps.db.prisma.user.findUnique({ where: { id: BigInt(id) } })
  if (!u) throw errors.notFound('User')
  return u
}

function isUnique(e: unknown, field: string): boolean {
  const err = e as { code?: string; meta?: { target?: unknown; driverAdapterError?: { cause?: { constraint?: { fields?: string[] } } } }; message?: string }
  if (err.code !== 'P2002') return false
  return JSON.stringify(err.meta ?? {}).includes(field) || String(err.message).includes(field)
}

export type SignupInput = { login: string; email: string; password: string; firstName: string; lastName: string }

/**
 * Creates the account with its initials avatar and signs it in. `afterCreate` runs in the
 * same transaction (joining a team by invitation).
 */
export async function signup(
  deps: Deps,
  input: SignupInput,
  apiKeyHash: string,
  afterCreate?: (tx: any, userId: number) => Promise<void>,
) {
  checkLogin(input.login)
  checkEmail(input.email)
  checkName(input.firstName)
  checkName(input.lastName)
  checkPassword(input.password)
  const prisma = deps.db.prisma
  if (await prisma.user.findUnique({ where: { loginKey: input.login.toLowerCase() }, select: { id: true } })) {
    throw new ApiError(Code.LOGIN_ID_TAKEN, 'Login id is already taken')
  }
  if (await prisma.user.findUnique({ where: { emailKey: input.email.toLowerCase() }, select: { id: true } })) {
    throw new ApiError(Code.EMAIL_ALREADY_REGISTERED, 'Email is already registered')
  }
  const passwordHash = await hashPassword(input.password)
  const pictureHash = crypto.randomUUID()
  const avatar = await renderInitialsAvatar(initialsOf(input.firstName, input.lastName, input.login), pictureHash)
  let user: UserRow
  try {
    user = await prisma.$transaction(async (tx) => {
      const u = await tx.user.create({
        data: {
          login: input.login,
          loginKey: input.login.toLowerCase(),
          email: input.email,
          emailKey: input.email.toLowerCase(),
          firstName: input.firstName,
          lastName: input.lastName,
          passwordHash,
          pictureHash,
          pictureSource: 2,
        },
      })
      await tx.avatar.create({ data: { hash: pictureHash, userId: u.id, source: 2, image: new Uint8Array(avatar) } })
      if (afterCreate) await afterCreate(tx, Number(u.id))
      return (await tx.user.findUniqueOrThrow({ where: { id: u.id } })) as UserRow
    })
  } catch (e) {
    // a concurrent sign-up with the same login or email
    if (isUnique(e, 'login_key')) throw new ApiError(Code.LOGIN_ID_TAKEN, 'Login id is already taken')
    if (isUnique(e, 'email_key')) throw new ApiError(Code.EMAIL_ALREADY_REGISTERED, 'Email is already registered')
    throw e
  }
  await sendConfirmation(deps, user)
  const sessionId = await createSession(deps, Number(user.id), apiKeyHash)
  return { user, body: authView(user, sessionId), sessionId }
}

export async function authenticate(deps: Deps, login: string, password: string, apiKeyHash: string, ip: string) {
  await checkAuthFailureBudget(deps, ip, login)
  const key = login.trim().toLowerCase()
  const user = (await deps.db.prisma.user.findFirst({ where: { OR: [{ loginKey: key }, { emailKey: key }] } })) as (UserRow & { passwordHash: string }) | null
  dummyHash ??= hashPassword(crypto.randomBytes(16).toString('hex'))
  const ok = await argon2.verify(user?.passwordHash ?? (await dummyHash), password).catch(() => false)
  if (!user || !ok) {
    await countAuthFailure(deps, ip, login)
    throw new ApiError(Code.NO_PERMISSIONS, 'No enough permissions: login or password is incorrect')
  }
  const sessionId = await createSession(deps, Number(user.id), apiKeyHash)
  return { user, body: authView(user, sessionId), sessionId }
}

async function sendConfirmation(deps: Deps, user: Pick<UserRow, 'id' | 'email' | 'firstName'>) {
  const token = await issueToken(deps, 'confirm_email', { userId: Number(user.id), email: user.email })
  await sendTokenLink(deps, {
    to: user.email,
    path: 'api/user/confirm',
    token,
    subject: 'Please confirm your email address',
    name: user.firstName,
    before: 'Please confirm your email address by opening this link:',
    what: 'confirmation',
  })
}

export type UserUpdate = { firstName?: string; lastName?: string; email?: string; login?: string }

export async function updateUser(deps: Deps, id: number, input: UserUpdate): Promise<UserRow> {
  const current = await getUser(deps, id)
  const data: Record<string, unknown> = {}
  if (input.login !== undefined && input.login !== current.login) {
    checkLogin(input.login)
    const other = await deps.db.prisma.user.findUnique({ where: { loginKey: input.login.toLowerCase() }, select: { id: true } })
    if (other && Number(other.id) !== id) throw new ApiError(Code.LOGIN_ID_TAKEN, 'Login id is already taken')
    data.login = input.login
    data.loginKey = input.login.toLowerCase()
  }
  let emailChanged = false
  if (input.email !== undefined && input.email.toLowerCase() !== current.email.toLowerCase()) {
    checkEmail(input.email)
    const other = await deps.db.prisma.user.findUnique({ where: { emailKey: input.email.toLowerCase() }, select: { id: true } })
    if (other && Number(other.id) !== id) throw new ApiError(Code.EMAIL_ALREADY_REGISTERED, 'Email is already registered')
    data.email = input.email
    data.emailKey = input.email.toLowerCase()
    emailChanged = true
  }
  if (input.firstName !== undefined) {
    checkName(input.firstName)
    data.firstName = input.firstName
  }
  if (input.lastName !== undefined) {
    checkName(input.lastName)
    data.lastName = input.lastName
  }
  if (!Object.keys(data).length) return current
  let updated: UserRow
  try {
    updated = await deps.db.prisma.user.update({ where: { id: BigInt(id) }, data })
  } catch (e) {
    if (isUnique(e, 'login_key')) throw new ApiError(Code.LOGIN_ID_TAKEN, 'Login id is already taken')
    if (isUnique(e, 'email_key')) throw new ApiError(Code.EMAIL_ALREADY_REGISTERED, 'Email is already registered')
    throw e
  }
  // the new address stays unconfirmed until its own link is used
  if (emailChanged) await sendConfirmation(deps, updated)
  return updated
}

export async function changePassword(deps: Deps, id: number, oldPassword: string, newPassword: string, keepSessionHash: string) {
  const u = await deps.db.prisma.user.findUnique({ where: { id: BigInt(id) }, select: { passwordHash: true } })
  if (!u) throw errors.notFound('User')
  if (!(await argon2.verify(u.passwordHash, oldPassword).catch(() => false))) {
    throw new ApiError(Code.PASSWORD_NOT_MATCH, 'Provided password does not match your current password')
  }
  checkPassword(newPassword, 'new_password')
  await deps.db.prisma.user.update({ where: { id: BigInt(id) }, data: { passwordHash: await hashPassword(newPassword) } })
  await endOtherSessions(deps, id, keepSessionHash)
}

const badToken = () => new ApiError(Code.INVALID_DATA, 'token is not valid: unknown, expired or already used')

export async function confirmEmail(deps: Deps, token: string) {
  const r = await consumeToken(deps, 'confirm_email', token)
  if (r.state !== 'ok' || !r.row?.userId || !r.row.email) throw badToken()
  const u = await deps.db.prisma.user.findUnique({ where: { id: BigInt(r.row.userId) } })
  // a link for an address the user has since replaced confirms nothing
  if (!u || u.email.toLowerCase() !== r.row.email.toLowerCase()) throw badToken()
  await deps.db.prisma.user.update({ where: { id: u.id }, data: { emailConfirmed: u.email } })
}

export async function requestPasswordReset(deps: Deps, email: string) {
  const u = await deps.db.prisma.user.findUnique({ where: { emailKey: email.trim().toLowerCase() } })
  if (!u) return // same answer whether the address exists or not
  const token = await issueToken(deps, 'reset_password', { userId: Number(u.id), email: u.email })
  await sendTokenLink(deps, {
    to: u.email,
    path: 'reset-password',
    token,
    subject: 'Reset your password',
    name: u.firstName,
    before: 'To choose a new password, open this link:',
    after: 'If you did not ask for it, ignore this email.',
    what: 'password reset',
  })
}

export async function confirmPasswordReset(deps: Deps, token: string, newPassword: string) {
  checkPassword(newPassword, 'new_password')
  const passwordHash = await hashPassword(newPassword)
  const r = await consumeToken(deps, 'reset_password', token)
  if (r.state !== 'ok' || !r.row?.userId) throw badToken()
  await deps.db.prisma.user.update({ where: { id: BigInt(r.row.userId) }, data: { passwordHash } })
  // whoever knew the old password is signed out
  await endOtherSessions(deps, r.row.userId, null)
}
