// The calendar feed (contract §11, docs/calendar-and-export.md): the address, reset, and the
// feed parsed back by a standard iCalendar parser (node-ical): every dated visible item with the
// right times, recurrence and alarms in the owner's zone; ETag / 304 without reading items.
import ical from 'node-ical'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, errorOf, type TestApp } from './helpers/app.js'
import { itemsApi, type U } from './items-helpers.js'

let t: TestApp
let api: ReturnType<typeof itemsApi>
let owner: U
let other: U
const made: Record<string, any> = {}

beforeAll(async () => {
  t = await createTestApp({ smtp: false })
  api = itemsApi(t)
  ;[owner, other] = await Promise.all([t.signup(), t.signup()])
  const pref = await t.call('POST', '/api/user/preferences', { session: owner.session, form: { time_zone: 'Europe/Berlin' } })
  expect(pref.statusCode).toBe(200)
  // dates without an offset are read in the caller's zone (Europe/Berlin)
  made.meeting = await api.create(owner, {
    title: 'Meeting; with, commas\nand a second line',
    message: 'Agenda: ' + 'ü'.repeat(100),
    category: 2,
    start_date: '2027-03-26T09:00',
    end_date: '2027-03-26T10:30',
    recurring: 1,
    recurring_interval: 1,
    recurring_end_date: '2027-03-30',
    alerts: [{ timeType: 4, time: 15 }],
    tags: ['work', 'team'],
    location: { address: 'Alexanderplatz 1, Berlin', latitude: 52.52, longitude: 13.41 },
  })
  made.holiday = await api.create(owner, { title: 'Holiday', category: 2, start_date: '2026-12-24', end_date: '2026-12-26', is_all_day: true })
  made.biweekly = await api.create(owner, { title: 'Review', category: 2, start_date: '2026-12-01T14:00', end_date: '2026-12-01T15:00', recurring: 2, recurring_interval: 2 })
  made.task = await api.create(owner, { title: 'Send report', category: 1, due_date: '2026-12-05T17:00', alerts: [{ timeType: 3, time: 1 }, { timeType: 1, timeSpecified: '2026-12-05T08:00' }] })
  made.done = await api.create(owner, { title: 'Done thing', category: 1, start_date: '2026-11-01T10:00', due_date: '2026-11-02T10:00' })
  expect((await api.put(owner, made.done.id, { completed: true })).statusCode).toBe(200)
  made.allDayTask = await api.create(owner, { title: 'All-day task', category: 1, due_date: '2026-12-10', is_all_day: true })
  made.monthly = await api.create(owner, { title: 'Pay rent', category: 1, start_date: '2026-12-01T08:00', recurring: 3, recurring_interval: 1, priority: 30000 })
  made.undated = await api.create(owner, { title: 'No date', category: 1 })
  made.archived = await api.create(owner, { title: 'Archived event', category: 2, start_date: '2026-12-02T10:00' })
  expect((await t.call('POST', '/api/item/archive', { session: owner.session, form: { id: made.archived.id } })).statusCode).toBe(200)
  made.sharedIn = await api.create(other, { title: 'Shared with owner', category: 2, start_date: '2026-12-03T12:00', permissions: [{ principal: owner.id, level: 10 }] })
  made.notShared = await api.create(other, { title: 'Not for owner', category: 2, start_date: '2026-12-03T12:00' })
})
afterAll(async () => t?.close())

async function feedUrl(u: U): Promise<string> {
  const r = await t.call('GET', '/api/user/calendar', { session: u.session })
  expect(r.statusCode).toBe(200)
  return r.json().url
}
const pathOf = (url: string) => new URL(url).pathname
const byTitle = (cal: ical.CalendarResponse, title: string) =>
  Object.values(cal).find((c: any) => c && (c.type === 'VEVENT' || c.type === 'VTODO') && String(c.summary?.val ?? c.summary) === title) as any
