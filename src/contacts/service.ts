// Contacts (contract §7): one row per side in `contacts` (me → them: BOTH, TO or FROM), plus
// the relations that come from the team (BIS: same team, BIS_WAIT: invited to my team).
// Rules and their reasons are in docs/contacts.md; the SQL is in ./repository.ts.
import type { Deps } from '../deps.js'
import type { Sql } from '../platform/db/pool.js'
import { errors } from '../platform/errors.js'
import { invitedAddress } from '../users/service.js'
import { accountTypeOf, isOnline } from '../users/view.js'
import { chargeInvitationEmail, issueToken, sendTokenLink } from '../users/tokens.js'
import { mailText } from '../platform/mailer.js'
import { historyUserName } from '../comments/history.js'
import * as repo from './repository.js'
import type { ContactUser, Subscription } from './repository.js'
import type { Rendered } from '../platform/responses.js'
import type { ContactView } from './schemas.js'

export type { ContactUser, Subscription }

export function fullNameOf(first: string | null | undefined, last: string | null | undefined): string {
  return [first, last].filter((x) => x && x.trim()).join(' ')
}

/** an invitee's free-text name as first and last name: the first word, then the rest */
export function splitName(name: string | null): { first: string; last: string } {
  const [first = '', ...rest] = (name ?? '').trim().split(/\s+/)
  return { first, last: rest.join(' ') }
}

// Connected: contacts (BOTH), me, team mates and people invited to my team. Anyone else (a
// search hit, a pending request either way) is a stranger, who sees who someone is and no
// more: names, login and picture; not their email (so searching cannot harvest addresses),
// account, team, business level or presence (docs/contacts.md).
const CONNECTED = new Set<string | null>(['BOTH', 'SELF', 'BIS', 'BIS_WAIT'])

/**
 * The contact object of §7. For a stranger the fields they may not see are there (the shape
 * is the same for every client) with the values an unknown account has: null, level 0, offline.
 * `showEmail`: the caller typed the exact address, so it is no secret to them.
 */
export function contactView(u: ContactUser, subscription: Subscription | null, opts: { showEmail?: boolean } = {}): Rendered<ContactView> {
  const connected = CONNECTED.has(subscription)
  const showEmail = opts.showEmail ?? connected
  const fullName = fullNameOf(u.firstName, u.lastName)
  return {
    id: u.id,
    login: u.login,
    firstName: u.firstName,
    lastName: u.lastName,
    name: fullName || u.login,
    fullName,
    email: showEmail ? u.email : null,
    emailConfirmed: showEmail ? u.emailConfirmed : null,
    accountType: connected ? accountTypeOf(u) : null,
    level: connected ? u.accountLevel : 0,
    businessId: connected ? u.businessId : null,
    businessLevel: connected ? u.businessLevel : null,
    isOnline: connected ? isOnline({ lastSeenAt: u.lastSeenAt }) : false,
    pictureHash: u.pictureHash,
    pictureSource: u.pictureSource,
    subscription,
  }
}

/** an invitation to an address that has no account yet, in contact shape (BIS_WAIT) */
export function invitationContactView(inv: { id: number; email: string; name: string | null; businessId: number }): Rendered<ContactView> {
  const { first, last } = splitName(inv.name)
  const fullName = fullNameOf(first, last)
  return {
    id: inv.id,
    login: null,
    firstName: first,
    lastName: last,
    name: fullName || inv.email,
    fullName,
    email: inv.email,
    emailConfirmed: null,
    accountType: null,
    level: 0,
    businessId: inv.businessId,
    businessLevel: null,
    isOnline: false,
    pictureHash: null,
    pictureSource: 0,
    subscription: 'BIS_WAIT' as const,
  }
}

/** my relation to `otherId`: a contact row's status, BIS for a team mate, else null */
export async function relationOf(db: Sql, me: number, otherId: number): Promise<Subscription | null> {
  if (me === otherId) return 'SELF'
  const r = await repo.relationRow(db, me, otherId)
  return r.sameTeam ? 'BIS' : r.status
}

/** GET /contact: contact rows, team mates and pending invitations to my team (one entry per person) */
export async function listContacts(deps: Deps, me: number, includeSelf: boolean) {
  const users = await repo.contactListUsers(deps.db, me)
  const out: Rendered<ContactView>[] = users
    .filter((u) => includeSelf || u.rel !== 'SELF')
    .map((u) => contactView(u, u.rel))
  // a contact invited to my team shows as BIS_WAIT (as in GET /team) until they join
  const at = new Map(out.map((c, i) => [c.id, i]))
  for (const c of await pendingTeamInvitations(deps.db, me)) {
    const i = at.get(c.id)
    if (i === undefined) out.push(c)
    else out[i] = c
  }
  return out
}

/**
 * Pending invitations to my team as BIS_WAIT entries: an address with an account shows that
 * user (its id is the user's), an unknown address shows the invitation (its id is the
 * invitation's; invitation ids come from the users' id sequence, so they never collide).
 */
