// The durable job queue: pg-boss 10 on the server's own database and its own pool.
//
// pg-boss is given the server's pool through its `db: { executeSql }` option, so there is
// one pool (DB_POOL_MAX bounds everything, /metrics sees it) and one set of timeouts. A job
// sent with `send(tx, …)` is inserted through the caller's transaction: it exists only if
// that transaction commits (the outbox hand-off and every fan-out rely on it).
//
//   queue rows    pgboss.job (created → active → completed | retry | failed), SKIP LOCKED
//                 fetches: each job runs on one instance at a time
//   delays        startAfter (reminders, batches, webhook back-off)
//   crons         pgboss.schedule, fired once a minute across all instances
//   retries       per queue (retryLimit, retryDelay, retryBackoff); an instance that dies
//                 while running a job: the job expires (expireInSeconds) and runs again
//
// pg-boss completes or fails a fetched batch without awaiting the statement; the adapter
// below logs and swallows errors of those two statements so that a database outage cannot
// end the process with an unhandled rejection (the job stays active and expires instead).
import { createRequire } from 'node:module'
import crypto from 'node:crypto'
import PgBoss from 'pg-boss'
import type { Deps } from '../deps.js'
import type { Db, Sql, Tx } from '../platform/db/pool.js'
import { executorOf } from '../platform/db/sql.js'
import { JOBS_SCHEMA } from './jobs-repository.js'

const require = createRequire(import.meta.url)
// pinned version (package.json): the statement texts pg-boss fires and forgets
const plans = require('pg-boss/src/plans.js') as { completeJobs(schema: string): string; failJobsById(schema: string): string }


export type QueueSpec = {
  name: string
  /** parallel fetch loops on this instance */
  concurrency?: number
  /** jobs fetched per loop turn */
  batchSize?: number
  retryLimit?: number
  /** seconds */
  retryDelay?: number
  retryBackoff?: boolean
  /** a job active longer than this is failed (and retried) */
  expireInSeconds?: number
  /** how long a job not yet started is kept after its start time */
  retentionMinutes?: number
}

export type Job<T> = { id: string; name: string; data: T }
export type Handler<T> = (job: Job<T>) => Promise<void>

export type SendOptions = {
  /** a fixed id: sending the same id again while the first is kept is a no-op */
  id?: string
  startAfter?: Date
  retryLimit?: number
  singletonKey?: string
}

