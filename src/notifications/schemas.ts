// What the notification routes answer (contract §12, docs/notifications.md): the Web Push key,
// webhooks (webhooks.ts writes them), and the pages of the one-click unsubscribe (HTML, for a
// person who followed the link of an email).
import { z } from 'zod'
import { dateOut, idOut, rawAnswer } from '../platform/responses.js'
import { WEBHOOK_EVENTS } from './webhooks.js'

export const pushKeySchema = z
  .strictObject({ publicKey: z.string().meta({ description: "the VAPID public key (base64url): the browser's applicationServerKey" }) })
  .meta({ id: 'PushKey', examples: [{ publicKey: 'BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U' }] })

const webhookEvents = z.array(z.enum(WEBHOOK_EVENTS))
const exampleUrl = 'https://hooks.example.com/hitask'

export const webhookCreatedSchema = z
  .strictObject({
    id: idOut(),
    url: z.string(),
    events: webhookEvents,
    secret: z.string().meta({ description: 'signs every delivery (X-Hitask-Signature: sha256=<HMAC-SHA256 of the body, hex>); shown this once' }),
  })
  .meta({ id: 'WebhookCreated', examples: [{ id: 7, url: exampleUrl, events: ['item.created', 'item.completed'], secret: 'mQ3vX9tB1nR7kL5pW2cZ8yH4dF6gJ0sA' }] })

export const webhookSchema = z
  .strictObject({
    id: idOut(),
    url: z.string(),
    events: webhookEvents,
    active: z.boolean().meta({ description: 'false once 50 deliveries in a row failed' }),
    failures: z.number().int().min(0).meta({ description: 'failed deliveries in a row' }),
    disabledAt: dateOut().nullable().meta({ description: 'when it was disabled (UTC); null while active' }),
    createdAt: dateOut().meta({ description: 'UTC' }),
  })
  .meta({
    id: 'Webhook',
    description: 'A webhook without its secret',
    examples: [{ id: 7, url: exampleUrl, events: ['item.created', 'item.completed'], active: true, failures: 0, disabledAt: null, createdAt: '2024-05-13T08:02:41.518+00:00' }],
  })
export const webhookListSchema = z.array(webhookSchema)

export const HTML_TYPE = 'text/html'

export const unsubscribePage = rawAnswer(HTML_TYPE, 'A page asking to confirm, with a button that POSTs the token (mail scanners open links: a GET changes nothing)', {
  text: true,
  example:
    '<!doctype html><html><head><meta charset="utf-8"><title>Unsubscribe</title></head><body><h1>Unsubscribe</h1><p>Turn off reminder emails?</p><form method="post" action="unsubscribe?token=…"><button type="submit">Turn off</button></form></body></html>',
})

export const unsubscribedPage = rawAnswer(HTML_TYPE, 'A page saying which emails are now off', {
  text: true,
  example: '<!doctype html><html><head><meta charset="utf-8"><title>Unsubscribed</title></head><body><h1>Unsubscribed</h1><p>Reminder emails are turned off.</p></body></html>',
})
