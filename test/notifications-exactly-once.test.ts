// Reminders exactly once (contract §12) across two real server processes on one database,
// with a restart in the middle: instance A is stopped (SIGTERM) and started again, instance B
// is killed (SIGKILL) and started again, while reminders fall due before, during and after.
// Every reminder arrives once, within 60 s of its time.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase } from './helpers/app.js'
import { startSmtp } from './helpers/smtp.js'
import { httpClient, killAll, startServer, type ServerProcess } from './helpers/server-process.js'

let database: Awaited<ReturnType<typeof createTestDatabase>>
let smtp: Awaited<ReturnType<typeof startSmtp>>
const servers: ServerProcess[] = []

beforeAll(async () => {
  database = await createTestDatabase()
  smtp = await startSmtp()
})
afterAll(async () => {
  await killAll()
  await smtp?.close()
  await database?.drop()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const iso = (ms: number) => new Date(ms).toISOString()

describe('reminders across two instances and restarts', () => {
  it('each reminder is delivered exactly once, within 60 s', { timeout: 180_000 }, async () => {
    const env = { SMTP_URL: smtp.url, JOBS_POLL_SECONDS: '0.5', PUBLIC_URL: 'http://hitask.test' }
    const start = (dataDir?: string) => startServer({ databaseUrl: database.url, env, dataDir })
    let a = await start()
    let b = await start()
    servers.push(a, b)
    const client = httpClient(a.base)
    const u = await client.signup(`once${Date.now().toString(36)}`)
    const admin = new pg.Client({ connectionString: database.url })
    await admin.connect()
    await admin.query('UPDATE users SET email_confirmed = email WHERE id = $1', [u.id])
    await admin.end()
    const email = `${u.login}@example.com`

    // reminders: one while A restarts, one while B is down, the rest after both are back
    const t0 = Date.now()
    const offsets = [4_000, 11_000, 22_000, 23_000, 24_000, 25_000, 26_000, 27_000]
    const due = new Map<string, number>()
    for (const [n, off] of offsets.entries()) {
      const title = `Reminder ${n}`
      const r = await client.call('POST', '/api/item', {
        session: u.session,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title, alerts: [{ timeType: 1, timeSpecified: iso(t0 + off), email: true }] }),
      })
      expect(r.status, r.text).toBe(200)
      due.set(`Reminder: ${title}`, t0 + off)
    }

    // the mailbox is watched from now on: arrival time of each reminder mail
    const seen = new Map<string, number[]>()
    let stopWatching = false
    const watching = (async () => {
      let counted = 0
      while (!stopWatching) {
        const mine = smtp.mails.filter((x) => x.to.includes(email) && x.subject.startsWith('Reminder:'))
        for (const m of mine.slice(counted)) seen.set(m.subject, [...(seen.get(m.subject) ?? []), Date.now()])
        counted = mine.length
        await sleep(50)
      }
    })()

    // A: a graceful stop and a new start (its reminders are picked up by B meanwhile)
    expect(await a.stop()).toBe(0)
    a = await start(a.dataDir)
    servers.push(a)
    // B: killed, no goodbye; a job it held would run again after it expires
    await sleep(Math.max(0, t0 + 8_000 - Date.now()))
    await b.kill()
    await sleep(1_000)
    b = await start(b.dataDir)
    servers.push(b)

    // until every reminder is due, plus time for a duplicate to show up
    await sleep(Math.max(0, t0 + Math.max(...offsets) + 15_000 - Date.now()))
    stopWatching = true
    await watching
    const counts = Object.fromEntries([...seen].map(([k, v]) => [k, v.length]))
    expect(counts).toEqual(Object.fromEntries([...due.keys()].map((k) => [k, 1])))
    const lateness = [...seen].map(([k, v]) => v[0]! - due.get(k)!)
    for (const l of lateness) {
      expect(l).toBeGreaterThanOrEqual(0)
      expect(l).toBeLessThan(60_000)
    }
    console.log(`reminder delivery after its time (ms): ${lateness.join(', ')}`)
    if (process.env.DEBUG_EXACTLY_ONCE) for (const [i, s] of servers.entries()) (await import('node:fs')).writeFileSync(`/tmp/exactly-once-${i}.log`, s.output())
    // both processes ran and stopped cleanly enough to serve
    for (const s of [a, b]) expect((await fetch(s.base + '/health')).ok).toBe(true)
  })
})
