// The iCalendar text of the feed (RFC 5545), built with ical-generator: the calendar head,
// events (VEVENT with RRULE and VALARM), escaping, date formatting and line folding are the
// library's. ical-generator writes events only, so the to-do component (VTODO: DUE, COMPLETED,
// STATUS) is assembled here from its helpers (escape, formatDateTZ, foldLines) and its ICalAlarm.
// VTIMEZONE blocks come from timezones-ical-library (current tz data).
//
// Decisions (docs/calendar-and-export.md):
//  - category 2 (event) → VEVENT: DTSTART = start (else end, else due), DTEND = end when after it;
//    every other dated item → VTODO: DTSTART = start, DUE = due, else end (DTSTART is left out
//    when not before DUE; a recurring to-do without a start recurs from its DUE, given as DTSTART)
//  - timed values carry TZID = the owner's time_zone preference (UTC values when it is UTC or
//    unknown to the tz library); all-day items are DATE values in that zone, an all-day event's
//    DTEND the day after its last day
//  - RRULE: recurring 1–4 → DAILY, WEEKLY, MONTHLY, YEARLY; INTERVAL = recurring_interval;
//    UNTIL = the end of recurring_end_date's day (a DATE for all-day items, else UTC)
//  - VALARM (DISPLAY) for each of the owner's alerts, relative to the date Hitask counts from
//    (events: start; others: due, else end, else start), so it fires for every occurrence; a
//    specified time becomes its offset from that date. repeat/repeatInterval → REPEAT and
//    DURATION (minutes)
//  - every value is deterministic (DTSTAMP = time_last_update): the same data gives the same
//    bytes, so the ETag (a hash of the body) only changes when the feed does
import { ICalAlarm, ICalAlarmRelatesTo, ICalAlarmType, ICalCalendar, ICalCalendarMethod, ICalEvent, escape, foldLines, formatDateTZ, type ICalAlarmData } from 'ical-generator'
import { DateTime, IANAZone, Zone, type ZoneOffsetFormat, type ZoneOffsetOptions } from 'luxon'
import { tzlib_get_ical_block } from 'timezones-ical-library'
import type { ExportRow } from '../export/repository.js'
import type { AlarmRow } from './repository.js'
import { alertBaseDate, alertOffsetMs } from '../items/alerts.js'

/**
 * An IANA zone whose offsets come from a table of its transitions, built once per zone and
 * year (a day-by-day scan, then a binary search of each change to the minute: about 400 Intl
 * calls per zone-year, shared by every feed). luxon asks Intl for the offset of every date it
 * converts, which was most of the time of a 10,000-item feed. The zone equals the plain IANA
 * zone of the same name, so ical-generator's setZone(tzid) on a date in it converts nothing.
 */
class CachedZone extends Zone {
  private readonly inner: IANAZone
  /** year → transitions of that year (UTC): offsets[i] applies from starts[i] */
  private readonly years = new Map<number, { starts: number[]; offsets: number[] }>()
  constructor(name: string) {
    super()
    this.inner = IANAZone.create(name)
  }
  override get type() {
    return 'iana'
  }
  override get name() {
    return this.inner.name
  }
  override get isUniversal() {
    return false
  }
  override get isValid() {
    return this.inner.isValid
  }
  override offsetName(ts: number, opts: ZoneOffsetOptions) {
    return this.inner.offsetName(ts, opts)
  }
  override formatOffset(ts: number, format: ZoneOffsetFormat) {
    return this.inner.formatOffset(ts, format)
  }
  override offset(ts: number): number {
    if (!Number.isFinite(ts)) return this.inner.offset(ts)
    const year = new Date(ts).getUTCFullYear()
    let t = this.years.get(year)
    if (!t) {
      if (this.years.size > 400) this.years.clear()
      this.years.set(year, (t = this.transitions(year)))
    }
    let i = t.starts.length - 1
    while (i > 0 && t.starts[i]! > ts) i--
    return t.offsets[i]!
  }
  private transitions(year: number) {
    const DAY = 86_400_000
    const MIN = 60_000
    const from = Date.UTC(year, 0, 1)
    const to = Date.UTC(year + 1, 0, 1)
    const starts = [from]
    const offsets = [this.inner.offset(from)]
    let before = from
    for (let at = Math.min(from + DAY, to); ; at = Math.min(at + DAY, to)) {
      const o = this.inner.offset(at)
      if (o !== offsets[offsets.length - 1]) {
        // the first minute in (before, at] with the new offset (at most one change per day)
        let lo = before / MIN
        let hi = at / MIN
        while (hi - lo > 1) {
          const mid = Math.floor((lo + hi) / 2)
          if (this.inner.offset(mid * MIN) === o) hi = mid
          else lo = mid
        }
        starts.push(hi * MIN)
        offsets.push(o)
      }
      if (at >= to) break
      before = at
    }
    return { starts, offsets }
  }
  override equals(other: Zone): boolean {
    return other.type === 'iana' && other.name === this.name
  }
}

