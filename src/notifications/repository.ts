// SQL of the notifications: plain functions (db: Sql, …) → rows. No rules here. This file:
// the people notified and their preferences, pending change notifications and per-user
// batches, once-only claims, and the daily summary's reads. The other aggregates have their
// own: outbox-repository.ts, reminder-repository.ts, push-repository.ts,
// webhook-repository.ts, jobs-repository.ts.
import type { Sql } from '../platform/db/pool.js'
import { namesUser } from '../items/visibility-repository.js'

/**
 * each user's effective level on each item (their own entry or their groups'), 0 when none,
 * for (item, user) pairs in one statement → `${item}:${user}` → level
 */
export async function levelsOnItems(db: Sql, pairs: { itemId: number; userId: number }[]): Promise<Map<string, number>> {
  if (!pairs.length) return new Map()
  const r = await db.query<{ item_id: number; user_id: number; level: number }>(
    `SELECT x.item_id, x.user_id, COALESCE(max(p.level), 0)::int AS level
       FROM unnest($1::bigint[], $2::bigint[]) AS x(item_id, user_id)
       LEFT JOIN item_permissions p ON p.item_id = x.item_id
             AND ${namesUser('p', 'x.user_id')}
      GROUP BY x.item_id, x.user_id`,
    [pairs.map((p) => p.itemId), pairs.map((p) => p.userId)],
  )
  return new Map(r.rows.map((x) => [`${x.item_id}:${x.user_id}`, x.level]))
}

export type Person = { id: number; name: string; email: string | null }

/** users with their display name and confirmed email (null: none confirmed) */
export async function people(db: Sql, ids: number[]): Promise<Map<number, Person>> {
  if (!ids.length) return new Map()
  const r = await db.query<Person>(
    `SELECT u.id, COALESCE(NULLIF(btrim(u.first_name || ' ' || u.last_name), ''), u.login) AS name,
            u.email_confirmed AS email
       FROM users u WHERE u.id = ANY($1::bigint[])`,
    [ids],
  )
  return new Map(r.rows.map((x) => [x.id, x]))
}

/** stored preference values (JSON text) of the users for the keys */
export async function storedPreferences(db: Sql, userIds: number[], keys: string[]): Promise<{ user_id: number; key: string; value: string }[]> {
  if (!userIds.length || !keys.length) return []
  const r = await db.query<{ user_id: number; key: string; value: string }>(
    'SELECT user_id, key, value FROM user_preferences WHERE user_id = ANY($1::bigint[]) AND key = ANY($2::text[])',
    [userIds, keys],
  )
  return r.rows
}

// ---- change notifications: pending rows and per-user batches

export type PendingInsert = { userId: number; channel: 'email' | 'push'; kind: string; itemId: number; actorId: number | null; data: object }

export async function insertPending(db: Sql, rows: PendingInsert[]) {
  if (!rows.length) return
  await db.query(
    `INSERT INTO notification_pending (user_id, channel, kind, item_id, actor_id, data)
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::jsonb[])`,
    [rows.map((r) => r.userId), rows.map((r) => r.channel), rows.map((r) => r.kind), rows.map((r) => r.itemId), rows.map((r) => r.actorId), rows.map((r) => JSON.stringify(r.data))],
  )
}

/**
 * Opens (or joins) the users' batches, locking their rows in user order: a flush that starts
 * meanwhile waits for this transaction, so it sees the pending rows written after this call.
 * → the users whose batch is new (or whose job is long overdue) and needs a flush job, with
 * when it is due.
 */
export async function joinBatches(db: Sql, userIds: number[], batchSeconds: number): Promise<{ userId: number; dueAt: Date }[]> {
  if (!userIds.length) return []
  const r = await db.query<{ user_id: number; inserted: boolean; due_at: Date; stale: boolean }>(
    `INSERT INTO notification_batches (user_id, due_at)
     SELECT u, now() + $2 * interval '1 second' FROM unnest($1::bigint[]) AS u ORDER BY u
     ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id
     RETURNING user_id, (xmax = 0) AS inserted, due_at, due_at < now() - interval '10 minutes' AS stale`,
    [[...new Set(userIds)].sort((a, b) => a - b), batchSeconds],
  )
  const stale = r.rows.filter((x) => x.stale).map((x) => x.user_id)
  const restarted = stale.length
    ? (await db.query<{ user_id: number; due_at: Date }>(`UPDATE notification_batches SET due_at = now() WHERE user_id = ANY($1::bigint[]) RETURNING user_id, due_at`, [stale])).rows
    : []
  return [...r.rows.filter((x) => x.inserted && !x.stale), ...restarted].map((x) => ({ userId: x.user_id, dueAt: x.due_at })).sort((a, b) => a.userId - b.userId)
}

