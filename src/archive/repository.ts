// Archived trees (docs/archive.md): archiving and restoring whole subtrees, and the deep copy
// of restore-a-copy (items, their permission rows and tag links). SQL only: the rules are in
// service.ts.
import type { Sql } from '../platform/db/pool.js'

/** marks the items (not yet archived) and their non-archived descendants archived, with one archived_at */
export async function archiveSubtrees(db: Sql, rootIds: number[]) {
  await db.query(
    `WITH RECURSIVE sub(id) AS (
       SELECT id FROM items WHERE id = ANY($1::bigint[]) AND NOT archived
       UNION SELECT i.id FROM items i JOIN sub ON i.parent_id = sub.id WHERE NOT i.archived)
     UPDATE items SET archived = true, archived_at = now() WHERE id IN (SELECT id FROM sub)`,
    [rootIds],
  )
}

export type Member = { id: number; user_id: number; parent_id: number | null; depth: number }

/** the archived item and the descendants that share its archived_at (what its archiving took), parents first */
export async function archivedWith(db: Sql, rootId: number): Promise<Member[]> {
  const r = await db.query<Member>(
    `WITH RECURSIVE sub(id, user_id, parent_id, depth) AS (
       SELECT id, user_id, parent_id, 0 FROM items WHERE id = $1
       UNION ALL
       SELECT i.id, i.user_id, i.parent_id, s.depth + 1
         FROM items i JOIN sub s ON i.parent_id = s.id
        WHERE i.archived AND i.archived_at = (SELECT archived_at FROM items WHERE id = $1))
     SELECT id, user_id, parent_id, depth FROM sub ORDER BY depth, id`,
    [rootId],
  )
  return r.rows
}

/** whether the item exists and is not archived */
export async function isActive(db: Sql, itemId: number): Promise<boolean> {
  const r = await db.query<{ archived: boolean }>('SELECT archived FROM items WHERE id = $1', [itemId])
  return r.rows[0]?.archived === false
}

/** un-archives the members; the root goes to top level unless `keepParent` */
export async function unarchive(db: Sql, memberIds: number[], rootId: number, keepParent: boolean) {
  await db.query(
    `UPDATE items SET archived = false, archived_at = NULL,
            parent_id = CASE WHEN id = $2 AND NOT $3 THEN NULL ELSE parent_id END
      WHERE id = ANY($1::bigint[])`,
    [memberIds, rootId, keepParent],
  )
}

/** a new item id for each of `ids` (old → new), taken first so a copy's parent can name its parent's copy */
export async function newItemIds(db: Sql, ids: number[]): Promise<Map<number, number>> {
  const r = await db.query<{ o: number; n: number }>(
    `SELECT o, nextval(pg_get_serial_sequence('items', 'id')) AS n FROM unnest($1::bigint[]) WITH ORDINALITY AS x(o, k) ORDER BY k`,
    [ids],
  )
  return new Map(r.rows.map((x) => [x.o, x.n]))
}

// Columns a copy takes from its original; the rest are new (id, guid, times, version) or
// cleared (short_name: unique per team; issue_id, last_comment*: they belong to the original).
const COPIED = `user_id, business_id, title, message, category, completed, color, color_value, recurring, recurring_interval,
  recurring_end_date, instances, start_date, end_date, due_date, is_all_day, time_track, time_est, time_spent, priority,
  assignee_id, participants, location, contact, last_transition_time, last_transition_user`

/**
 * Inserts a non-archived copy of each item under its new id: a copy's parent is its parent's
 * copy; the root copy's parent is the root's parent when `keepParent`, else none.
 */
export async function insertItemCopies(db: Sql, ids: number[], newIds: number[], rootId: number, keepParent: boolean) {
  await db.query(
    `INSERT INTO items (id, guid, parent_id, archived, ${COPIED})
     SELECT m.n, gen_random_uuid()::text,
            CASE WHEN i.id = $3 THEN (CASE WHEN $4 THEN i.parent_id ELSE NULL END)
                 ELSE (SELECT m2.n FROM unnest($1::bigint[], $2::bigint[]) AS m2(o, n) WHERE m2.o = i.parent_id) END,
            false, ${COPIED.split(',').map((c) => 'i.' + c.trim()).join(', ')}
       FROM unnest($1::bigint[], $2::bigint[]) AS m(o, n) JOIN items i ON i.id = m.o`,
    [ids, newIds, rootId, keepParent],
  )
}

/** the copies get their originals' permission rows and tag links */
export async function copyPermissionsAndTags(db: Sql, ids: number[], newIds: number[]) {
  await db.query(
    `INSERT INTO item_permissions (item_id, principal, level)
     SELECT m.n, p.principal, p.level FROM unnest($1::bigint[], $2::bigint[]) AS m(o, n) JOIN item_permissions p ON p.item_id = m.o`,
    [ids, newIds],
  )
  await db.query(
    `INSERT INTO item_tags (item_id, tag_id)
     SELECT m.n, t.tag_id FROM unnest($1::bigint[], $2::bigint[]) AS m(o, n) JOIN item_tags t ON t.item_id = m.o`,
    [ids, newIds],
  )
}
