// What the notification workers share: the server's dependencies and the job queue.
import type { Deps } from '../deps.js'
import type { Sql } from '../platform/db/pool.js'
import type { Jobs } from './jobs.js'
import type { ComposedMail } from './mail.js'

export type Ctx = { deps: Deps; jobs: Jobs; log: Deps['log'] }

/** the queues (docs/notifications.md has the table) */
export const Q = {
  /** cron: drains the outbox when a NOTIFY was missed (start, lost LISTEN connection) */
  outboxSweep: 'outbox.sweep',
  /** one user's batch of change notifications, due NOTIFY_BATCH_SECONDS after its first change */
  notifyFlush: 'notify.flush',
  /** one alert's firing (alert, occurrence) at its time */
  reminderFire: 'reminder.fire',
  /** cron + start: alerts whose schedule is missing or lost are scheduled again */
  reminderReconcile: 'reminder.reconcile',
  /** cron every 15 minutes: users for whom it is DAILY_SUMMARY_HOUR now */
  summaryScan: 'summary.scan',
  /** one user's daily summary for one local day */
  summaryUser: 'summary.user',
  /** one email (retried with back-off) */
  mailSend: 'mail.send',
  /** one Web Push message to one subscription */
  pushSend: 'push.send',
  /** one webhook delivery attempt (its own back-off for 24 h) */
  webhookDeliver: 'webhook.deliver',
  /** cron daily: old once-only claims and set-aside outbox events */
  prune: 'maintenance.prune',
} as const

export type MailJob = ComposedMail & { to: string }
export type PushJob = { subscriptionId: number; payload: string; ttl: number; urgency: 'low' | 'normal' | 'high' }

/** queues an email (inside the caller's transaction) */
export async function queueMail(ctx: Ctx, sql: Sql, to: string, mail: ComposedMail) {
  await ctx.jobs.send<MailJob>(sql, Q.mailSend, { to, ...mail })
}

/** queues a push message to each subscription (inside the caller's transaction) */
export async function queuePush(ctx: Ctx, sql: Sql, subscriptionIds: number[], payload: object, o: { ttl: number; urgency: PushJob['urgency'] }) {
  const text = JSON.stringify(payload)
  for (const id of subscriptionIds) await ctx.jobs.send<PushJob>(sql, Q.pushSend, { subscriptionId: id, payload: text, ttl: o.ttl, urgency: o.urgency })
}
