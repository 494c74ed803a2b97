// Groups of a team (contract §6). A group id is a permission principal (item_permissions),
// and visibility is computed from group_members at read time, so a membership change is seen
// at once by GET /item; touchVisibility marks it for the delta feed of the users concerned.
import type { Deps } from '../deps.js'
import type { Sql } from '../platform/db/pool.js'
import { errors } from '../platform/errors.js'
import { touchItems, touchVisibility } from '../items/repository.js'
import { lockTeamMember, membershipOf } from '../teams/repository.js'
import * as repo from './repository.js'
import type { Rendered } from '../platform/responses.js'
import type { GroupView } from './schemas.js'

export const EVERYONE = { type: 1, code: 'EVERYONE', name: 'Everyone', color: '#FFFFFF' } as const
/** business level needed to manage groups, invite and remove members */
export const ADMIN_LEVEL = 10

function groupView(g: repo.Group): Rendered<GroupView> {
  return { id: g.id, name: g.name, code: g.code, color: g.color, members: g.members, type: g.type }
}

/** a group of this team: 404/1 for an unknown id or another team's (never 403: ids do not leak) */
async function groupOf(db: Sql, businessId: number, groupId: string): Promise<repo.Group> {
  const g = await repo.groupById(db, businessId, groupId)
  if (!g) throw errors.notFound('Group')
  return g
}

/** the caller's team, read in the transaction; 403/3 below administrator (also without a team) */
async function adminTeam(db: Sql, userId: number): Promise<number> {
  const m = await membershipOf(db, userId)
  if (m.businessId === null || m.level < ADMIN_LEVEL) throw errors.noPermissions('to manage groups: team administrators only')
  return m.businessId
}

/** GET /group: the groups of my team (none without a team), Everyone first */
export async function listGroups(deps: Deps, userId: number) {
  return (await repo.groupsOfTeamOf(deps.db, userId)).map(groupView)
}

export type GroupInput = { name?: string; code?: string | null; color?: string | null }

export async function createGroup(deps: Deps, userId: number, input: Required<Pick<GroupInput, 'name'>> & GroupInput) {
  return deps.db.tx(async (tx) => {
    const businessId = await adminTeam(tx, userId)
    const id = await repo.insertGroup(tx, businessId, { name: input.name, code: input.code ?? null, color: input.color ?? null, type: 0 })
    return groupView(await groupOf(tx, businessId, id))
  })
}

export async function updateGroup(deps: Deps, userId: number, groupId: string, input: GroupInput) {
  return deps.db.tx(async (tx) => {
    const businessId = await adminTeam(tx, userId)
    const g = await groupOf(tx, businessId, groupId)
    // the Everyone group is found by its type and code: its code stays
    if (g.type === EVERYONE.type && input.code !== undefined && input.code !== g.code) {
      throw errors.notAllowed('Changing the code of the Everyone group')
    }
    await repo.updateGroupFields(tx, groupId, input)
    return groupView(await groupOf(tx, businessId, groupId))
  })
}

/**
 * DELETE /group: the group and its grants go; its members lose what they saw through it
 * (whole subtrees lose the principal together, so children keep their parents' principals).
 */
export async function deleteGroup(deps: Deps, userId: number, groupId: string) {
  await deps.db.tx(async (tx) => {
    const businessId = await adminTeam(tx, userId)
    const g = await groupOf(tx, businessId, groupId)
    if (g.type === EVERYONE.type) throw errors.notAllowed('Deleting the Everyone group')
    const items = await repo.deleteGrantsOf(tx, groupId)
    await repo.deleteGroupRow(tx, groupId)
    await touchItems(tx, items)
    await touchVisibility(tx, g.members)
  })
}

/** POST|DELETE /group/{groupId}/contact/{id}: only team members; Everyone is kept by the server */
export async function setGroupMember(deps: Deps, userId: number, groupId: string, memberId: number, member: boolean) {
  return deps.db.tx(async (tx) => {
    const businessId = await adminTeam(tx, userId)
    const g = await groupOf(tx, businessId, groupId)
    if (g.type === EVERYONE.type) {
      throw errors.notAllowed('Changing the members of the Everyone group')
    }
    // FOR SHARE: a concurrent removal from the team waits for this, or this sees it (no
    // ex-member can be left in a group)
    if (!(await lockTeamMember(tx, businessId, memberId, 'share'))) throw errors.notFound('Team member')
    const changed = member ? await repo.addGroupMember(tx, groupId, memberId) : await repo.removeGroupMember(tx, groupId, memberId)
    if (changed) await touchVisibility(tx, [memberId])
    return groupView(await groupOf(tx, businessId, groupId))
  })
}

// ---- used by the team service, inside its transactions ----

/** creates the team's Everyone group with its first member */
export async function createEveryoneGroup(tx: Sql, businessId: number, ownerId: number): Promise<string> {
  const id = await repo.insertGroup(tx, businessId, { name: EVERYONE.name, code: EVERYONE.code, color: EVERYONE.color, type: EVERYONE.type })
  await repo.addGroupMember(tx, id, ownerId)
  return id
}

export async function addToEveryone(tx: Sql, businessId: number, userId: number) {
  await repo.addToGroupsOfType(tx, businessId, EVERYONE.type, userId)
}

/** takes the user out of every group of the team */
export async function removeFromTeamGroups(tx: Sql, businessId: number, userId: number) {
  await repo.removeFromTeamGroups(tx, businessId, userId)
}

export async function everyoneGroupId(db: Sql, businessId: number): Promise<string | null> {
  return repo.groupIdOfType(db, businessId, EVERYONE.type)
}
