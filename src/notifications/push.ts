// Web Push (RFC 8030 delivery, RFC 8291 payload encryption, RFC 8292 VAPID) with the web-push
// package. The VAPID key pair comes from VAPID_PUBLIC_KEY / VAPID_PRIVATE_KEY, else it is
// generated once and kept in DATA_DIR/vapid.json (like the URL-signing secret: set it when
// several instances serve the same users, so they all sign with one key). A subscription the
// push service answers 404 or 410 for is gone: it is removed.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import webpush from 'web-push'
import type { Config } from '../platform/config.js'
import type { Deps } from '../deps.js'
import { errors } from '../platform/errors.js'
import type { Ctx, PushJob } from './context.js'
import { checkEndpoint, EndpointRefused, post } from './endpoints.js'
import { lockUserRow } from '../users/repository.js'
import { countPushSubscriptions, deletePushSubscription, deletePushSubscriptionById, hasPushSubscription, pushSubscriptionById, upsertPushSubscription } from './push-repository.js'

export type VapidKeys = { publicKey: string; privateKey: string; subject: string }
export const MAX_PUSH_SUBSCRIPTIONS = 50

const cache = new WeakMap<Config, VapidKeys>()

function subjectOf(config: Config): string {
  if (config.VAPID_SUBJECT) return config.VAPID_SUBJECT
  const addr = /<([^<>\s]+@[^<>\s]+)>/.exec(config.MAIL_FROM)?.[1] ?? (/^[^\s<>]+@[^\s<>]+$/.test(config.MAIL_FROM.trim()) ? config.MAIL_FROM.trim() : null)
  // push services want a reachable contact; a localhost PUBLIC_URL is not https, so fall back to mailto
  return addr ? `mailto:${addr}` : config.PUBLIC_URL.startsWith('https://') ? config.PUBLIC_URL : 'mailto:admin@localhost'
}

/** the server's VAPID keys: configured, or generated once and kept in DATA_DIR */
export function vapidKeys(config: Config): VapidKeys {
  const hit = cache.get(config)
  if (hit) return hit
  let pair: { publicKey: string; privateKey: string }
  if (config.VAPID_PUBLIC_KEY && config.VAPID_PRIVATE_KEY) {
    pair = { publicKey: config.VAPID_PUBLIC_KEY, privateKey: config.VAPID_PRIVATE_KEY }
  } else {
    const file = path.resolve(config.DATA_DIR, 'vapid.json')
    try {
      const v = JSON.parse(fs.readFileSync(file, 'utf8')) as { publicKey?: unknown; privateKey?: unknown }
      if (typeof v.publicKey !== 'string' || typeof v.privateKey !== 'string') throw new Error('bad file')
      pair = { publicKey: v.publicKey, privateKey: v.privateKey }
    } catch {
      pair = webpush.generateVAPIDKeys()
      fs.mkdirSync(path.dirname(file), { recursive: true })
      // a concurrent start on the same folder: the first file written wins
      try {
        fs.writeFileSync(file, JSON.stringify(pair) + '\n', { mode: 0o600, flag: 'wx' })
      } catch {
        pair = JSON.parse(fs.readFileSync(file, 'utf8'))
      }
    }
  }
  const keys = { ...pair, subject: subjectOf(config) }
  // unusable keys stop the server at start, not every push later
  try {
    webpush.getVapidHeaders('https://push.example', keys.subject, keys.publicKey, keys.privateKey, 'aes128gcm')
    const ecdh = crypto.createECDH('prime256v1')
    ecdh.setPrivateKey(Buffer.from(keys.privateKey, 'base64url'))
    if (!ecdh.getPublicKey().equals(Buffer.from(keys.publicKey, 'base64url'))) throw new Error('the public key is not the private key\'s')
  } catch (e) {
    throw new Error(`the VAPID keys (VAPID_PUBLIC_KEY / VAPID_PRIVATE_KEY or DATA_DIR/vapid.json) are not usable: ${(e as Error).message}`)
  }
  cache.set(config, keys)
  return keys
}

