// Change notifications (contract §12), the transactional outbox, and the one-click
// unsubscribe: real job workers (pg-boss on the test database), the real SMTP test server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, errorOf, type TestApp } from './helpers/app.js'
import { Jobs } from '../src/notifications/jobs.js'
import { Q } from '../src/notifications/context.js'
import { drainOutbox } from '../src/notifications/outbox.js'
import { actOnEveryKind, changeKindActions, confirmEmail, createNotifyApp, drain, mailsTo, parse, rawHeader, setPrefs, sleep, until, waitMail, watchersOfEveryKind } from './helpers/notify.js'

let t: TestApp
beforeAll(async () => {
  t = await createNotifyApp()
})
afterAll(async () => {
  await t?.close()
})

async function user() {
  const u = await t.signup()
  await confirmEmail(t, u.id)
  return u
}

async function item(session: string, body: Record<string, unknown>) {
  const r = await t.call('POST', '/api/item', { session, body })
  expect(r.statusCode, r.body).toBe(200)
  return r.json()
}

async function put(session: string, id: number, body: Record<string, unknown>) {
  const r = await t.call('PUT', `/api/item/${id}`, { session, body })
  expect(r.statusCode, r.body).toBe(200)
  return r.json()
}

/** waits past the batch window and the workers, then: no mail to `to` after `since` */
async function expectNoMail(to: string, since: number) {
  await drain(t)
  await sleep(2500)
  expect(t.smtp!.mails.slice(since).filter((m) => m.to.includes(to)).map((m) => m.subject)).toEqual([])
}

