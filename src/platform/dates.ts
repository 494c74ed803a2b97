// Dates in and out (contract §1): input in ISO-8601 with offset, without offset (read in
// the user's time zone), or date-only (all-day); output as YYYY-MM-DDTHH:mm:ss.SSS±HH:MM in
// the caller's time zone.
import { DateTime, IANAZone } from 'luxon'

export function isValidTimeZone(tz: string): boolean {
  return IANAZone.isValidZone(tz)
}

/** the zone of a stored time_zone preference (its JSON text; UTC when unset or unreadable) */
export function storedTimeZone(json: string | null | undefined): string {
  if (!json) return 'UTC'
  try {
    const v: unknown = JSON.parse(json)
    return typeof v === 'string' && v ? v : 'UTC'
  } catch {
    return 'UTC'
  }
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

export function formatDate(date: Date, timeZone: string): string
export function formatDate(date: Date | null | undefined, timeZone: string): string | null
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

/**
 * A time zone's UTC offsets over [ZONE_TABLE_FROM, ZONE_TABLE_TO) as a table of changes, for
 * code that formats dates outside JavaScript (the item lists rendered by PostgreSQL,
 * src/items/json-repository.ts): `starts[k]` (ISO instant) is when `offsets[k]` (minutes)
 * begins, `suffixes[k]` its text (`+02:00`). Taken from the same source as formatDate (luxon
 * over Intl), so a date formatted through the table reads exactly as formatDate writes it.
 * Built once per zone (weekly samples, then a binary search to the minute at each
 * change: about 0.1 s) and kept.
 */
export type ZoneTable = { starts: string[]; offsets: number[]; suffixes: string[] }

export const ZONE_TABLE_FROM = Date.UTC(1970, 0, 1)
export const ZONE_TABLE_TO = Date.UTC(2100, 0, 1)
const zoneTables = new Map<string, ZoneTable>()
// offsets are sampled weekly (every zone's changes since 1970 are weeks apart), then each change
// is found to the millisecond
const STEP = 7 * 86_400_000

function suffixOf(off: number): string {
  const abs = Math.abs(off)
  return (off < 0 ? '-' : '+') + String(Math.floor(abs / 60)).padStart(2, '0') + ':' + String(abs % 60).padStart(2, '0')
}

export function zoneTable(timeZone: string): ZoneTable {
  const hit = zoneTables.get(timeZone)
  if (hit) return hit
  // what DateTime.fromMillis(ms, { zone }).offset asks (formatDate), without making a DateTime
  const zone = IANAZone.create(timeZone)
  const offsetAt = (ms: number) => (timeZone === 'UTC' ? 0 : zone.offset(ms))
  const table: ZoneTable = { starts: [], offsets: [], suffixes: [] }
  const add = (ms: number, off: number) => {
    table.starts.push(new Date(ms).toISOString())
    table.offsets.push(off)
    table.suffixes.push(suffixOf(off))
  }
  let prev = offsetAt(ZONE_TABLE_FROM)
  add(ZONE_TABLE_FROM, prev)
  if (timeZone !== 'UTC') {
    for (let at = ZONE_TABLE_FROM + STEP; at < ZONE_TABLE_TO + STEP; at += STEP) {
      const end = Math.min(at, ZONE_TABLE_TO - 1)
      const off = offsetAt(end)
      if (off === prev) continue
      // the first minute with the new offset, in (at - STEP, end] (changes since 1970 fall on
      // whole minutes)
      let lo = Math.floor((at - STEP) / 60_000)
      let hi = Math.floor(end / 60_000)
      while (hi - lo > 1) {
        const mid = lo + Math.floor((hi - lo) / 2)
        if (offsetAt(mid * 60_000) === prev) lo = mid
        else hi = mid
      }
      add(hi * 60_000, off)
      prev = off
    }
  }
  // offsets that are not whole minutes cannot be written as ±HH:MM: such a zone is not tabled
  // (every date of it is left to formatDate)
  if (table.offsets.some((o) => !Number.isInteger(o))) table.starts.length = table.offsets.length = table.suffixes.length = 0
  if (zoneTables.size > 500) zoneTables.clear()
  zoneTables.set(timeZone, table)
  return table
}