const zones = new Map<string, Zone>()
function zoneOf(tz: string): Zone {
  let z = zones.get(tz)
  if (!z) {
    if (zones.size > 1000) zones.clear()
    zones.set(tz, (z = new CachedZone(tz)))
  }
  return z
}

export type FeedContext = {
  /** the owner's zone (IANA), days of all-day items are taken in it */
  tz: string
  /** the same, with cached offsets */
  zone: Zone
  /** TZID of timed values; null: UTC values */
  tzid: string | null
  vtimezone: string | null
}

const vtimezones = new Map<string, { tzid: string; block: string } | null>()

/** the owner's zone as the feed writes it (VTIMEZONE from timezones-ical-library, cached per zone) */
export function feedContext(tz: string): FeedContext {
  if (tz === 'UTC' || tz === 'Etc/UTC') return { tz: 'UTC', zone: zoneOf('UTC'), tzid: null, vtimezone: null }
  let hit = vtimezones.get(tz)
  if (hit === undefined) {
    hit = null
    try {
      const r = tzlib_get_ical_block(tz) as unknown
      if (Array.isArray(r) && typeof r[0] === 'string' && typeof r[1] === 'string' && r[1].startsWith('TZID=')) {
        hit = { tzid: r[1].slice(5), block: r[0].replace(/\r?\n/g, '\r\n').trim() + '\r\n' }
      }
    } catch {
      hit = null
    }
    if (vtimezones.size > 1000) vtimezones.clear()
    vtimezones.set(tz, hit)
  }
  return hit ? { tz, zone: zoneOf(hit.tzid), tzid: hit.tzid, vtimezone: hit.block } : { tz, zone: zoneOf(tz), tzid: null, vtimezone: null }
}

/** BEGIN:VCALENDAR, the calendar's properties and its VTIMEZONE (everything before the items) */
export function calendarHead(ctx: FeedContext, o: { name: string; refreshSeconds: number }): string {
  const cal = new ICalCalendar({
    prodId: { company: 'hitask-server', product: 'calendar', language: 'EN' },
    name: o.name,
    scale: 'gregorian',
    method: ICalCalendarMethod.PUBLISH,
    ttl: o.refreshSeconds > 0 ? o.refreshSeconds : null,
  })
  if (ctx.tzid) cal.x('X-WR-TIMEZONE', ctx.tzid)
  const text = cal.toString()
  return text.slice(0, text.lastIndexOf('END:VCALENDAR')) + (ctx.vtimezone ?? '')
}

export const CALENDAR_END = 'END:VCALENDAR\r\n'

const FREQ: Record<number, string> = { 1: 'DAILY', 2: 'WEEKLY', 3: 'MONTHLY', 4: 'YEARLY' }

/** iCalendar PRIORITY (1 high … 9 low) from Hitask's (≥ 30000 high, 20000–29999 normal, below low) */
const icalPriority = (p: number) => (p >= 30000 ? 1 : p >= 20000 ? 5 : 9)

/** folds lines over 75 octets (ical-generator's foldLines, only where needed: it is per character) */
function fold(text: string): string {
  const lines = text.split('\r\n')
  for (let i = 0; i < lines.length; i++) if (lines[i]!.length > 37 && Buffer.byteLength(lines[i]!) > 75) lines[i] = foldLines(lines[i]!)
  return lines.join('\r\n')
}

