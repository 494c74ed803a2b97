// Teams (business accounts, contract §5): creation, the team's description, its members,
// joining and leaving. Invitations are in ./invitations.ts; the SQL in ./repository.ts.
// Decisions are written in docs/teams.md.
import type { Deps } from '../deps.js'
import type { Sql } from '../platform/db/pool.js'
import { errors } from '../platform/errors.js'
import { formatDate } from '../platform/dates.js'
import { touchItems, touchVisibility } from '../items/repository.js'
import { ADMIN_LEVEL, addToEveryone, createEveryoneGroup, everyoneGroupId, removeFromTeamGroups } from '../groups/service.js'
import { contactView, pendingTeamInvitations, splitName } from '../contacts/service.js'
import { teamMemberUsers } from '../contacts/repository.js'
import * as repo from './repository.js'
import { invitationsReceived, invitationsSent, InvitationStatus, revokePendingInvitation } from './invitation-repository.js'
import { inboxAddress } from '../email-in/address.js'
import type { Rendered } from '../platform/responses.js'
import type { BusinessListView } from './schemas.js'

/** business levels (contract §3) */
export const BusinessLevel = { MEMBER: 1, MANAGER: 2, ADMIN: 10, OWNER: 100 } as const
/** account levels set by joining and leaving a team */
export const ACCOUNT_TEAM_BUSINESS = 200
export const ACCOUNT_FREE = 0

export const DOMAIN_RE = /^[a-z0-9-]{1,63}$/

export const notInTeam = errors.notInTeam
export const alreadyInTeam = errors.alreadyInTeam

// Sizes are shown in decimal units, as the reference's example (7500 MB → "7.50GB").
const BYTES_PER_MB = 1_000_000
export function formatMegabytes(mb: number): string {
  if (mb >= 1_000_000) return (mb / 1_000_000).toFixed(2) + 'TB'
  if (mb >= 1000) return (mb / 1000).toFixed(2) + 'GB'
  return `${mb}MB`
}
/** bytes to whole MB, rounded up so any stored file shows as at least 1MB */
export function bytesToMegabytes(bytes: number): number {
  return Math.ceil(bytes / BYTES_PER_MB)
}

/** the team row: 400/33 when there is none (the caller's team has gone) */
async function businessOf(db: Sql, businessId: number, opts: { lock?: boolean } = {}): Promise<repo.Business> {
  const b = await repo.businessById(db, businessId, opts)
  if (!b) throw notInTeam()
  return b
}

/** members plus pending invitations: what counts against licensesNumber */
export async function licencesUsed(db: Sql, businessId: number): Promise<number> {
  return repo.countLicencesUsed(db, businessId)
}

/** every team with its licences: used (members + pending invitations, as licencesUsed counts) of total */
export async function teamLicences(deps: Deps) {
  const teams = await repo.listTeamLicences(deps.db)
  return teams.map((t) => ({ id: t.id, title: t.title, domain_name: t.domainName, owner: t.owner, members: t.members, pending_invitations: t.pendingInvitations, licenses_used: t.members + t.pendingInvitations, licenses_number: t.licensesNumber }))
}

/** the caller's team, where an administrator is needed: 33 without a team, 403/3 below 10 */
export async function adminTeamOf(db: Sql, userId: number): Promise<number> {
  const m = await repo.membershipOf(db, userId)
  if (m.businessId === null) throw notInTeam()
  if (m.level < ADMIN_LEVEL) throw errors.noPermissions('to manage the team: team administrators only')
  return m.businessId
}

/** POST /business: the caller becomes the owner of a new team with its Everyone group */
export async function createBusiness(deps: Deps, userId: number, input: { title: string; domainName: string }) {
  const domain = input.domainName.trim()
  if (!DOMAIN_RE.test(domain)) throw errors.domainName('This domain name is not valid: use a-z, 0-9 and -')
  try {
    await deps.db.tx(async (tx) => {
      const u = (await repo.lockUserTeam(tx, userId))!
      if (u.businessId !== null) throw alreadyInTeam(u.login)
      const businessId = await repo.insertBusiness(tx, {
        title: input.title.trim(),
        domainName: domain,
        licensesNumber: deps.config.TEAM_LICENSES,
        storageQuota: deps.config.TEAM_STORAGE_QUOTA_MB,
        ownerId: userId,
      })
      await repo.setTeamOfUser(tx, userId, { businessId, level: BusinessLevel.OWNER, accountLevel: ACCOUNT_TEAM_BUSINESS })
      await createEveryoneGroup(tx, businessId, userId)
      await touchVisibility(tx, [userId])
    })
  } catch (e) {
    if ((e as { code?: string }).code === '23505') throw errors.domainName()
    throw e
  }
}