export async function pendingTeamInvitations(db: Sql, me: number) {
  const rows = await repo.pendingInvitationsToTeamOf(db, me)
  return rows.map((row) => (row.user ? contactView(row.user, 'BIS_WAIT') : invitationContactView(row.invitation)))
}

/** who a contact request names: by id, else by login, else by email */
export type ContactTarget = { id?: number; login?: string; email?: string }

async function findTarget(db: Sql, target: ContactTarget): Promise<ContactUser | null> {
  if (target.id !== undefined) return repo.contactUserById(db, target.id)
  const key = (target.login ?? target.email ?? '').trim().toLowerCase()
  return repo.contactUserByKey(db, target.login !== undefined ? 'login' : 'email', key)
}

/**
 * POST /contact: a request (TO for me, FROM for them). When they already asked me, asking
 * back connects us (BOTH) instead of failing.
 */
export async function requestContact(deps: Deps, me: number, target: ContactTarget) {
  return deps.db.tx(async (tx) => {
    const other = await findTarget(tx, target)
    if (!other) throw errors.notFound('User')
    return requestContactWith(tx, me, other)
  })
}

async function requestContactWith(tx: Sql, me: number, other: ContactUser) {
  if (other.id === me) throw errors.contactSelf()
  const rel = await relationOf(tx, me, other.id)
  if (rel === 'FROM') {
    await connect(tx, me, other.id)
    return contactView(other, 'BOTH')
  }
  if (rel !== null) throw errors.contactExists()
  await repo.insertRequest(tx, me, other.id)
  return contactView(other, 'TO')
}

/** both sides BOTH (also used by sign-up with a contact invitation, in its transaction) */
export async function connect(tx: Sql, a: number, b: number) {
  await repo.setConnected(tx, a, b)
}

/** GET /contact/approve: a FROM request becomes BOTH on both sides; approving twice is harmless */
export async function approveContact(deps: Deps, me: number, otherId: number) {
  return deps.db.tx(async (tx) => {
    const status = await repo.lockContactStatus(tx, me, otherId)
    if (status !== 'FROM' && status !== 'BOTH') throw errors.notFound('Contact request')
    if (status === 'FROM') await connect(tx, me, otherId)
    const other = await repo.contactUserById(tx, otherId)
    if (!other) throw errors.notFound('Contact')
    return contactView(other, (await relationOf(tx, me, otherId)) ?? 'BOTH')
  })
}

/** DELETE /contact: the relation is removed on both sides */
export async function removeContact(deps: Deps, me: number, otherId: number) {
  if (!(await repo.deleteContactPair(deps.db, me, otherId))) throw errors.notFound('Contact')
}

export const SEARCH_MIN_CHARS = 2
export const SEARCH_LIMIT = 50

/** escapes LIKE wildcards so a query is a literal prefix */
function likePrefix(s: string): string {
  return s.replace(/[\\%_]/g, (c) => '\\' + c) + '%'
}

/**
 * GET /contact/search: users whose login, first name, last name or full name starts with the
 * query (≥ 2 characters), or whose email equals it; at most 50, never the caller. A shorter
 * query finds nothing, so the table cannot be listed.
 */
export async function searchUsers(deps: Deps, me: number, query: string) {
  const text = query.trim().toLowerCase()
  if (text.length < SEARCH_MIN_CHARS) return []
  const users = await repo.searchContactUsers(deps.db, me, { emailKey: text, likePattern: likePrefix(text), limit: SEARCH_LIMIT })
  // someone who typed the exact address already knows it
  return users.map((u) => contactView(u, u.rel, u.byEmail ? { showEmail: true } : {}))
}

/**
 * GET /contact/invite: an existing user gets a contact request; an unknown address gets an
 * email with a sign-up link whose token connects the two accounts at sign-up.
 */
export async function inviteContact(deps: Deps, me: number, email: string, name: string | undefined) {
  const address = invitedAddress(email)
  const existing = await requestIfRegistered(deps, me, address)
  if (existing) return existing
  // an email to an address the user typed: counted, so the server is no open relay
  await chargeInvitationEmail(deps, me)
  const token = await issueToken(deps, deps.db, 'signup_invitation', { userId: me, email: address })
  const inviterName = await historyUserName(deps.db, me)
  await sendTokenLink(deps, {
    to: address,
    path: 'signup',
    token,
    subject: mailText`${inviterName} invited you to Hitask`,
    name,
    before: mailText`${inviterName} invited you to Hitask, to share tasks and projects.\nCreate your account with this link:`,
    what: 'contact invitation',
  })
  return undefined
}

async function requestIfRegistered(deps: Deps, me: number, email: string) {
  return deps.db.tx(async (tx) => {
    const other = await findTarget(tx, { email })
    return other ? requestContactWith(tx, me, other) : null
  })
}

/** the user behind a contact id, only if they are in my contacts or my team (else 404/1) */
export async function contactUser(db: Sql, me: number, otherId: number): Promise<ContactUser> {
  const rel = await relationOf(db, me, otherId)
  const u = rel && rel !== 'SELF' ? await repo.contactUserById(db, otherId) : null
  if (!u) throw errors.notFound('Contact')
  return u
}
