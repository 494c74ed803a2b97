// SQL that reads the job queue's own tables (pg-boss, schema `pgboss`): the queue depth for
// /metrics. Sending, fetching and completing jobs go through pg-boss's API (jobs.ts), not here.
import type { Sql } from '../platform/db/pool.js'

export const JOBS_SCHEMA = 'pgboss'

export type QueueCounts = { queue: string; state: string; count: number }[]

/** jobs by queue and state (the queue's depth), for /metrics; empty before pg-boss is installed */
export async function queueCounts(sql: Sql): Promise<QueueCounts> {
  const r = await sql
    .query<{ queue: string; state: string; count: number }>(
      `SELECT name AS queue, state::text AS state, count(*)::int AS count
         FROM ${JOBS_SCHEMA}.job WHERE name NOT LIKE '\\_\\_pgboss%' GROUP BY 1, 2`,
    )
    .catch((e: { code?: string }) => {
      if (e.code === '3F000' || e.code === '42P01') return { rows: [], rowCount: 0 } // not installed yet
      throw e
    })
  return r.rows
}
