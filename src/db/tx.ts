// Transactions on the pg pool for raw-SQL services: all or nothing, retried on
// serialization failures and deadlocks, and bounded in time so no write transaction can
// stay open long (the delta cursor relies on open transactions being visible; docs/sync.md).
import type pg from 'pg'

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