const ymd = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`

describe('the address', () => {
  it('GET /user/calendar gives the same unguessable address each time; the feed needs no session', async () => {
    const a = await feedUrl(owner)
    const b = await feedUrl(owner)
    expect(a).toBe(b)
    expect(a).toMatch(/^http:\/\/hitask\.test\/api\/calendar\/[A-Za-z0-9_-]{43}\.ics$/)
    expect(await feedUrl(other)).not.toBe(a)
    const r = await t.call('GET', pathOf(a))
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toBe('text/calendar; charset=utf-8')
    expect(r.headers['cache-control']).toMatch(/^private, max-age=\d+$/)
    // only the hash of the token is stored
    const token = pathOf(a).split('/').pop()!.replace('.ics', '')
    const rows = await t.db.query('SELECT * FROM calendar_feeds WHERE user_id = $1', [owner.id])
    expect(JSON.stringify(rows.rows)).not.toContain(token)
  })

  it('reset: a new address; the old one answers 404 at once', async () => {
    const u = await t.signup()
    await api.create(u, { title: 'x', category: 2, start_date: '2026-12-01T10:00' })
    const old = await feedUrl(u)
    expect((await t.call('GET', pathOf(old))).statusCode).toBe(200)
    const r = await t.call('POST', '/api/user/calendar/reset', { session: u.session })
    expect(r.statusCode).toBe(200)
    const fresh = r.json().url as string
    expect(fresh).not.toBe(old)
    expect(errorOf(await t.call('GET', pathOf(old)))).toEqual({ status: 404, code: 1 })
    expect((await t.call('GET', pathOf(fresh))).statusCode).toBe(200)
    expect(await feedUrl(u)).toBe(fresh)
  })

  it('an unknown or malformed address → 404/1; the address calls need a session', async () => {
    expect(errorOf(await t.call('GET', '/api/calendar/' + 'A'.repeat(43) + '.ics'))).toEqual({ status: 404, code: 1 })
    expect(errorOf(await t.call('GET', '/api/calendar/nothing'))).toEqual({ status: 404, code: 1 })
    expect(errorOf(await t.call('GET', '/api/user/calendar'))).toEqual({ status: 401, code: 7 })
    expect(errorOf(await t.call('POST', '/api/user/calendar/reset'))).toEqual({ status: 401, code: 7 })
  })
})

describe('the feed, parsed back by node-ical', () => {
  let cal: ical.CalendarResponse
  let text: string
  beforeAll(async () => {
    const r = await t.call('GET', pathOf(await feedUrl(owner)))
    expect(r.statusCode).toBe(200)
    text = r.body
    cal = ical.sync.parseICS(text)
  })

  it('is RFC 5545 text: CRLF lines of at most 75 octets, a VTIMEZONE for the owner zone', () => {
    expect(text.startsWith('BEGIN:VCALENDAR\r\nVERSION:2.0\r\n')).toBe(true)
    expect(text.endsWith('END:VCALENDAR\r\n')).toBe(true)
    for (const line of text.split('\r\n')) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(75)
    expect(text).not.toMatch(/[^\r]\n/)
    expect(text).toContain('BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin')
    expect(text).toContain('X-WR-TIMEZONE:Europe/Berlin')
  })

  it('has every dated visible item and nothing else', () => {
    const titles = Object.values(cal)
      .filter((c: any) => c && (c.type === 'VEVENT' || c.type === 'VTODO'))
      .map((c: any) => String(c.summary?.val ?? c.summary))
      .sort()
    expect(titles).toEqual(['All-day task', 'Done thing', 'Holiday', 'Meeting; with, commas\nand a second line', 'Pay rent', 'Review', 'Send report', 'Shared with owner'].sort())
  })

  it('an event: times in the owner zone, the daily rule across the DST change, the alarm, tags, location', () => {
    const ev = byTitle(cal, 'Meeting; with, commas\nand a second line')
    expect(ev.type).toBe('VEVENT')
    expect(ev.uid).toBe(`${made.meeting.guid}@hitask`)
    expect(ev.start.tz).toBe('Europe/Berlin')
    expect(ev.start.toISOString()).toBe('2027-03-26T08:00:00.000Z') // 09:00 CET
    expect(ev.end.toISOString()).toBe('2027-03-26T09:30:00.000Z')
    expect(String(ev.description?.val ?? ev.description)).toBe('Agenda: ' + 'ü'.repeat(100))
    expect(ev.categories.sort()).toEqual(['team', 'work'])
    expect(String(ev.location?.val ?? ev.location)).toBe('Alexanderplatz 1, Berlin')
    const occurrences = ical.expandRecurringEvent(ev, { from: new Date('2027-03-01T00:00:00Z'), to: new Date('2027-04-30T00:00:00Z') })
    // 09:00 Berlin every day until the 30th: 08:00Z before the change to summer time (28 March), 07:00Z after
    expect(occurrences.map((o) => o.start.toISOString())).toEqual([
      '2027-03-26T08:00:00.000Z',
      '2027-03-27T08:00:00.000Z',
      '2027-03-28T07:00:00.000Z',
      '2027-03-29T07:00:00.000Z',
      '2027-03-30T07:00:00.000Z',
    ])
    expect(ev.alarms).toHaveLength(1)
    expect(ev.alarms[0]).toMatchObject({ type: 'VALARM', action: 'DISPLAY' })
    expect(String(ev.alarms[0].trigger?.val ?? ev.alarms[0].trigger)).toBe('-PT15M')
  })

  it('an every-other-week event and an all-day event (DATE values, the end exclusive)', () => {
    const rv = byTitle(cal, 'Review')
    const occ = ical.expandRecurringEvent(rv, { from: new Date('2026-12-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z') })
    expect(occ.map((o) => o.start.toISOString())).toEqual(['2026-12-01T13:00:00.000Z', '2026-12-15T13:00:00.000Z', '2026-12-29T13:00:00.000Z'])
    const h = byTitle(cal, 'Holiday')
    expect(h.datetype).toBe('date')
    expect(ymd(h.start)).toBe('2026-12-24')
    expect(ymd(h.end)).toBe('2026-12-27')
  })

  it('tasks as VTODO with DUE, STATUS, COMPLETED, alarms relative to the due date, RRULE', () => {
    const task = byTitle(cal, 'Send report')
    expect(task.type).toBe('VTODO')
    expect(task.due.toISOString()).toBe('2026-12-05T16:00:00.000Z')
    expect(task.status).toBe('NEEDS-ACTION')
    expect(task.completed).toBeUndefined()
    const triggers = task.alarms.map((a: any) => String(a.trigger?.val ?? a.trigger))
    // one hour before the due time; the specified 08:00 is 9 hours before it
    expect(triggers).toEqual(['-PT1H', '-PT9H'])
    expect(text).toMatch(/BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER;RELATED=END:-PT1H\r\n/)

    const done = byTitle(cal, 'Done thing')
    expect(done.status).toBe('COMPLETED')
    expect(done.completed).toBeInstanceOf(Date)
    expect(done.start.toISOString()).toBe('2026-11-01T09:00:00.000Z')
    expect(done.due.toISOString()).toBe('2026-11-02T09:00:00.000Z')

    const allDay = byTitle(cal, 'All-day task')
    expect(ymd(allDay.due)).toBe('2026-12-10')
    expect(text).toContain('DUE;VALUE=DATE:20261210')

    const rent = byTitle(cal, 'Pay rent')
    expect(rent.type).toBe('VTODO')
    expect(rent.rrule.toString()).toContain('FREQ=MONTHLY')
    expect(rent.start.toISOString()).toBe('2026-12-01T07:00:00.000Z')
    expect(text).toMatch(/PRIORITY:1\r\n/)
  })

  it('an item shared with the owner by someone else is in it', () => {
    const ev = byTitle(cal, 'Shared with owner')
    // the other user wrote it in UTC (their zone); the feed shows it in the owner's
    expect(ev.start.toISOString()).toBe('2026-12-03T12:00:00.000Z')
    expect(ev.start.tz).toBe('Europe/Berlin')
  })
})

describe('time zones', () => {
  it('a UTC owner gets UTC times and no VTIMEZONE; a zone alias gets its canonical TZID', async () => {
    const u = await t.signup()
    await api.create(u, { title: 'utc', category: 2, start_date: '2026-12-01T10:00:00Z' })
    const r = await t.call('GET', pathOf(await feedUrl(u)))
    expect(r.body).toContain('DTSTART:20261201T100000Z')
    expect(r.body).not.toContain('VTIMEZONE')
    await t.call('POST', '/api/user/preferences', { session: u.session, form: { time_zone: 'US/Eastern' } })
    const r2 = await t.call('GET', pathOf(await feedUrl(u)))
    expect(r2.body).toContain('DTSTART;TZID=America/New_York:20261201T050000')
    expect(ical.sync.parseICS(r2.body) && (byTitle(ical.sync.parseICS(r2.body), 'utc') as any).start.toISOString()).toBe('2026-12-01T10:00:00.000Z')
  })
})

describe('ETag and 304', () => {
  it('If-None-Match → 304 without a query; a change for the owner → 200 with a new ETag; a change elsewhere → still 304', async () => {
    const u = await t.signup()
    const x = await api.create(u, { title: 'etag', category: 2, start_date: '2026-12-01T10:00' })
    const path = pathOf(await feedUrl(u))
    const first = await t.call('GET', path)
    const etag = first.headers.etag as string
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/)
    // the same body again: the same ETag
    expect((await t.call('GET', path)).headers.etag).toBe(etag)
    const seen: string[] = []
    const stop = t.db.observe((q) => seen.push(q))
    const again = await t.call('GET', path, { headers: { 'if-none-match': etag } })
    stop()
    expect(again.statusCode).toBe(304)
    expect(again.body).toBe('')
    expect(again.headers.etag).toBe(etag)
    expect(seen).toHaveLength(0) // nothing read: the instance heard of no change for the owner
    // someone else's change: still 304 without reading items
    await api.create(other, { title: 'elsewhere', category: 2, start_date: '2026-12-01T10:00' })
    await new Promise((r) => setTimeout(r, 100))
    seen.length = 0
    const stop2 = t.db.observe((q) => seen.push(q))
    expect((await t.call('GET', path, { headers: { 'if-none-match': etag } })).statusCode).toBe(304)
    stop2()
    expect(seen).toHaveLength(0)
    // the owner's item changes: a new body
    expect((await api.put(u, x.id, { title: 'etag 2' })).statusCode).toBe(200)
    await new Promise((r) => setTimeout(r, 100))
    const changed = await t.call('GET', path, { headers: { 'if-none-match': etag } })
    expect(changed.statusCode).toBe(200)
    expect(changed.headers.etag).not.toBe(etag)
    expect(changed.body).toContain('SUMMARY:etag 2')
    // a changed alert (the owner's own state) is a change too
    const etag2 = changed.headers.etag as string
    expect((await api.put(u, x.id, { alerts: [{ timeType: 4, time: 5 }] })).statusCode).toBe(200)
    await new Promise((r) => setTimeout(r, 100))
    const withAlarm = await t.call('GET', path, { headers: { 'if-none-match': etag2 } })
    expect(withAlarm.statusCode).toBe(200)
    expect(withAlarm.body).toContain('TRIGGER;RELATED=START:-PT5M')
  })

  it('a reset or a new time zone is not answered from what the instance remembers', async () => {
    const u = await t.signup()
    await api.create(u, { title: 'zone', category: 2, start_date: '2026-12-01T10:00:00Z' })
    const path = pathOf(await feedUrl(u))
    const etag = (await t.call('GET', path)).headers.etag as string
    expect((await t.call('GET', path, { headers: { 'if-none-match': etag } })).statusCode).toBe(304)
    // the owner's zone changes: the times are written in it
    expect((await t.call('POST', '/api/user/preferences', { session: u.session, form: { time_zone: 'Asia/Tokyo' } })).statusCode).toBe(200)
    await new Promise((r) => setTimeout(r, 100))
    const tokyo = await t.call('GET', path, { headers: { 'if-none-match': etag } })
    expect(tokyo.statusCode).toBe(200)
    expect(tokyo.body).toContain('DTSTART;TZID=Asia/Tokyo:20261201T190000')
    const etag2 = tokyo.headers.etag as string
    expect((await t.call('GET', path, { headers: { 'if-none-match': etag2 } })).statusCode).toBe(304)
    // a reset: the old address is gone even for a client holding its current ETag
    expect((await t.call('POST', '/api/user/calendar/reset', { session: u.session })).statusCode).toBe(200)
    await new Promise((r) => setTimeout(r, 100))
    expect(errorOf(await t.call('GET', path, { headers: { 'if-none-match': etag2 } }))).toEqual({ status: 404, code: 1 })
  })

  it('a render that finds the same body answers 304 too (another instance, or after a restart)', async () => {
    const u = await t.signup()
    await api.create(u, { title: 'same', category: 2, start_date: '2026-12-01T10:00' })
    const path = pathOf(await feedUrl(u))
    const etag = (await t.call('GET', path)).headers.etag as string
    const second = await createTestApp({ smtp: false, databaseUrl: t.db.url, env: { URL_SIGNING_SECRET: t.deps.urlSecret } })
    try {
      const r = await second.call('GET', path, { headers: { 'if-none-match': etag } })
      expect(r.statusCode).toBe(304)
    } finally {
      await second.close()
    }
  })
})
