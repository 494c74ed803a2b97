// Webhooks (contract §12): routes, HMAC-SHA256 signatures checked by a local receiver,
// deliveries only for items the owner can see, retries with back-off, auto-disable after 50
// failures in a row, and the refusal of private addresses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, errorOf, type TestApp } from './helpers/app.js'
import { createNotifyApp, sleep, startWebhookReceiver, until } from './helpers/notify.js'

let t: TestApp
let hook: Awaited<ReturnType<typeof startWebhookReceiver>>
beforeAll(async () => {
  hook = await startWebhookReceiver()
  t = await createNotifyApp({ smtp: false, env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_SECONDS: '1' } })
})
afterAll(async () => {
  await t?.close()
  await hook?.close()
})

async function subscribe(session: string, events: string[], url = hook.url) {
  const r = await t.call('POST', '/api/webhook', { session, form: { url, events: events.join(',') } })
  expect(r.statusCode, r.body).toBe(200)
  return r.json() as { id: number; url: string; events: string[]; secret: string }
}

describe('webhook routes', () => {
  it('POST answers {id, url, events, secret}; GET lists without the secret; DELETE removes (404/1 after)', async () => {
    const u = await t.signup()
    const w = await subscribe(u.session, ['item.created', 'item.deleted'])
    expect(w).toEqual({ id: expect.any(Number), url: hook.url, events: ['item.created', 'item.deleted'], secret: expect.stringMatching(/^[A-Za-z0-9_-]{40,}$/) })
    const list = (await t.call('GET', '/api/webhook', { session: u.session })).json()
    expect(list).toEqual([{ id: w.id, url: hook.url, events: ['item.created', 'item.deleted'], active: true, failures: 0, disabledAt: null, createdAt: expect.any(String) }])
    expect(JSON.stringify(list)).not.toContain(w.secret)
    // someone else's webhook is not mine to delete
    const other = await t.signup()
    expect(errorOf(await t.call('DELETE', `/api/webhook/${w.id}`, { session: other.session }))).toEqual({ status: 404, code: 1 })
    expect((await t.call('DELETE', `/api/webhook/${w.id}`, { session: u.session })).statusCode).toBe(200)
    expect(errorOf(await t.call('DELETE', `/api/webhook/${w.id}`, { session: u.session }))).toEqual({ status: 404, code: 1 })
    expect(errorOf(await t.call('DELETE', '/api/webhook/abc', { session: u.session }))).toEqual({ status: 400, code: 5 })
  })

  it('bad input: no url or events (400/4), an unknown event or scheme (400/6), JSON arrays accepted', async () => {
    const u = await t.signup()
    expect(errorOf(await t.call('POST', '/api/webhook', { session: u.session, form: { events: 'item.created' } }))).toEqual({ status: 400, code: 4 })
    expect(errorOf(await t.call('POST', '/api/webhook', { session: u.session, form: { url: hook.url } }))).toEqual({ status: 400, code: 4 })
    expect(errorOf(await t.call('POST', '/api/webhook', { session: u.session, form: { url: hook.url, events: 'item.exploded' } }))).toEqual({ status: 400, code: 6 })
    expect(errorOf(await t.call('POST', '/api/webhook', { session: u.session, form: { url: 'file:///etc/passwd', events: 'item.created' } }))).toEqual({ status: 400, code: 6 })
    const r = await t.call('POST', '/api/webhook', { session: u.session, body: { url: hook.url, events: ['item.updated'] } })
    expect(r.statusCode).toBe(200)
    expect(errorOf(await t.call('GET', '/api/webhook'))).toEqual({ status: 401, code: 7 })
  })

  it('URLs resolving to loopback, private or link-local addresses are refused (400/6) unless WEBHOOK_ALLOW_PRIVATE=true', async () => {
    const strict = await createTestApp({ smtp: false })
    try {
      const u = await strict.signup()
      for (const url of [hook.url, 'http://localhost:9/x', 'http://10.0.0.8/x', 'http://192.168.1.1/x', 'http://172.20.0.1/x', 'http://169.254.169.254/latest/meta-data', 'http://[::1]:80/x', 'http://[fe80::1]/x', 'http://[::ffff:127.0.0.1]/x', 'http://0.0.0.0/x', 'http://100.64.0.1/x']) {
        const r = await strict.call('POST', '/api/webhook', { session: u.session, body: { url, events: ['item.created'] } })
        expect(errorOf(r), url).toEqual({ status: 400, code: 6 })
      }
    } finally {
      await strict.close()
    }
  })
})

