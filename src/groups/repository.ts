// SQL of groups (contract §6): `groups`, `group_members`, and the grants a group holds as a
// permission principal. The rules are in src/groups/service.ts.
import type { Sql } from '../platform/db/pool.js'

export type Group = { id: string; name: string; code: string | null; color: string | null; type: number; members: number[] }

const GROUP_SELECT = `SELECT g.id, g.name, g.code, g.color, g.type,
    COALESCE(ARRAY(SELECT gm.user_id FROM group_members gm WHERE gm.group_id = g.id ORDER BY gm.user_id), '{}') AS members
  FROM groups g`

/** a group of this team with its members (user ids ascending); null for another team's */
export async function groupById(db: Sql, businessId: number, groupId: string): Promise<Group | null> {
  const r = await db.query<Group>(`${GROUP_SELECT} WHERE g.id = $1 AND g.business_id = $2`, [groupId, businessId])
  return r.rows[0] ?? null
}

/** the groups of the user's team (none without a team), by type descending, then name */
export async function groupsOfTeamOf(db: Sql, userId: number): Promise<Group[]> {
  const r = await db.query<Group>(
    `${GROUP_SELECT} WHERE g.business_id = (SELECT business_id FROM users WHERE id = $1)
      ORDER BY g.type DESC, lower(g.name), g.created_at`,
    [userId],
  )
  return r.rows
}

export async function insertGroup(
  db: Sql,
  businessId: number,
  g: { name: string; code: string | null; color: string | null; type: number },
): Promise<string> {
  const r = await db.query<{ id: string }>(
    'INSERT INTO groups (id, business_id, name, code, color, type) VALUES (gen_random_uuid()::text, $1, $2, $3, $4, $5) RETURNING id',
    [businessId, g.name, g.code, g.color, g.type],
  )
  return r.rows[0]!.id
}

/** sets the fields given (undefined: unchanged; null clears code or color) */
export async function updateGroupFields(db: Sql, groupId: string, f: { name?: string; code?: string | null; color?: string | null }) {
  await db.query(
    `UPDATE groups SET name = COALESCE($2, name),
            code = CASE WHEN $3::boolean THEN $4 ELSE code END,
            color = CASE WHEN $5::boolean THEN $6 ELSE color END
      WHERE id = $1`,
    [groupId, f.name ?? null, f.code !== undefined, f.code ?? null, f.color !== undefined, f.color ?? null],
  )
}

/** deletes every grant naming this principal (a group id); the items concerned */
export async function deleteGrantsOf(db: Sql, principal: string): Promise<number[]> {
  const r = await db.query<{ item_id: number }>('DELETE FROM item_permissions WHERE principal = $1 RETURNING item_id', [principal])
  return r.rows.map((x) => x.item_id)
}

export async function deleteGroupRow(db: Sql, groupId: string) {
  await db.query('DELETE FROM groups WHERE id = $1', [groupId])
}

/** whether the user was added (false: already a member) */
export async function addGroupMember(db: Sql, groupId: string, userId: number): Promise<boolean> {
  const r = await db.query('INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING user_id', [groupId, userId])
  return r.rows.length > 0
}

/** whether the user was removed (false: not a member) */
export async function removeGroupMember(db: Sql, groupId: string, userId: number): Promise<boolean> {
  const r = await db.query('DELETE FROM group_members WHERE group_id = $1 AND user_id = $2 RETURNING user_id', [groupId, userId])
  return r.rows.length > 0
}

/** adds the user to the team's groups of this type (the Everyone group) */
export async function addToGroupsOfType(db: Sql, businessId: number, type: number, userId: number) {
  await db.query(
    `INSERT INTO group_members (group_id, user_id)
     SELECT id, $2 FROM groups WHERE business_id = $1 AND type = $3 ON CONFLICT DO NOTHING`,
    [businessId, userId, type],
  )
}

/** takes the user out of every group of the team */
export async function removeFromTeamGroups(db: Sql, businessId: number, userId: number) {
  await db.query('DELETE FROM group_members gm USING groups g WHERE g.id = gm.group_id AND g.business_id = $1 AND gm.user_id = $2', [businessId, userId])
}

/** the id of the team's group of this type (the Everyone group) */
export async function groupIdOfType(db: Sql, businessId: number, type: number): Promise<string | null> {
  const r = await db.query<{ id: string }>('SELECT id FROM groups WHERE business_id = $1 AND type = $2', [businessId, type])
  return r.rows[0]?.id ?? null
}
