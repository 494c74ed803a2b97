// Reminders (contract §12, §8.5): each alert fires once within 60 s of its notificationTime;
// changes move or cancel it; missed while down → sent at start when under 24 h late, else
// dropped and logged. (Two server processes and a restart: notifications-exactly-once.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestApp } from './helpers/app.js'
import { createNotifyApp, drain, mailsTo, parse, rawHeader, setPrefs, sleep, until } from './helpers/notify.js'

let t: TestApp
beforeAll(async () => {
  t = await createNotifyApp()
})
afterAll(async () => {
  await t?.close()
})

const iso = (ms: number) => new Date(ms).toISOString()

async function user(app = t) {
  const u = await app.signup()
  await app.db.query('UPDATE users SET email_confirmed = email WHERE id = $1', [u.id])
  return u
}

async function item(session: string, body: Record<string, unknown>, app = t) {
  const r = await app.call('POST', '/api/item', { session, body })
  expect(r.statusCode, r.body).toBe(200)
  return r.json()
}

const reminders = (to: string, app = t) => mailsTo(app, to).filter((m) => m.subject.startsWith('Reminder:'))
const waitReminder = (to: string, app = t, ms = 20_000) => until(`a reminder to ${to}`, () => reminders(to, app)[0], ms)

describe('reminders', () => {
  it('an alert fires once, within 60 s of its notificationTime (never before), by email with a link and an unsubscribe', async () => {
    const u = await user()
    const at = Date.now() + 3000
    const x = await item(u.session, { title: 'Call the bank', alerts: [{ timeType: 1, timeSpecified: iso(at), email: true }] })
    expect(x.alerts[0].notificationTime).toBe(iso(at).replace('Z', '+00:00'))
    const mail = await waitReminder(u.email)
    const arrived = Date.now()
    expect(arrived).toBeGreaterThanOrEqual(at)
    expect(arrived - at).toBeLessThan(60_000)
    const parsed = await parse(mail)
    expect(parsed.subject).toBe('Reminder: Call the bank')
    expect(parsed.text).toContain(`http://hitask.test/#item/${x.id}`)
    expect(rawHeader(parsed, 'list-unsubscribe')).toMatch(/^<http:\/\/hitask\.test\/api\/unsubscribe\?token=/)
    await sleep(2000)
    expect(reminders(u.email).length).toBe(1)
    expect((await t.db.query('SELECT count(*)::int AS n FROM reminder_schedule WHERE item_id = $1', [x.id])).rows[0].n).toBe(0)
  })

  it('moving the alert moves the reminder; deleting, completing or archiving the item cancels it', async () => {
    const u = await user()
    const start = Date.now()
    const moved = await item(u.session, { title: 'Moved', alerts: [{ timeType: 1, timeSpecified: iso(start + 3000), email: true }] })
    const deleted = await item(u.session, { title: 'Deleted', alerts: [{ timeType: 1, timeSpecified: iso(start + 3000), email: true }] })
    const completed = await item(u.session, { title: 'Completed', alerts: [{ timeType: 1, timeSpecified: iso(start + 3000), email: true }] })
    const archived = await item(u.session, { title: 'Archived', alerts: [{ timeType: 1, timeSpecified: iso(start + 3000), email: true }] })
    const byDate = await item(u.session, { title: 'Due moved', due_date: iso(start + 3000 + 3_600_000), alerts: [{ timeType: 3, time: 1, email: true }] })
    await drain(t)
    // the same alert (its id) at a later time; the item's due date later by a minute
    let r = await t.call('PUT', `/api/item/${moved.id}`, { session: u.session, body: { alerts: [{ id: moved.alerts[0].id, timeType: 1, timeSpecified: iso(start + 7000), email: true }] } })
    expect(r.statusCode).toBe(200)
    r = await t.call('PUT', `/api/item/${byDate.id}`, { session: u.session, body: { due_date: iso(start + 7000 + 3_600_000) } })
    expect(r.json().alerts[0].notificationTime).toBe(iso(start + 7000).replace('Z', '+00:00'))
    expect((await t.call('DELETE', `/api/item/${deleted.id}`, { session: u.session })).statusCode).toBe(200)
    expect((await t.call('PUT', `/api/item/${completed.id}`, { session: u.session, body: { completed: true } })).statusCode).toBe(200)
    expect((await t.call('POST', '/api/item/archive', { session: u.session, form: { id: archived.id } })).statusCode).toBe(200)
    await drain(t)
    await sleep(Math.max(0, start + 5500 - Date.now()))
    expect(reminders(u.email).map((m) => m.subject)).toEqual([])
    await until('both moved reminders', () => reminders(u.email).length >= 2, 15_000)
    expect(Date.now()).toBeGreaterThanOrEqual(start + 7000)
    expect(reminders(u.email).map((m) => m.subject).sort()).toEqual(['Reminder: Due moved', 'Reminder: Moved'])
    await sleep(1500)
    expect(reminders(u.email).length).toBe(2)
  })

  it('a relative alert counts back from the due date; a recurring item fires per occurrence and schedules the next', async () => {
    const u = await user()
    const due = Date.now() + 86_400_000 + 3000
    const x = await item(u.session, { title: 'Daily standup', due_date: iso(due), recurring: 1, recurring_interval: 1, alerts: [{ timeType: 2, time: 1, email: true }] })
    expect(x.alerts[0].notificationTime).toBe(iso(due - 86_400_000).replace('Z', '+00:00'))
    await waitReminder(u.email)
    // the next occurrence is scheduled one day later
    const row = await until('the next occurrence', async () => {
      const r = await t.db.query<{ fire_at: Date; occurrence: string }>('SELECT fire_at, occurrence FROM reminder_schedule WHERE item_id = $1', [x.id])
      return r.rows[0] && r.rows[0].fire_at.getTime() === due ? r.rows[0] : null
    })
    expect(row.occurrence).toBe(new Date(due + 86_400_000).toISOString().slice(0, 10))
    // completing that occurrence (instance) skips it: the one after is scheduled
    const r = await t.call('PUT', `/api/item/${x.id}`, { session: u.session, body: { completed: true, instance_date_time: iso(due + 86_400_000) } })
    expect(r.statusCode, r.body).toBe(200)
    await drain(t)
    const next = (await t.db.query<{ fire_at: Date; occurrence: string }>('SELECT fire_at, occurrence FROM reminder_schedule WHERE item_id = $1', [x.id])).rows[0]!
    expect(next.fire_at.getTime()).toBe(due + 86_400_000)
    expect(next.occurrence).toBe(new Date(due + 2 * 86_400_000).toISOString().slice(0, 10))
  })

  it('notify_email_item_reminder off → no reminder email', async () => {
    const u = await user()
    await setPrefs(t, u.session, { notify_email_item_reminder: 'false' })
    await item(u.session, { title: 'Silent', alerts: [{ timeType: 1, timeSpecified: iso(Date.now() + 1500), email: true }] })
    await sleep(5000)
    expect(reminders(u.email)).toEqual([])
  })

  it('an alert without email or push, or without a date to count from, schedules nothing', async () => {
    const u = await user()
    const a = await item(u.session, { title: 'Sound only', alerts: [{ timeType: 1, timeSpecified: iso(Date.now() + 60_000), sound: true, email: false, push: false }] })
    const b = await item(u.session, { title: 'No date', alerts: [{ timeType: 4, time: 5, email: true }] })
    await drain(t)
    expect((await t.db.query('SELECT count(*)::int AS n FROM reminder_schedule WHERE item_id = ANY($1::bigint[])', [[a.id, b.id]])).rows[0].n).toBe(0)
  })
})

