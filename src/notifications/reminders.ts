// Reminders (contract §12): every alert with `email` or `push` fires once at its
// notificationTime, per occurrence of a recurring item.
//
// reminder_schedule holds, per alert, its next firing and the pg-boss job that fires it.
// Whenever an alert or what it depends on changes (outbox events 'alerts' and 'dates', from
// triggers), scheduleItemReminders recomputes the item's alerts in the draining transaction:
// an unchanged time keeps its job, a moved one replaces it, a gone one is cancelled. The job
// checks, under the row lock, that it is still the row's job and that the time still holds,
// claims 'reminder:<alert>:<ms>' once (so a retried or duplicated job never sends twice) and
// queues the email and push messages in the same transaction, then schedules the next
// occurrence. A job found late (the server was down) is sent when less than 24 h late, else
// dropped and logged.
import type { Sql } from '../platform/db/pool.js'
import { DateTime } from 'luxon'
import { Q, queueMail, queuePush, type Ctx } from './context.js'
import { nextFiring } from './recurrence.js'
import { alertBaseDate, alertOffsetMs } from '../items/alerts.js'
import { claimed, claimOnce, levelsOnItems, people } from './repository.js'
import { pushSubscriptionsOf } from './push-repository.js'
import {
  alertById,
  deleteSchedule,
  itemsToReconcile,
  lockSchedule,
  lockSchedulesOfItems,
  remindingAlertsOf,
  upsertSchedule,
  type AlertRow,
  type ScheduleRow,
} from './reminder-repository.js'
import { composeMail, itemLink, oneLine, unsubscribeUrl } from './mail.js'
import { emailKeyOf, readPreferences } from './prefs.js'
import { storedTimeZone } from '../platform/dates.js'

export const MAX_LATE_MS = 24 * 3_600_000
/** a time this recently past is still scheduled (an edit racing with the firing) */
const RECENT_MS = 60_000

export type FireData = { alertId: number; fireAt: number; occurrence: string | null }

const reminderKey = (alertId: number, at: number) => `reminder:${alertId}:${at}`

async function sendFireJob(ctx: Ctx, tx: Sql, a: { id: number; item_id: number; user_id: number }, at: Date, occurrence: string | null) {
  const data: FireData = { alertId: a.id, fireAt: at.getTime(), occurrence }
  const jobId = await ctx.jobs.send(tx, Q.reminderFire, data, { startAfter: at })
  if (!jobId) throw new Error('the reminder job was not created')
  await upsertSchedule(tx, { alertId: a.id, itemId: a.item_id, userId: a.user_id, fireAt: at, occurrence, jobId })
}

async function cancel(ctx: Ctx, tx: Sql, row: ScheduleRow) {
  await ctx.jobs.cancel(tx, Q.reminderFire, row.job_id)
  await deleteSchedule(tx, row.alert_id)
}

/** a firing more than 24 h late is not sent: said in the log, whichever path finds it */
function logDropped(ctx: Ctx, s: { alert_id: number; item_id: number; fire_at: Date; occurrence?: string | null }) {
  const late = Date.now() - s.fire_at.getTime()
  ctx.log.warn({ alertId: s.alert_id, itemId: s.item_id, occurrence: s.occurrence ?? null, lateHours: Math.round(late / 360_000) / 10 }, 'reminder dropped: more than 24 h late')
}

/** recomputes the reminders of the items (in the caller's transaction) */
export async function scheduleItemReminders(ctx: Ctx, tx: Sql, itemIds: number[]) {
  if (!itemIds.length) return
  const ids = [...new Set(itemIds)].sort((a, b) => a - b)
  // lock the schedule rows first (in id order): a firing job waits, or is waited for
  const existing = await lockSchedulesOfItems(tx, ids)
  const byAlert = new Map(existing.map((r) => [r.alert_id, r]))
  const alerts = await remindingAlertsOf(tx, ids)
  const after = new Date(Date.now() - RECENT_MS)
  for (const a of alerts) {
    const tz = storedTimeZone(a.tz)
    let next = nextFiring(a, a, tz, after)
    // a time just past that already fired is not scheduled again
    for (let i = 0; i < 5 && next && next.at.getTime() <= Date.now() && (await claimed(tx, reminderKey(a.id, next.at.getTime()))); i++) next = nextFiring(a, a, tz, next.at)
    const ex = byAlert.get(a.id)
    byAlert.delete(a.id)
    // (the next firing is never before `after`, so such a one is not kept)
    if (ex && ex.fire_at.getTime() < Date.now() - MAX_LATE_MS) logDropped(ctx, ex)
    if (!next) {
      if (ex) await cancel(ctx, tx, ex)
      continue
    }
    if (ex && ex.fire_at.getTime() === next.at.getTime()) continue
    if (ex) await ctx.jobs.cancel(tx, Q.reminderFire, ex.job_id)
    await sendFireJob(ctx, tx, a, next.at, next.occurrence)
  }
  // alerts that are gone (deleted, their item deleted, email and push both turned off)
  for (const ex of byAlert.values()) await cancel(ctx, tx, ex)
}

