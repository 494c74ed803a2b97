// SQL of reminders (reminders.ts): reminder_schedule (per alert: its next firing and the job
// that fires it) and the alerts with what their timing depends on. No rules here.
import type { Sql } from '../platform/db/pool.js'

/** the columns of an alert that say when it fires (item_alerts) */
export type AlertTiming = { time_type: number; time: number | null; time_specified: Date | null }

/** the columns of an item that an alert's firing depends on (items) */
export type ItemTiming = {
  category: number
  start_date: Date | null
  end_date: Date | null
  due_date: Date | null
  recurring: number
  recurring_interval: number
  recurring_end_date: Date | null
  instances: unknown
  completed: boolean
  archived: boolean
}

/** an alert with its item's timing and the alert user's time_zone preference (JSON text) */
export type AlertRow = AlertTiming &
  ItemTiming & {
    id: number
    item_id: number
    user_id: number
    email: boolean
    push: boolean
    title: string
    guid: string
    tz: string | null
  }

const ALERT_SELECT = `
  SELECT a.id, a.item_id, a.user_id, a.time_type, a.time, a.time_specified, a.email, a.push,
         i.category, i.start_date, i.end_date, i.due_date, i.recurring, i.recurring_interval, i.recurring_end_date,
         i.instances, i.completed, i.archived, i.title, i.guid,
         (SELECT p.value FROM user_preferences p WHERE p.user_id = a.user_id AND p.key = 'time_zone') AS tz
    FROM item_alerts a JOIN items i ON i.id = a.item_id`

/** the alerts of the items that send an email or a push message, in id order */
export async function remindingAlertsOf(db: Sql, itemIds: number[]): Promise<AlertRow[]> {
  return (await db.query<AlertRow>(`${ALERT_SELECT} WHERE a.item_id = ANY($1::bigint[]) AND (a.email OR a.push) ORDER BY a.id`, [itemIds])).rows
}

export async function alertById(db: Sql, alertId: number): Promise<AlertRow | undefined> {
  return (await db.query<AlertRow>(`${ALERT_SELECT} WHERE a.id = $1`, [alertId])).rows[0]
}

export type ScheduleRow = { alert_id: number; item_id: number; fire_at: Date; job_id: string }

/** the schedule rows of the items, locked FOR UPDATE in alert id order (a firing job waits, or is waited for) */
export async function lockSchedulesOfItems(db: Sql, itemIds: number[]): Promise<ScheduleRow[]> {
  const r = await db.query<ScheduleRow>(
    'SELECT alert_id, item_id, fire_at, job_id FROM reminder_schedule WHERE item_id = ANY($1::bigint[]) ORDER BY alert_id FOR UPDATE',
    [itemIds],
  )
  return r.rows
}

/** the alert's schedule row, locked FOR UPDATE */
export async function lockSchedule(db: Sql, alertId: number): Promise<ScheduleRow | undefined> {
  return (await db.query<ScheduleRow>('SELECT alert_id, item_id, fire_at, job_id FROM reminder_schedule WHERE alert_id = $1 FOR UPDATE', [alertId])).rows[0]
}

export async function upsertSchedule(db: Sql, s: { alertId: number; itemId: number; userId: number; fireAt: Date; occurrence: string | null; jobId: string }) {
  await db.query(
    `INSERT INTO reminder_schedule (alert_id, item_id, user_id, fire_at, occurrence, job_id) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (alert_id) DO UPDATE SET item_id = EXCLUDED.item_id, user_id = EXCLUDED.user_id, fire_at = EXCLUDED.fire_at,
       occurrence = EXCLUDED.occurrence, job_id = EXCLUDED.job_id`,
    [s.alertId, s.itemId, s.userId, s.fireAt, s.occurrence, s.jobId],
  )
}

export async function deleteSchedule(db: Sql, alertId: number) {
  await db.query('DELETE FROM reminder_schedule WHERE alert_id = $1', [alertId])
}

/**
 * Items to reschedule: alerts without a schedule but with a time still ahead (older than the
 * feature, or a lost job), schedules long past (their job was lost), schedules whose alert is gone.
 */
export async function itemsToReconcile(db: Sql): Promise<number[]> {
  const r = await db.query<{ item_id: number }>(
    `SELECT DISTINCT a.item_id FROM item_alerts a JOIN items i ON i.id = a.item_id
       LEFT JOIN reminder_schedule s ON s.alert_id = a.id
      WHERE (a.email OR a.push) AND NOT i.completed AND NOT i.archived
        AND (s.alert_id IS NULL OR s.fire_at < now() - interval '25 hours')
        AND ((a.time_type = 1 AND a.time_specified > now() - interval '1 minute')
          OR (a.time_type <> 1 AND (i.recurring > 0 OR GREATEST(i.start_date, i.end_date, i.due_date) > now() - interval '1 minute')))
     UNION
     SELECT DISTINCT s.item_id FROM reminder_schedule s
      WHERE s.fire_at < now() - interval '25 hours' OR NOT EXISTS (SELECT 1 FROM item_alerts a WHERE a.id = s.alert_id)`,
  )
  return r.rows.map((x) => x.item_id)
}
