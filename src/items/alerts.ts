// A caller's reminders on an item (contract §8.5): replaced as a whole on update (an entry
// with an id of theirs updates it, one without creates one, a missing one is deleted). Each
// output alert carries `notificationTime`: the specified time, or a relative time counted
// back from start_date for events and from due_date, else end_date, else start_date for the
// rest (no such date: null).
import { errors } from '../platform/errors.js'
import { formatDate, parseDate } from '../platform/dates.js'
import type { AlertInput } from './input.js'
import type { Sql } from '../platform/db/pool.js'
import { replaceUserAlerts, touchUserState, type AlertFields, type AlertRow } from './user-state-repository.js'

export type ParsedAlert = AlertFields & { id: number | null }

/** validates the entries: timeType 1–4 (else 400/6), `time` for 2–4 and `timeSpecified` for 1 (else 400/4) */
export function parseAlerts(input: AlertInput[], tz: string): ParsedAlert[] {
  return input.map((a) => {
    if (![1, 2, 3, 4].includes(a.timeType)) throw errors.invalidData(`alerts.timeType ${a.timeType}`)
    let at: Date | null = null
    if (a.timeType === 1) {
      if (a.timeSpecified === undefined) throw errors.mandatory('alerts.timeSpecified', 'for timeType 1')
      const d = parseDate(a.timeSpecified, tz)
      if (!d) throw errors.invalidFormat('alerts.timeSpecified')
      at = d.date
    } else {
      if (a.time === undefined) throw errors.mandatory('alerts.time', `for timeType ${a.timeType}`)
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

/** the entries say exactly what is stored: the same ids, each with the same settings (a
 *  client sending back the alerts the server rendered changes nothing, contract §8.1) */
export function sameAlerts(parsed: ParsedAlert[], stored: AlertRow[]): boolean {
  if (parsed.length !== stored.length) return false
  const byId = new Map(stored.map((a) => [a.id, a]))
  const seen = new Set<number>()
  const time = (d: Date | null) => (d ? d.getTime() : null)
  for (const a of parsed) {
    const s = a.id !== null ? byId.get(a.id) : undefined
    if (!s || seen.has(s.id)) return false
    seen.add(s.id)
    const same =
      s.time_type === a.time_type && s.time === a.time && time(s.time_specified) === time(a.time_specified) && s.repeat === a.repeat &&
      s.repeat_interval === a.repeat_interval && s.sound === a.sound && s.alert === a.alert && s.email === a.email && s.push === a.push
    if (!same) return false
  }
  return true
}

/** Replaces the user's alerts on the item and marks their state changed (delta feed). */
export async function replaceAlerts(db: Sql, itemId: number, userId: number, alerts: ParsedAlert[]) {
  // an id named twice is one alert with the last entry's settings; an unknown id (not this
  // user's alert on this item) is a new alert
  const last = new Map<number, number>()
  alerts.forEach((a, i) => a.id !== null && last.set(a.id, i))
  await replaceUserAlerts(db, itemId, userId, alerts.filter((a, i) => a.id === null || last.get(a.id) === i))
  await touchUserState(db, itemId, userId)
}

/** a relative alert's unit per timeType: 2 days, 3 hours, 4 minutes (1 is a specified time) */
const UNIT_MS: Record<number, number> = { 2: 86_400_000, 3: 3_600_000, 4: 60_000 }

type Dated = { category: number; start_date: Date | null; end_date: Date | null; due_date: Date | null }

/** the date relative alerts count back from: start for events, else due, end, start */
export function alertBaseDate(item: Dated): Date | null {
  return item.category === 2 ? item.start_date : (item.due_date ?? item.end_date ?? item.start_date)
}

/** how long before its base date a relative alert fires (ms); null for a specified time or no `time` */
export function alertOffsetMs(a: Pick<AlertRow, 'time_type' | 'time'>): number | null {
  const unit = UNIT_MS[a.time_type]
  return unit === undefined || a.time === null ? null : a.time * unit
}

export function notificationTime(a: AlertRow, item: Dated): Date | null {
  if (a.time_type === 1) return a.time_specified
  const base = alertBaseDate(item)
  const offset = alertOffsetMs(a)
  return base && offset !== null ? new Date(base.getTime() - offset) : null
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
