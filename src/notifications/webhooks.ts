// Webhooks (contract §12, beyond Hitask): a user's subscriptions to item events, delivered
// as JSON signed with HMAC-SHA256 of the body under the webhook's secret
// (`X-Hitask-Signature: sha256=<hex>`), only for items the webhook's owner can see.
// A failed attempt is retried with back-off (WEBHOOK_RETRY_SECONDS doubling up to an hour)
// for 24 h after the first; 50 failed attempts in a row disable the webhook.
import crypto from 'node:crypto'
import type { Deps } from '../deps.js'
import type { Sql } from '../platform/db/pool.js'
import { errors } from '../platform/errors.js'
import { formatDate } from '../platform/dates.js'
import { randomToken } from '../platform/secrets.js'
import { Q, type Ctx } from './context.js'
import { checkEndpoint, EndpointRefused, post } from './endpoints.js'
import { lockUserRow } from '../users/repository.js'
import { levelsOnItems } from './repository.js'
import type { Announced, EventItem, OutboxRow } from './outbox-repository.js'
import { activeWebhooksFor, deleteWebhook, insertWebhook, webhookById, webhookFailed, webhooksOf, webhookSucceeded, type WebhookRow } from './webhook-repository.js'
import type { HistoryEntry } from './changes.js'

export const WEBHOOK_EVENTS = ['item.created', 'item.updated', 'item.completed', 'item.deleted', 'item.commented'] as const
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number]
export const MAX_WEBHOOKS_PER_USER = 20
export const DISABLE_AFTER_FAILURES = 50
export const RETRY_FOR_MS = 24 * 3_600_000
const MAX_RETRY_DELAY_MS = 3_600_000

// ---- the routes' service

function view(w: WebhookRow) {
  return {
    id: w.id,
    url: w.url,
    events: w.events,
    active: w.active,
    failures: w.consecutive_failures,
    disabledAt: formatDate(w.disabled_at, 'UTC'),
    createdAt: formatDate(w.created_at, 'UTC'),
  }
}

export async function createWebhook(deps: Deps, userId: number, input: { url: string; events: WebhookEvent[] }) {
  try {
    await checkEndpoint(input.url, deps.config.WEBHOOK_ALLOW_PRIVATE)
  } catch (e) {
    if (e instanceof EndpointRefused) throw errors.endpointRefused('url', e.message)
    throw e
  }
  const secret = randomToken(32)
  const w = await deps.db.tx(async (tx) => {
    // one user's creations are serialised by the user row: the limit holds under concurrency
    await lockUserRow(tx, userId)
    if ((await webhooksOf(tx, userId)).length >= MAX_WEBHOOKS_PER_USER) throw errors.webhookLimit(MAX_WEBHOOKS_PER_USER)
    return insertWebhook(tx, { userId, url: input.url, events: [...new Set(input.events)], secret })
  })
  // the secret is shown this once
  return { id: w.id, url: w.url, events: w.events, secret }
}

export async function listWebhooks(deps: Deps, userId: number) {
  return (await webhooksOf(deps.db, userId)).map(view)
}

export async function removeWebhook(deps: Deps, userId: number, id: number) {
  if (!(await deleteWebhook(deps.db, userId, id))) throw errors.notFound('Webhook')
}

// ---- fan-out (in the draining transaction)

export type DeliveryJob = { webhookId: number; deliveryId: string; event: WebhookEvent; body: string; firstAt: number; attempt: number }

const iso = (d: Date | null | undefined) => formatDate(d ?? null, 'UTC')

function itemPayload(i: EventItem) {
  return {
    id: i.id,
    guid: i.guid,
    title: i.title,
    category: i.category,
    completed: i.completed,
    parent: i.parent_id,
    user_id: i.user_id,
    assignee: i.assignee_id,
    participants: i.participants,
    priority: i.priority,
    start_date: iso(i.start_date),
    end_date: iso(i.end_date),
    due_date: iso(i.due_date),
    version: i.version,
    time_last_update: iso(i.time_last_update),
  }
}

/** which webhook events an outbox event is, with what goes into each body */
function eventsOf(ev: OutboxRow): Array<{ event: WebhookEvent; extra: Record<string, unknown> }> {
  if (ev.kind === 'deleted') return [{ event: 'item.deleted', extra: {} }]
  const entries = (ev.data?.entries ?? []) as HistoryEntry[]
  const out: Array<{ event: WebhookEvent; extra: Record<string, unknown> }> = []
  const changed: string[] = []
  for (const e of entries) {
    if (e.p === 'created') out.push({ event: 'item.created', extra: {} })
    else if (e.p === 'comment') out.push({ event: 'item.commented', extra: { comment: { id: e.c, message: e.v } } })
    else if (e.p === 'completed' && e.v === 'true') out.push({ event: 'item.completed', extra: {} })
    else changed.push(e.p)
  }
  if (changed.length) out.push({ event: 'item.updated', extra: { changes: [...new Set(changed)] } })
  return out
}

/** the active webhooks, read once per drained batch (usually none) */
export async function activeWebhooks(tx: Sql): Promise<WebhookRow[]> {
  return activeWebhooksFor(tx, [...WEBHOOK_EVENTS])
}

