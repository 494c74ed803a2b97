// From the wire form of an item (input.ts) to column values, for create and update alike:
// dates read in the caller's time zone, jCards, locations, instances, the parent reference,
// the short-name key, and the database errors that mean a rule was broken.
import { errors } from '../platform/errors.js'
import { formatDate, formatDay, parseDate } from '../platform/dates.js'
import type { ItemInput } from './input.js'
import type { ItemRef } from './repository.js'

export type DateKey = 'start_date' | 'end_date' | 'due_date' | 'recurring_end_date'

/** the date field read in `tz`: undefined when absent, null when cleared; 400/5 when unreadable */
export function dateField(input: ItemInput, key: DateKey, tz: string): Date | null | undefined {
  const v = input[key]
  if (v === undefined) return undefined
  if (v === null) return null
  const d = parseDate(v, tz)
  if (!d) throw errors.invalidFormat(key)
  return d.date
}

export function isDateOnly(v: string | null | undefined) {
  return typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v.trim())
}

export const sameDate = (a: Date | null, b: Date | null) => (a ? a.getTime() : null) === (b ? b.getTime() : null)

/** a date as history stores it (ISO in UTC) */
export const historyDate = (d: Date | null) => (d ? formatDate(d, 'UTC') : null)

/** a jCard: a JSON array whose first element is "vcard" (kept as the JSON text) */
export function contactText(v: string | unknown[] | null | undefined): string | null | undefined {
  if (v === undefined || v === null) return v
  let parsed: unknown = v
  if (typeof v === 'string') {
    try {
      parsed = JSON.parse(v)
    } catch {
      throw errors.invalidFormat('contact')
    }
  }
  if (!Array.isArray(parsed) || parsed[0] !== 'vcard') throw errors.invalidFormat('contact')
  const text = typeof v === 'string' ? v : JSON.stringify(v)
  if (text.length > 100_000) throw errors.tooLarge('contact', 100_000)
  return text
}

export function locationValue(v: Record<string, unknown> | null | undefined) {
  if (v === undefined || v === null) return v
  const text = JSON.stringify(v)
  if (text.length > 10_000) throw errors.tooLarge('location', 10_000)
  return v
}


/** the parent the input names: a ref, null for top level, undefined when it says nothing */
export function parentRefOf(input: ItemInput): ItemRef | null | undefined {
  const pid = input.parent ?? input.parent_id
  if (pid) return { id: pid }
  // a client may send parent=0 next to the parentGuid that names the parent
  if (input.parentGuid) return { guid: input.parentGuid }
  if (pid === 0 || input.parentGuid === null) return null
  return undefined
}

/** short names are unique per team, else per owner, case-insensitively */
export function shortNameKey(ownerId: number, businessId: number | null, short: string) {
  return businessId !== null ? `b:${businessId}:${short.toUpperCase()}` : `u:${ownerId}:${short.toUpperCase()}`
}

export type StoredInstance = { status: number; start_date: string; start_date_time: string | null }

/** occurrences as stored: each keyed by its day in the caller's zone */
export function storedInstances(list: NonNullable<ItemInput['instances']>, tz: string): StoredInstance[] {
  return list.map((x) => {
    let startDateTime: Date | null = null
    if (x.start_date_time) {
      const d = parseDate(x.start_date_time, tz)
      if (!d) throw errors.invalidFormat('instances.start_date_time')
      startDateTime = d.date
    }
    let day = x.start_date ?? null
    if (day !== null && !/^\d{4}-\d{2}-\d{2}$/.test(day)) {
      const d = parseDate(day, tz)
      if (!d) throw errors.invalidFormat('instances.start_date')
      day = formatDay(d.date, tz)
    }
    if (day === null && startDateTime) day = formatDay(startDateTime, tz)
    if (day === null) throw errors.mandatory('instances.start_date')
    return { status: x.status ?? 0, start_date: day, start_date_time: startDateTime ? startDateTime.toISOString() : null }
  })
}

export function isUniqueViolation(e: unknown, constraint: string) {
  const err = e as { code?: string; constraint?: string }
  return err.code === '23505' && (err.constraint ?? '').includes(constraint)
}

/**
 * The errors a create or update of the row answers for a broken constraint: a short name in
 * use (400/80), a parent deleted by a concurrent request after it was read (404/1).
 */
export function rowWriteError(e: unknown): unknown {
  if (isUniqueViolation(e, 'short_name_key')) return errors.shortNameUsed()
  const err = e as { code?: string; constraint?: string }
  if (err.code === '23503' && err.constraint === 'items_parent_id_fkey') return errors.notFound('Item')
  return e
}
