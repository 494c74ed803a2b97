// Helpers of the notification tests: apps with the job workers on, confirmed emails, mail
// parsing, a push service that decrypts what it receives (RFC 8291), a webhook receiver.
import http from 'node:http'
import crypto from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { simpleParser, type ParsedMail } from 'mailparser'
// @ts-expect-error no types
import ece from 'http_ece'
import { createTestApp, type TestApp } from './app.js'
import type { ReceivedMail } from './smtp.js'
import { postMultipart } from './multipart.js'

/** the env of an app whose workers run, fast */
export const WORKERS_ENV = { WORKERS_ENABLED: 'true', JOBS_POLL_SECONDS: '0.5', NOTIFY_BATCH_SECONDS: '1' }

export async function createNotifyApp(o: Parameters<typeof createTestApp>[0] = {}) {
  return createTestApp({ ...o, env: { ...WORKERS_ENV, ...o.env } })
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** marks the user's email confirmed (the confirmation link is tested elsewhere) */
export async function confirmEmail(t: TestApp, userId: number) {
  await t.db.query('UPDATE users SET email_confirmed = email WHERE id = $1', [userId])
}

export async function setPrefs(t: TestApp, session: string, prefs: Record<string, string>) {
  const r = await t.call('POST', '/api/user/preferences', { session, form: prefs })
  if (r.statusCode !== 200) throw new Error(`preferences: ${r.statusCode} ${r.body}`)
}

/** waits until `cond` is true (polling), or fails after `ms` */
export async function until<T>(what: string, fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v as T
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

export function mailsTo(t: TestApp, to: string): ReceivedMail[] {
  return t.smtp!.mails.filter((m) => m.to.includes(to))
}

export async function waitMail(t: TestApp, to: string, since = 0, ms = 30_000): Promise<ReceivedMail> {
  return until(`a mail to ${to}`, () => t.smtp!.mails.slice(since).find((m) => m.to.includes(to)), ms)
}

export async function parse(mail: ReceivedMail): Promise<ParsedMail> {
  return simpleParser(mail.raw)
}

/** a header's raw value (unfolded), as sent */
export function rawHeader(parsed: ParsedMail, name: string): string | undefined {
  const line = parsed.headerLines.find((h) => h.key === name.toLowerCase())?.line
  return line?.replace(/\r?\n[ \t]+/g, ' ').replace(/^[^:]+:\s*/, '')
}

/** drains the app's outbox now (the listener does it too; this makes tests deterministic) */
export async function drain(t: TestApp) {
  await t.app.notifications!.drain()
}

// ---- a push service (RFC 8030) that decrypts each message with the subscription's keys

export type PushReceived = { path: string; headers: http.IncomingHttpHeaders; payload: any }

export async function startPushService() {
  const ecdh = crypto.createECDH('prime256v1')
  ecdh.generateKeys()
  const auth = crypto.randomBytes(16)
  const received: PushReceived[] = []
  const statusByPath = new Map<string, number>()
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const status = statusByPath.get(req.url ?? '') ?? 201
      if (status === 201) {
        const body = Buffer.concat(chunks)
        const plain = ece.decrypt(body, { version: 'aes128gcm', privateKey: ecdh, authSecret: auth.toString('base64url') }) as Buffer
        received.push({ path: req.url ?? '', headers: req.headers, payload: JSON.parse(plain.toString('utf8')) })
      }
      res.statusCode = status
      res.end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    received,
    /** a subscription as a browser's PushSubscription.toJSON() gives it */
    subscription(path = '/push/' + crypto.randomBytes(6).toString('hex')) {
      return { endpoint: base + path, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') } }
    },
    /** the push service answers this status for the path from now on */
    answer(path: string, status: number) {
      statusByPath.set(path, status)
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

// ---- a webhook receiver that checks the signature with the secret it is given

export type WebhookReceived = { headers: http.IncomingHttpHeaders; body: any; raw: string; signatureOk: boolean }

export async function startWebhookReceiver() {
  const received: WebhookReceived[] = []
  let secret = ''
  // failures to answer per webhook id: a late delivery of another test's webhook takes none
  const failNext = new Map<number, number>()
  let alwaysFail = false
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      let webhookId: number | undefined
      try {
        webhookId = JSON.parse(raw).webhookId
      } catch {
        webhookId = undefined
      }
      const left = webhookId === undefined ? 0 : (failNext.get(webhookId) ?? 0)
      if (alwaysFail || left > 0) {
        if (left > 0) failNext.set(webhookId!, left - 1)
        res.statusCode = 503
        return res.end()
      }
      const expected = 'sha256=' + crypto.createHmac('sha256', secret).update(raw).digest('hex')
      const given = String(req.headers['x-hitask-signature'] ?? '')
      const signatureOk = given.length === expected.length && crypto.timingSafeEqual(Buffer.from(given), Buffer.from(expected))
      received.push({ headers: req.headers, body: JSON.parse(raw), raw, signatureOk })
      res.statusCode = 204
      res.end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    setSecret(s: string) {
      secret = s
    },
    /** the next `n` deliveries of this webhook are answered 503 */
    failNext(webhookId: number, n: number) {
      failNext.set(webhookId, n)
    },
    setAlwaysFail(v: boolean) {
      alwaysFail = v
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

type Person = { id: number; session: string }

/**
 * What an actor does, per kind of change notification (the 9 of notify_*_item_<kind>), to an
 * item the watcher is told about: the watcher's item shared with the actor at 100 and changed
 * by the actor, or (assigned, participant) the actor's item naming the watcher.
 */
export function changeKindActions(t: TestApp, actor: Person): Record<string, (watcher: Person) => Promise<unknown>> {
  const call = async (method: 'POST' | 'PUT' | 'DELETE', url: string, o: Parameters<TestApp['call']>[2]) => {
    const r = await t.call(method, url, o)
    if (r.statusCode !== 200) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`)
    return r.json()
  }
  const put = (id: number, body: Record<string, unknown>) => call('PUT', `/api/item/${id}`, { session: actor.session, body })
  const owned = async (w: Person): Promise<number> => (await call('POST', '/api/item', { session: w.session, body: { title: 'Kinds', permissions: [{ principal: actor.id, level: 100 }] } })).id
  const named = (w: Person, field: Record<string, unknown>) => call('POST', '/api/item', { session: actor.session, body: { title: 'Kinds', permissions: [{ principal: w.id, level: 60 }], ...field } })
  return {
    comment: async (w) => call('POST', '/api/item/comment', { session: actor.session, form: { id: await owned(w), message: 'a comment' } }),
    priority: async (w) => put(await owned(w), { priority: 10000 }),
    modify: async (w) => put(await owned(w), { title: 'Renamed' }),
    tags: async (w) => put(await owned(w), { tags: 'urgent' }),
    completed: async (w) => put(await owned(w), { completed: true }),
    deleted: async (w) => call('DELETE', `/api/item/${await owned(w)}`, { session: actor.session }),
    attachment: async (w) => {
      const up = await postMultipart(t, '/api/file/upload', { session: actor.session, fields: { parent_id: await owned(w) }, files: [{ field: 'file', name: 'notes.txt', data: Buffer.from('file body'), type: 'text/plain' }] })
      if (up.statusCode !== 200) throw new Error(`upload: ${up.statusCode} ${up.body}`)
    },
    assigned: async (w) => named(w, { assignee: w.id }),
    participant: async (w) => named(w, { participants: [w.id] }),
  }
}

/** per kind of `actions`, a watcher who keeps `<prefix><kind>` on and one who turned it off (made by `person`) */
export async function watchersOfEveryKind<P extends Person>(t: TestApp, actions: Record<string, unknown>, prefix: string, person: () => Promise<P>) {
  const watchers: { kind: string; on: P; off: P }[] = []
  for (const kind of Object.keys(actions)) {
    const on = await person()
    const off = await person()
    await setPrefs(t, off.session, { [`${prefix}${kind}`]: 'false' })
    watchers.push({ kind, on, off })
  }
  return watchers
}

/** the actor does each watcher's kind to both of them */
export async function actOnEveryKind(actions: Record<string, (w: Person) => Promise<unknown>>, watchers: { kind: string; on: Person; off: Person }[]) {
  for (const w of watchers) {
    await actions[w.kind]!(w.on)
    await actions[w.kind]!(w.off)
  }
}
