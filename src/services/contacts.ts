// Contacts (contract §7): one row per side in `contacts` (me → them: BOTH, TO or FROM), plus
// the relations that come from the team (BIS: same team, BIS_WAIT: invited to my team).
// Rules and their reasons are in docs/contacts.md.
import type { Deps } from '../deps.js'
import { ApiError, Code, errors } from '../http/errors.js'
import { inTransaction } from '../db/tx.js'
import type { Queryable } from './access.js'
import { accountTypeOf, isOnline, EMAIL_RE } from './users.js'
import { issueToken, sendTokenLink } from './tokens.js'
import { historyUserName } from './history.js'

export type Subscription = 'BOTH' | 'TO' | 'FROM' | 'SELF' | 'BIS' | 'BIS_WAIT'

/** the user columns a contact object is made of */
export const USER_COLUMNS = `u.id, u.login, u.first_name, u.last_name, u.email, u.email_confirmed, u.account_level,
  u.business_id, u.business_level, u.picture_hash, u.picture_source, u.last_seen_at`

export type UserRecord = {
  id: number
  login: string
  first_name: string
  last_name: string
  email: string
  email_confirmed: string | null
  account_level: number
  business_id: number | null
  business_level: number | null
  picture_hash: string
  picture_source: number
  last_seen_at: Date | null
}

export function fullNameOf(first: string | null | undefined, last: string | null | undefined): string {
  return [first, last].filter((x) => x && x.trim()).join(' ')
}

/** an invitee's free-text name as first and last name: the first word, then the rest */
export function splitName(name: string | null): { first: string; last: string } {
  const [first = '', ...rest] = (name ?? '').trim().split(/\s+/)
  return { first, last: rest.join(' ') }
}

// Relations that let a user see another's email address: an unconnected user (a pending
// request, a search hit) shows names and picture only, so searching cannot harvest emails.
const SHOWS_EMAIL = new Set<string | null>(['BOTH', 'SELF', 'BIS', 'BIS_WAIT'])

/** the contact object of §7 */
export function contactView(u: UserRecord, subscription: Subscription | null, opts: { showEmail?: boolean } = {}) {
  const showEmail = opts.showEmail ?? SHOWS_EMAIL.has(subscription)
  const fullName = fullNameOf(u.first_name, u.last_name)
  return {
    id: Number(u.id),
    login: u.login,
    firstName: u.first_name,
    lastName: u.last_name,
    name: fullName || u.login,
    fullName,
    email: showEmail ? u.email : null,
    emailConfirmed: showEmail ? u.email_confirmed : null,
    accountType: accountTypeOf({ accountLevel: u.account_level, businessId: u.business_id === null ? null : BigInt(u.business_id) }),
    level: u.account_level,
    businessId: u.business_id === null ? null : Number(u.business_id),
    businessLevel: u.business_level,
    isOnline: isOnline({ lastSeenAt: u.last_seen_at }),
    pictureHash: u.picture_hash,
    pictureSource: u.picture_source,
    subscription,
  }
}
export type ContactView = ReturnType<typeof contactView>

/** an invitation to an address that has no account yet, in contact shape (BIS_WAIT) */
export function invitationContactView(inv: { id: number; email: string; name: string | null; business_id: number }) {
  const { first, last } = splitName(inv.name)
  const fullName = fullNameOf(first, last)
  return {
    id: Number(inv.id),
    login: null,
    firstName: first,
    lastName: last,
    name: fullName || inv.email,
    fullName,
    email: inv.email,
    emailConfirmed: null,
    accountType: null,
    level: 0,
    businessId: Number(inv.business_id),
    businessLevel: null,
    isOnline: false,
    pictureHash: null,
    pictureSource: 0,
    subscription: 'BIS_WAIT' as const,
  }
}

