// The one database client of the server: one pg pool, plain SQL, and one transaction style.
//
//   db.query(text, values)        one statement, autocommit (reads, single-statement writes)
//   db.tx(async (tx) => …)        a transaction on one connection: every statement through `tx`;
//                                 retried on serialization failures and deadlocks; bounded in
//                                 time; tx.afterCommit(fn) runs fn once the COMMIT succeeded
//   savepoint(tx, fn)             inside a transaction: fn's statements alone are undone when it throws
//   db.listener                   the one LISTEN connection (listener.ts)
//   db.ping()                     one round trip through the pool (readiness)
//
// Repositories take an `Sql` (either of the two) as their first argument; services choose
// which. While an async context holds a transaction, asking the pool for another connection
// (db.query, db.tx, or anything that reaches pool.connect) throws NestedAcquisitionError at
// once: that wait is how the server used to hang (a pool full of transactions each waiting
// for a second connection). A connection that cannot be had within DB_POOL_ACQUIRE_TIMEOUT_MS
// is a 503, never a wait forever. docs/database.md and docs/architecture.md say more.
import { AsyncLocalStorage } from 'node:async_hooks'
import pg from 'pg'
import type { QueryResult, Row, Sql } from './sql.js'
import { createListener, listenClient, type Listener } from './listener.js'

export type { QueryResult, Row, Sql } from './sql.js'

/** an open transaction: statements run on its one connection */
export interface Tx extends Sql {
  /** runs `fn` after a successful COMMIT (never after a rollback); errors are logged, not thrown */
  afterCommit(fn: () => unknown): void
}

let savepoints = 0

/**
 * Runs `fn` inside a savepoint of `tx`: when it throws, its statements alone are rolled back
 * (the transaction goes on) and the error is rethrown. What `fn` registered with afterCommit
 * stays registered.
 */
export async function savepoint<T>(tx: Tx, fn: () => Promise<T>): Promise<T> {
  const name = `sp_${(savepoints = (savepoints + 1) % 1_000_000_000)}`
  await tx.query(`SAVEPOINT ${name}`)
  try {
    const r = await fn()
    await tx.query(`RELEASE SAVEPOINT ${name}`)
    return r
  } catch (e) {
    await tx.query(`ROLLBACK TO SAVEPOINT ${name}`)
    throw e
  }
}

export type TxOptions = {
  /** statement_timeout inside the transaction, ms (default DB_STATEMENT_TIMEOUT_MS) */
  timeoutMs?: number
  /** retries after a serialization failure or a deadlock (default 3) */
  retries?: number
  readOnly?: boolean
  isolation?: 'read committed' | 'repeatable read' | 'serializable'
}

export type DbOptions = {
  /** pool size (DB_POOL_MAX) */
  max?: number
  /** longest wait for a pool connection before failing with DbUnavailableError (DB_POOL_ACQUIRE_TIMEOUT_MS) */
  acquireTimeoutMs?: number
  /** statement_timeout of every connection and the default of transactions, ms */
  statementTimeoutMs?: number
  /** idle_in_transaction_session_timeout: the server ends a transaction left idle this long */
  idleInTransactionTimeoutMs?: number
  /** where connection errors are reported (they never end the process) */
  onError?: (error: Error, where: string) => void
  /** first wait before the LISTEN connection reconnects, ms (LIVE_RECONNECT_MS; doubles while failing) */
  listenReconnectMs?: number
}

export interface Db extends Sql {
  tx<T>(fn: (tx: Tx) => Promise<T>, opts?: TxOptions): Promise<T>
  /**
   * One pool connection for work that needs a session of its own outside a transaction
   * (a server-side cursor inside its own BEGIN…COMMIT, say). Released when `fn` settles;
   * destroyed when `fn` throws, so a half-read cursor never returns to the pool.
   */
  withConnection<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>
  /** the one LISTEN connection of this client, shared by every subscriber (listener.ts) */
  readonly listener: Listener
  /** one round trip through the pool (SELECT 1): the readiness check */
  ping(): Promise<void>
  /** calls `fn` with the text of every statement about to run (tests count queries); returns the unsubscribe */
  observe(fn: (text: string) => void): () => void
  /** the pool's counters, for /metrics */
  stats(): { total: number; idle: number; waiting: number; max: number; deadlockRetries: number; serializationRetries: number }
  readonly url: string
  close(): Promise<void>
}