describe('reminders missed while no server ran', () => {
  it('sent at start when less than 24 h late; more than 24 h late: dropped and logged', async () => {
    const database = await createTestDatabase()
    try {
      const first = await createNotifyApp({ databaseUrl: database.url })
      const u = await user(first)
      // far enough ahead that the first server never fires them, however slowly it stops
      const ahead = Date.now() + 600_000
      const late = await item(u.session, { title: 'Slightly late', alerts: [{ timeType: 1, timeSpecified: iso(ahead), email: true }] }, first)
      const stale = await item(u.session, { title: 'Far too late', alerts: [{ timeType: 1, timeSpecified: iso(ahead), email: true }] }, first)
      const lost = await item(u.session, { title: 'Lost job', alerts: [{ timeType: 1, timeSpecified: iso(ahead), email: true }] }, first)
      await first.app.notifications!.drain()
      expect((await first.db.query('SELECT count(*)::int AS n FROM reminder_schedule')).rows[0].n).toBe(3)
      await first.close()

      // while no server runs: time passes (simulated): one reminder fell due 2 s ago, the other 25 h ago
      const admin = new (await import('pg')).default.Client({ connectionString: database.url })
      await admin.connect()
      await admin.query('BEGIN')
      await admin.query('SET LOCAL session_replication_role = replica') // no triggers: as if it had been so all along
      const dayAgo = Date.now() - 25 * 3_600_000
      for (const [x, at] of [[late, Date.now() - 2000], [stale, dayAgo], [lost, dayAgo]] as const) {
        await admin.query('UPDATE item_alerts SET time_specified = $2 WHERE item_id = $1', [x.id, new Date(at)])
        await admin.query('UPDATE reminder_schedule SET fire_at = $2 WHERE item_id = $1', [x.id, new Date(at)])
        const job = await admin.query(
          `UPDATE pgboss.job SET data = jsonb_set(data, '{fireAt}', to_jsonb($2::bigint)), start_after = $3
            WHERE name = 'reminder.fire' AND id = (SELECT job_id FROM reminder_schedule WHERE item_id = $1)`,
          [x.id, at, new Date(at)],
        )
        expect(job.rowCount).toBe(1)
      }
      // and the third one's job was lost: the reconciliation at start finds its schedule
      await admin.query(`DELETE FROM pgboss.job WHERE id = (SELECT job_id FROM reminder_schedule WHERE item_id = $1)`, [lost.id])
      await admin.query('COMMIT')
      await admin.end()

      const second = await createNotifyApp({ databaseUrl: database.url })
      try {
        const mail = await waitReminder(u.email, second)
        expect(mail.subject).toBe('Reminder: Slightly late')
        for (const x of [stale, lost]) {
          await until(`the dropped reminder of ${x.title} to be logged`, () => second.logLines.some((l) => l.includes('reminder dropped: more than 24 h late') && l.includes(`"itemId":${x.id}`)), 30_000)
        }
        await sleep(1500)
        expect(reminders(u.email, second).map((m) => m.subject)).toEqual(['Reminder: Slightly late'])
        expect((await second.db.query('SELECT count(*)::int AS n FROM reminder_schedule')).rows[0].n).toBe(0)
        expect(late.id).toBeTruthy()
      } finally {
        await second.close()
      }
    } finally {
      await database.drop()
    }
  })
})
