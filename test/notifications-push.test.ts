// Web Push (contract §12; RFC 8030/8291 with VAPID): the key and subscription routes, and
// messages received by a local push service that decrypts them with the subscription's keys.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, errorOf, type TestApp } from './helpers/app.js'
import { actOnEveryKind, changeKindActions, confirmEmail, createNotifyApp, drain, setPrefs, sleep, startPushService, until, watchersOfEveryKind } from './helpers/notify.js'

let t: TestApp
let push: Awaited<ReturnType<typeof startPushService>>
beforeAll(async () => {
  push = await startPushService()
  t = await createNotifyApp({ env: { PUSH_ALLOW_PRIVATE: 'true', METRICS_TOKEN: 'metrics-token-for-push-test' } })
})
afterAll(async () => {
  await t?.close()
  await push?.close()
})

const iso = (ms: number) => new Date(ms).toISOString()

/** checks the VAPID header (RFC 8292): a JWT signed with the server's key for the push service's origin */
function checkVapid(authorization: string | undefined, publicKey: string, audience: string) {
  const m = /^vapid t=([^,]+), k=(.+)$/.exec(authorization ?? '')
  expect(m, authorization).toBeTruthy()
  expect(m![2]).toBe(publicKey)
  const [h, p, sig] = m![1]!.split('.')
  const claims = JSON.parse(Buffer.from(p!, 'base64url').toString())
  expect(claims.aud).toBe(audience)
  expect(claims.exp * 1000).toBeGreaterThan(Date.now())
  const raw = Buffer.from(publicKey, 'base64url')
  const key = crypto.createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') }, format: 'jwk' })
  expect(crypto.verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig!, 'base64url'))).toBe(true)
}

describe('Web Push routes', () => {
  it('GET /user/push/key answers the VAPID public key, generated once and kept in DATA_DIR', async () => {
    const u = await t.signup()
    const r = await t.call('GET', '/api/user/push/key', { session: u.session })
    expect(r.statusCode).toBe(200)
    const { publicKey } = r.json()
    expect(Buffer.from(publicKey, 'base64url').length).toBe(65)
    const kept = JSON.parse(fs.readFileSync(path.join(t.dataDir, 'vapid.json'), 'utf8'))
    expect(kept.publicKey).toBe(publicKey)
    expect(errorOf(await t.call('GET', '/api/user/push/key'))).toEqual({ status: 401, code: 7 })
  })

  it('POST and DELETE /user/push/subscription: stored, validated (400/4, 400/5), removed (404/1 when unknown)', async () => {
    const u = await t.signup()
    const sub = push.subscription()
    // the web client's form encoding: keys as JSON text
    expect((await t.call('POST', '/api/user/push/subscription', { session: u.session, form: { endpoint: sub.endpoint, keys: JSON.stringify(sub.keys) } })).statusCode).toBe(200)
    // again: still one
    expect((await t.call('POST', '/api/user/push/subscription', { session: u.session, body: sub })).statusCode).toBe(200)
    expect((await t.db.query('SELECT count(*)::int AS n FROM push_subscriptions WHERE user_id = $1', [u.id])).rows[0].n).toBe(1)
    expect(errorOf(await t.call('POST', '/api/user/push/subscription', { session: u.session, body: { keys: sub.keys } }))).toEqual({ status: 400, code: 4 })
    expect(errorOf(await t.call('POST', '/api/user/push/subscription', { session: u.session, body: { endpoint: sub.endpoint, keys: { p256dh: 'short', auth: sub.keys.auth } } }))).toEqual({ status: 400, code: 5 })
    expect(errorOf(await t.call('POST', '/api/user/push/subscription', { session: u.session, body: { endpoint: sub.endpoint, keys: { p256dh: sub.keys.p256dh, auth: 'AAAA' } } }))).toEqual({ status: 400, code: 5 })
    expect(errorOf(await t.call('POST', '/api/user/push/subscription', { session: u.session, body: { endpoint: 'ftp://x/y', keys: sub.keys } }))).toEqual({ status: 400, code: 6 })
    expect(errorOf(await t.call('DELETE', '/api/user/push/subscription', { session: u.session, form: { endpoint: 'https://push.example/none' } }))).toEqual({ status: 404, code: 1 })
    expect((await t.call('DELETE', '/api/user/push/subscription', { session: u.session, form: { endpoint: sub.endpoint } })).statusCode).toBe(200)
    expect((await t.db.query('SELECT count(*)::int AS n FROM push_subscriptions WHERE user_id = $1', [u.id])).rows[0].n).toBe(0)
  })

  it('endpoints must be https on public addresses unless PUSH_ALLOW_PRIVATE', async () => {
    const strict = await createTestApp({ smtp: false })
    try {
      const u = await strict.signup()
      const sub = push.subscription()
      expect(errorOf(await strict.call('POST', '/api/user/push/subscription', { session: u.session, body: sub }))).toEqual({ status: 400, code: 6 })
      for (const endpoint of ['https://127.0.0.1/x', 'https://10.1.2.3/x', 'https://[::1]/x', 'https://169.254.169.254/latest', 'https://localhost/x']) {
        const r = await strict.call('POST', '/api/user/push/subscription', { session: u.session, body: { ...sub, endpoint } })
        expect(errorOf(r), endpoint).toEqual({ status: 400, code: 6 })
      }
    } finally {
      await strict.close()
    }
  })
})

