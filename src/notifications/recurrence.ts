// When an alert fires (contract §8.5, §12): its notificationTime, and for a recurring item
// the same offset before each occurrence. Occurrences are counted in the alert user's time
// zone (a daily 09:00 stays 09:00 across daylight-saving changes), skip occurrences marked
// done in `instances`, and stop after `recurring_end_date` (its day included).
import { DateTime } from 'luxon'
import type { AlertTiming, ItemTiming } from './reminder-repository.js'
import { alertBaseDate, alertOffsetMs } from '../items/alerts.js'

// the row shapes the firing rule reads are the repository's
export type { AlertTiming, ItemTiming }

export type Firing = { at: Date; occurrence: string | null }

const UNIT: Record<number, 'days' | 'weeks' | 'months' | 'years'> = { 1: 'days', 2: 'weeks', 3: 'months', 4: 'years' }
/** the longest a unit can be (DST, 31-day months, leap years): to skip ahead without overshooting */
const UNIT_MAX_MS: Record<number, number> = { 1: 25 * 3_600_000, 2: 7 * 86_400_000 + 3_600_000, 3: 31 * 86_400_000 + 3_600_000, 4: 366 * 86_400_000 + 3_600_000 }
const MAX_STEPS = 2000

function doneDays(instances: unknown): Set<string> {
  const out = new Set<string>()
  if (Array.isArray(instances)) {
    for (const x of instances as { status?: unknown; start_date?: unknown }[]) {
      if (x && Number(x.status) === 1 && typeof x.start_date === 'string') out.add(x.start_date)
    }
  }
  return out
}

/**
 * The first firing strictly after `after`, or null: none left, the item is completed or
 * archived, or the alert has no time (relative without a date).
 */
export function nextFiring(alert: AlertTiming, item: ItemTiming, timeZone: string, after: Date): Firing | null {
  if (item.completed || item.archived) return null
  if (alert.time_type === 1) {
    const at = alert.time_specified
    return at && at.getTime() > after.getTime() ? { at, occurrence: null } : null
  }
  const base = alertBaseDate(item)
  const offsetMs = alertOffsetMs(alert)
  if (!base || offsetMs === null) return null
  const unit = UNIT[item.recurring]
  if (!unit) {
    const at = new Date(base.getTime() - offsetMs)
    return at.getTime() > after.getTime() ? { at, occurrence: null } : null
  }
  const n = Math.max(1, item.recurring_interval || 1)
  const zone = timeZone || 'UTC'
  const start = DateTime.fromJSDate(base, { zone })
  const endDay = item.recurring_end_date ? DateTime.fromJSDate(item.recurring_end_date, { zone }).toFormat('yyyy-MM-dd') : null
  const done = doneDays(item.instances)
  const elapsed = after.getTime() + offsetMs - base.getTime()
  let k = Math.max(0, Math.floor(elapsed / (n * UNIT_MAX_MS[item.recurring]!)) - 1)
  for (let steps = 0; steps < MAX_STEPS; steps++, k++) {
    const occ = start.plus({ [unit]: k * n })
    const day = occ.toFormat('yyyy-MM-dd')
    if (endDay !== null && day > endDay) return null
    const at = new Date(occ.toMillis() - offsetMs)
    if (at.getTime() <= after.getTime() || done.has(day)) continue
    return { at, occurrence: day }
  }
  return null
}
