// Groups of a team (contract §6). A group id is a permission principal (item_permissions),
// and visibility is computed from group_members at read time, so a membership change is seen
// at once by GET /item; touchVisibility marks it for the delta feed of the users concerned.
import type { Deps } from '../deps.js'
import { ApiError, Code, errors } from '../http/errors.js'
import { inTransaction } from '../db/tx.js'
import { touchItems, touchVisibility, type Queryable } from './access.js'

export const EVERYONE = { type: 1, code: 'EVERYONE', name: 'Everyone', color: '#FFFFFF' } as const
/** business level needed to manage groups, invite and remove members */
export const ADMIN_LEVEL = 10

type GroupRow = { id: string; name: string; code: string | null; color: string | null; type: number; members: number[] }

function groupView(g: GroupRow) {
  return { id: g.id, name: g.name, code: g.code, color: g.color, members: g.members.map(Number), type: g.type }
}

const GROUP_SELECT = `SELECT g.id, g.name, g.code, g.color, g.type,
    COALESCE(ARRAY(SELECT gm.user_id FROM group_members gm WHERE gm.group_id = g.id ORDER BY gm.user_id), '{}') AS members
  FROM groups g`

async function groupOf(q: Queryable, businessId: number, groupId: string): Promise<GroupRow> {
  const r = await q.query<GroupRow>(`${GROUP_SELECT} WHERE g.id = $1 AND g.business_id = $2`, [groupId, businessId])
  if (!r.rows[0]) throw errors.notFound('Group')
  return r.rows[0]
}

/** the caller's team id and business level, read now (not from the session) */
export async function membershipOf(q: Queryable, userId: number): Promise<{ businessId: number | null; level: number }> {
  const r = await q.query<{ business_id: number | null; business_level: number | null }>(
    'SELECT business_id, business_level FROM users WHERE id = $1',
    [userId],
  )
  const u = r.rows[0]
  return { businessId: u?.business_id == null ? null : Number(u.business_id), level: u?.business_level ?? 0 }
}

/** the caller's team, read in the transaction; 403/3 below administrator (also without a team) */
async function adminTeam(q: Queryable, userId: number): Promise<number> {
  const m = await membershipOf(q, userId)
  if (m.businessId === null || m.level < ADMIN_LEVEL) throw errors.noPermissions('to manage groups: team administrators only')
  return m.businessId
}

/** GET /group: the groups of my team (none without a team), Everyone first */
export async function listGroups(deps: Deps, userId: number) {
  const r = await deps.db.pool.query<GroupRow>(
    `${GROUP_SELECT} WHERE g.business_id = (SELECT business_id FROM users WHERE id = $1)
      ORDER BY g.type DESC, lower(g.name), g.created_at`,
    [userId],
  )
  return r.rows.map(groupView)
}

export type GroupInput = { name?: string; code?: string | null; color?: string | null }

export async function createGroup(deps: Deps, userId: number, input: Required<Pick<GroupInput, 'name'>> & GroupInput) {
  return inTransaction(deps.db.pool, async (q) => {
    const businessId = await adminTeam(q, userId)
    const r = await q.query<{ id: string }>(
      'INSERT INTO groups (id, business_id, name, code, color, type) VALUES (gen_random_uuid()::text, $1, $2, $3, $4, 0) RETURNING id',
      [businessId, input.name, input.code ?? null, input.color ?? null],
    )
    return groupView(await groupOf(q, businessId, r.rows[0]!.id))
  })
}

export async function updateGroup(deps: Deps, userId: number, groupId: string, input: GroupInput) {
  return inTransaction(deps.db.pool, async (q) => {
    const businessId = await adminTeam(q, userId)
    const g = await groupOf(q, businessId, groupId)
    // the Everyone group is found by its type and code: its code stays
    if (g.type === EVERYONE.type && input.code !== undefined && input.code !== g.code) {
      throw new ApiError(Code.OPERATION_NOT_ALLOWED, 'Changing the code of the Everyone group operation is not allowed')
    }
    await q.query(
      `UPDATE groups SET name = COALESCE($2, name),
              code = CASE WHEN $3::boolean THEN $4 ELSE code END,
              color = CASE WHEN $5::boolean THEN $6 ELSE color END
        WHERE id = $1`,
      [groupId, input.name ?? null, input.code !== undefined, input.code ?? null, input.color !== undefined, input.color ?? null],
    )
    return groupView(await groupOf(q, businessId, groupId))
  })
}

