// Change notifications (contract §12): someone else comments on, assigns, adds as participant,
// completes, modifies, reprioritises, tags, attaches a file to, or deletes an item that a user
// owns, is assigned to or participates in → an email (notify_email + notify_email_item_<kind>)
// and a push message (notify_app + notify_app_item_<kind>). Never to the actor.
//
// fanOutChanges runs in the draining transaction: it turns the drained outbox events into
// pending rows per recipient and channel and opens each recipient's batch (one notify.flush job due
// NOTIFY_BATCH_SECONDS later). The flush takes every pending row of the user at once and
// sends one email listing them, and one push message.
import type { Sql } from '../platform/db/pool.js'
import { Q, queueMail, queuePush, type Ctx } from './context.js'
import { composeMail, excerpt, itemLink, oneLine, unsubscribeUrl, type MailEntry } from './mail.js'
import { appKeyOf, CHANGE_KINDS, emailKeyOf, readPreferences, type ChangeKind, type PrefReader } from './prefs.js'
import { insertPending, joinBatches, levelsOnItems, people, setBatchJobs, takeBatch, type PendingInsert } from './repository.js'
import type { Announced, EventItem, OutboxRow } from './outbox-repository.js'
import { pushSubscriptionsOf } from './push-repository.js'

export type HistoryEntry = { p: string; v: string | null; c: number | null }

/** history property → the kind of change it announces (null: not announced) */
const KIND_OF: Record<string, ChangeKind | null> = {
  comment: 'comment',
  comment_deleted: null,
  assignee: 'assigned',
  participants: 'participant',
  priority: 'priority',
  tag: 'tags',
  file: 'attachment',
  title: 'modify',
  message: 'modify',
  start_date: 'modify',
  end_date: 'modify',
  due_date: 'modify',
  time_track: 'modify',
  time_est: 'modify',
  time_spent: 'modify',
  recurring: 'modify',
  recurring_interval: 'modify',
  parent: 'modify',
  shared_with: 'modify',
  archived: 'modify',
  restored: 'modify',
}

const FIELD_WORDS: Record<string, string> = {
  title: 'the title',
  message: 'the description',
  start_date: 'the start date',
  end_date: 'the end date',
  due_date: 'the due date',
  time_track: 'time tracking',
  time_est: 'the time estimate',
  time_spent: 'the time spent',
  recurring: 'the recurrence',
  recurring_interval: 'the recurrence',
  parent: 'the place',
  shared_with: 'the sharing',
}

function priorityWord(v: string | null): string {
  const n = Number(v)
  if (!Number.isFinite(n)) return 'another value'
  return n >= 30000 ? 'high' : n >= 20000 ? 'normal' : 'low'
}

type Change = { kind: ChangeKind; line: string; detail?: string }

/** the people of an item other than the actor */
function involved(owner: number, assignee: number | null, participants: number[], actor: number | null): number[] {
  const s = new Set<number>([owner, ...(assignee ? [assignee] : []), ...participants])
  if (actor !== null) s.delete(actor)
  return [...s]
}

/**
 * What the event announces to one recipient: a list of changes (kind and an inert line).
 * `names` resolves user ids to display names.
 */