/** a pool acquisition inside an async context that holds a transaction (a bug: it can deadlock) */
export class NestedAcquisitionError extends Error {
  constructor(what: string) {
    super(`${what} while this async context holds a transaction: pass the transaction (tx) instead of the database`)
    this.name = 'NestedAcquisitionError'
  }
}

/** no pool connection within the acquire timeout, or the database cannot be reached */
export class DbUnavailableError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message)
    this.name = 'DbUnavailableError'
  }
}

// int8 (bigint ids) come back as strings from pg; ids stay far below 2^53, and the API
// answers numbers (contract §1: ids are JSON numbers).
pg.types.setTypeParser(20, (v) => Number(v))
// int8[] (items.participants) likewise
const parseInt8Array = pg.types.getTypeParser(1016 as any) as (v: string) => (string | null)[]
pg.types.setTypeParser(1016 as any, (v: string) => parseInt8Array(v).map((x) => (x === null ? null : Number(x))))

type Held = { active: boolean }
const held = new AsyncLocalStorage<Held>()

function guard(what: string) {
  if (held.getStore()?.active) throw new NestedAcquisitionError(what)
}

const RETRYABLE = new Set(['40001', '40P01'])
/** the connection itself is gone: destroy it rather than return it to the pool */
const BROKEN = new Set(['57P01', '57P02', '57P03', '57P04', '57P05', '25P03', '08000', '08003', '08006', 'ECONNRESET', 'EPIPE'])

function isBroken(e: unknown): boolean {
  const err = e as { code?: string; message?: string }
  return BROKEN.has(err?.code ?? '') || /Connection terminated|Client has encountered a connection error|not queryable/i.test(err?.message ?? '')
}

function acquireFailure(e: unknown): unknown {
  const msg = String((e as Error)?.message ?? '')
  if (/timeout exceeded when trying to connect/i.test(msg)) return new DbUnavailableError('no database connection available in time', e)
  return e
}

