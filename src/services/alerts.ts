// A caller's reminders on an item (contract §8.5): replaced as a whole on update (an entry
// with an id of theirs updates it, one without creates one, a missing one is deleted). Each
// output alert carries `notificationTime`: the specified time, or a relative time counted
// back from start_date for events and from due_date, else end_date, else start_date for the
// rest (no such date: null).
import { ApiError, Code, errors } from '../http/errors.js'
import { formatDate, parseDate } from '../lib/dates.js'
import type { Queryable } from './access.js'
import type { AlertInput } from './items-input.js'

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

export type ParsedAlert = Omit<AlertRow, 'id' | 'item_id'> & { id: number | null }

/** validates the entries: timeType 1–4 (else 400/6), `time` for 2–4 and `timeSpecified` for 1 (else 400/4) */
export function parseAlerts(input: AlertInput[], tz: string): ParsedAlert[] {
  return input.map((a) => {
    if (![1, 2, 3, 4].includes(a.timeType)) throw errors.invalidData(`alerts.timeType ${a.timeType}`)
    let at: Date | null = null
    if (a.timeType === 1) {
      if (a.timeSpecified === undefined) throw new ApiError(Code.IS_MANDATORY, 'alerts.timeSpecified is mandatory for timeType 1')
      const d = parseDate(a.timeSpecified, tz)
      if (!d) throw errors.invalidFormat('alerts.timeSpecified')
      at = d.date
    } else {
      if (a.time === undefined) throw new ApiError(Code.IS_MANDATORY, `alerts.time is mandatory for timeType ${a.timeType}`)
      if (a.time < 0) throw errors.invalidData(`alerts.time ${a.time}`)
    }
    return {
      id: a.id ?? null,
      time_type: a.timeType,
      time: a.timeType === 1 ? (a.time ?? null) : a.time!,
      time_specified: at,
      repeat: a.repeat ?? null,
      repeat_interval: a.repeatInterval ?? null,
      sound: a.sound ?? false,
      alert: a.alert ?? false,
      email: a.email ?? false,
      push: a.push ?? false,
    }
  })
}

/** Replaces the user's alerts on the item and marks their state changed (delta feed). */
export async function replaceAlerts(db: Queryable, itemId: number, userId: number, alerts: ParsedAlert[]) {
  const keep = alerts.filter((a) => a.id !== null).map((a) => a.id!)
  await db.query('DELETE FROM item_alerts WHERE item_id = $1 AND user_id = $2 AND NOT (id = ANY($3::bigint[]))', [itemId, userId, keep])
  for (const a of alerts) {
    const vals = [a.time_type, a.time, a.time_specified, a.repeat, a.repeat_interval, a.sound, a.alert, a.email, a.push]
    if (a.id !== null) {
      const r = await db.query(
        `UPDATE item_alerts SET time_type=$4, time=$5, time_specified=$6, repeat=$7, repeat_interval=$8, sound=$9, alert=$10, email=$11, push=$12
          WHERE id = $1 AND item_id = $2 AND user_id = $3`,
        [a.id, itemId, userId, ...vals],
      )
      if (r.rowCount) continue
    }
    // an unknown id (not this user's alert on this item) is a new alert
    await db.query(
      `INSERT INTO item_alerts (item_id, user_id, time_type, time, time_specified, repeat, repeat_interval, sound, alert, email, push)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [itemId, userId, ...vals],
    )
  }
  await touchUserState(db, itemId, userId)
}

/** bumps item_user_state.changed_at for one user (creates the row when absent) */
export async function touchUserState(db: Queryable, itemId: number, userId: number) {
  await db.query(
    `INSERT INTO item_user_state (item_id, user_id) VALUES ($1, $2)
     ON CONFLICT (item_id, user_id) DO UPDATE SET starred = item_user_state.starred`,
    [itemId, userId],
  )
}

const UNIT_MS: Record<number, number> = { 2: 86_400_000, 3: 3_600_000, 4: 60_000 }

export function notificationTime(a: AlertRow, item: { category: number; start_date: Date | null; end_date: Date | null; due_date: Date | null }): Date | null {
  if (a.time_type === 1) return a.time_specified
  const base = item.category === 2 ? item.start_date : (item.due_date ?? item.end_date ?? item.start_date)
  if (!base || a.time === null) return null
  return new Date(base.getTime() - a.time * (UNIT_MS[a.time_type] ?? 0))
}

export function renderAlert(a: AlertRow, item: Parameters<typeof notificationTime>[1], tz: string) {
  return {
    id: a.id,
    timeType: a.time_type,
    time: a.time,
    timeSpecified: formatDate(a.time_specified, tz),
    repeat: a.repeat,
    repeatInterval: a.repeat_interval,
    sound: a.sound,
    alert: a.alert,
    email: a.email,
    push: a.push,
    notificationTime: formatDate(notificationTime(a, item), tz),
  }
}
