// The daily summary (contract §12): on each weekday N (1 = Monday … 7 = Sunday) whose
// daily_summary_email_N is true, at DAILY_SUMMARY_HOUR in the user's time zone, an email
// listing the user's open items due or starting that day and those overdue; nothing is sent
// when the list is empty.
//
// A cron every 15 minutes (time zones differ by quarter hours) finds the zones where the
// local hour is DAILY_SUMMARY_HOUR now and sends one summary.user job per user of those zones,
// with an id derived from (user, local day): a second scan in the same hour adds nothing. The
// job claims 'summary:<user>:<day>' once and queues the email in the same transaction.
//
// "The user's items": open (not completed, not archived) tasks and events the user can see
// and is responsible for: assigned to them, or theirs with no assignee, or naming them as a
// participant.
import { DateTime } from 'luxon'
import { isValidTimeZone } from '../platform/dates.js'
import { Q, queueMail, type Ctx } from './context.js'
import { jobIdFor } from './jobs.js'
import { composeMail, itemLink, oneLine, unsubscribeUrl, type MailEntry } from './mail.js'
import { readPreferences, SUMMARY_KEYS } from './prefs.js'
import { claimOnce, people, summaryItems, summaryRecipients, timeZonesInUse } from './repository.js'

export type SummaryJob = { userId: number; day: string; zone: string }

/** the zones in use (users' time_zone preferences, and UTC for those without one) where it is `hour` now */
async function zonesAtHour(ctx: Ctx, hour: number, now: Date): Promise<string[]> {
  const zones = new Set<string>(['UTC'])
  for (const zone of await timeZonesInUse(ctx.deps.db)) {
    try {
      const z = JSON.parse(zone)
      if (typeof z === 'string' && isValidTimeZone(z)) zones.add(z)
    } catch {}
  }
  return [...zones].filter((z) => DateTime.fromJSDate(now, { zone: z }).hour === hour)
}

/** the summary.scan job */
export async function scanSummaries(ctx: Ctx, now = new Date()) {
  const zones = await zonesAtHour(ctx, ctx.deps.config.DAILY_SUMMARY_HOUR, now)
  if (!zones.length) return
  for (const zone of zones) {
    const local = DateTime.fromJSDate(now, { zone })
    const key = `daily_summary_email_${local.weekday}`
    // users in this zone (UTC: also those without a preference) whose weekday is on and who have a confirmed email
    const ids = await summaryRecipients(ctx.deps.db, zone, key)
    const day = local.toFormat('yyyy-MM-dd')
    for (const id of ids) {
      await ctx.jobs.send<SummaryJob>(ctx.deps.db, Q.summaryUser, { userId: id, day, zone }, { id: jobIdFor(`summary:${id}:${day}`) })
    }
  }
}

/** the summary.user job */
export async function sendSummary(ctx: Ctx, job: SummaryJob) {
  const { deps } = ctx
  await deps.db.tx(async (tx) => {
    const prefs = await readPreferences(tx, [job.userId], SUMMARY_KEYS)
    const zone = prefs.timeZone(job.userId)
    const dayStart = DateTime.fromISO(job.day, { zone })
    if (!dayStart.isValid) return
    if (!prefs.bool(job.userId, `daily_summary_email_${dayStart.weekday}`)) return
    const person = (await people(tx, [job.userId])).get(job.userId)
    if (!person?.email) return
    if (!(await claimOnce(tx, `summary:${job.userId}:${job.day}`))) return
    const from = dayStart.toJSDate()
    const to = dayStart.plus({ days: 1 }).toJSDate()
    const rows = await summaryItems(tx, job.userId, from, to, 201)
    if (!rows.length) return
    const fmt = (d: Date | null) => (d ? DateTime.fromJSDate(d, { zone }).toFormat('ccc d LLL, HH:mm') : '')
    const today = rows.filter((x) => !x.overdue)
    const overdue = rows.filter((x) => x.overdue)
    const entries: MailEntry[] = []
    for (const x of today.slice(0, 100)) {
      const when = x.due_date && x.due_date >= from ? `due ${fmt(x.due_date)}` : `starts ${fmt(x.start_date)}`
      entries.push({ line: `Today: "${oneLine(x.title)}", ${when}`, link: itemLink(deps.config, x) })
    }
    for (const x of overdue.slice(0, 100)) entries.push({ line: `Overdue: "${oneLine(x.title)}", was due ${fmt(x.due_date ?? x.end_date)}`, link: itemLink(deps.config, x) })
    if (rows.length > 200) entries.push({ line: 'and more' })
    const mail = composeMail({
      subject: `Your Hitask summary for ${dayStart.toFormat('cccc d LLLL')}: ${today.length} today, ${overdue.length} overdue`,
      heading: `Your items for ${dayStart.toFormat('cccc d LLLL yyyy')}:`,
      entries,
      footer: 'You get this daily summary because of your notification settings; the link below turns it off.',
      unsubscribe: unsubscribeUrl(deps.config, deps.urlSecret, job.userId, SUMMARY_KEYS),
    })
    await queueMail(ctx, tx, person.email, mail)
  })
}
