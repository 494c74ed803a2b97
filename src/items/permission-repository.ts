// item_permissions rows, and who a user acts as (contract §8.3, docs/permissions.md). SQL only:
// the rules on how a list may change are in sharing-rules.ts, the access check in access.ts.
//
// Storage: item_permissions holds every item's FULL effective list (principal = a user id in
// decimal, or a group id). Writes keep the parent rules true in the whole subtree, so reads
// never recurse: a user's level on an item is max(level) over the rows of their principals.
import type { Sql } from '../platform/db/pool.js'

/** principal → level (10…100); the owner is on every list at 100 */
export type PermList = Map<string, number>

/** the principals a user acts as: their id (as text) and the ids of their groups */
export async function userPrincipals(db: Sql, userId: number): Promise<string[]> {
  const r = await db.query<{ group_id: string }>('SELECT group_id FROM group_members WHERE user_id = $1', [userId])
  return [String(userId), ...r.rows.map((x) => x.group_id)]
}

/** the effective level of `principals` on each of `itemIds` (no row: absent from the map) */
export async function levelsOfPrincipals(db: Sql, principals: string[], itemIds: number[]): Promise<Map<number, number>> {
  if (!itemIds.length) return new Map()
  const r = await db.query<{ item_id: number; level: number }>(
    `SELECT item_id, max(level)::int AS level FROM item_permissions
      WHERE principal = ANY($1::text[]) AND item_id = ANY($2::bigint[]) GROUP BY item_id`,
    [principals, itemIds],
  )
  return new Map(r.rows.map((x) => [Number(x.item_id), x.level]))
}

/** the group ids of each of the users (users in no group are absent) */
export async function groupsOfUsers(db: Sql, userIds: number[]): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>()
  if (!userIds.length) return out
  const r = await db.query<{ user_id: number; group_id: string }>('SELECT user_id, group_id FROM group_members WHERE user_id = ANY($1::bigint[])', [userIds])
  for (const m of r.rows) {
    const groups = out.get(m.user_id)
    if (groups) groups.push(m.group_id)
    else out.set(m.user_id, [m.group_id])
  }
  return out
}

/** which of the given principals (user ids in decimal, group ids) name an existing user or group */
export async function existingPrincipals(db: Sql, principals: Iterable<string>): Promise<Set<string>> {
  const all = [...new Set(principals)]
  const isUser = (p: string) => /^\d+$/.test(p)
  const r = await db.query<{ p: string }>(
    `SELECT id::text AS p FROM users WHERE id = ANY($1::bigint[])
     UNION ALL SELECT id AS p FROM groups WHERE id = ANY($2::text[])`,
    [all.filter(isUser).map(Number), all.filter((p) => !isUser(p))],
  )
  return new Set(r.rows.map((x) => x.p))
}

/** an item's stored list */
export async function permissionsOf(db: Sql, itemId: number): Promise<PermList> {
  const r = await db.query<{ principal: string; level: number }>('SELECT principal, level FROM item_permissions WHERE item_id = $1', [itemId])
  return new Map(r.rows.map((x) => [x.principal, x.level]))
}

/** the list as parallel arrays, sorted by principal (the permission statements take them so) */
export function columnsOf(list: PermList): { principals: string[]; levels: number[] } {
  const sorted = [...list].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return { principals: sorted.map(([p]) => p), levels: sorted.map(([, lv]) => lv) }
}

/** Replaces an item's rows with `list`. */
export async function writeItemPermissions(db: Sql, itemId: number, list: PermList) {
  const { principals, levels } = columnsOf(list)
  await db.query(
    `WITH del AS (DELETE FROM item_permissions WHERE item_id = $1 AND NOT (principal = ANY($2::text[])))
     INSERT INTO item_permissions (item_id, principal, level)
     SELECT $1, p, l FROM unnest($2::text[], $3::int[]) AS x(p, l)
     ON CONFLICT (item_id, principal) DO UPDATE SET level = EXCLUDED.level WHERE item_permissions.level <> EXCLUDED.level`,
    [itemId, principals, levels],
  )
}

