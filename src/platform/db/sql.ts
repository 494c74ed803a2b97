// What runs a statement, as repositories see it, and the adapters that turn a pg connection or
// an `Sql` into what other APIs expect. pool.ts (the pool and its transactions) and
// listener.ts (the LISTEN connection) both build on it; everything else imports these types
// from pool.ts.
import type pg from 'pg'

export type Row = Record<string, any>
export type QueryResult<R> = { rows: R[]; rowCount: number }

/** anything that runs a statement: the database (autocommit) or an open transaction */
export interface Sql {
  /** `name`: run it as a named prepared statement (parsed and planned once per connection; the
   *  name must always come with the same text). For hot statements whose planning costs more
   *  than their execution (docs/performance.md "Creating items"); executors may ignore it. */
  query<R extends Row = any>(text: string, values?: readonly unknown[], name?: string): Promise<QueryResult<R>>
}

/** an `Sql` over one pg connection (the LISTEN connection; the pool's transaction handle is its own) */
export function sqlOfClient(client: pg.ClientBase): Sql {
  return {
    async query<R extends Row>(text: string, values?: readonly unknown[]) {
      const r = await client.query<R>(text, values as unknown[] | undefined)
      return { rows: r.rows, rowCount: r.rowCount ?? 0 }
    },
  }
}

/**
 * The `{ executeSql }` executor of libraries that run their own statements (pg-boss) over an
 * `Sql`: the pool, or a caller's transaction (the library's statements then commit with it).
 */
export function executorOf(sql: Sql): { executeSql(text: string, values: unknown[]): Promise<QueryResult<Row>> } {
  return { executeSql: (text, values) => sql.query(text, values) }
}