async function userById(q: Queryable, id: number): Promise<UserRecord | null> {
  const r = await q.query<UserRecord>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.id = $1`, [id])
  return r.rows[0] ?? null
}

/** my relation to `otherId`: a contact row's status, BIS for a team mate, else null */
export async function relationOf(q: Queryable, me: number, otherId: number): Promise<Subscription | null> {
  if (me === otherId) return 'SELF'
  const r = await q.query<{ status: Subscription | null; same_team: boolean }>(
    `SELECT (SELECT status FROM contacts WHERE user_id = $1 AND contact_id = $2) AS status,
            EXISTS (SELECT 1 FROM users a JOIN users b ON a.business_id = b.business_id WHERE a.id = $1 AND b.id = $2) AS same_team`,
    [me, otherId],
  )
  const row = r.rows[0]!
  return row.same_team ? 'BIS' : row.status
}

/** GET /contact: contact rows, team mates and pending invitations to my team (one entry per person) */
export async function listContacts(deps: Deps, me: number, includeSelf: boolean) {
  const q = deps.db.pool
  const rows = await q.query<UserRecord & { rel: Subscription }>(
    `WITH me AS (SELECT id, business_id FROM users WHERE id = $1)
     SELECT ${USER_COLUMNS},
            CASE WHEN u.id = me.id THEN 'SELF'
                 WHEN me.business_id IS NOT NULL AND u.business_id = me.business_id THEN 'BIS'
                 ELSE c.status END AS rel
       FROM me
       JOIN users u ON u.id = me.id OR (me.business_id IS NOT NULL AND u.business_id = me.business_id)
                    OR u.id IN (SELECT contact_id FROM contacts WHERE user_id = me.id)
       LEFT JOIN contacts c ON c.user_id = me.id AND c.contact_id = u.id
      ORDER BY lower(u.first_name), lower(u.last_name), u.login_key`,
    [me],
  )
  const out: Array<ContactView | ReturnType<typeof invitationContactView>> = rows.rows
    .filter((u) => includeSelf || u.rel !== 'SELF')
    .map((u) => contactView(u, u.rel))
  // a contact invited to my team shows as BIS_WAIT (as in GET /team) until they join
  const at = new Map(out.map((c, i) => [c.id, i]))
  for (const c of await pendingTeamInvitations(q, me)) {
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
export async function pendingTeamInvitations(q: Queryable, me: number) {
  const r = await q.query<UserRecord & { inv_id: number; inv_email: string; inv_name: string | null; inv_business_id: number; has_user: boolean }>(
    `SELECT i.id AS inv_id, i.email AS inv_email, i.name AS inv_name, i.business_id AS inv_business_id,
            u.id IS NOT NULL AS has_user, ${USER_COLUMNS}
       FROM users me
       JOIN invitations i ON i.business_id = me.business_id AND i.status = 0
       LEFT JOIN users u ON u.email_key = i.email_key
      WHERE me.id = $1
      ORDER BY i.id`,
    [me],
  )
  return r.rows.map((row) =>
    row.has_user ? contactView(row, 'BIS_WAIT') : invitationContactView({ id: row.inv_id, email: row.inv_email, name: row.inv_name, business_id: row.inv_business_id }),
  )
}

/** who a contact request names: by id, else by login, else by email */
export type ContactTarget = { id?: number; login?: string; email?: string }

async function findTarget(q: Queryable, target: ContactTarget): Promise<UserRecord | null> {
  if (target.id !== undefined) return userById(q, target.id)
  const key = (target.login ?? target.email ?? '').trim().toLowerCase()
  const col = target.login !== undefined ? 'login_key' : 'email_key'
  const r = await q.query<UserRecord>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.${col} = $1`, [key])
  return r.rows[0] ?? null
}

/**
 * POST /contact: a request (TO for me, FROM for them). When they already asked me, asking
 * back connects us (BOTH) instead of failing.
 */
export async function requestContact(deps: Deps, me: number, target: ContactTarget) {
  return inTransaction(deps.db.pool, async (q) => {
    const other = await findTarget(q, target)
    if (!other) throw errors.notFound('User')
    return requestContactWith(q, me, other)
  })
}

async function requestContactWith(q: Queryable, me: number, other: UserRecord) {
  if (Number(other.id) === me) throw new ApiError(Code.CONTACT_SELF_ADD, "You can't add yourself to the contact list")
  const rel = await relationOf(q, me, Number(other.id))
  if (rel === 'FROM') {
    await connect(q, me, Number(other.id))
    return contactView(other, 'BOTH')
  }
  if (rel !== null) throw new ApiError(Code.CONTACT_EXIST, 'Contact already exists')
  await q.query(
    `INSERT INTO contacts (user_id, contact_id, status) VALUES ($1, $2, 'TO'), ($2, $1, 'FROM')
     ON CONFLICT (user_id, contact_id) DO NOTHING`,
    [me, Number(other.id)],
  )
  return contactView(other, 'TO')
}