/** what a list change carries down a subtree (sharing-rules.ts principalsToFlow) */
export type Flow = { raised: string[]; removed: string[]; all: boolean }

/**
 * Carries an item's changed list down to its descendants (`nodes`: ids with their depth below
 * the item), one depth at a time so each node follows its own parent, already updated: the
 * principals of `flow.removed` leave a node unless it owns the node or its parent still has
 * them; those of `flow.raised` get at least the parent's level. `flow.all` (cascadeAcl): every
 * node becomes equal to its parent (its owner stays at 100). Two statements per depth,
 * whatever the number of nodes and principals; returns the ids of the nodes whose list changed.
 */
export async function flowDown(db: Sql, nodes: { ids: number[]; parents: number[]; depths: number[] }, flow: Flow): Promise<number[]> {
  const byDepth = new Map<number, { ids: number[]; parents: Set<number> }>()
  nodes.ids.forEach((id, i) => {
    const d = nodes.depths[i]!
    const level = byDepth.get(d) ?? { ids: [], parents: new Set<number>() }
    level.ids.push(id)
    level.parents.add(nodes.parents[i]!)
    byDepth.set(d, level)
  })
  const level = flow.all ? 'EXCLUDED.level' : 'GREATEST(item_permissions.level, EXCLUDED.level)'
  const changed = new Set<number>()
  // Rows are named by (item_id, principal) on both sides, so each statement reads the primary
  // key of the rows it needs: the planner cannot mistake a principal new to the table for one
  // on a million rows and scan the whole table (it did, with the join through items alone).
  for (const depth of [...byDepth.keys()].sort((a, b) => a - b)) {
    const { ids, parents } = byDepth.get(depth)!
    if (flow.all || flow.removed.length) {
      const r = await db.query<{ item_id: number }>(
        `WITH gone AS (
           DELETE FROM item_permissions c USING items i
            WHERE c.item_id = ANY($1::bigint[]) ${flow.all ? '' : 'AND c.principal = ANY($2::text[])'}
              AND i.id = c.item_id AND c.principal <> i.user_id::text
              AND NOT EXISTS (SELECT 1 FROM item_permissions pp WHERE pp.item_id = i.parent_id AND pp.principal = c.principal)
            RETURNING c.item_id)
         SELECT DISTINCT item_id FROM gone`,
        flow.all ? [ids] : [ids, flow.removed],
      )
      for (const x of r.rows) changed.add(Number(x.item_id))
    }
    if (flow.all || flow.raised.length) {
      const r = await db.query<{ item_id: number }>(
        `WITH upd AS (
           INSERT INTO item_permissions (item_id, principal, level)
           SELECT i.id, pp.principal, pp.level FROM item_permissions pp JOIN items i ON i.parent_id = pp.item_id
            WHERE pp.item_id = ANY($2::bigint[]) ${flow.all ? '' : 'AND pp.principal = ANY($3::text[])'}
              AND i.id = ANY($1::bigint[]) AND pp.principal <> i.user_id::text
           ON CONFLICT (item_id, principal) DO UPDATE SET level = ${level} WHERE item_permissions.level <> ${level}
           RETURNING item_id)
         SELECT DISTINCT item_id FROM upd`,
        flow.all ? [ids, [...parents]] : [ids, [...parents], flow.raised],
      )
      for (const x of r.rows) changed.add(Number(x.item_id))
    }
  }
  return [...changed]
}

/**
 * Serialises permission writes inside one tree (a transaction-scoped advisory lock on the
 * root), so two writers never check a parent's list while the other changes it. An item
 * that does not exist locks nothing.
 */
export async function lockTree(db: Sql, ref: { id: number } | { guid: string }) {
  await db.query(
    `WITH RECURSIVE up(id, parent_id) AS (
       SELECT id, parent_id FROM items WHERE ${'id' in ref ? 'id = $1' : 'guid = $1'}
       UNION SELECT i.id, i.parent_id FROM items i JOIN up ON i.id = up.parent_id)
     SELECT pg_advisory_xact_lock(7340031, ((SELECT id FROM up WHERE parent_id IS NULL LIMIT 1) % 2147483647)::int)`,
    ['id' in ref ? ref.id : ref.guid],
  )
}
