// The queue's depth and failures in /metrics: jobs by queue and state (from the pgboss
// tables, shared by all instances), job runs that failed on this instance, the outbox backlog
// and the events set aside, and webhooks disabled.
//
// A scrape never waits for the database (it must answer while the pool is exhausted or the
// database is down): the database readings are cached and refreshed in the background when a
// scrape finds them older than REFRESH_MS. Only instances that run the workers read them.
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Deps } from '../deps.js'
import { queueCounts, type QueueCounts } from './jobs-repository.js'
import { outboxCounts } from './outbox-repository.js'
import { webhookCounts } from './webhook-repository.js'
import type { Notifications } from './runtime.js'

const REFRESH_MS = 5_000

export function registerNotificationMetrics(registry: Registry, deps: Deps, notifications: Notifications) {
  const failures = new Counter({
    name: 'jobs_failed_total',
    help: 'Job runs that failed on this instance (each retry counts), by queue',
    labelNames: ['queue'] as const,
    registers: [registry],
  })
  if (!notifications.jobs) return
  notifications.jobs.onFailure = (queue) => failures.inc({ queue })

  const cache = { queues: [] as QueueCounts, outbox: null as { pending: number; failed: number } | null, webhooks: null as { active: number; disabled: number } | null, at: 0, busy: false }
  const refresh = () => {
    if (cache.busy || Date.now() - cache.at < REFRESH_MS) return
    cache.busy = true
    void (async () => {
      try {
        cache.queues = await queueCounts(deps.db)
        cache.outbox = await outboxCounts(deps.db)
        cache.webhooks = await webhookCounts(deps.db)
      } catch {
        /* database unavailable: the last readings stay */
      } finally {
        cache.at = Date.now()
        cache.busy = false
      }
    })()
  }
  refresh()

  new Gauge({
    name: 'jobs_queued',
    help: 'Jobs in the queue by queue and state (created, retry, active, completed, failed; all instances)',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    collect() {
      refresh()
      this.reset()
      for (const r of cache.queues) this.set({ queue: r.queue, state: r.state }, r.count)
    },
  })
  new Gauge({
    name: 'outbox_events',
    help: 'Events in the transactional outbox: pending (not yet fanned out) and failed (set aside after 5 attempts)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      if (!cache.outbox) return
      this.set({ state: 'pending' }, cache.outbox.pending)
      this.set({ state: 'failed' }, cache.outbox.failed)
    },
  })
  new Gauge({
    name: 'webhooks',
    help: 'Webhooks by state (disabled: 50 failed deliveries in a row)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      if (!cache.webhooks) return
      this.set({ state: 'active' }, cache.webhooks.active)
      this.set({ state: 'disabled' }, cache.webhooks.disabled)
    },
  })
}
