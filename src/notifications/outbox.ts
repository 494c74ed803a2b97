// The transactional outbox (DESIGN-NOTES part 4). A change and its event row commit together:
// triggers write 'history', 'alerts' and 'dates' events (migration 20261130155625), and the
// item deletion calls recordDeletion (hooks.ts). Nothing is announced that did not happen; nothing that
// happened is lost (the row stays until a worker has fanned it out).
//
// A worker drains the outbox in transactions: claim up to 100 rows (FOR UPDATE SKIP LOCKED:
// several instances drain side by side, never the same row), fan them out into jobs and
// pending rows through the same transaction, delete the rows, commit. The fan-out is
// set-based (a few statements for the whole batch, not a few per event) and runs inside a
// savepoint; when it fails, each event is fanned out alone in a savepoint of its own, so a
// failure is recorded on that event (set aside after 5) without holding back the others.
//
// Waking: each instance subscribes to hitask_outbox on its one LISTEN connection (db.listener,
// shared with the live channel); PostgreSQL delivers the NOTIFY the triggers send only at
// commit. A pg-boss cron (outbox.sweep, every minute), the start of each instance and every
// reconnect of the LISTEN connection drain too, for what arrived while no one listened.
import { savepoint } from '../platform/db/pool.js'
import type { Ctx } from './context.js'
import { fanOutChanges } from './changes.js'
import { activeWebhooks, fanOutWebhooks } from './webhooks.js'
import { scheduleItemReminders } from './reminders.js'
import { claimOutbox, deleteOutbox, itemsById, markOutboxFailed, OUTBOX_BATCH, type OutboxRow } from './outbox-repository.js'

export const OUTBOX_CHANNEL = 'hitask_outbox'

function message(e: unknown): string {
  return String((e as Error)?.message ?? e)
}

/** one claimed batch; returns how many rows it claimed */
async function drainBatch(ctx: Ctx): Promise<number> {
  return ctx.deps.db.tx(async (tx) => {
    const rows = await claimOutbox(tx, OUTBOX_BATCH)
    if (!rows.length) return 0
    const items = await itemsById(tx, [...new Set(rows.filter((r) => r.kind === 'history').map((r) => r.item_id))])
    const webhooks = rows.some((r) => r.kind === 'history' || r.kind === 'deleted') ? await activeWebhooks(tx) : []
    const done: number[] = []
    const reschedule = rows.filter((r) => r.kind === 'alerts' || r.kind === 'dates')
    const announce = rows.filter((r) => r.kind === 'history' || r.kind === 'deleted')
    const fanOut = (evs: OutboxRow[]) =>
      savepoint(tx, async () => {
        const events = evs.map((ev) => ({ ev, item: items.get(ev.item_id) ?? null }))
        await fanOutChanges(ctx, tx, events)
        await fanOutWebhooks(ctx, tx, events, webhooks)
      })
    if (announce.length) {
      try {
        // all of them at once (a few statements for the batch)...
        await fanOut(announce)
        done.push(...announce.map((ev) => ev.id))
      } catch {
        // ...or, when that failed, each alone: the others go out, the failing one is set aside
        for (const ev of announce) {
          try {
            await fanOut([ev])
            done.push(ev.id)
          } catch (e) {
            await markOutboxFailed(tx, ev.id, message(e))
            ctx.log.error({ err: e, eventId: ev.id, kind: ev.kind, itemId: ev.item_id }, 'outbox event fan-out failed')
          }
        }
      }
    }
    if (reschedule.length) {
      try {
        await savepoint(tx, () => scheduleItemReminders(ctx, tx, reschedule.map((r) => r.item_id)))
        done.push(...reschedule.map((r) => r.id))
      } catch (e) {
        for (const ev of reschedule) await markOutboxFailed(tx, ev.id, message(e))
        ctx.log.error({ err: e, items: reschedule.length }, 'scheduling reminders failed')
      }
    }
    await deleteOutbox(tx, done)
    return rows.length
  })
}

/** drains until the outbox is empty (or what is left is being drained elsewhere) */
export async function drainOutbox(ctx: Ctx): Promise<number> {
  let total = 0
  for (let round = 0; round < 1000; round++) {
    const n = await drainBatch(ctx)
    total += n
    if (n < OUTBOX_BATCH) break
  }
  return total
}

/**
 * This instance's drainer: one drain at a time, another right after when woken meanwhile;
 * subscribed to hitask_outbox on the instance's LISTEN connection, so a commit anywhere wakes
 * it, and drained again whenever that connection is (re)established.
 */
export function startOutboxListener(ctx: Ctx) {
  let running = false
  let again = false
  let stopped = false

  const kick = () => {
    if (stopped) return
    if (running) {
      again = true
      return
    }
    running = true
    void (async () => {
      do {
        again = false
        try {
          await drainOutbox(ctx)
        } catch (e) {
          ctx.log.warn({ err: e }, 'outbox drain failed (retried on the next notification or sweep)')
        }
      } while (again && !stopped)
      running = false
    })()
  }

  const subscription = ctx.deps.db.listener.subscribe(OUTBOX_CHANNEL, {
    notification: () => kick(),
    // what committed while not listening
    listening: () => kick(),
  })

  return {
    kick,
    /** resolves once a drain that started after this call has finished */
    async flush() {
      kick()
      while (running) await new Promise((r) => setTimeout(r, 10))
    },
    async stop() {
      stopped = true
      await subscription.close()
      // let a drain in progress finish its transaction
      for (let i = 0; running && i < 200; i++) await new Promise((r) => setTimeout(r, 25))
    },
  }
}