/** a UUID derived from a text: the same key always names the same job */
export function jobIdFor(key: string): string {
  const h = crypto.createHash('sha256').update('hitask-job:' + key).digest()
  h[6] = (h[6]! & 0x0f) | 0x50 // version 5 layout (name-based)
  h[8] = (h[8]! & 0x3f) | 0x80
  const x = h.subarray(0, 16).toString('hex')
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`
}

export class Jobs {
  readonly boss: PgBoss
  private readonly workerIds = new Map<string, string[]>()
  private readonly specs = new Map<string, QueueSpec>()
  private started = false
  private readonly fireAndForget: Set<string>
  private lastAdapterLog = 0
  /** called for each failed job run (the /metrics counter) */
  onFailure: (queue: string) => void = () => {}

  constructor(
    private readonly db: Db,
    private readonly opts: { log: Deps['log']; pollSeconds: number },
  ) {
    this.fireAndForget = new Set([plans.completeJobs(JOBS_SCHEMA), plans.failJobsById(JOBS_SCHEMA)])
    this.boss = new PgBoss({
      db: this.poolAdapter(),
      schema: JOBS_SCHEMA,
      migrate: true,
      supervise: true,
      schedule: true,
      // expiry of jobs whose instance died, archive and clean-up (once per interval across instances)
      maintenanceIntervalSeconds: 15,
      // completed jobs are kept a day for inspection, then archived; the archive a week
      archiveCompletedAfterSeconds: 24 * 3600,
      archiveFailedAfterSeconds: 7 * 24 * 3600,
      deleteAfterDays: 7,
      pollingIntervalSeconds: opts.pollSeconds,
      cronWorkerIntervalSeconds: Math.max(1, Math.min(opts.pollSeconds, 5)),
    })
    this.boss.on('error', (e: unknown) => this.opts.log.warn({ err: e }, 'job queue error'))
  }

  /** the executor pg-boss uses for its own statements: the server's pool */
  private poolAdapter(): PgBoss.Db {
    const pool = executorOf(this.db)
    return {
      executeSql: async (text: string, values: unknown[]) => {
        try {
          return await pool.executeSql(text, values)
        } catch (e) {
          if (this.fireAndForget.has(text)) {
            this.throttledLog(e, 'job queue: completing or failing a job failed; it expires and runs again')
            return { rows: [{ count: '0' }], rowCount: 0 }
          }
          throw e
        }
      },
    }
  }

  private throttledLog(e: unknown, msg: string) {
    if (Date.now() - this.lastAdapterLog < 10_000) return
    this.lastAdapterLog = Date.now()
    this.opts.log.warn({ err: e }, msg)
  }

  /** an executor for pg-boss calls inside a caller's transaction (or on the database) */
  static executor(sql: Sql): PgBoss.Db {
    return executorOf(sql)
  }

  /** installs or migrates the pgboss schema and creates or updates the queues */
  async start(queues: QueueSpec[]) {
    await this.boss.start()
    this.started = true
    for (const q of queues) {
      this.specs.set(q.name, q)
      const options = {
        name: q.name,
        policy: 'standard' as const,
        retryLimit: q.retryLimit ?? 3,
        retryDelay: q.retryDelay ?? 10,
        retryBackoff: q.retryBackoff ?? true,
        expireInSeconds: q.expireInSeconds ?? 300,
        retentionMinutes: q.retentionMinutes ?? 14 * 24 * 60,
      }
      const existing = await this.boss.getQueue(q.name)
      try {
        if (existing) await this.boss.updateQueue(q.name, options)
        else await this.boss.createQueue(q.name, options)
      } catch (e) {
        // another instance created it at the same moment
        if ((e as { code?: string }).code !== '23505') throw e
      }
    }
  }

  /**
   * Sends a job through `sql`: inside a transaction it commits or vanishes with it (and the
   * local workers of that queue are woken after the commit). null: a job with that id exists.
   */
  async send<T extends object>(sql: Sql, queue: string, data: T, o: SendOptions = {}): Promise<string | null> {
    if (!this.specs.has(queue)) throw new Error(`unknown queue ${queue}`)
    const id = await this.boss.send(queue, data, {
      db: Jobs.executor(sql),
      ...(o.id ? { id: o.id } : {}),
      ...(o.startAfter ? { startAfter: o.startAfter } : {}),
      ...(o.retryLimit !== undefined ? { retryLimit: o.retryLimit } : {}),
      ...(o.singletonKey ? { singletonKey: o.singletonKey } : {}),
    })
    const wake = () => this.wake(queue)
    if ('afterCommit' in sql && (!o.startAfter || o.startAfter.getTime() <= Date.now())) (sql as Tx).afterCommit(wake)
    return id
  }

  /**
   * Sends jobs of one queue in one statement, through `sql` as send() does (the queue's
   * retry and expiry settings apply alike). → their ids, in the order given.
   */
  async sendMany<T extends object>(sql: Sql, queue: string, jobs: { data: T; startAfter?: Date }[]): Promise<string[]> {
    if (!this.specs.has(queue)) throw new Error(`unknown queue ${queue}`)
    if (!jobs.length) return []
    const ids = jobs.map(() => crypto.randomUUID())
    await this.boss.insert(
      jobs.map((j, i) => ({ id: ids[i], name: queue, data: j.data, ...(j.startAfter ? { startAfter: j.startAfter } : {}) })),
      { db: Jobs.executor(sql) },
    )
    if ('afterCommit' in sql && jobs.some((j) => !j.startAfter || j.startAfter.getTime() <= Date.now())) (sql as Tx).afterCommit(() => this.wake(queue))
    return ids
  }

  /** removes a job that has not run (any state); nothing when it is gone */
  async cancel(sql: Sql, queue: string, id: string) {
    await this.boss.deleteJob(queue, id, { db: Jobs.executor(sql) })
  }

  /** starts this instance's workers of a queue; each job is handled alone, failures retried */
  async work<T>(queue: string, handler: Handler<T>) {
    const spec = this.specs.get(queue)
    if (!spec) throw new Error(`unknown queue ${queue}`)
    const ids: string[] = []
    const batchSize = spec.batchSize ?? 5
    for (let i = 0; i < (spec.concurrency ?? 1); i++) {
      let workerId: string | undefined = undefined
      workerId = await this.boss.work<T>(queue, { batchSize, pollingIntervalSeconds: this.opts.pollSeconds }, async (jobs) => {
        // a full batch: more may be waiting, fetch again at once instead of after the poll interval
        if (jobs.length === batchSize && workerId) this.boss.notifyWorker(workerId)
        for (const job of jobs) {
          try {
            await handler({ id: job.id, name: job.name, data: job.data })
            await this.boss.complete(queue, job.id).catch((e) => this.throttledLog(e, 'job queue: completing a job failed'))
          } catch (e) {
            this.onFailure(queue)
            this.opts.log.warn({ err: e, queue, job: job.id }, 'job failed (retried while its retry budget lasts)')
            await this.boss.fail(queue, job.id, { message: String((e as Error)?.message ?? e) }).catch((e2) => this.throttledLog(e2, 'job queue: failing a job failed'))
          }
        }
      })
      ids.push(workerId)
    }
    this.workerIds.set(queue, ids)
  }

  /** a local worker of the queue fetches now instead of at its next poll */
  wake(queue: string) {
    for (const id of this.workerIds.get(queue) ?? []) this.boss.notifyWorker(id)
  }

  /** a cron (5 fields, UTC) that sends `data` to `queue`; once per slot across all instances */
  async schedule(queue: string, cron: string, data: object = {}) {
    await this.boss.schedule(queue, cron, data, { tz: 'UTC' })
  }

  /** stops fetching, lets running jobs finish (at most `timeoutMs`), then fails what is left */
  async stop(timeoutMs: number) {
    if (!this.started) return
    this.started = false
    await this.boss.stop({ graceful: true, wait: true, close: false, timeout: Math.max(1000, timeoutMs) })
  }
}