/**
 * The deliveries of the outbox events to the active webhooks whose owner can see the item
 * (in the draining transaction): one read of the owners' levels, one statement sending the
 * delivery jobs.
 */
export async function fanOutWebhooks(ctx: Ctx, tx: Sql, events: Announced[], active: WebhookRow[]) {
  if (!active.length) return
  const planned: { ev: OutboxRow; item: EventItem | null; kinds: ReturnType<typeof eventsOf>; hooks: WebhookRow[] }[] = []
  for (const { ev, item } of events) {
    if (ev.kind !== 'deleted' && !item) continue
    const kinds = eventsOf(ev)
    const hooks = active.filter((h) => kinds.some((e) => h.events.includes(e.event)))
    if (kinds.length && hooks.length) planned.push({ ev, item, kinds, hooks })
  }
  const levels = await levelsOnItems(tx, planned.flatMap((p) => (p.ev.kind === 'deleted' ? [] : [...new Set(p.hooks.map((h) => h.user_id))].map((userId) => ({ itemId: p.item!.id, userId })))))
  const now = Date.now()
  const jobs: { data: DeliveryJob }[] = []
  for (const { ev, item, kinds, hooks } of planned) {
    let canSee: (userId: number) => boolean
    let itemBody: Record<string, unknown>
    if (ev.kind === 'deleted') {
      const viewers = new Set<number>((ev.data.webhookViewers ?? []).map(Number))
      canSee = (u) => viewers.has(u)
      itemBody = { id: ev.item_id, guid: ev.data.guid, title: ev.data.title, category: ev.data.category, parent: ev.data.parent, user_id: ev.data.owner }
    } else {
      canSee = (u) => (levels.get(`${item!.id}:${u}`) ?? 0) >= 10
      itemBody = itemPayload(item!)
    }
    for (const h of hooks) {
      if (!canSee(h.user_id)) continue
      for (const e of kinds) {
        if (!h.events.includes(e.event)) continue
        const deliveryId = crypto.randomUUID()
        const body = JSON.stringify({
          id: deliveryId,
          event: e.event,
          time: new Date(now).toISOString(),
          webhookId: h.id,
          actor: ev.actor_id ? { id: ev.actor_id, name: ev.data?.actorName ?? null } : null,
          item: itemBody,
          ...e.extra,
        })
        jobs.push({ data: { webhookId: h.id, deliveryId, event: e.event, body, firstAt: now, attempt: 1 } })
      }
    }
  }
  await ctx.jobs.sendMany(tx, Q.webhookDeliver, jobs)
}

// ---- delivery

export function signature(secret: string, body: string): string {
  return 'sha256=' + crypto.createHmac('sha256', secret).update(body).digest('hex')
}

function retryDelayMs(base: number, attempt: number): number {
  const d = Math.min(base * 1000 * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS)
  return Math.round(d * (1 + Math.random() * 0.2))
}

/** the webhook.deliver job: one attempt; a failure counts and schedules the next attempt */
export async function deliverWebhook(ctx: Ctx, d: DeliveryJob) {
  const { deps } = ctx
  const w = await webhookById(deps.db, d.webhookId)
  if (!w || !w.active) return // deleted or disabled: the delivery is dropped
  let status = 0
  let failure: string | null = null
  try {
    status = await post(new URL(w.url), d.body, {
      'content-type': 'application/json',
      'user-agent': 'hitask-server webhooks',
      'x-hitask-signature': signature(w.secret, d.body),
      'x-hitask-event': d.event,
      'x-hitask-delivery': d.deliveryId,
    }, {
      timeoutMs: deps.config.DELIVERY_TIMEOUT_MS,
      allowPrivate: deps.config.WEBHOOK_ALLOW_PRIVATE,
    })
    if (status < 200 || status >= 300) failure = `answered ${status}`
  } catch (e) {
    failure = String((e as Error).message ?? e)
  }
  if (!failure) {
    await webhookSucceeded(deps.db, w.id)
    return
  }
  await deps.db.tx(async (tx) => {
    const disabled = await webhookFailed(tx, w.id, DISABLE_AFTER_FAILURES)
    if (disabled) {
      ctx.log.warn({ webhookId: w.id, failure }, `webhook disabled after ${DISABLE_AFTER_FAILURES} failed deliveries in a row`)
      return
    }
    const at = Date.now() + retryDelayMs(deps.config.WEBHOOK_RETRY_SECONDS, d.attempt)
    if (at - d.firstAt > RETRY_FOR_MS) {
      ctx.log.warn({ webhookId: w.id, deliveryId: d.deliveryId, failure, attempts: d.attempt }, 'webhook delivery given up after 24 h')
      return
    }
    ctx.log.info({ webhookId: w.id, deliveryId: d.deliveryId, failure, attempt: d.attempt }, 'webhook delivery failed; retried later')
    await ctx.jobs.send<DeliveryJob>(tx, Q.webhookDeliver, { ...d, attempt: d.attempt + 1 }, { startAfter: new Date(at) })
  })
}
