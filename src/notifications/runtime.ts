// Starts and stops everything that runs in the background of an instance: the job queue and
// its workers, the outbox listener, the crons, and the email-in SMTP listener. Called once by
// src/app.ts; stopped when the app closes (before the database pool).
import type { Deps } from '../deps.js'
import { Jobs, type QueueSpec } from './jobs.js'
import { Q, type Ctx, type MailJob, type PushJob } from './context.js'
import { drainOutbox, startOutboxListener } from './outbox.js'
import { flushUser } from './changes.js'
import { fireReminder, reconcileReminders, type FireData } from './reminders.js'
import { scanSummaries, sendSummary, type SummaryJob } from './summary.js'
import { deliverPush, vapidKeys } from './push.js'
import { deliverWebhook, type DeliveryJob } from './webhooks.js'
import { pruneClaims } from './repository.js'
import { pruneFailedOutbox } from './outbox-repository.js'
import { startEmailIn, type EmailIn } from '../email-in/listener.js'

const QUEUES: QueueSpec[] = [
  { name: Q.outboxSweep, retryLimit: 0, expireInSeconds: 600 },
  { name: Q.notifyFlush, concurrency: 2, retryLimit: 5, retryDelay: 10 },
  // a firing takes milliseconds: one whose instance died is run again after 30 s (+ maintenance)
  { name: Q.reminderFire, concurrency: 2, batchSize: 20, retryLimit: 10, retryDelay: 5, expireInSeconds: 30 },
  { name: Q.reminderReconcile, retryLimit: 2, expireInSeconds: 1800 },
  { name: Q.summaryScan, retryLimit: 2, expireInSeconds: 600 },
  { name: Q.summaryUser, concurrency: 2, retryLimit: 5, retryDelay: 30 },
  { name: Q.mailSend, concurrency: 2, batchSize: 10, retryLimit: 8, retryDelay: 30, expireInSeconds: 300 },
  { name: Q.pushSend, concurrency: 2, batchSize: 10, retryLimit: 5, retryDelay: 30, expireInSeconds: 120 },
  // retries are its own (WEBHOOK_RETRY_SECONDS, 24 h); the queue's only cover a crash
  { name: Q.webhookDeliver, concurrency: 4, batchSize: 5, retryLimit: 1, retryDelay: 60, expireInSeconds: 300 },
  { name: Q.prune, retryLimit: 1, expireInSeconds: 600 },
]

export type Notifications = {
  jobs: Jobs | null
  emailIn: EmailIn | null
  /** drains the outbox now (tests, and the sweep) */
  drain(): Promise<number>
  stop(): Promise<void>
}

export async function startNotifications(deps: Deps): Promise<Notifications> {
  const log = deps.log.child({ part: 'notifications' })
  // the VAPID keys: read or generated now, and checked (a bad configured pair stops the start)
  vapidKeys(deps.config)
  const emailIn = deps.config.INBOUND_SMTP_PORT !== undefined ? await startEmailIn(deps) : null
  if (!deps.config.WORKERS_ENABLED) {
    log.info('job workers disabled on this instance (WORKERS_ENABLED=false)')
    return { jobs: null, emailIn, drain: async () => 0, stop: async () => void (await emailIn?.close()) }
  }
  const jobs = new Jobs(deps.db, { log, pollSeconds: deps.config.JOBS_POLL_SECONDS })
  const ctx: Ctx = { deps, jobs, log }
  await jobs.start(QUEUES)

  const mailHost = new URL(deps.config.PUBLIC_URL).hostname || 'hitask'
  await jobs.work<MailJob>(Q.mailSend, async ({ id, data }) => {
    // the job's id as Message-ID: should a crash between the SMTP server's acceptance and the
    // job's completion make the queue send it again, it is the same message (receivers dedupe)
    await deps.mailer.send({ to: data.to, subject: data.subject, text: data.text, html: data.html, headers: data.headers, messageId: `<${id}@${mailHost}>` })
  })
  await jobs.work<PushJob>(Q.pushSend, ({ data }) => deliverPush(ctx, data))
  await jobs.work<DeliveryJob>(Q.webhookDeliver, ({ data }) => deliverWebhook(ctx, data))
  await jobs.work<{ userId: number }>(Q.notifyFlush, ({ data }) => flushUser(ctx, data.userId))
  await jobs.work<FireData>(Q.reminderFire, ({ id, data }) => fireReminder(ctx, id, data))
  await jobs.work(Q.reminderReconcile, () => reconcileReminders(ctx))
  await jobs.work(Q.summaryScan, () => scanSummaries(ctx))
  await jobs.work<SummaryJob>(Q.summaryUser, ({ data }) => sendSummary(ctx, data))
  await jobs.work(Q.outboxSweep, async () => void (await drainOutbox(ctx)))
  await jobs.work(Q.prune, async () => {
    await pruneClaims(deps.db, 60)
    await pruneFailedOutbox(deps.db, 30)
  })

  await jobs.schedule(Q.outboxSweep, '* * * * *')
  await jobs.schedule(Q.summaryScan, '*/15 * * * *')
  await jobs.schedule(Q.reminderReconcile, '17 * * * *')
  await jobs.schedule(Q.prune, '41 3 * * *')

  const listener = startOutboxListener(ctx)
  // alerts without a schedule (older than this feature, or lost): once per start, on one instance
  await jobs.send(deps.db, Q.reminderReconcile, {})

  log.info({ pollSeconds: deps.config.JOBS_POLL_SECONDS }, 'job workers started')
  return {
    jobs,
    emailIn,
    async drain() {
      await listener.flush()
      return drainOutbox(ctx)
    },
    async stop() {
      await emailIn?.close()
      await listener.stop()
      await jobs.stop(Math.min(deps.config.SHUTDOWN_GRACE_MS, 10_000))
    },
  }
}
