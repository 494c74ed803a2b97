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

export function formatDate(date: Date | null | undefined, timeZone: string): string | null {
  if (!date) return null
  return DateTime.fromJSDate(date, { zone: timeZone }).toFormat("yyyy-MM-dd'T'HH:mm:ss.SSSZZ")
}

/** YYYY-MM-DD of the date in the zone */
export function formatDay(date: Date, timeZone: string): string {
  return DateTime.fromJSDate(date, { zone: timeZone }).toFormat('yyyy-MM-dd')
}