function whenText(a: AlertRow, at: Date, tz: string): string {
  // a specified time (type 1) has no offset
  const offset = alertOffsetMs(a)
  if (offset === null || !alertBaseDate(a)) return DateTime.fromJSDate(at, { zone: tz }).toFormat("ccc d LLL yyyy, HH:mm ZZZZ")
  // the occurrence's date: the firing time plus the alert's offset
  const occ = new Date(at.getTime() + offset)
  return `${a.category === 2 ? 'starts' : 'due'} ${DateTime.fromJSDate(occ, { zone: tz }).toFormat("ccc d LLL yyyy, HH:mm ZZZZ")}`
}

/** the reminder.fire job */
export async function fireReminder(ctx: Ctx, jobId: string, data: FireData) {
  const { deps } = ctx
  await deps.db.tx(async (tx) => {
    const row = await lockSchedule(tx, data.alertId)
    // replaced or cancelled since this job was sent
    if (!row || row.job_id !== jobId) return
    const a = await alertById(tx, data.alertId)
    if (!a || !(a.email || a.push)) {
      await deleteSchedule(tx, data.alertId)
      return
    }
    const tz = storedTimeZone(a.tz)
    const still = nextFiring(a, a, tz, new Date(data.fireAt - 1))
    if (!still || still.at.getTime() !== data.fireAt) {
      // the alert or its item changed and the outbox has not rescheduled it yet: do it now
      await scheduleItemReminders(ctx, tx, [a.item_id])
      return
    }
    const late = Date.now() - data.fireAt
    const level = (await levelsOnItems(tx, [{ itemId: a.item_id, userId: a.user_id }])).get(`${a.item_id}:${a.user_id}`) ?? 0
    if (late > MAX_LATE_MS) {
      logDropped(ctx, { alert_id: a.id, item_id: a.item_id, fire_at: new Date(data.fireAt), occurrence: data.occurrence })
    } else if (level >= 10 && (await claimOnce(tx, reminderKey(a.id, data.fireAt)))) {
      await deliverReminder(ctx, tx, a, new Date(data.fireAt), tz)
    }
    const next = nextFiring(a, a, tz, new Date(Math.max(data.fireAt, Date.now() - MAX_LATE_MS)))
    if (next) await sendFireJob(ctx, tx, a, next.at, next.occurrence)
    else await deleteSchedule(tx, a.id)
  })
}

async function deliverReminder(ctx: Ctx, tx: Sql, a: AlertRow, at: Date, tz: string) {
  const { deps } = ctx
  const title = oneLine(a.title)
  const when = whenText(a, at, tz)
  const link = itemLink(deps.config, { id: a.item_id, guid: a.guid })
  if (a.email) {
    const prefs = await readPreferences(tx, [a.user_id], [emailKeyOf('reminder')])
    const person = (await people(tx, [a.user_id])).get(a.user_id)
    if (prefs.bool(a.user_id, emailKeyOf('reminder')) && person?.email) {
      const mail = composeMail({
        subject: `Reminder: ${title}`,
        heading: `Reminder: "${title}", ${when}.`,
        entries: [{ line: `"${title}", ${when}`, link }],
        footer: 'You get this email for a reminder set on this item (reminder emails can be turned off in your notification settings).',
        unsubscribe: unsubscribeUrl(deps.config, deps.urlSecret, a.user_id, [emailKeyOf('reminder')]),
      })
      await queueMail(ctx, tx, person.email, mail)
    }
  }
  if (a.push) {
    const subs = await pushSubscriptionsOf(tx, [a.user_id])
    await queuePush(ctx, tx, subs.map((s) => s.id), { type: 'reminder', title: `Reminder: ${title}`, body: `"${title}", ${when}`, url: link, itemId: a.item_id, tag: `reminder-${a.id}` }, { ttl: 86_400, urgency: 'high' })
  }
}

/**
 * The reminder.reconcile job (at each start and hourly): items whose alerts have no schedule
 * but a time still ahead (alerts older than this feature, a lost job), schedules long past
 * (their job was lost), and schedules whose alert is gone.
 */
export async function reconcileReminders(ctx: Ctx) {
  const ids = await itemsToReconcile(ctx.deps.db)
  for (let i = 0; i < ids.length; i += 200) {
    const chunk = ids.slice(i, i + 200)
    await ctx.deps.db.tx((tx) => scheduleItemReminders(ctx, tx, chunk))
  }
  if (ids.length) ctx.log.info({ items: ids.length }, 'reminders reconciled')
}