function changesFor(ev: OutboxRow, item: EventItem | null, recipient: number, names: (id: number) => string): Change[] {
  const actor = oneLine(ev.data?.actorName ?? (ev.actor_id ? names(ev.actor_id) : 'Someone'), 60) || 'Someone'
  if (ev.kind === 'deleted') {
    const title = oneLine(ev.data.title)
    return [{ kind: 'deleted', line: `${actor} deleted "${title}"${ev.data.hasChildren ? ' and everything under it' : ''}` }]
  }
  if (!item) return []
  const title = oneLine(item.title)
  const entries = (ev.data?.entries ?? []) as HistoryEntry[]
  const out: Change[] = []
  const modified: string[] = []
  for (const e of entries) {
    if (e.p === 'created') {
      if (item.assignee_id === recipient) out.push({ kind: 'assigned', line: `${actor} assigned "${title}" to you` })
      else if (item.participants.includes(recipient)) out.push({ kind: 'participant', line: `${actor} added you as a participant of "${title}"` })
      continue
    }
    if (e.p === 'completed') {
      if (e.v === 'true') out.push({ kind: 'completed', line: `${actor} completed "${title}"` })
      else out.push({ kind: 'modify', line: `${actor} reopened "${title}"` })
      continue
    }
    const kind = KIND_OF[e.p]
    if (!kind) continue
    switch (kind) {
      case 'comment':
        out.push({ kind, line: `${actor} commented on "${title}"`, detail: excerpt(e.v) })
        break
      case 'assigned': {
        const to = Number(e.v) || 0
        out.push({ kind, line: to === recipient ? `${actor} assigned "${title}" to you` : to ? `${actor} assigned "${title}" to ${oneLine(names(to), 60)}` : `${actor} removed the assignee of "${title}"` })
        break
      }
      case 'participant': {
        const list = String(e.v ?? '').split(',').filter(Boolean).map(Number)
        out.push({ kind, line: list.includes(recipient) ? `${actor} made you a participant of "${title}"` : `${actor} changed the participants of "${title}"` })
        break
      }
      case 'priority':
        out.push({ kind, line: `${actor} changed the priority of "${title}" to ${priorityWord(e.v)}` })
        break
      case 'tags':
        out.push({ kind, line: e.v ? `${actor} tagged "${title}": ${oneLine(e.v, 100)}` : `${actor} removed the tags of "${title}"` })
        break
      case 'attachment':
        out.push({ kind, line: `${actor} attached "${oneLine(e.v, 80)}" to "${title}"` })
        break
      case 'modify':
        if (e.p === 'archived') out.push({ kind, line: `${actor} archived "${title}"` })
        else if (e.p === 'restored') out.push({ kind, line: `${actor} restored "${title}"` })
        else modified.push(FIELD_WORDS[e.p] ?? e.p)
        break
      default:
        break
    }
  }
  if (modified.length) {
    const words = [...new Set(modified)]
    out.push({ kind: 'modify', line: `${actor} changed ${words.join(', ')} of "${title}"` })
  }
  return out
}

/** the preferences a change notification depends on */
const CHANGE_PREF_KEYS = ['notify_email', 'notify_app', ...CHANGE_KINDS.flatMap((k) => [emailKeyOf(k), appKeyOf(k)])]

/** whether the user wants changes of this kind on this channel (the channel's switch and the kind's) */
function wants(prefs: PrefReader, userId: number, channel: 'email' | 'push', kind: ChangeKind): boolean {
  return channel === 'email' ? prefs.bool(userId, 'notify_email') && prefs.bool(userId, emailKeyOf(kind)) : prefs.bool(userId, 'notify_app') && prefs.bool(userId, appKeyOf(kind))
}

/**
 * The outbox events' pending notifications (in the draining transaction), set-based: one read
 * each of the recipients' levels, names, preferences and push subscriptions for all the
 * events, one statement opening their batches, one sending the new batches' flush jobs, one
 * writing the pending rows.
 */