describe('Web Push messages', () => {
  it('a reminder with push: true reaches every subscription, encrypted for it (RFC 8291) and signed (VAPID)', async () => {
    const u = await t.signup()
    const a = push.subscription()
    const b = push.subscription()
    for (const s of [a, b]) expect((await t.call('POST', '/api/user/push/subscription', { session: u.session, body: s })).statusCode).toBe(200)
    const { publicKey } = (await t.call('GET', '/api/user/push/key', { session: u.session })).json()
    const at = Date.now() + 2000
    const x = await t.call('POST', '/api/item', { session: u.session, body: { title: 'Push me', alerts: [{ timeType: 1, timeSpecified: iso(at), push: true }] } })
    const got = await until('two push messages', () => {
      const r = push.received.filter((m) => m.path === new URL(a.endpoint).pathname || m.path === new URL(b.endpoint).pathname)
      return r.length >= 2 ? r : null
    })
    expect(Date.now()).toBeGreaterThanOrEqual(at)
    for (const m of got) {
      expect(m.payload).toMatchObject({ type: 'reminder', title: 'Reminder: Push me', itemId: x.json().id, url: `http://hitask.test/#item/${x.json().id}` })
      expect(m.headers['content-encoding']).toBe('aes128gcm')
      expect(Number(m.headers.ttl)).toBe(86400)
      checkVapid(m.headers.authorization as string, publicKey, new URL(a.endpoint).origin)
    }
  })

  it('a change notification is pushed per notify_app / notify_app_item_<kind>; off → nothing', async () => {
    const owner = await t.signup()
    await confirmEmail(t, owner.id)
    const other = await t.signup()
    const sub = push.subscription()
    expect((await t.call('POST', '/api/user/push/subscription', { session: owner.session, body: sub })).statusCode).toBe(200)
    const x = (await t.call('POST', '/api/item', { session: owner.session, body: { title: 'Pushed', permissions: [{ principal: other.id, level: 60 }] } })).json()
    const mine = () => push.received.filter((m) => m.path === new URL(sub.endpoint).pathname)
    await t.call('POST', '/api/item/comment', { session: other.session, form: { id: x.id, message: 'hello' } })
    const first = await until('a push', () => mine()[0])
    expect(first.payload).toMatchObject({ type: 'changes', body: `First${other.login} Last commented on "Pushed"`, itemId: x.id })
    await setPrefs(t, owner.session, { notify_app_item_comment: 'false' })
    await t.call('POST', '/api/item/comment', { session: other.session, form: { id: x.id, message: 'again' } })
    await sleep(3000)
    expect(mine().length).toBe(1)
    await setPrefs(t, owner.session, { notify_app_item_comment: 'true', notify_app: 'false' })
    await t.call('POST', '/api/item/comment', { session: other.session, form: { id: x.id, message: 'and again' } })
    await sleep(3000)
    expect(mine().length).toBe(1)
  })

  it('every kind of change, its notify_app_item_<kind> off → no push of that kind; on → the push (all 9 kinds)', async () => {
    const actor = await t.signup()
    const subscribed = async () => {
      const u = await t.signup()
      const sub = push.subscription()
      expect((await t.call('POST', '/api/user/push/subscription', { session: u.session, body: sub })).statusCode).toBe(200)
      return { ...u, path: new URL(sub.endpoint).pathname }
    }
    const actions = changeKindActions(t, actor)
    const watchers = await watchersOfEveryKind(t, actions, 'notify_app_item_', subscribed)
    await actOnEveryKind(actions, watchers)
    const to = (path: string) => push.received.filter((m) => m.path === path)
    // the change reaches whoever keeps the kind on...
    for (const w of watchers) {
      const m = await until(`a push of ${w.kind}`, () => to(w.on.path)[0])
      expect(m.payload, w.kind).toMatchObject({ type: 'changes' })
      expect(String((m.payload as { body?: unknown }).body), w.kind).toMatch(/"(Kinds|Renamed)"/)
    }
    // ...and nobody who turned it off
    await drain(t)
    await sleep(2500)
    expect(watchers.filter((w) => to(w.off.path).length).map((w) => w.kind)).toEqual([])
  })

  it('a subscription the push service answers 410 (or 404) for is removed', async () => {
    const u = await t.signup()
    const sub = push.subscription()
    push.answer(new URL(sub.endpoint).pathname, 410)
    expect((await t.call('POST', '/api/user/push/subscription', { session: u.session, body: sub })).statusCode).toBe(200)
    await t.call('POST', '/api/item', { session: u.session, body: { title: 'Gone', alerts: [{ timeType: 1, timeSpecified: iso(Date.now() + 1000), push: true }] } })
    await until('the subscription to be removed', async () => (await t.db.query('SELECT count(*)::int AS n FROM push_subscriptions WHERE user_id = $1', [u.id])).rows[0].n === 0)
    expect(t.logLines.some((l) => l.includes('push subscription gone: removed'))).toBe(true)
  })

  it('/metrics shows the queue depth by queue and state, failed job runs, the outbox and webhooks', async () => {
    const u = await t.signup()
    const sub = push.subscription()
    push.answer(new URL(sub.endpoint).pathname, 503)
    expect((await t.call('POST', '/api/user/push/subscription', { session: u.session, body: sub })).statusCode).toBe(200)
    await t.call('POST', '/api/item', { session: u.session, body: { title: 'Down', alerts: [{ timeType: 1, timeSpecified: iso(Date.now() + 500), push: true }] } })
    const scrape = async () => (await t.call('GET', '/metrics', { headers: { authorization: 'Bearer metrics-token-for-push-test' } })).body
    const text = await until('a failed push job in /metrics', async () => {
      const m = await scrape()
      // the database readings are refreshed at most every 5 s
      return /^jobs_failed_total\{queue="push\.send"\} [1-9]/m.test(m) && /^jobs_queued\{queue="push\.send",state="retry"\} 1$/m.test(m) ? m : null
    }, 30_000)
    expect(text).toMatch(/^jobs_queued\{queue="push\.send",state="retry"\} 1$/m)
    expect(text).toMatch(/^jobs_queued\{queue="reminder\.fire",state="completed"\} \d+$/m)
    expect(text).toMatch(/^outbox_events\{state="pending"\} \d+$/m)
    expect(text).toMatch(/^outbox_events\{state="failed"\} 0$/m)
    expect(text).toMatch(/^webhooks\{state="disabled"\} \d+$/m)
    expect(t.logLines.some((l) => l.includes('job failed (retried while its retry budget lasts)') && l.includes('push service answered 503'))).toBe(true)
  })
})