function dayOf(d: Date, zone: Zone): DateTime {
  return DateTime.fromJSDate(d, { zone }).startOf('day')
}

function rrule(row: ExportRow, ctx: FeedContext, allDay: boolean): string | null {
  const freq = FREQ[row.recurring]
  if (!freq) return null
  let r = `FREQ=${freq}`
  if (row.recurring_interval > 1) r += `;INTERVAL=${row.recurring_interval}`
  if (row.recurring_end_date) {
    const end = DateTime.fromJSDate(row.recurring_end_date, { zone: ctx.zone })
    r += allDay ? `;UNTIL=${end.toFormat('yyyyLLdd')}` : `;UNTIL=${end.endOf('day').toUTC().toFormat("yyyyLLdd'T'HHmmss'Z'")}`
  }
  return r
}

/**
 * The owner's alerts as alarm data relative to the component's START or END: types 2–4 count
 * back from Hitask's base date; a specified time (type 1) becomes its offset from that date.
 */
function alarmsOf(alerts: AlarmRow[], base: Date | null, title: string): ICalAlarmData[] {
  if (!base) return []
  const out: ICalAlarmData[] = []
  for (const a of alerts) {
    let before: number
    if (a.time_type === 1) {
      if (!a.time_specified) continue
      before = Math.round((base.getTime() - a.time_specified.getTime()) / 1000)
    } else {
      const offset = alertOffsetMs(a)
      if (offset === null) continue
      before = Math.round(offset / 1000)
    }
    out.push({
      type: ICalAlarmType.display,
      trigger: before,
      description: title,
      ...(a.repeat && a.repeat > 0 && a.repeat_interval && a.repeat_interval > 0 ? { repeat: { times: a.repeat, interval: a.repeat_interval * 60 } } : {}),
    })
  }
  return out
}

function locationOf(row: ExportRow): { title: string; geo?: { lat: number; lon: number } } | null {
  const loc = row.location as { address?: unknown; latitude?: unknown; longitude?: unknown } | null
  if (!loc || typeof loc !== 'object' || typeof loc.address !== 'string' || !loc.address.trim()) return null
  const lat = Number(loc.latitude)
  const lon = Number(loc.longitude)
  return Number.isFinite(lat) && Number.isFinite(lon) && loc.latitude !== null && loc.longitude !== null ? { title: loc.address, geo: { lat, lon } } : { title: loc.address }
}

const uidOf = (row: ExportRow) => `${row.guid}@hitask`

/** a UTC DATE-TIME value: 20261201T100000Z */
const utc = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')

/** the item as a VEVENT (category 2) or VTODO (the others), folded, ending with CRLF; null without dates */
export function itemComponent(row: ExportRow, alerts: AlarmRow[], tags: string[], ctx: FeedContext, cal: ICalCalendar): string | null {
  return row.category === 2 ? eventOf(row, alerts, tags, ctx, cal) : todoOf(row, alerts, tags, ctx, cal)
}

function eventOf(row: ExportRow, alerts: AlarmRow[], tags: string[], ctx: FeedContext, cal: ICalCalendar): string | null {
  const first = row.start_date ?? row.end_date ?? row.due_date
  if (!first) return null
  const allDay = row.is_all_day
  let start: DateTime
  let end: DateTime | null = null
  if (allDay) {
    start = dayOf(first, ctx.zone)
    const last = row.end_date && row.end_date > first ? dayOf(row.end_date, ctx.zone) : start
    end = (last < start ? start : last).plus({ days: 1 })
  } else {
    start = DateTime.fromJSDate(first, { zone: ctx.zone })
    if (row.end_date && row.end_date > first) end = DateTime.fromJSDate(row.end_date, { zone: ctx.zone })
  }
  const ev = new ICalEvent(
    {
      id: uidOf(row),
      sequence: row.version,
      stamp: row.time_last_update,
      lastModified: row.time_last_update,
      summary: row.title,
      description: row.message || null,
      allDay,
      timezone: allDay ? null : ctx.tzid,
      start,
      end,
      repeating: rrule(row, ctx, allDay),
      categories: tags.map((name) => ({ name })),
      priority: icalPriority(row.priority),
    },
    cal,
  )
  // the constructor does not take relatesTo; an explicit START keeps a trigger after the start relative to it
  for (const d of alarmsOf(alerts, row.start_date, row.title)) ev.createAlarm(d).relatesTo(ICalAlarmRelatesTo.start)
  const loc = locationOf(row)
  if (loc) {
    try {
      ev.location(loc)
    } catch {}
  }
  return fold(ev.toString())
}

