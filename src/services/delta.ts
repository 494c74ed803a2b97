// Reading items for sync (contract §8.2 GET /item, /item/since, §8.4 delta) with a cursor
// that never loses an update (docs/sync.md has the argument).
//
// Every write sets items.changed_at / item_user_state.changed_at to now(), the START time
// of its transaction (trigger). Before the read, `syncPoint` takes
//   m = min(clock_timestamp(), oldest xact_start of any open client transaction in this database)
// (autovacuum and other background processes write no items, so they do not hold m back)
// and the read statement runs after it. A write the read does not see belongs to a
// transaction that was open at that moment or started later: its changed_at ≥ m. The
// returned cursor is below m (m − DELTA_MARGIN_MS − 1), so that write shows as changed in
// the next delta. Visibility is decided in SQL, one statement per list. The caller's groups
// are read after m too: a membership change they miss started at or after m, so its
// visibility_changed_at marks everything changed in the next delta.
import type { Deps } from '../deps.js'
import type { SessionUser } from './auth.js'
import { errors } from '../http/errors.js'
import { principalsFor, visibleItemsSql, visibleSql, type ItemRow } from './permissions.js'

/** m (ms since epoch) and the database clock, before a read */
export async function syncPoint(deps: Deps): Promise<{ m: number; now: number }> {
  const r = await deps.db.pool.query<{ m: number; now: number }>(
    `SELECT (extract(epoch FROM LEAST(clock_timestamp(), COALESCE(
               (SELECT min(xact_start) FROM pg_stat_activity
                 WHERE datname = current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid()
                   AND backend_type = 'client backend'),
               clock_timestamp()))) * 1000)::float8 AS m,
            (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now`,
  )
  return { m: r.rows[0]!.m, now: r.rows[0]!.now }
}

export function cursorAfter(deps: Deps, m: number, input = 0): number {
  return Math.max(input, Math.floor(m) - deps.config.DELTA_MARGIN_MS - 1)
}

/** a cursor from the path: ms since epoch, not in the future; else 400/5 */
export function parseCursor(raw: unknown, now: number): number {
  const s = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : ''
  if (!/^\d{1,16}$/.test(s)) throw errors.invalidFormat('cursor')
  const c = Number(s)
  if (c > now + 1000) throw errors.invalidFormat('cursor')
  return c
}

const ROWS = (where: string) => visibleItemsSql({ where: `NOT i.archived ${where}` })

/** GET /item: every non-archived item the caller can see */
export async function readAll(deps: Deps, user: SessionUser): Promise<{ rows: ItemRow[]; cursor: number }> {
  const { m } = await syncPoint(deps)
  const principals = await principalsFor(deps, user)
  const r = await deps.db.pool.query<ItemRow>(ROWS(''), [principals])
  return { rows: r.rows, cursor: cursorAfter(deps, m) }
}

const CHANGED = `(i.changed_at > to_timestamp($2::float8 / 1000)
      OR EXISTS (SELECT 1 FROM item_user_state s WHERE s.item_id = i.id AND s.user_id = $3 AND s.changed_at > to_timestamp($2::float8 / 1000))
      OR (SELECT visibility_changed_at FROM users WHERE id = $3) > to_timestamp($2::float8 / 1000))`

/** GET /item/since/{ms}: the visible items changed for the caller after `since` */
export async function readSince(deps: Deps, user: SessionUser, rawSince: unknown): Promise<{ rows: ItemRow[]; cursor: number }> {
  const { m, now } = await syncPoint(deps)
  const principals = await principalsFor(deps, user)
  const since = parseCursor(rawSince, now)
  const r = await deps.db.pool.query<ItemRow>(ROWS(`AND ${CHANGED}`), [principals, since, user.id])
  return { rows: r.rows, cursor: cursorAfter(deps, m, since) }
}

/** the delta's read ($1 principals, $2 cursor ms, $3 user id): every visible id and whether it
 *  changed, as two sorted id arrays (one row: cheap to ship and parse). The changed set is small and found by the changed_at indexes; the visible set comes
 *  from the covering index of item_permissions, with archived items (few) taken out. */
export const DELTA_IDS_SQL = `WITH ch AS (SELECT id FROM items WHERE changed_at > to_timestamp($2::float8 / 1000)
                 UNION SELECT item_id FROM item_user_state WHERE user_id = $3 AND changed_at > to_timestamp($2::float8 / 1000))
     SELECT COALESCE(array_agg(v.item_id ORDER BY v.item_id), '{}') AS ids,
            COALESCE(array_agg(v.item_id ORDER BY v.item_id) FILTER (WHERE ch.id IS NOT NULL OR all_changed), '{}') AS changed
       FROM ${visibleSql('$1')} v LEFT JOIN ch ON ch.id = v.item_id
            CROSS JOIN (SELECT (SELECT visibility_changed_at FROM users WHERE id = $3) > to_timestamp($2::float8 / 1000) AS all_changed) vis
      WHERE v.level > 0 AND NOT EXISTS (SELECT 1 FROM items a WHERE a.id = v.item_id AND a.archived)`

/** GET /item/delta/{cursor}: every visible item's id with whether it changed; changed rows in full */
export async function readDelta(deps: Deps, user: SessionUser, rawCursor: unknown): Promise<{ entries: { id: number; changed: boolean }[]; changedRows: ItemRow[]; cursor: number }> {
  const { m, now } = await syncPoint(deps)
  const principals = await principalsFor(deps, user)
  const since = parseCursor(rawCursor, now)
  // the read: ids and flags only (two columns for thousands of rows), then the few changed
  // rows in full. A changed item deleted in between is left out, as deleted items are.
  const r = await deps.db.pool.query<{ ids: number[]; changed: number[] }>(DELTA_IDS_SQL, [principals, since, user.id])
  const { ids, changed: changedIds } = r.rows[0]!
  let changedRows: ItemRow[] = []
  if (changedIds.length) {
    const full = await deps.db.pool.query<ItemRow>(visibleItemsSql({ where: 'NOT i.archived', only: '$2' }), [principals, changedIds])
    changedRows = full.rows
  }
  const present = new Set(changedRows.map((x) => x.id))
  const changedSet = new Set(changedIds)
  const entries: { id: number; changed: boolean }[] = []
  for (const id of ids) {
    const changed = changedSet.has(id)
    if (!changed || present.has(id)) entries.push({ id, changed })
  }
  return { entries, changedRows, cursor: cursorAfter(deps, m, since) }
}