describe('change notifications', () => {
  it('a comment by someone else emails the owner (text and HTML, a link, one-click unsubscribe); the actor hears nothing', async () => {
    const owner = await user()
    const other = await user()
    const x = await item(owner.session, { title: 'Quarterly report', permissions: [{ principal: other.id, level: 60 }] })
    const since = t.smtp!.mails.length
    const c = await t.call('POST', '/api/item/comment', { session: other.session, form: { id: x.id, message: 'Looks good.\nShip it.' } })
    expect(c.statusCode).toBe(200)
    const mail = await waitMail(t, owner.email, since)
    const parsed = await parse(mail)
    expect(parsed.subject).toBe(`First${other.login} Last commented on "Quarterly report"`)
    expect(parsed.text).toContain('Looks good.')
    expect(parsed.text).toContain('Ship it.')
    expect(parsed.text).toContain(`http://hitask.test/#item/${x.id}`)
    expect(parsed.html).toContain(`<a href="http://hitask.test/#item/${x.id}">Open</a>`)
    const unsubscribe = rawHeader(parsed, 'list-unsubscribe')!
    expect(unsubscribe).toMatch(/^<http:\/\/hitask\.test\/api\/unsubscribe\?token=[A-Za-z0-9_.-]+>$/)
    expect(rawHeader(parsed, 'list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click')
    expect(parsed.text).toContain(unsubscribe.slice(1, -1))
    // never to the actor
    await expectNoMail(other.email, since)
  })

  it('changes to one user within NOTIFY_BATCH_SECONDS go out as one email listing them', async () => {
    const owner = await user()
    const other = await user()
    const x = await item(owner.session, { title: 'Batch me', permissions: [{ principal: other.id, level: 60 }] })
    const since = t.smtp!.mails.length
    await put(other.session, x.id, { priority: 30000 })
    await put(other.session, x.id, { title: 'Batch me please' })
    await t.call('POST', '/api/item/comment', { session: other.session, form: { id: x.id, message: 'third' } })
    const mail = await waitMail(t, owner.email, since)
    const parsed = await parse(mail)
    expect(parsed.subject).toBe('3 updates on your Hitask items')
    expect(parsed.text).toContain('changed the priority of "Batch me" to high')
    expect(parsed.text).toContain('changed the title of "Batch me please"')
    expect(parsed.text).toContain('commented on "Batch me please"')
    // a batch unsubscribes from all change emails
    expect(Buffer.from((rawHeader(parsed, 'list-unsubscribe')!).split('token=')[1]!.split('.')[0]!, 'base64url').toString()).toContain('"notify_email"')
    await sleep(2000)
    expect(mailsTo(t, owner.email).length).toBe(mailsTo(t, owner.email).indexOf(mail) + 1)
  })

  it('assignment, participation, completion and deletion reach the assignee, participants and owner (never the actor)', async () => {
    const owner = await user()
    const assignee = await user()
    const part = await user()
    let since = t.smtp!.mails.length
    const x = await item(owner.session, { title: 'Teamwork', assignee: assignee.id, participants: [part.id] })
    const toAssignee = await parse(await waitMail(t, assignee.email, since))
    expect(toAssignee.subject).toBe(`First${owner.login} Last assigned "Teamwork" to you`)
    const toPart = await parse(await waitMail(t, part.email, since))
    expect(toPart.subject).toBe(`First${owner.login} Last added you as a participant of "Teamwork"`)
    since = t.smtp!.mails.length
    await put(assignee.session, x.id, { completed: true })
    expect((await parse(await waitMail(t, owner.email, since))).subject).toBe(`First${assignee.login} Last completed "Teamwork"`)
    expect((await parse(await waitMail(t, part.email, since))).subject).toBe(`First${assignee.login} Last completed "Teamwork"`)
    since = t.smtp!.mails.length
    expect((await t.call('DELETE', `/api/item/${x.id}`, { session: owner.session })).statusCode).toBe(200)
    const del = await parse(await waitMail(t, assignee.email, since))
    expect(del.subject).toBe(`First${owner.login} Last deleted "Teamwork"`)
    expect(del.text).not.toContain('#item/') // no link to a deleted item
    await expectNoMail(owner.email, since)
  })

  it('user text is inert: no line breaks in subjects, HTML escaped, links defused', async () => {
    const owner = await user()
    const other = await user()
    const evil = 'Hi\r\nBcc: victim@example.com <script>alert(1)</script> http://evil.example/x www.evil.example'
    const x = await item(owner.session, { title: evil.slice(0, 200), permissions: [{ principal: other.id, level: 60 }] })
    const since = t.smtp!.mails.length
    await t.call('POST', '/api/item/comment', { session: other.session, form: { id: x.id, message: '<img src=x onerror=alert(1)> https://phish.example/login' } })
    const mail = await waitMail(t, owner.email, since)
    const parsed = await parse(mail)
    // one header line, no injected header
    expect(parsed.headers.has('bcc')).toBe(false)
    expect(parsed.subject).not.toMatch(/[\r\n]/)
    expect(parsed.subject).toContain('Hi Bcc: victim@example.com')
    expect(parsed.html).not.toContain('<script>')
    expect(parsed.html).not.toContain('<img src=x')
    expect(parsed.html).toContain('&lt;script&gt;')
    expect(parsed.html).not.toMatch(/href="https?:\/\/(evil|phish)/)
    expect(parsed.text).not.toContain('http://evil.example')
    expect(parsed.text).not.toContain('https://phish.example')
    expect(parsed.text).toContain('http[:]//evil.example')
    expect(parsed.text).toContain('www[.]evil.example')
  })

  it('each preference off → nothing sent: notify_email, and the kind (notify_email_item_comment)', async () => {
    const owner = await user()
    const other = await user()
    const x = await item(owner.session, { title: 'Quiet', permissions: [{ principal: other.id, level: 60 }] })
    await setPrefs(t, owner.session, { notify_email_item_comment: 'false' })
    let since = t.smtp!.mails.length
    await t.call('POST', '/api/item/comment', { session: other.session, form: { id: x.id, message: 'no mail for this' } })
    await expectNoMail(owner.email, since)
    // other kinds still go out
    await put(other.session, x.id, { priority: 10000 })
    expect((await parse(await waitMail(t, owner.email, since))).subject).toContain('changed the priority of "Quiet" to low')
    await setPrefs(t, owner.session, { notify_email: 'false' })
    since = t.smtp!.mails.length
    await put(other.session, x.id, { priority: 30000 })
    await expectNoMail(owner.email, since)
  })

  it('every kind of change, its notify_email_item_<kind> off → nothing of that kind; on → the mail (all 9 kinds)', async () => {
    const actor = await user()
    const actions = changeKindActions(t, actor)
    const watchers = await watchersOfEveryKind(t, actions, 'notify_email_item_', user)
    const since = t.smtp!.mails.length
    await actOnEveryKind(actions, watchers)
    // the change reaches whoever keeps the kind on...
    // (its unsubscribe link turns off that kind: the token names its preference)
    for (const w of watchers) {
      const text = (await parse(await waitMail(t, w.on.email, since))).text ?? ''
      expect(text, w.kind).toMatch(/"(Kinds|Renamed)"/)
      const token = /unsubscribe\?token=([A-Za-z0-9_-]+)\./.exec(text)?.[1]
      expect(JSON.parse(Buffer.from(token ?? '', 'base64url').toString()).k, w.kind).toEqual([`notify_email_item_${w.kind}`])
    }
    // ...and nobody who turned it off
    await drain(t)
    await sleep(2500)
    const heard = watchers.filter((w) => t.smtp!.mails.slice(since).some((m) => m.to.includes(w.off.email))).map((w) => w.kind)
    expect(heard).toEqual([])
  })

  it('an unconfirmed email gets no notification (a sign-up with someone else\'s address cannot be used to spam it)', async () => {
    const owner = await t.signup()
    const other = await user()
    const x = await item(owner.session, { title: 'Unconfirmed', permissions: [{ principal: other.id, level: 60 }] })
    const since = t.smtp!.mails.length
    await t.call('POST', '/api/item/comment', { session: other.session, form: { id: x.id, message: 'hello' } })
    await expectNoMail(owner.email, since)
  })

  it('someone who cannot see the item hears nothing of it', async () => {
    const owner = await user()
    const ex = await user()
    const x = await item(owner.session, { title: 'Private' })
    // the ex-participant was removed from the item's list by the owner... and a third person comments
    const third = await user()
    await put(owner.session, x.id, { permissions: [{ principal: owner.id, level: 100 }, { principal: third.id, level: 60 }] })
    await t.db.query('UPDATE items SET participants = $2 WHERE id = $1', [x.id, [ex.id]]) // stale data: a participant without access
    const since = t.smtp!.mails.length
    await t.call('POST', '/api/item/comment', { session: third.session, form: { id: x.id, message: 'secret' } })
    await waitMail(t, owner.email, since)
    await expectNoMail(ex.email, since)
  })
})

describe('the transactional outbox', () => {
  it('a change that fails writes no event; a change made while no worker runs is announced when one starts', async () => {
    const owner = await user()
    const viewer = await user()
    const x = await item(owner.session, { title: 'Outbox', permissions: [{ principal: viewer.id, level: 10 }] })
    await drain(t)
    const before = (await t.db.query('SELECT count(*)::int AS n FROM outbox_events')).rows[0].n
    // 403: nothing changed, nothing written
    expect(errorOf(await t.call('PUT', `/api/item/${x.id}`, { session: viewer.session, body: { title: 'nope' } }))).toEqual({ status: 403, code: 3 })
    expect((await t.db.query('SELECT count(*)::int AS n FROM outbox_events')).rows[0].n).toBe(before)
    // a rolled-back transaction with history in it leaves no event either
    await t.db
      .tx(async (tx) => {
        await tx.query(`INSERT INTO item_history (item_id, user_id, user_name, property_name, property_type) VALUES ($1, $2, 'x', 'title', 'STRING')`, [x.id, viewer.id])
        throw new Error('roll back')
      })
      .catch(() => {})
    expect((await t.db.query('SELECT count(*)::int AS n FROM outbox_events')).rows[0].n).toBe(before)
  })

  it('an event whose fan-out fails is set aside (attempts, last_error, logged); the others drained with it go out', async () => {
    const owner = await user()
    const other = await user()
    const since = t.smtp!.mails.length
    // two deletion events committed together (one drained batch): one whose owner is no user id
    const ids = await t.db.tx(async (tx) => {
      const r = await tx.query<{ id: number }>(
        `INSERT INTO outbox_events (kind, item_id, actor_id, data) VALUES
           ('deleted', 2000000001, $1, jsonb_build_object('root', true, 'owner', 'not a user', 'title', 'Broken')),
           ('deleted', 2000000002, $1, jsonb_build_object('root', true, 'owner', $2::bigint, 'title', 'Gone for good', 'guid', 'g-gone'))
         RETURNING id`,
        [other.id, owner.id],
      )
      await tx.query(`NOTIFY hitask_outbox`)
      return r.rows.map((x) => x.id)
    })
    const mail = await waitMail(t, owner.email, since)
    expect((await parse(mail)).subject).toContain('deleted "Gone for good"')
    await drain(t)
    const left = (await t.db.query('SELECT id, attempts, last_error FROM outbox_events WHERE id = ANY($1::bigint[])', [ids])).rows
    expect(left.map((x) => x.id)).toEqual([ids[0]])
    expect(left[0].attempts).toBeGreaterThanOrEqual(1)
    expect(left[0].last_error).toMatch(/bigint/i)
    expect(t.logLines.some((l) => l.includes('outbox event fan-out failed') && l.includes(`"eventId":${ids[0]}`))).toBe(true)
    // set aside after 5 attempts: drains leave it alone
    await t.db.query('UPDATE outbox_events SET attempts = 5 WHERE id = $1', [ids[0]])
    await drain(t)
    expect((await t.db.query('SELECT attempts FROM outbox_events WHERE id = $1', [ids[0]])).rows[0].attempts).toBe(5)
    await t.db.query('DELETE FROM outbox_events WHERE id = $1', [ids[0]])
  })

  it('the drain is set-based: as many statements for 20 events as for 2 (recipients, batches, jobs and webhook deliveries once per drained batch)', async () => {
    // an instance whose workers are off keeps the events; the drain is called here, observed
    const off = await createTestApp({ env: { WORKERS_ENABLED: 'false', WEBHOOK_ALLOW_PRIVATE: 'true' } })
    const jobs = new Jobs(off.db, { log: off.deps.log, pollSeconds: 60 })
    try {
      await jobs.start([{ name: Q.mailSend }, { name: Q.pushSend }, { name: Q.notifyFlush }, { name: Q.webhookDeliver }])
      const ctx = { deps: off.deps, jobs, log: off.deps.log }
      const actor = await off.signup()
      const owners = [await off.signup(), await off.signup()]
      await off.db.query('UPDATE users SET email_confirmed = email')
      for (const o of owners) {
        const w = await off.call('POST', '/api/webhook', { session: o.session, body: { url: 'http://127.0.0.1:9/hook', events: ['item.commented'] } })
        expect(w.statusCode, w.body).toBe(200)
      }
      const items: number[] = []
      for (let i = 0; i < 20; i++) {
        const r = await off.call('POST', '/api/item', { session: owners[i % 2]!.session, body: { title: `drained ${i}`, permissions: [{ principal: actor.id, level: 100 }] } })
        expect(r.statusCode, r.body).toBe(200)
        items.push(r.json().id)
      }
      await drainOutbox(ctx)
      const count = async (sql: string) => (await off.db.query(sql)).rows[0].n as number
      /** comments on the items, then one drain: its statements (the least of 3 tries: pg-boss's own timers only add) */
      const statementsFor = async (ids: number[]) => {
        let least = Infinity
        for (let k = 0; k < 3; k++) {
          for (const id of ids) expect((await off.call('POST', '/api/item/comment', { session: actor.session, form: { id, message: 'm' } })).statusCode).toBe(200)
          const [pending, deliveries] = [await count('SELECT count(*)::int AS n FROM notification_pending'), await count(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'webhook.deliver'`)]
          let n = 0
          const stop = off.db.observe(() => n++)
          try {
            expect(await drainOutbox(ctx)).toBe(ids.length)
          } finally {
            stop()
          }
          // what the drain wrote: a pending email per event and a delivery per event
          expect(await count('SELECT count(*)::int AS n FROM notification_pending')).toBe(pending + ids.length)
          expect(await count(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'webhook.deliver'`)).toBe(deliveries + ids.length)
          least = Math.min(least, n)
        }
        return least
      }
      expect(await statementsFor(items)).toBe(await statementsFor(items.slice(0, 2)))
    } finally {
      await jobs.stop(5000).catch(() => {})
      await off.close()
    }
  })

  it('events committed while the workers were stopped are delivered by the next instance', async () => {
    const off = await createTestApp({ env: { WORKERS_ENABLED: 'false' } })
    try {
      const owner = await off.signup()
      const other = await off.signup()
      await off.db.query('UPDATE users SET email_confirmed = email WHERE id = ANY($1::bigint[])', [[owner.id, other.id]])
      const r = await off.call('POST', '/api/item', { session: owner.session, body: { title: 'Later', permissions: [{ principal: other.id, level: 60 }] } })
      await off.call('POST', '/api/item/comment', { session: other.session, form: { id: r.json().id, message: 'while down' } })
      const pending = (await off.db.query(`SELECT count(*)::int AS n FROM outbox_events WHERE kind = 'history'`)).rows[0].n
      expect(pending).toBeGreaterThanOrEqual(2)
      // an instance with workers on the same database picks them up at start
      const on = await createNotifyApp({ databaseUrl: (off.db as any).url, smtp: true })
      try {
        const mail = await waitMail(on, owner.email, 0)
        expect((await parse(mail)).subject).toContain('commented on "Later"')
        await until('the outbox to empty', async () => (await on.db.query('SELECT count(*)::int AS n FROM outbox_events')).rows[0].n === 0)
      } finally {
        await on.close()
      }
    } finally {
      await off.close()
    }
  })
})

describe('one-click unsubscribe (RFC 8058)', () => {
  it('GET shows a button and changes nothing; POST (List-Unsubscribe=One-Click) turns the preference off; a bad token is 400/6', async () => {
    const owner = await user()
    const other = await user()
    const x = await item(owner.session, { title: 'Unsub', permissions: [{ principal: other.id, level: 60 }] })
    const since = t.smtp!.mails.length
    await t.call('POST', '/api/item/comment', { session: other.session, form: { id: x.id, message: 'm' } })
    const parsed = await parse(await waitMail(t, owner.email, since))
    const url = new URL((rawHeader(parsed, 'list-unsubscribe')!).slice(1, -1))
    const path = url.pathname + url.search
    const page = await t.call('GET', path)
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toContain('text/html')
    expect(page.body).toContain('<form method="post"')
    let prefs = (await t.call('GET', '/api/user/preferences', { session: owner.session })).json()
    expect(prefs.notify_email_item_comment).toBe('true')
    // what a mail client sends
    const r = await t.call('POST', path, { form: { 'List-Unsubscribe': 'One-Click' } })
    expect(r.statusCode).toBe(200)
    prefs = (await t.call('GET', '/api/user/preferences', { session: owner.session })).json()
    expect(prefs.notify_email_item_comment).toBe('false')
    expect(prefs.notify_email).toBe('true')
    // tampered or missing tokens
    const token = url.searchParams.get('token')!
    const forged = Buffer.from(JSON.stringify({ u: other.id, k: ['notify_email'] })).toString('base64url') + '.' + token.split('.')[1]
    expect(errorOf(await t.call('POST', '/api/unsubscribe', { query: { token: forged } }))).toEqual({ status: 400, code: 6 })
    expect(errorOf(await t.call('GET', '/api/unsubscribe', { query: { token: 'x.y' } }))).toEqual({ status: 400, code: 6 })
    expect(errorOf(await t.call('POST', '/api/unsubscribe'))).toEqual({ status: 400, code: 4 })
  })
})
