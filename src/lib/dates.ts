// Dates in and out (contract §1): input in ISO-8601 with offset, without offset (read in
// the user's time zone), or date-only (all-day); output as YYYY-MM-DDTHH:mm:ss.SSS±HH:MM in
// the caller's time zone.
import { DateTime, IANAZone } from 'luxon'

export function isValidTimeZone(tz: string): boolean {
  return IANAZone.isValidZone(tz)
}

const withOffset = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/
const withoutOffset = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$/
const dateOnly = /^\d{4}-\d{2}-\d{2}$/

export type ParsedDate = { date: Date; dateOnly: boolean }

/** null when the text is not one of the accepted forms or not a real date. */
export function parseDate(text: string, timeZone: string): ParsedDate | null {
  const s = text.trim()
  let dt: DateTime
  let isDateOnly = false
  if (withOffset.test(s)) dt = DateTime.fromISO(s, { setZone: true })
  else if (withoutOffset.test(s)) dt = DateTime.fromISO(s, { zone: timeZone })
  else if (dateOnly.test(s)) {
    dt = DateTime.fromISO(s, { zone: timeZone })
    isDateOnly = true
  } else return null
  if (!dt.isValid) return null
  const year = dt.year
  if (year < 1 || year > 9999) return null
  return { date: dt.toJSDate(), dateOnly: isDateOnly }
}

// Offsets are cached per zone and quarter hour (time-zone transitions fall on quarter hours
// UTC); item lists format tens of thousands of dates and luxon's formatter is slow for that.
const offsetCache = new Map<string, number>()
const QUARTER = 900_000

function offsetMinutes(ms: number, timeZone: string): number | null {
  if (timeZone === 'UTC') return 0
  const bucket = Math.floor(ms / QUARTER)
  const key = timeZone + '|' + bucket
  const hit = offsetCache.get(key)
  if (hit !== undefined) return hit
  const a = DateTime.fromMillis(bucket * QUARTER, { zone: timeZone }).offset
  const b = DateTime.fromMillis(bucket * QUARTER + QUARTER - 1, { zone: timeZone }).offset
  if (a !== b || !Number.isInteger(a)) return null // a transition inside the bucket, or local mean time
  if (offsetCache.size > 50_000) offsetCache.clear()
  offsetCache.set(key, a)
  return a
}

export function formatDate(date: Date | null | undefined, timeZone: string): string | null {
  if (!date) return null
  const ms = date.getTime()
  const off = offsetMinutes(ms, timeZone)
  const shifted = off === null ? NaN : ms + off * 60_000
  if (off === null || shifted < -62135596800000 || shifted > 253402300799999) {
    return DateTime.fromJSDate(date, { zone: timeZone }).toFormat("yyyy-MM-dd'T'HH:mm:ss.SSSZZ")
  }
  const abs = Math.abs(off)
  const sign = off < 0 ? '-' : '+'
  const hh = String(Math.floor(abs / 60)).padStart(2, '0')
  const mm = String(abs % 60).padStart(2, '0')
  return new Date(shifted).toISOString().slice(0, 23) + sign + hh + ':' + mm
}

/** YYYY-MM-DD of the date in the zone */
export function formatDay(date: Date, timeZone: string): string {
  return DateTime.fromJSDate(date, { zone: timeZone }).toFormat('yyyy-MM-dd')
}