/**
 * DELETE /group: the group and its grants go; its members lose what they saw through it
 * (whole subtrees lose the principal together, so children keep their parents' principals).
 */
export async function deleteGroup(deps: Deps, userId: number, groupId: string) {
  await inTransaction(deps.db.pool, async (q) => {
    const businessId = await adminTeam(q, userId)
    const g = await groupOf(q, businessId, groupId)
    if (g.type === EVERYONE.type) throw new ApiError(Code.OPERATION_NOT_ALLOWED, 'Deleting the Everyone group operation is not allowed')
    const items = await q.query<{ item_id: number }>('DELETE FROM item_permissions WHERE principal = $1 RETURNING item_id', [groupId])
    await q.query('DELETE FROM groups WHERE id = $1', [groupId])
    await touchItems(q, items.rows.map((x) => Number(x.item_id)))
    await touchVisibility(q, g.members.map(Number))
  })
}

/** POST|DELETE /group/{groupId}/contact/{id}: only team members; Everyone is kept by the server */
export async function setGroupMember(deps: Deps, userId: number, groupId: string, memberId: number, member: boolean) {
  return inTransaction(deps.db.pool, async (q) => {
    const businessId = await adminTeam(q, userId)
    const g = await groupOf(q, businessId, groupId)
    if (g.type === EVERYONE.type) {
      throw new ApiError(Code.OPERATION_NOT_ALLOWED, 'Changing the members of the Everyone group operation is not allowed')
    }
    // FOR SHARE: a concurrent removal from the team waits for this, or this sees it (no
    // ex-member can be left in a group)
    const m = await q.query('SELECT 1 FROM users WHERE id = $1 AND business_id = $2 FOR SHARE', [memberId, businessId])
    if (!m.rows.length) throw errors.notFound('Team member')
    const changed = member
      ? await q.query('INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING user_id', [groupId, memberId])
      : await q.query('DELETE FROM group_members WHERE group_id = $1 AND user_id = $2 RETURNING user_id', [groupId, memberId])
    if (changed.rows.length) await touchVisibility(q, [memberId])
    return groupView(await groupOf(q, businessId, groupId))
  })
}

// ---- used by the team service, inside its transactions ----

/** creates the team's Everyone group with its first member */
export async function createEveryoneGroup(q: Queryable, businessId: number, ownerId: number): Promise<string> {
  const r = await q.query<{ id: string }>(
    'INSERT INTO groups (id, business_id, name, code, color, type) VALUES (gen_random_uuid()::text, $1, $2, $3, $4, $5) RETURNING id',
    [businessId, EVERYONE.name, EVERYONE.code, EVERYONE.color, EVERYONE.type],
  )
  const id = r.rows[0]!.id
  await q.query('INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)', [id, ownerId])
  return id
}

export async function addToEveryone(q: Queryable, businessId: number, userId: number) {
  await q.query(
    `INSERT INTO group_members (group_id, user_id)
     SELECT id, $2 FROM groups WHERE business_id = $1 AND type = $3 ON CONFLICT DO NOTHING`,
    [businessId, userId, EVERYONE.type],
  )
}

/** takes the user out of every group of the team */
export async function removeFromTeamGroups(q: Queryable, businessId: number, userId: number) {
  await q.query('DELETE FROM group_members gm USING groups g WHERE g.id = gm.group_id AND g.business_id = $1 AND gm.user_id = $2', [businessId, userId])
}

export async function everyoneGroupId(q: Queryable, businessId: number): Promise<string | null> {
  const r = await q.query<{ id: string }>('SELECT id FROM groups WHERE business_id = $1 AND type = $2', [businessId, EVERYONE.type])
  return r.rows[0]?.id ?? null
}
