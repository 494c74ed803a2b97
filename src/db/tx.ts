// Transactions on the pg pool for raw-SQL services: all or nothing, retried on
// serialization failures and deadlocks, and bounded in time so no write transaction can
// stay open long (the delta cursor relies on open transactions being visible; docs/sync.md).
import type pg from 'pg'
import type { Queryable } from '../services/access.js'

const RETRYABLE = new Set(['40001', '40P01'])

export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, opts: { timeoutMs?: number; retries?: number } = {}): Promise<T> {
  const retries = opts.retries ?? 3
  for (let attempt = 0; ; attempt++) {
    const client = await pool.connect()
    try {
      await client.query('BEGIN')
      await client.query(`SET LOCAL statement_timeout = ${Math.floor(opts.timeoutMs ?? 15000)}`)
      const result = await fn(client)
      await client.query('COMMIT')
      return result
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {})
      if (attempt < retries && RETRYABLE.has((e as { code?: string }).code ?? '')) {
        await new Promise((r) => setTimeout(r, 10 + Math.random() * 40 * (attempt + 1)))
        continue
      }
      throw e
    } finally {
      client.release()
    }
  }
}

/**
 * A pg-style `query()` over a Prisma interactive transaction, so raw-SQL services can run
 * inside transactions Prisma opened (sign-up, token consumption). int8 values come back as
 * numbers, as from the pg pool.
 */
export function sqlOf(tx: { $queryRawUnsafe: (query: string, ...values: any[]) => Promise<unknown> }): Queryable {
  const q = {
    async query(text: string, values: unknown[] = []) {
      const rows = (await tx.$queryRawUnsafe(text, ...values)) as Record<string, unknown>[]
      for (const row of rows) for (const k in row) if (typeof row[k] === 'bigint') row[k] = Number(row[k])
      return { rows, rowCount: rows.length }
    },
  }
  // only `rows` (and `rowCount`) of the result are used by the services
  return q as unknown as Queryable
}
