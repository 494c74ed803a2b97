// SQL of the export (contract §11), also used by the calendar feed: the rows of a batch of
// items, by id. Which items a user can see, batch by batch, is read by
// items/visibility-repository.ts (visibleItemIdsAfter, the one keyset form of the visibility
// rule), a user's principals by items/permission-repository.ts (userPrincipals), an item's
// tags by tags/repository.ts (tagNamesOfItems). Nothing here recurses or reads a whole
// user's item set at once.
import type { Sql } from '../platform/db/pool.js'

export type ExportRow = {
  id: number
  guid: string
  title: string
  message: string | null
  category: number
  completed: boolean
  start_date: Date | null
  end_date: Date | null
  due_date: Date | null
  is_all_day: boolean
  recurring: number
  recurring_interval: number
  recurring_end_date: Date | null
  priority: number
  time_est: number
  time_spent: number
  location: unknown
  version: number
  time_last_update: Date
  last_transition_time: Date | null
}

const COLUMNS = `i.id, i.guid, i.title, i.message, i.category, i.completed, i.start_date, i.end_date, i.due_date, i.is_all_day,
  i.recurring, i.recurring_interval, i.recurring_end_date, i.priority, i.time_est, i.time_spent, i.location, i.version,
  i.time_last_update, i.last_transition_time`

/**
 * The rows of `ids` (items the caller may see: visibleItemIdsAfter), ascending by id;
 * `archived`: include archived items; `datedOnly`: only items with a start, end or due date.
 */
export async function exportRowsByIds(db: Sql, ids: number[], o: { archived: boolean; datedOnly?: boolean }): Promise<ExportRow[]> {
  if (!ids.length) return []
  const r = await db.query<ExportRow>(
    `SELECT ${COLUMNS}
       FROM items i
      WHERE i.id = ANY($1::bigint[])${o.archived ? '' : ' AND NOT i.archived'}${o.datedOnly ? ' AND (i.start_date IS NOT NULL OR i.end_date IS NOT NULL OR i.due_date IS NOT NULL)' : ''}
      ORDER BY i.id`,
    [ids],
  )
  return r.rows
}
