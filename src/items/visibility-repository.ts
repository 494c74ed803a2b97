// Which items a user can see, read in keyset batches: for the readers that walk all of a user's
// items without holding them (the export, the calendar feed). The rule is the one of access.ts
// and the item lists: a user sees an item when max(level) over its item_permissions rows for
// the user's principals (permission-repository.ts userPrincipals: their id as text and their
// groups) is above 0. SQL only.
import type { Sql } from '../platform/db/pool.js'

/**
 * The SQL condition "the item_permissions row `alias` names the user `userExpr` (an SQL
 * expression of a user id) or one of their groups": userPrincipals written into a statement,
 * for reads that ask it for many users at once (notifications: who may hear of an item).
 */
export const namesUser = (alias: string, userExpr: string) =>
  `(${alias}.principal = (${userExpr})::text OR ${alias}.principal IN (SELECT gm.group_id FROM group_members gm WHERE gm.user_id = ${userExpr}))`

/**
 * The next batch after `afterId` of the items `principals` can see, ascending: `ids` the visible
 * ones among the next `limit` item ids that carry a permission row of one of `principals`;
 * `next` the `afterId` of the following batch (null: this was the last one). One
 * statement: an index range scan of at most `limit` rows per principal
 * (item_permissions_principal_item_level_idx), whatever the user's item count.
 */
export async function visibleItemIdsAfter(db: Sql, principals: string[], afterId: number, limit: number): Promise<{ ids: number[]; next: number | null }> {
  const r = await db.query<{ ids: number[] | null; next: number | null }>(
    `WITH c AS (
       SELECT DISTINCT x.item_id FROM unnest($1::text[]) AS pr(p)
        CROSS JOIN LATERAL (SELECT item_id FROM item_permissions
                             WHERE principal = pr.p AND item_id > $2 ORDER BY item_id LIMIT $3) x
        ORDER BY x.item_id LIMIT $3)
     SELECT CASE WHEN (SELECT count(*) FROM c) = $3 THEN (SELECT max(item_id) FROM c) END AS next,
            ARRAY(SELECT c.item_id FROM c
                   WHERE (SELECT max(p.level) FROM item_permissions p WHERE p.item_id = c.item_id AND p.principal = ANY($1::text[])) > 0
                   ORDER BY c.item_id) AS ids`,
    [principals, afterId, limit],
  )
  const row = r.rows[0]
  return { ids: (row?.ids ?? []).map(Number), next: row?.next == null ? null : Number(row.next) }
}
