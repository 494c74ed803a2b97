// Reading items for sync (contract §8.2 GET /item, /item/since, §8.4 delta) with a cursor
// that never loses an update (docs/sync.md has the argument).
//
// Every write sets items.changed_at / item_user_state.changed_at to now(), the START time
// of its transaction (trigger). Before the read, `syncPoint` takes
//   m = min(clock_timestamp(), oldest xact_start of any open transaction in this database)
// and the read statement runs after it. A write the read does not see belongs to a
// transaction that was open at that moment or started later: its changed_at ≥ m. The
// returned cursor is below m (m − DELTA_MARGIN_MS − 1), so that write shows as changed in
// the next delta. Visibility is decided in SQL, one statement per list.
import type { Deps } from '../deps.js'
import type { SessionUser } from './auth.js'
import { errors } from '../http/errors.js'
import { ITEM_COLUMNS, principalsFor, visibleSql, type ItemRow } from './permissions.js'

/** m (ms since epoch) and the database clock, before a read */
export async function syncPoint(deps: Deps): Promise<{ m: number; now: number }> {
  const r = await deps.db.pool.query<{ m: number; now: number }>(
    `SELECT (extract(epoch FROM LEAST(clock_timestamp(), COALESCE(
               (SELECT min(xact_start) FROM pg_stat_activity
                 WHERE datname = current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid()),
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

const ROWS = (where: string) => `SELECT ${ITEM_COLUMNS}, pi.guid AS parent_guid, v.level
   FROM ${visibleSql('$1')} v JOIN items i ON i.id = v.item_id LEFT JOIN items pi ON pi.id = i.parent_id
  WHERE v.level > 0 AND NOT i.archived ${where}
  ORDER BY i.id`

/** GET /item: every non-archived item the caller can see */
export async function readAll(deps: Deps, user: SessionUser): Promise<{ rows: ItemRow[]; cursor: number }> {
  const principals = await principalsFor(deps, user)
  const { m } = await syncPoint(deps)
  const r = await deps.db.pool.query<ItemRow>(ROWS(''), [principals])
  return { rows: r.rows, cursor: cursorAfter(deps, m) }
}

const CHANGED = `(i.changed_at > to_timestamp($2::float8 / 1000)
      OR EXISTS (SELECT 1 FROM item_user_state s WHERE s.item_id = i.id AND s.user_id = $3 AND s.changed_at > to_timestamp($2::float8 / 1000))
      OR (SELECT visibility_changed_at FROM users WHERE id = $3) > to_timestamp($2::float8 / 1000))`

/** GET /item/since/{ms}: the visible items changed for the caller after `since` */
export async function readSince(deps: Deps, user: SessionUser, rawSince: unknown): Promise<{ rows: ItemRow[]; cursor: number }> {
  const principals = await principalsFor(deps, user)
  const { m, now } = await syncPoint(deps)
  const since = parseCursor(rawSince, now)
  const r = await deps.db.pool.query<ItemRow>(ROWS(`AND ${CHANGED}`), [principals, since, user.id])
  return { rows: r.rows, cursor: cursorAfter(deps, m, since) }
}

/** GET /item/delta/{cursor}: every visible item's id with whether it changed; changed rows in full */
export async function readDelta(deps: Deps, user: SessionUser, rawCursor: unknown): Promise<{ entries: { id: number; changed: boolean }[]; changedRows: ItemRow[]; cursor: number }> {
  const principals = await principalsFor(deps, user)
  const { m, now } = await syncPoint(deps)
  const since = parseCursor(rawCursor, now)
  // one statement: ids of all visible items, full columns only for the changed ones
  const r = await deps.db.pool.query<ItemRow & { changed: boolean }>(
    `WITH vis AS (SELECT v.item_id, v.level FROM ${visibleSql('$1')} v WHERE v.level > 0),
          flagged AS (SELECT i.id, vis.level, ${CHANGED} AS changed FROM vis JOIN items i ON i.id = vis.item_id WHERE NOT i.archived)
     SELECT f.id AS fid, f.changed, f.level, ${ITEM_COLUMNS}, pi.guid AS parent_guid
       FROM flagged f LEFT JOIN items i ON f.changed AND i.id = f.id LEFT JOIN items pi ON pi.id = i.parent_id
      ORDER BY f.id`,
    [principals, since, user.id],
  )
  const entries: { id: number; changed: boolean }[] = []
  const changedRows: ItemRow[] = []
  for (const row of r.rows as (ItemRow & { changed: boolean; fid: number })[]) {
    entries.push({ id: row.fid, changed: row.changed })
    if (row.changed) changedRows.push(row)
  }
  return { entries, changedRows, cursor: cursorAfter(deps, m, since) }
}