export async function fanOutChanges(ctx: Ctx, tx: Sql, events: Announced[]) {
  const planned: { ev: OutboxRow; item: EventItem | null; candidates: number[] }[] = []
  for (const { ev, item } of events) {
    if (ev.kind === 'deleted') {
      // only the deleted roots are announced (their subtrees go with them)
      if (!ev.data.root || ev.data.owner === undefined) continue
      planned.push({ ev, item, candidates: involved(ev.data.owner, ev.data.assignee ?? null, (ev.data.participants ?? []).map(Number), ev.actor_id) })
    } else if (item) {
      // (an item deleted since: its deletion event announces it)
      planned.push({ ev, item, candidates: involved(item.user_id, item.assignee_id, item.participants, ev.actor_id) })
    }
  }
  // only people who can see the item now hear about it
  const levels = await levelsOnItems(tx, planned.flatMap((p) => (p.item ? p.candidates.map((userId) => ({ itemId: p.item!.id, userId })) : [])))
  for (const p of planned) if (p.item) p.candidates = p.candidates.filter((u) => (levels.get(`${p.item!.id}:${u}`) ?? 0) >= 10)
  const recipients = [...new Set(planned.flatMap((p) => p.candidates))]
  if (!recipients.length) return
  // names of the actors and of people mentioned by assignee changes, with the recipients' addresses
  const mentioned = new Set<number>(recipients)
  for (const { ev } of planned) {
    for (const e of (ev.data?.entries ?? []) as HistoryEntry[]) if (e.p === 'assignee' && Number(e.v)) mentioned.add(Number(e.v))
    if (ev.actor_id) mentioned.add(ev.actor_id)
  }
  const who = await people(tx, [...mentioned])
  const names = (id: number) => who.get(id)?.name ?? 'someone'
  const prefs = await readPreferences(tx, recipients, CHANGE_PREF_KEYS)
  const subs = new Set((await pushSubscriptionsOf(tx, recipients)).map((s) => s.user_id))
  const rows: PendingInsert[] = []
  for (const { ev, item, candidates } of planned) {
    const itemId = ev.item_id
    const guid = ev.kind === 'deleted' ? ev.data.guid : item!.guid
    for (const u of candidates) {
      for (const c of changesFor(ev, item, u, names)) {
        const data = { line: c.line, detail: c.detail, guid, deleted: ev.kind === 'deleted' }
        if (wants(prefs, u, 'email', c.kind) && who.get(u)?.email) rows.push({ userId: u, channel: 'email', kind: c.kind, itemId, actorId: ev.actor_id, data })
        if (wants(prefs, u, 'push', c.kind) && subs.has(u)) rows.push({ userId: u, channel: 'push', kind: c.kind, itemId, actorId: ev.actor_id, data })
      }
    }
  }
  if (!rows.length) return
  // the batch rows first, in user order (a flush waits for this transaction; no deadlock
  // between two draining instances), then the pending rows
  const opened = await joinBatches(tx, rows.map((r) => r.userId), ctx.deps.config.NOTIFY_BATCH_SECONDS)
  const jobIds = await ctx.jobs.sendMany(tx, Q.notifyFlush, opened.map((b) => ({ data: { userId: b.userId }, startAfter: b.dueAt })))
  await setBatchJobs(tx, opened.map((b, k) => ({ userId: b.userId, jobId: jobIds[k]! })))
  await insertPending(tx, rows)
}

/** the notify.flush job: one email and one push message for everything pending of the user */
export async function flushUser(ctx: Ctx, userId: number) {
  const { deps } = ctx
  await deps.db.tx(async (tx) => {
    const rows = await takeBatch(tx, userId)
    if (!rows.length) return
    // preferences again: one turned off since the change was queued also stops it
    const prefs = await readPreferences(tx, [userId], CHANGE_PREF_KEYS)
    const email = rows.filter((r) => r.channel === 'email' && wants(prefs, userId, 'email', r.kind as ChangeKind))
    const push = rows.filter((r) => r.channel === 'push' && wants(prefs, userId, 'push', r.kind as ChangeKind))
    const person = (await people(tx, [userId])).get(userId)
    if (email.length && person?.email) {
      const shown = email.slice(0, 50)
      const entries: MailEntry[] = shown.map((r) => ({
        line: String(r.data.line ?? ''),
        detail: r.data.detail || undefined,
        link: r.data.deleted ? undefined : itemLink(deps.config, { id: r.item_id, guid: r.data.guid }),
      }))
      if (email.length > shown.length) entries.push({ line: `and ${email.length - shown.length} more changes` })
      const kinds = [...new Set(email.map((r) => r.kind))]
      const unsubscribeKeys = kinds.length === 1 ? [emailKeyOf(kinds[0] as ChangeKind)] : ['notify_email']
      const mail = composeMail({
        subject: email.length === 1 ? String(email[0]!.data.line) : `${email.length} updates on your Hitask items`,
        heading: email.length === 1 ? 'An update on an item of yours:' : `${email.length} updates on items of yours:`,
        entries,
        footer:
          kinds.length === 1
            ? 'You get this email because of your notification settings; the link below turns off this kind of email.'
            : 'You get this email because of your notification settings; the link below turns off these emails.',
        unsubscribe: unsubscribeUrl(deps.config, deps.urlSecret, userId, unsubscribeKeys),
      })
      await queueMail(ctx, tx, person.email, mail)
    }
    if (push.length) {
      const subs = await pushSubscriptionsOf(tx, [userId])
      const first = push[0]!
      const url = first.data.deleted ? undefined : itemLink(deps.config, { id: first.item_id, guid: first.data.guid })
      const body = push.length === 1 ? String(first.data.line) : `${String(first.data.line)} (and ${push.length - 1} more)`
      await queuePush(ctx, tx, subs.map((s) => s.id), { type: 'changes', title: 'Hitask', body, url, itemId: first.item_id, count: push.length }, { ttl: 3 * 86_400, urgency: 'normal' })
    }
  })
}
