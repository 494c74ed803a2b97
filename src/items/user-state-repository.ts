// Each user's own side of an item: the unread mark, the star (item_user_state) and their
// alerts (item_alerts). SQL only. Every write here bumps the user's state row, whose
// changed_at (trigger) is how the delta feed sees per-user changes (docs/sync.md).
import type { Sql } from '../platform/db/pool.js'

/** item_user_state.unread values: a higher mark is never lowered by a lower one */
export const UNREAD = { COMMENT: 1, MODIFIED: 2, NEW: 3 } as const

/**
 * Marks the items unread (at least `level`) for their owner, assignee and participants other
 * than the actor; `only`: just those of them.
 */
export async function markUnread(db: Sql, itemIds: number | number[], actorId: number, level: number, only?: number[]) {
  await db.query(
    `INSERT INTO item_user_state (item_id, user_id, unread)
     SELECT DISTINCT i.id, u, $3::int FROM items i, unnest(array_append(array_append(i.participants, i.user_id), i.assignee_id)) AS u
      WHERE i.id = ANY($1::bigint[]) AND u IS NOT NULL AND u <> $2 AND ($4::bigint[] IS NULL OR u = ANY($4::bigint[]))
     ON CONFLICT (item_id, user_id) DO UPDATE SET unread = GREATEST(item_user_state.unread, EXCLUDED.unread)
      WHERE item_user_state.unread < EXCLUDED.unread`,
    [Array.isArray(itemIds) ? itemIds : [itemIds], actorId, level, only ?? null],
  )
}

export async function clearUnread(db: Sql, itemId: number, userId: number) {
  await db.query('UPDATE item_user_state SET unread = 0 WHERE item_id = $1 AND user_id = $2 AND unread <> 0', [itemId, userId])
}

export async function setStarred(db: Sql, itemId: number, userId: number, starred: boolean) {
  await db.query(
    `INSERT INTO item_user_state (item_id, user_id, starred) VALUES ($1, $2, $3)
     ON CONFLICT (item_id, user_id) DO UPDATE SET starred = EXCLUDED.starred WHERE item_user_state.starred <> EXCLUDED.starred`,
    [itemId, userId, starred],
  )
}

/** bumps the user's state row of the item (created when absent): the delta feed reports it */
export async function touchUserState(db: Sql, itemId: number, userId: number) {
  await db.query(
    `INSERT INTO item_user_state (item_id, user_id) VALUES ($1, $2)
     ON CONFLICT (item_id, user_id) DO UPDATE SET starred = item_user_state.starred`,
    [itemId, userId],
  )
}

export type UserStateRow = { item_id: number; starred: boolean; unread: number }

export async function userStatesOf(db: Sql, userId: number, itemIds: number[]): Promise<UserStateRow[]> {
  return (await db.query<UserStateRow>('SELECT item_id, starred, unread FROM item_user_state WHERE user_id = $1 AND item_id = ANY($2::bigint[])', [userId, itemIds])).rows
}

// ---- alerts ----

export type AlertRow = {
  id: number
  item_id: number
  time_type: number
  time: number | null
  time_specified: Date | null
  repeat: number | null
  repeat_interval: number | null
  sound: boolean
  alert: boolean
  email: boolean
  push: boolean
}

/** an alert's settings, as written */
export type AlertFields = Omit<AlertRow, 'id' | 'item_id'>

/** the user's alerts on each of the items, oldest first */
export async function alertsOf(db: Sql, userId: number, itemIds: number[]): Promise<AlertRow[]> {
  const r = await db.query<AlertRow>(
    `SELECT id, item_id, time_type, time, time_specified, repeat, repeat_interval, sound, alert, email, push
       FROM item_alerts WHERE user_id = $1 AND item_id = ANY($2::bigint[]) ORDER BY id`,
    [userId, itemIds],
  )
  return r.rows
}

/**
 * Replaces the user's alerts on the item in one statement: an entry whose id is one of theirs
 * on the item updates it, the others are inserted (ids ascending in the given order), and
 * their alerts not named are deleted. Ids are unique in `alerts` (the caller's rule).
 */
export async function replaceUserAlerts(db: Sql, itemId: number, userId: number, alerts: (AlertFields & { id: number | null })[]) {
  const col = <K extends keyof AlertFields | 'id'>(k: K) => alerts.map((a) => a[k])
  await db.query(
    `WITH x AS (
       SELECT * FROM unnest($3::bigint[], $4::int[], $5::int[], $6::timestamptz[], $7::int[], $8::int[], $9::bool[], $10::bool[], $11::bool[], $12::bool[])
              WITH ORDINALITY AS x(id, tt, t, ts, r, ri, s, a, e, p, n)),
     gone AS (
       DELETE FROM item_alerts WHERE item_id = $1 AND user_id = $2 AND id NOT IN (SELECT id FROM x WHERE id IS NOT NULL)),
     kept AS (
       UPDATE item_alerts a SET time_type = x.tt, time = x.t, time_specified = x.ts, repeat = x.r, repeat_interval = x.ri,
              sound = x.s, alert = x.a, email = x.e, push = x.p
         FROM x WHERE a.id = x.id AND a.item_id = $1 AND a.user_id = $2
       RETURNING a.id)
     INSERT INTO item_alerts (item_id, user_id, time_type, time, time_specified, repeat, repeat_interval, sound, alert, email, push)
     SELECT $1, $2, x.tt, x.t, x.ts, x.r, x.ri, x.s, x.a, x.e, x.p FROM x
      WHERE x.id IS NULL OR x.id NOT IN (SELECT id FROM kept)
      ORDER BY x.n`,
    [itemId, userId, col('id'), col('time_type'), col('time'), col('time_specified'), col('repeat'), col('repeat_interval'), col('sound'), col('alert'), col('email'), col('push')],
  )
}

/** a new item's alerts in one statement, ids ascending in the given order (as inserting them one by one) → the rows */
export async function insertNewAlerts(db: Sql, itemId: number, userId: number, alerts: AlertFields[]): Promise<AlertRow[]> {
  const col = <K extends keyof AlertFields>(k: K) => alerts.map((a) => a[k])
  const r = await db.query<AlertRow>(
    `INSERT INTO item_alerts (item_id, user_id, time_type, time, time_specified, repeat, repeat_interval, sound, alert, email, push)
     SELECT $1, $2, x.tt, x.t, x.ts, x.r, x.ri, x.s, x.a, x.e, x.p
       FROM unnest($3::int[], $4::int[], $5::timestamptz[], $6::int[], $7::int[], $8::bool[], $9::bool[], $10::bool[], $11::bool[])
            WITH ORDINALITY AS x(tt, t, ts, r, ri, s, a, e, p, n)
      ORDER BY x.n
     RETURNING id, item_id, time_type, time, time_specified, repeat, repeat_interval, sound, alert, email, push`,
    [itemId, userId, col('time_type'), col('time'), col('time_specified'), col('repeat'), col('repeat_interval'), col('sound'), col('alert'), col('email'), col('push')],
  )
  return r.rows.sort((a, b) => a.id - b.id)
}
