// The daily summary (contract §12): at DAILY_SUMMARY_HOUR in the user's time zone, on the
// weekdays chosen, the user's open items due or starting that day and those overdue; nothing
// when the list is empty. Users are put in a zone where that hour is now.
import { DateTime } from 'luxon'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestApp } from './helpers/app.js'
import { confirmEmail, createNotifyApp, mailsTo, parse, rawHeader, setPrefs, sleep, until } from './helpers/notify.js'

const HOUR = 7
let t: TestApp
beforeAll(async () => {
  t = await createNotifyApp({ env: { DAILY_SUMMARY_HOUR: String(HOUR) } })
})
afterAll(async () => {
  await t?.close()
})

/** a fixed-offset zone whose local hour is `hour` now (Etc/GMT-X is UTC+X) */
function zoneAtHour(hour: number): string {
  let offset = (hour - new Date().getUTCHours() + 24) % 24
  if (offset > 14) offset -= 24
  return offset >= 0 ? `Etc/GMT-${offset}` : `Etc/GMT+${-offset}`
}

async function scan() {
  await t.app.notifications!.jobs!.send(t.db, 'summary.scan', {})
}

const summaries = (to: string) => mailsTo(t, to).filter((m) => m.subject.startsWith('Your Hitask summary'))

describe('daily summary', () => {
  it('lists open items due or starting today and overdue ones, at the hour in the user\'s zone; once per day; nothing when empty', async () => {
    // not across an hour boundary
    if (new Date().getUTCMinutes() === 59) await sleep(61_000 - new Date().getUTCSeconds() * 1000)
    const zone = zoneAtHour(HOUR)
    const other = zoneAtHour(HOUR + 3)
    const now = DateTime.now().setZone(zone)
    const today = now.startOf('day')
    const mk = async (u: { session: string }, body: Record<string, unknown>) => {
      const r = await t.call('POST', '/api/item', { session: u.session, body })
      expect(r.statusCode, r.body).toBe(200)
      return r.json()
    }
    const a = await t.signup()
    const empty = await t.signup()
    const dayOff = await t.signup()
    const elsewhere = await t.signup()
    for (const u of [a, empty, dayOff, elsewhere]) await confirmEmail(t, u.id)
    for (const u of [a, empty, dayOff]) await setPrefs(t, u.session, { time_zone: zone })
    await setPrefs(t, elsewhere.session, { time_zone: other })
    await setPrefs(t, dayOff.session, { [`daily_summary_email_${now.weekday}`]: 'false' })

    const dueToday = await mk(a, { title: 'Due today <b>', due_date: today.plus({ hours: 17 }).toISO() })
    await mk(a, { title: 'Starts today', category: 2, start_date: today.plus({ hours: 20 }).toISO(), end_date: today.plus({ hours: 21 }).toISO() })
    await mk(a, { title: 'Overdue', due_date: today.minus({ days: 2 }).toISO() })
    await mk(a, { title: 'Next week', due_date: today.plus({ days: 7 }).toISO() })
    await mk(a, { title: 'Done already', due_date: today.minus({ days: 1 }).toISO(), completed: true })
    // someone else's task is not "mine" unless assigned to me
    const boss = await t.signup()
    await mk(boss, { title: 'Boss task due today', due_date: today.plus({ hours: 12 }).toISO() })
    await mk(boss, { title: 'Assigned to a, overdue', due_date: today.minus({ hours: 1 }).toISO(), assignee: a.id })
    await mk(dayOff, { title: 'Day off item', due_date: today.plus({ hours: 12 }).toISO() })
    await mk(elsewhere, { title: 'Elsewhere item', due_date: today.plus({ hours: 12 }).toISO() })

    await scan()
    const mail = await until('the summary', () => summaries(a.email)[0], 20_000)
    const parsed = await parse(mail)
    expect(parsed.subject).toMatch(/^Your Hitask summary for \w+ \d+ \w+: 2 today, 2 overdue$/)
    expect(parsed.text).toContain('Today: "Due today <b>"')
    expect(parsed.text).toContain('Today: "Starts today"')
    expect(parsed.text).toContain('Overdue: "Overdue"')
    expect(parsed.text).toContain('Overdue: "Assigned to a, overdue"')
    expect(parsed.text).not.toContain('Next week')
    expect(parsed.text).not.toContain('Done already')
    expect(parsed.text).not.toContain('Boss task')
    expect(parsed.html).toContain('Due today &lt;b&gt;')
    expect(parsed.text).toContain(`http://hitask.test/#item/${dueToday.id}`)
    // a second scan in the same hour sends nothing more; the others got nothing
    await scan()
    await sleep(2500)
    expect(summaries(a.email).length).toBe(1)
    expect(summaries(empty.email)).toEqual([])
    expect(summaries(dayOff.email)).toEqual([])
    expect(summaries(elsewhere.email)).toEqual([])
    // the unsubscribe link turns off every weekday's summary
    const url = new URL(rawHeader(parsed, 'list-unsubscribe')!.slice(1, -1))
    expect((await t.call('POST', url.pathname + url.search, { form: { 'List-Unsubscribe': 'One-Click' } })).statusCode).toBe(200)
    const prefs = (await t.call('GET', '/api/user/preferences', { session: a.session })).json()
    for (let d = 1; d <= 7; d++) expect(prefs[`daily_summary_email_${d}`]).toBe('false')

    // the cron is registered
    const schedules = await t.db.query(`SELECT name, cron FROM pgboss.schedule WHERE name = 'summary.scan'`)
    expect(schedules.rows).toEqual([{ name: 'summary.scan', cron: '*/15 * * * *' }])
  })
})