function todoOf(row: ExportRow, alerts: AlarmRow[], tags: string[], ctx: FeedContext, cal: ICalCalendar): string | null {
  const allDay = row.is_all_day
  const dueAt = row.due_date ?? row.end_date
  let startAt = row.start_date
  if (!startAt && !dueAt) return null
  const value = (d: Date): DateTime => (allDay ? dayOf(d, ctx.zone) : DateTime.fromJSDate(d, { zone: ctx.zone }))
  let due: DateTime | null = dueAt ? value(dueAt) : null
  let start: DateTime | null = startAt ? value(startAt) : null
  // DUE must be later than DTSTART (RFC 5545 3.8.2.3)
  if (start && due && start >= due) {
    start = null
    startAt = null
  }
  const repeating = rrule(row, ctx, allDay)
  // RRULE needs a DTSTART: a recurring to-do without a start recurs from its due date
  let anchorStartIsDue = false
  if (repeating && !start && due) {
    start = due
    startAt = dueAt
    due = null
    anchorStartIsDue = true
  }
  const prop = (name: string, d: DateTime) =>
    allDay ? `${name};VALUE=DATE:${d.toFormat('yyyyLLdd')}` : formatDateTZ(ctx.tzid, name, d as unknown as Parameters<typeof formatDateTZ>[2], ctx.tzid ? { timezone: ctx.tzid } : {})
  const lines = ['BEGIN:VTODO', `UID:${uidOf(row)}`, `SEQUENCE:${row.version}`, `DTSTAMP:${utc(row.time_last_update)}`]
  if (start) lines.push(prop('DTSTART', start))
  if (due) lines.push(prop('DUE', due))
  if (repeating) lines.push(`RRULE:${repeating}`)
  lines.push(`SUMMARY:${escape(row.title, false)}`)
  if (row.message) lines.push(`DESCRIPTION:${escape(row.message, false)}`)
  const loc = locationOf(row)
  if (loc) {
    lines.push(`LOCATION:${escape(loc.title, false)}`)
    if (loc.geo) lines.push(`GEO:${loc.geo.lat};${loc.geo.lon}`)
  }
  if (tags.length) lines.push(`CATEGORIES:${tags.map((t) => escape(t, false)).join(',')}`)
  lines.push(`PRIORITY:${icalPriority(row.priority)}`)
  lines.push(`STATUS:${row.completed ? 'COMPLETED' : 'NEEDS-ACTION'}`)
  if (row.completed) lines.push(`COMPLETED:${utc(row.last_transition_time ?? row.time_last_update)}`)
  lines.push(`LAST-MODIFIED:${utc(row.time_last_update)}`)
  let text = lines.join('\r\n') + '\r\n'
  // alarms: relative to DUE when there is one (Hitask counts from due, else end), else to DTSTART
  const base = alertBaseDate(row)
  const relatesTo = due ? ICalAlarmRelatesTo.end : ICalAlarmRelatesTo.start
  const data = alarmsOf(alerts, anchorStartIsDue ? startAt : base, row.title)
  if (data.length) {
    // an ICalAlarm belongs to an event (it reads the zone and title from it): one of the same title and zone
    const owner = new ICalEvent({ start: start ?? due!, summary: row.title, timezone: ctx.tzid }, cal)
    for (const d of data) text += new ICalAlarm(d, owner).relatesTo(relatesTo).toString()
  }
  return fold(text + 'END:VTODO\r\n')
}
