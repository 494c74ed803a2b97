// Faults, notifications: the database connection is lost while the job workers, the outbox
// listener and a due reminder are running. Nothing crashes the process (no unhandled
// rejection), and once the database is back the reminder is delivered once, late, and change
// notifications flow again (the LISTEN connection reconnects). /metrics, read as a scraper
// does on the API port (the bearer of METRICS_TOKEN, docs/security.md), answers all through it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, createTestDatabase, type TestApp } from '../helpers/app.js'
import { WORKERS_ENV, parse, sleep, until } from '../helpers/notify.js'
import { cuttableProxy, type CuttableProxy } from '../helpers/db-proxy.js'
import { report } from './scale.js'

const METRICS_TOKEN = 'outage-metrics-token-0123456789'
const scrape = () => t.call('GET', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })

let t: TestApp
let proxy: CuttableProxy
let dropDb: () => Promise<void>

beforeAll(async () => {
  const db = await createTestDatabase()
  dropDb = db.drop
  proxy = await cuttableProxy(new URL(db.url))
  const viaProxy = new URL(db.url)
  viaProxy.hostname = '127.0.0.1'
  viaProxy.port = String(proxy.port)
  t = await createTestApp({ databaseUrl: viaProxy.toString(), env: { ...WORKERS_ENV, METRICS_TOKEN } })
})
afterAll(async () => {
  await t?.close()
  await proxy?.close()
  await dropDb?.()
})

describe('notifications through a database outage', () => {
  it('survive it: the reminder due during the outage is sent once afterwards, change notifications resume', async () => {
    const owner = await t.signup()
    const other = await t.signup()
    await t.db.query('UPDATE users SET email_confirmed = email WHERE id = ANY($1::bigint[])', [[owner.id, other.id]])
    const due = Date.now() + 3000
    const x = await t.call('POST', '/api/item', {
      session: owner.session,
      body: { title: 'During the outage', permissions: [{ principal: other.id, level: 60 }], alerts: [{ timeType: 1, timeSpecified: new Date(due).toISOString(), email: true }] },
    })
    expect(x.statusCode).toBe(200)
    await t.app.notifications!.drain()
    const before = await scrape()
    expect(before.statusCode, before.body).toBe(200)
    expect(before.body).toMatch(/^# TYPE jobs_queued gauge$/m)

    await proxy.cut()
    await sleep(8000) // the reminder falls due; every worker, the listener and /metrics meet a dead database
    // the scrape does not wait for the database: it answers with the last readings
    const during = await scrape()
    expect(during.statusCode, during.body).toBe(200)
    expect(during.body).toMatch(/^# TYPE jobs_queued gauge$/m)
    await proxy.restore()

    const reminder = await until('the late reminder', () => t.smtp!.mails.find((m) => m.to.includes(owner.email) && m.subject.startsWith('Reminder:')), 90_000)
    const lateMs = Date.now() - due
    // a change after the outage is announced (the listener is back, or the sweep caught it)
    const since = t.smtp!.mails.length
    expect((await t.call('POST', '/api/item/comment', { session: other.session, form: { id: x.json().id, message: 'back' } })).statusCode).toBe(200)
    const mail = await until('a change notification', () => t.smtp!.mails.slice(since).find((m) => m.to.includes(owner.email) && !m.subject.startsWith('Reminder:')), 90_000)
    expect((await parse(mail)).subject).toContain('commented on "During the outage"')
    await sleep(3000)
    expect(t.smtp!.mails.filter((m) => m.to.includes(owner.email) && m.subject.startsWith('Reminder:')).length).toBe(1)
    expect(reminder.subject).toBe('Reminder: During the outage')
    report('notifications-outage', { outageMs: 8000, reminderLateMs: lateMs })
  })
})
