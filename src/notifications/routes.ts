// Routes of notifications (contract §12): Web Push key and subscriptions, webhooks, and the
// one-click unsubscribe of notification emails (RFC 8058).
import { z } from 'zod'
import type { RouteModule } from '../http/route.js'
import { errors } from '../platform/errors.js'
import { fail, id, jsonish, list, text } from '../platform/fields.js'
import { escapeHtml, readUnsubscribeToken } from './mail.js'
import { turnOff } from './prefs.js'
import { pushKey, subscribe, unsubscribe } from './push.js'
import { createWebhook, listWebhooks, removeWebhook, WEBHOOK_EVENTS, type WebhookEvent } from './webhooks.js'
import { ok } from '../platform/responses.js'
import { pushKeySchema, unsubscribedPage, unsubscribePage, webhookCreatedSchema, webhookListSchema } from './schemas.js'

/** a base64url (or base64) key of exactly `bytes` bytes; p256dh is an uncompressed P-256 point */
const keyOf = (bytes: number, point = false) =>
  z.string().transform((v, ctx) => {
    const s = v.trim().replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')
    const buf = /^[A-Za-z0-9_-]+$/.test(s) ? Buffer.from(s, 'base64url') : Buffer.alloc(0)
    if (buf.length !== bytes || (point && buf[0] !== 0x04)) {
      ctx.addIssue({ code: 'custom', message: 'format' })
      return z.NEVER
    }
    return s
  })

const subscriptionInput = z.object({
  endpoint: text(2048),
  keys: jsonish(z.object({ p256dh: keyOf(65, true), auth: keyOf(16) })),
})

const webhookInput = z.object({
  url: text(2048),
  events: list(z.string()).transform((list, ctx) => {
    if (!list.length) {
      fail(ctx, errors.mandatory('events'))
      return z.NEVER
    }
    const bad = list.find((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e))
    if (bad !== undefined) {
      fail(ctx, errors.invalidData('events', `(${String(bad).slice(0, 40)}): use ${WEBHOOK_EVENTS.join(', ')}`))
      return z.NEVER
    }
    return list as WebhookEvent[]
  }),
})

function describe(keys: string[]): string {
  if (keys.length > 1 && keys.every((k) => k.startsWith('daily_summary_email_'))) return 'the daily summary emails'
  if (keys.length === 1 && keys[0] === 'notify_email') return 'every change notification email'
  if (keys.length === 1 && keys[0] === 'notify_email_item_reminder') return 'reminder emails'
  const m = keys.length === 1 ? /^notify_email_item_(\w+)$/.exec(keys[0]!) : null
  if (m) return `emails about changes of this kind (${m[1]})`
  return 'these emails'
}

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escapeHtml(title)}</title></head>
<body style="font-family:Arial,Helvetica,sans-serif;max-width:32em;margin:3em auto;padding:0 1em">${body}</body></html>
`
}

const register: RouteModule = (route, deps) => {
  // ---- Web Push
  route({
    method: 'GET',
    url: '/user/push/key',
    summary: 'The VAPID public key to subscribe with (applicationServerKey)',
    tags: ['notifications'],
    errors: [7],
    response: pushKeySchema,
    handler: () => pushKey(deps),
  })
  route({
    method: 'POST',
    url: '/user/push/subscription',
    summary: "Stores a browser's push subscription {endpoint, keys: {p256dh, auth}}",
    tags: ['notifications'],
    params: subscriptionInput,
    errors: [4, 5, 6, 7],
    response: ok,
    handler: async ({ p, user }) => {
      await subscribe(deps, user.id, p)
    },
  })
  route({
    method: 'DELETE',
    url: '/user/push/subscription',
    summary: 'Removes the push subscription of that endpoint',
    tags: ['notifications'],
    params: z.object({ endpoint: text(2048) }),
    errors: [1, 4, 7],
    response: ok,
    handler: async ({ p, user }) => {
      await unsubscribe(deps, user.id, p.endpoint)
    },
  })

  // ---- webhooks
  route({
    method: 'POST',
    url: '/webhook',
    summary: 'Subscribes a URL to item events; the answer holds the signing secret (shown once)',
    tags: ['notifications'],
    params: webhookInput,
    errors: [4, 5, 6, 7],
    response: webhookCreatedSchema,
    handler: ({ p, user }) => createWebhook(deps, user.id, p),
  })
  route({
    method: 'GET',
    url: '/webhook',
    summary: "The caller's webhooks (without secrets)",
    tags: ['notifications'],
    errors: [7],
    response: webhookListSchema,
    handler: ({ user }) => listWebhooks(deps, user.id),
  })
  route({
    method: 'DELETE',
    url: '/webhook/:id',
    summary: 'Deletes a webhook',
    tags: ['notifications'],
    params: z.object({ id: id() }),
    errors: [1, 5, 7],
    response: ok,
    handler: async ({ p, user }) => {
      await removeWebhook(deps, user.id, p.id)
    },
  })

  // ---- one-click unsubscribe (RFC 8058): GET shows a button (mail scanners open links),
  // POST (the button, or the mail client's List-Unsubscribe-Post) turns the preference off
  const tokenInput = z.object({ token: text(2100) })
  route({
    method: 'GET',
    url: '/unsubscribe',
    auth: 'none',
    summary: 'The page of an unsubscribe link: a button that turns the emails off',
    tags: ['notifications'],
    params: tokenInput,
    errors: [4, 6],
    response: unsubscribePage,
    handler: ({ p, reply }) => {
      const t = readUnsubscribeToken(deps.urlSecret, p.token)
      if (!t) throw errors.badToken()
      const what = describe(t.keys)
      // the answer is sent here: return the reply (the route wrapper would send another)
      return reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .header('referrer-policy', 'no-referrer')
        .send(
          page(
            'Unsubscribe',
            `<h1>Unsubscribe</h1><p>Turn off ${escapeHtml(what)}?</p>
<form method="post" action="unsubscribe?token=${escapeHtml(encodeURIComponent(p.token))}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Turn off</button></form>
<p style="color:#777">You can turn them on again in your notification settings.</p>`,
          ),
        )
    },
  })
  route({
    method: 'POST',
    url: '/unsubscribe',
    auth: 'none',
    summary: 'One-click unsubscribe (RFC 8058): turns off the preference the token names',
    tags: ['notifications'],
    params: tokenInput,
    errors: [4, 6],
    response: unsubscribedPage,
    handler: async ({ p, reply }) => {
      const t = readUnsubscribeToken(deps.urlSecret, p.token)
      if (!t) throw errors.badToken()
      await turnOff(deps, t.userId, t.keys)
      return reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(page('Unsubscribed', `<h1>Unsubscribed</h1><p>${escapeHtml(describe(t.keys).replace(/^./, (c) => c.toUpperCase()))} are turned off.</p>`))
    },
  })
}

export default register