/** both sides BOTH */
export async function connect(q: Queryable, a: number, b: number) {
  await q.query(
    `INSERT INTO contacts (user_id, contact_id, status) VALUES ($1, $2, 'BOTH'), ($2, $1, 'BOTH')
     ON CONFLICT (user_id, contact_id) DO UPDATE SET status = 'BOTH'`,
    [a, b],
  )
}

/** GET /contact/approve: a FROM request becomes BOTH on both sides; approving twice is harmless */
export async function approveContact(deps: Deps, me: number, otherId: number) {
  return inTransaction(deps.db.pool, async (q) => {
    const r = await q.query<{ status: string }>('SELECT status FROM contacts WHERE user_id = $1 AND contact_id = $2 FOR UPDATE', [me, otherId])
    const status = r.rows[0]?.status
    if (status !== 'FROM' && status !== 'BOTH') throw errors.notFound('Contact request')
    if (status === 'FROM') await connect(q, me, otherId)
    const other = await userById(q, otherId)
    if (!other) throw errors.notFound('Contact')
    return contactView(other, (await relationOf(q, me, otherId)) ?? 'BOTH')
  })
}

/** DELETE /contact: the relation is removed on both sides */
export async function removeContact(deps: Deps, me: number, otherId: number) {
  const r = await deps.db.pool.query(
    'DELETE FROM contacts WHERE (user_id = $1 AND contact_id = $2) OR (user_id = $2 AND contact_id = $1)',
    [me, otherId],
  )
  if (!r.rowCount) throw errors.notFound('Contact')
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
  const r = await deps.db.pool.query<UserRecord & { rel: Subscription | null; by_email: boolean }>(
    `WITH me AS (SELECT id, business_id FROM users WHERE id = $1)
     SELECT ${USER_COLUMNS}, u.email_key = $2 AS by_email,
            CASE WHEN me.business_id IS NOT NULL AND u.business_id = me.business_id THEN 'BIS' ELSE c.status END AS rel
       FROM me, users u
       LEFT JOIN contacts c ON c.user_id = $1 AND c.contact_id = u.id
      WHERE u.id <> me.id
        AND (u.email_key = $2 OR u.login_key LIKE $3 OR lower(u.first_name) LIKE $3 OR lower(u.last_name) LIKE $3
             OR lower(u.first_name || ' ' || u.last_name) LIKE $3)
      ORDER BY (u.email_key = $2) DESC, u.login_key
      LIMIT ${SEARCH_LIMIT}`,
    [me, text, likePrefix(text)],
  )
  // someone who typed the exact address already knows it
  return r.rows.map((u) => contactView(u, u.rel, u.by_email ? { showEmail: true } : {}))
}

/**
 * GET /contact/invite: an existing user gets a contact request; an unknown address gets an
 * email with a sign-up link whose token connects the two accounts at sign-up.
 */
export async function inviteContact(deps: Deps, me: number, email: string, name: string | undefined) {
  const address = email.trim()
  if (address.length > 254 || !EMAIL_RE.test(address)) throw errors.invalidFormat('email')
  const existing = await requestIfRegistered(deps, me, address)
  if (existing) return existing
  const token = await issueToken(deps, 'signup_invitation', { userId: me, email: address })
  const inviterName = await historyUserName(deps.db.pool, me)
  await sendTokenLink(deps, {
    to: address,
    path: 'signup',
    token,
    subject: `${inviterName} invited you to Hitask`,
    name,
    before: `${inviterName} invited you to Hitask, to share tasks and projects.\nCreate your account with this link:`,
    what: 'contact invitation',
  })
  return undefined
}

async function requestIfRegistered(deps: Deps, me: number, email: string) {
  return inTransaction(deps.db.pool, async (q) => {
    const other = await findTarget(q, { email })
    return other ? requestContactWith(q, me, other) : null
  })
}

/** the user behind a contact id, only if they are in my contacts or my team (else 404/1) */
export async function contactUser(q: Queryable, me: number, otherId: number): Promise<UserRecord> {
  const rel = await relationOf(q, me, otherId)
  const u = rel && rel !== 'SELF' ? await userById(q, otherId) : null
  if (!u) throw errors.notFound('Contact')
  return u
}