describe('webhook deliveries', () => {
  it('each subscribed event arrives signed (X-Hitask-Signature: sha256=HMAC of the body), with the item', async () => {
    const u = await t.signup()
    const w = await subscribe(u.session, ['item.created', 'item.updated', 'item.completed', 'item.commented', 'item.deleted'])
    hook.setSecret(w.secret)
    const since = hook.received.length
    const x = (await t.call('POST', '/api/item', { session: u.session, body: { title: 'Hooked' } })).json()
    await t.call('PUT', `/api/item/${x.id}`, { session: u.session, body: { title: 'Hooked 2', priority: 30000 } })
    await t.call('POST', '/api/item/comment', { session: u.session, form: { id: x.id, message: 'a comment' } })
    await t.call('PUT', `/api/item/${x.id}`, { session: u.session, body: { completed: true } })
    await t.call('DELETE', `/api/item/${x.id}`, { session: u.session })
    const got = await until('five deliveries', () => {
      const r = hook.received.slice(since).filter((m) => m.body.webhookId === w.id)
      return r.length >= 5 ? r : null
    })
    expect(got.every((m) => m.signatureOk)).toBe(true)
    const byEvent = Object.fromEntries(got.map((m) => [m.body.event, m]))
    expect(Object.keys(byEvent).sort()).toEqual(['item.commented', 'item.completed', 'item.created', 'item.deleted', 'item.updated'])
    expect(byEvent['item.created']!.body.item).toMatchObject({ id: x.id, guid: x.guid, title: 'Hooked', user_id: u.id })
    expect(byEvent['item.updated']!.body).toMatchObject({ changes: ['title', 'priority'], item: { title: 'Hooked 2', priority: 30000 }, actor: { id: u.id } })
    expect(byEvent['item.commented']!.body.comment).toMatchObject({ message: 'a comment' })
    expect(byEvent['item.deleted']!.body.item).toMatchObject({ id: x.id, guid: x.guid })
    for (const m of got) {
      expect(m.headers['x-hitask-event']).toBe(m.body.event)
      expect(m.headers['x-hitask-delivery']).toBe(m.body.id)
      expect(m.headers['content-type']).toBe('application/json')
    }
  })

  it('only events on items the webhook owner can see are delivered, and only subscribed ones', async () => {
    const owner = await t.signup()
    const watcher = await t.signup()
    const w = await subscribe(watcher.session, ['item.created', 'item.updated'])
    hook.setSecret(w.secret)
    const since = hook.received.length
    const hidden = (await t.call('POST', '/api/item', { session: owner.session, body: { title: 'Hidden' } })).json()
    const shared = (await t.call('POST', '/api/item', { session: owner.session, body: { title: 'Shared', permissions: [{ principal: watcher.id, level: 10 }] } })).json()
    await t.call('POST', '/api/item/comment', { session: owner.session, form: { id: shared.id, message: 'not subscribed' } })
    await t.call('PUT', `/api/item/${hidden.id}`, { session: owner.session, body: { title: 'Hidden 2' } })
    await until('the shared item event', () => hook.received.slice(since).some((m) => m.body.webhookId === w.id && m.body.item.id === shared.id))
    await t.app.notifications!.drain()
    await sleep(1500)
    const mine = hook.received.slice(since).filter((m) => m.body.webhookId === w.id)
    expect(mine.map((m) => [m.body.event, m.body.item.title])).toEqual([['item.created', 'Shared']])
  })

  it('a failed delivery is retried with back-off until it succeeds', async () => {
    const u = await t.signup()
    const w = await subscribe(u.session, ['item.created'])
    hook.setSecret(w.secret)
    hook.failNext(w.id, 2)
    const since = hook.received.length
    const x = (await t.call('POST', '/api/item', { session: u.session, body: { title: 'Retry me' } })).json()
    const m = await until('the retried delivery', () => hook.received.slice(since).find((r) => r.body.webhookId === w.id), 20_000)
    expect(m.body.item.id).toBe(x.id)
    expect(m.signatureOk).toBe(true)
    // a success resets the run of failures (recorded once the receiver has answered: waited for)
    const row = await until('the success recorded', async () => {
      const r = (await t.db.query('SELECT consecutive_failures, active FROM webhooks WHERE id = $1', [w.id])).rows[0]
      return r.consecutive_failures === 0 ? r : null
    }, 10_000)
    expect(row).toEqual({ consecutive_failures: 0, active: true })
    expect(t.logLines.filter((l) => l.includes('webhook delivery failed; retried later') && l.includes(`"webhookId":${w.id}`)).length).toBe(2)
  })

  it('50 failures in a row disable the webhook', async () => {
    const u = await t.signup()
    const w = await subscribe(u.session, ['item.created'])
    hook.setAlwaysFail(true)
    try {
      // 49 failures so far (each attempt of each delivery counts)
      await t.db.query('UPDATE webhooks SET consecutive_failures = 49 WHERE id = $1', [w.id])
      await t.call('POST', '/api/item', { session: u.session, body: { title: 'The fiftieth' } })
      await until('the webhook to be disabled', async () => !(await t.db.query('SELECT active FROM webhooks WHERE id = $1', [w.id])).rows[0].active)
      const list = (await t.call('GET', '/api/webhook', { session: u.session })).json()
      expect(list[0]).toMatchObject({ active: false, failures: 50, disabledAt: expect.any(String) })
      expect(t.logLines.some((l) => l.includes('webhook disabled after 50 failed deliveries in a row'))).toBe(true)
    } finally {
      hook.setAlwaysFail(false)
    }
    // disabled: nothing more is sent
    const since = hook.received.length
    await t.call('POST', '/api/item', { session: u.session, body: { title: 'After' } })
    await t.app.notifications!.drain()
    await sleep(1500)
    expect(hook.received.slice(since).filter((m) => m.body.webhookId === w.id)).toEqual([])
  })
})