export function connectDb(url: string, opts: DbOptions = {}): Db {
  const statementTimeoutMs = opts.statementTimeoutMs ?? 15_000
  const onError = opts.onError ?? (() => {})
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.acquireTimeoutMs ?? 5_000,
    statement_timeout: statementTimeoutMs,
    idle_in_transaction_session_timeout: opts.idleInTransactionTimeoutMs ?? 30_000,
    application_name: 'hitask-server',
    // No JIT compilation: every statement here is short, and PostgreSQL compiles (1-1.7 s of
    // CPU on a 2-core machine) any statement whose estimated cost passes jit_above_cost, which
    // an estimate inflated by a correlated subquery reaches easily (a bulk delete's outbox
    // events did, holding its row locks meanwhile: docs/database.md). An `options=` in
    // DATABASE_URL replaces this.
    options: '-c jit=off',
  })
  // An idle client losing its connection emits on the pool; a client in use emits on itself.
  // Neither may end the process (an unhandled 'error' event would): log, and the pool
  // replaces the connection.
  pool.on('error', (e) => onError(e, 'idle pool connection'))
  pool.on('connect', (client) => client.on('error', (e) => onError(e, 'pool connection')))

  // every acquisition goes through here, pool.query included (it calls this.connect)
  const rawConnect = pool.connect.bind(pool) as () => Promise<pg.PoolClient>
  ;(pool as any).connect = (cb?: (...a: any[]) => void) => {
    if (cb) {
      try {
        guard('pool.connect()')
      } catch (e) {
        queueMicrotask(() => cb(e))
        return undefined
      }
      return rawConnect().then(
        (c) => cb(undefined, c, (err?: unknown) => c.release(err as any)),
        (e) => cb(acquireFailure(e)),
      )
    }
    guard('pool.connect()')
    return rawConnect().catch((e) => {
      throw acquireFailure(e)
    })
  }

  const observers = new Set<(text: string) => void>()
  const observed = (text: string) => {
    for (const f of observers) f(text)
  }

  const query = async <R extends Row>(text: string, values?: readonly unknown[], name?: string): Promise<QueryResult<R>> => {
    guard('db.query()')
    if (observers.size) observed(text)
    try {
      const r = await pool.query<R>({ text, values: values as unknown[] | undefined, name })
      return { rows: r.rows, rowCount: r.rowCount ?? 0 }
    } catch (e) {
      throw acquireFailure(e)
    }
  }

  /** transactions ended by a deadlock or a serialization failure (each then retried or answered) */
  const retried = { deadlock: 0, serialization: 0 }

  async function tx<T>(fn: (tx: Tx) => Promise<T>, o: TxOptions = {}): Promise<T> {
    guard('db.tx()')
    const retries = o.retries ?? 3
    for (let attempt = 0; ; attempt++) {
      const client = (await pool.connect()) as pg.PoolClient
      const state: Held = { active: true }
      const after: Array<() => unknown> = []
      let destroy: unknown = undefined
      try {
        const begin = [
          `BEGIN${o.isolation ? ` ISOLATION LEVEL ${o.isolation.toUpperCase()}` : ''}${o.readOnly ? ' READ ONLY' : ''}`,
          `SET LOCAL statement_timeout = ${Math.floor(o.timeoutMs ?? statementTimeoutMs)}`,
        ].join('; ')
        await client.query(begin)
        const handle: Tx = {
          async query<R extends Row>(text: string, values?: readonly unknown[], name?: string) {
            if (!state.active) throw new Error('this transaction has ended')
            if (observers.size) observed(text)
            const r = await client.query<R>({ text, values: values as unknown[] | undefined, name })
            return { rows: r.rows, rowCount: r.rowCount ?? 0 }
          },
          afterCommit(f) {
            after.push(f)
          },
        }
        const result = await held.run(state, () => fn(handle))
        state.active = false
        await client.query('COMMIT')
        client.release()
        for (const f of after) {
          try {
            await f()
          } catch (e) {
            onError(e as Error, 'after commit')
          }
        }
        return result
      } catch (e) {
        state.active = false
        if (isBroken(e)) destroy = e
        else await client.query('ROLLBACK').catch((re) => (destroy = re))
        client.release(destroy as any)
        const code = (e as { code?: string }).code ?? ''
        if (code === '40P01') retried.deadlock++
        else if (code === '40001') retried.serialization++
        if (attempt < retries && RETRYABLE.has(code)) {
          await new Promise((r) => setTimeout(r, 10 + Math.random() * 40 * (attempt + 1)))
          continue
        }
        throw e
      }
    }
  }

  const listener = createListener({
    open: () => listenClient(url),
    reconnectMs: opts.listenReconnectMs ?? 500,
    onError,
  })

  return {
    query,
    tx,
    listener,
    async ping() {
      await query('SELECT 1')
    },
    async withConnection(fn) {
      const client = (await pool.connect()) as pg.PoolClient
      const state: Held = { active: true }
      try {
        const r = await held.run(state, () => fn(client))
        state.active = false
        client.release()
        return r
      } catch (e) {
        state.active = false
        client.release(e as Error)
        throw e
      }
    },
    observe(fn) {
      observers.add(fn)
      return () => void observers.delete(fn)
    },
    stats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: opts.max ?? 10, deadlockRetries: retried.deadlock, serializationRetries: retried.serialization }),
    url,
    close: async () => {
      await listener.close()
      await pool.end().catch(() => {})
    },
  }
}