/** the flush job of each user's batch */
export async function setBatchJobs(db: Sql, jobs: { userId: number; jobId: string }[]) {
  if (!jobs.length) return
  await db.query(
    `UPDATE notification_batches b SET job_id = x.job_id FROM unnest($1::bigint[], $2::uuid[]) AS x(user_id, job_id) WHERE b.user_id = x.user_id`,
    [jobs.map((j) => j.userId), jobs.map((j) => j.jobId)],
  )
}

/** a pending notification's rendered line (written by the fan-out) */
export type PendingData = { line?: string; detail?: string; guid?: string; deleted?: boolean }

export type PendingRow = { id: number; channel: 'email' | 'push'; kind: string; item_id: number; actor_id: number | null; data: PendingData; created_at: Date }

/** closes the user's batch and takes its pending rows (waits for a drain still writing to it) */
export async function takeBatch(db: Sql, userId: number): Promise<PendingRow[]> {
  await db.query('DELETE FROM notification_batches WHERE user_id = $1', [userId])
  const r = await db.query<PendingRow>(
    `DELETE FROM notification_pending WHERE user_id = $1 RETURNING id, channel, kind, item_id, actor_id, data, created_at`,
    [userId],
  )
  return r.rows.sort((a, b) => a.id - b.id)
}

// ---- once-only claims

/** true the first time `key` is claimed (the claim commits with the caller's transaction) */
export async function claimOnce(db: Sql, key: string): Promise<boolean> {
  const r = await db.query('INSERT INTO notification_sent (key) VALUES ($1) ON CONFLICT DO NOTHING', [key])
  return r.rowCount === 1
}

/** `key` has been claimed (by a committed transaction, or by the caller's) */
export async function claimed(db: Sql, key: string): Promise<boolean> {
  return (await db.query('SELECT 1 FROM notification_sent WHERE key = $1', [key])).rowCount > 0
}

export async function pruneClaims(db: Sql, days: number) {
  await db.query(`DELETE FROM notification_sent WHERE created_at < now() - $1 * interval '1 day'`, [days])
}

// ---- the daily summary

/** the time_zone preferences in use (JSON text, as stored) */
export async function timeZonesInUse(db: Sql): Promise<string[]> {
  const r = await db.query<{ zone: string }>(`SELECT DISTINCT value AS zone FROM user_preferences WHERE key = 'time_zone'`)
  return r.rows.map((x) => x.zone)
}

/**
 * Users with a confirmed email whose time_zone preference is `zone` (for UTC: also those
 * without one) and whose preference `dayKey` (daily_summary_email_N) is on or unset (its default is on).
 */
export async function summaryRecipients(db: Sql, zone: string, dayKey: string): Promise<number[]> {
  const r = await db.query<{ id: number }>(
    `SELECT u.id FROM users u
      LEFT JOIN user_preferences tz ON tz.user_id = u.id AND tz.key = 'time_zone'
      LEFT JOIN user_preferences d ON d.user_id = u.id AND d.key = $2
      WHERE u.email_confirmed IS NOT NULL
        AND (tz.value = $1 OR ($3 AND tz.value IS NULL))
        AND COALESCE(d.value, '"true"') IN ('"true"', '"1"')`,
    [JSON.stringify(zone), dayKey, zone === 'UTC'],
  )
  return r.rows.map((x) => x.id)
}

export type SummaryItem = { id: number; guid: string; title: string; category: number; start_date: Date | null; due_date: Date | null; end_date: Date | null; overdue: boolean }

/**
 * The user's open tasks and events (visible to them; assigned to them, or theirs without an
 * assignee, or naming them as a participant) overdue at `from` or due or starting in
 * [from, to): at most `limit`, by date.
 */
export async function summaryItems(db: Sql, userId: number, from: Date, to: Date, limit: number): Promise<SummaryItem[]> {
  const r = await db.query<SummaryItem>(
    `WITH mine AS (
       SELECT i.* FROM items i
        WHERE NOT i.completed AND NOT i.archived AND i.category IN (1, 2)
          AND (i.assignee_id = $1 OR (i.user_id = $1 AND i.assignee_id IS NULL) OR $1 = ANY(i.participants))
          AND EXISTS (SELECT 1 FROM item_permissions p WHERE p.item_id = i.id AND p.level >= 10
                        AND ${namesUser('p', '$1')}))
     SELECT id, guid, title, category, start_date, due_date, end_date,
            COALESCE(due_date, end_date) < $2 AS overdue
       FROM mine
      WHERE COALESCE(due_date, end_date) < $2
         OR (due_date >= $2 AND due_date < $3)
         OR (start_date >= $2 AND start_date < $3)
      ORDER BY COALESCE(due_date, start_date, end_date), id
      LIMIT $4`,
    [userId, from, to, limit],
  )
  return r.rows
}