/** GET /business */
export async function businessInfo(deps: Deps, userId: number, tz: string) {
  const m = await repo.membershipOf(deps.db, userId)
  if (m.businessId === null) throw notInTeam()
  const b = await businessOf(deps.db, m.businessId)
  const used = bytesToMegabytes(b.storageUsed)
  return {
    domainName: b.domainName,
    title: b.title,
    licensesNumber: b.licensesNumber,
    licensesUsed: await licencesUsed(deps.db, b.id),
    storageQuota: b.storageQuota,
    storageUsed: used,
    storageQuotaFormatted: formatMegabytes(b.storageQuota),
    storageUsedFormatted: formatMegabytes(used),
    expirationDate: formatDate(b.expirationDate, tz),
    emailInbox: inboxAddress(deps.config, b.emailInbox),
  }
}

/** GET /list/business: the richer shape every client reads at start, also without a team */
export async function businessList(deps: Deps, userId: number, tz: string): Promise<Rendered<BusinessListView>> {
  const db = deps.db
  const u = (await repo.businessListUser(db, userId))!
  const b = u.businessId === null ? null : await businessOf(db, u.businessId)
  const level = b ? (u.businessLevel ?? 0) : 0
  const received = await invitationsReceived(db, u.emailKey, u.businessId)
  const sent = b ? await invitationsSent(db, b.id) : []
  const counts = await repo.countItemsOfTeam(db, userId, u.businessId)
  // a bare object (contract §5 amended): the web client keeps the answer as it is and reads
  // everyoneGroupId at its top
  return {
    level,
    domainName: b?.domainName ?? null,
    domainId: b?.id ?? null,
    canInvite: !!b && level >= ADMIN_LEVEL,
    title: b?.title ?? null,
    license_usage: b ? await licencesUsed(db, b.id) : null,
    license_count: b?.licensesNumber ?? null,
    expiration_date: b ? formatDate(b.expirationDate, tz) : null,
    emailInbox: inboxAddress(deps.config, b?.emailInbox),
    everyoneGroupId: b ? await everyoneGroupId(db, b.id) : null,
    inv_sent: sent.map((i) => {
      // an address without an account shows the name given at invitation
      const { first, last } = splitName(i.name)
      return {
        id: i.id,
        userId: i.userId,
        firstName: i.userId === null ? first : i.firstName,
        lastName: i.userId === null ? last : i.lastName,
        declined: i.status === InvitationStatus.DECLINED,
        inviterName: i.inviterName,
      }
    }),
    inv_get: received.map((i) => ({ id: i.id, businessId: i.businessId, title: i.title, inviterName: i.inviterName })),
    invitationLink: null,
    numberOfProjects: counts.projects,
    numberOfItems: counts.items,
    numberOfArchived: counts.archived,
    accountCreateTime: formatDate(u.createdAt, tz),
    pictureHash: u.pictureHash,
    isPremium: u.accountLevel >= 100,
    emailConfirmed: u.emailConfirmed !== null && u.emailConfirmed.toLowerCase() === u.email.toLowerCase(),
  }
}

/** GET /team: every member (BIS) and every pending invitation (BIS_WAIT) */
export async function teamMembers(deps: Deps, userId: number) {
  const m = await repo.membershipOf(deps.db, userId)
  if (m.businessId === null) throw notInTeam()
  const members = await teamMemberUsers(deps.db, m.businessId)
  return [...members.map((u) => contactView(u, 'BIS')), ...(await pendingTeamInvitations(deps.db, userId))]
}

/** makes `userId` a member of the team and its Everyone group (inside the caller's transaction) */
export async function joinTeam(tx: Sql, businessId: number, userId: number) {
  await repo.setTeamOfUser(tx, userId, { businessId, level: BusinessLevel.MEMBER, accountLevel: ACCOUNT_TEAM_BUSINESS })
  await addToEveryone(tx, businessId, userId)
  await touchVisibility(tx, [userId])
}

/**
 * Takes a member out of the team: out of its groups, off the direct grants on items owned by
 * the other members (so nothing shared through the team stays visible), off the assignee and
 * participants of those items. Their own items stay theirs.
 */
export async function leaveTeam(tx: Sql, businessId: number, userId: number) {
  await repo.clearTeamOfUser(tx, userId, ACCOUNT_FREE)
  await removeFromTeamGroups(tx, businessId, userId)
  const lost = await repo.deleteGrantsOnTeamItems(tx, businessId, userId)
  // the assignee and participants must be able to see their items (contract §8.3)
  await repo.unassignFromTeamItems(tx, businessId, userId)
  await touchItems(tx, lost)
  await touchVisibility(tx, [userId])
}

/**
 * DELETE /team/member: `id` names a member, a pending invitation, or a user with a pending
 * invitation to this team (the id GET /team shows for them). Ids of users and invitations
 * share one sequence, so the three cannot be confused.
 */
export async function removeMember(deps: Deps, actorId: number, id: number) {
  await deps.db.tx(async (tx) => {
    const businessId = await adminTeamOf(tx, actorId)
    // the team row first, as invite and acceptance lock it first
    await businessOf(tx, businessId, { lock: true })
    const member = await repo.lockTeamMember(tx, businessId, id, 'update')
    if (member) {
      if (member.level === BusinessLevel.OWNER) throw errors.noPermissions('to remove the owner of the team')
      await leaveTeam(tx, businessId, id)
      return
    }
    if (!(await revokePendingInvitation(tx, businessId, id))) throw errors.notFound('Team member')
  })
}