// ---- the routes' service

export function pushKey(deps: Deps) {
  return { publicKey: vapidKeys(deps.config).publicKey }
}

export async function subscribe(deps: Deps, userId: number, s: { endpoint: string; keys: { p256dh: string; auth: string } }) {
  // push services are https; plain http only where local endpoints are allowed (tests)
  if (!deps.config.PUSH_ALLOW_PRIVATE && !s.endpoint.startsWith('https://')) throw errors.endpointRefused('endpoint', 'push endpoints are https URLs')
  try {
    await checkEndpoint(s.endpoint, deps.config.PUSH_ALLOW_PRIVATE)
  } catch (e) {
    if (e instanceof EndpointRefused) throw errors.endpointRefused('endpoint', e.message)
    throw e
  }
  await deps.db.tx(async (tx) => {
    // one user's subscriptions are serialised by the user row: the limit holds under concurrency
    await lockUserRow(tx, userId)
    const known = await hasPushSubscription(tx, userId, s.endpoint)
    if (!known && (await countPushSubscriptions(tx, userId)) >= MAX_PUSH_SUBSCRIPTIONS) throw errors.pushLimit(MAX_PUSH_SUBSCRIPTIONS)
    await upsertPushSubscription(tx, userId, { endpoint: s.endpoint, p256dh: s.keys.p256dh, auth: s.keys.auth })
  })
}

export async function unsubscribe(deps: Deps, userId: number, endpoint: string) {
  if (!(await deletePushSubscription(deps.db, userId, endpoint))) throw errors.notFound('Push subscription')
}

// ---- delivery

/** the push.send job: one message to one subscription */
export async function deliverPush(ctx: Ctx, job: PushJob) {
  const { deps } = ctx
  const sub = await pushSubscriptionById(deps.db, job.subscriptionId)
  if (!sub) return // unsubscribed since
  const keys = vapidKeys(deps.config)
  let request: { endpoint: string; headers: Record<string, string | number>; body: Buffer | string | null }
  try {
    // encrypts the payload for the subscription's keys (aes128gcm) and signs the VAPID claims
    request = webpush.generateRequestDetails({ endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth } }, job.payload, {
      vapidDetails: { subject: keys.subject, publicKey: keys.publicKey, privateKey: keys.privateKey },
      TTL: job.ttl,
      urgency: job.urgency,
      contentEncoding: 'aes128gcm',
    }) as typeof request
  } catch (e) {
    // a subscription whose keys the library cannot use will never work; anything else (the
    // server's own keys) is an error of ours: retried and logged, the subscription kept
    if (!/subscription/i.test(String((e as Error).message))) throw e
    ctx.log.warn({ subscriptionId: sub.id, err: e }, 'push subscription unusable: removed')
    await deletePushSubscriptionById(deps.db, sub.id)
    return
  }
  let status: number
  try {
    status = await post(new URL(request.endpoint), request.body ?? '', request.headers, { timeoutMs: deps.config.DELIVERY_TIMEOUT_MS, allowPrivate: deps.config.PUSH_ALLOW_PRIVATE })
  } catch (e) {
    if (/refused: .*private/.test(String((e as Error).message))) {
      ctx.log.warn({ subscriptionId: sub.id }, 'push endpoint on a private address: subscription removed')
      await deletePushSubscriptionById(deps.db, sub.id)
      return
    }
    throw e
  }
  if (status === 404 || status === 410) {
    ctx.log.info({ subscriptionId: sub.id, status }, 'push subscription gone: removed')
    await deletePushSubscriptionById(deps.db, sub.id)
    return
  }
  // 429 and 5xx: the queue retries with back-off; other 4xx will not get better
  if (status === 429 || status >= 500) throw new Error(`push service answered ${status}`)
  if (status < 200 || status >= 300) ctx.log.warn({ subscriptionId: sub.id, status }, 'push message refused by the push service')
}
