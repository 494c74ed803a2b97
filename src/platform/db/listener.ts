// The one LISTEN connection of a database client (db.listener): PostgreSQL delivers NOTIFY
// only to a session that LISTENs, and that session cannot be a pool connection (it goes back
// to the pool, and a pool connection in a transaction cannot hear anything until it ends). So
// each instance keeps ONE dedicated connection outside the pool, shared by everything that
// waits for notifications: the live channel (hitask_live, src/live/hub.ts) and the outbox
// drainer (hitask_outbox, src/notifications/outbox.ts).
//
//   const sub = db.listener.subscribe('hitask_outbox', {
//     notification(payload) { … },          // a NOTIFY on the channel
//     listening(sql) { … },                 // LISTEN is in place (first time, and after each
//                                           //   reconnect): what commits from now on is heard;
//                                           //   `sql` runs on the listening connection
//     lost() { … },                         // the connection dropped: what commits until the
//   })                                      //   next `listening` is not heard
//   await sub.ready                         // the first attempt to listen has finished
//   await sub.close()
//
// The connection opens with the first subscription and ends with the last. When the backend
// is terminated (pg_terminate_backend, a database restart, a network cut) the connection
// emits 'error'/'end': every subscriber is told `lost`, and the listener reconnects after
// `reconnectMs`, doubling up to `maxReconnectMs` while it fails; a connection error never ends
// the process. `probe(fn)` runs a statement on the listening connection to find out whether it
// still answers (a silent network loses no 'end' event): a failure drops and reconnects it.
import pg from 'pg'
import { sqlOfClient, type Sql } from './sql.js'

export type ListenHandlers = {
  /** a notification on the channel (its payload, '' when none) */
  notification(payload: string): void
  /**
   * The connection LISTENs on the channel: called once the subscription is in place, and again
   * after every reconnect. `sql` runs on the listening connection. A throw drops the connection
   * (it is reconnected like any lost one).
   */
  listening?(sql: Sql): void | Promise<void>
  /** the connection is gone: notifications committed until the next `listening` are lost */
  lost?(): void
}

export type Subscription = {
  /** settles when the first attempt to listen has finished (listening, or failed and retrying) */
  readonly ready: Promise<void>
  /** stops the handlers; the connection ends with the last subscription */
  close(): Promise<void>
}

export interface Listener {
  subscribe(channel: string, handlers: ListenHandlers): Subscription
  /** the connection is up and listening */
  readonly connected: boolean
  /**
   * Runs `fn` on the listening connection; a failure, or no answer within `timeoutMs`, drops
   * the connection (then reconnected) and rethrows. Throws at once when not connected.
   */
  probe<T>(fn: (sql: Sql) => Promise<T>, timeoutMs: number): Promise<T>
  /** counters for tests: connections made, connections lost */
  readonly stats: { connects: number; losses: number }
  /** ends the connection for good (the database client closes) */
  close(): Promise<void>
}

export type ListenerOptions = {
  /** a new, not yet connected client outside the pool */
  open(): pg.Client
  /** first wait before reconnecting, ms; doubles while reconnecting fails */
  reconnectMs: number
  maxReconnectMs?: number
  connectTimeoutMs?: number
  /** connection errors are reported here (they never end the process) */
  onError?(error: Error, where: string): void
}

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
    p.then(
      (v) => {
        clearTimeout(timer)
        resolve(v)
      },
      (e) => {
        clearTimeout(timer)
        reject(e)
      },
    )
  })
}

/** ends a client without waiting for a server that may not answer */
function destroy(client: pg.Client) {
  try {
    ;(client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy()
  } catch {}
  client.end().catch(() => {})
}

type Handler = { channel: string; h: ListenHandlers; /** the connection generation it was last told `listening` for */ told: number }

export function createListener(o: ListenerOptions): Listener {
  const maxReconnectMs = o.maxReconnectMs ?? 30_000
  const connectTimeoutMs = o.connectTimeoutMs ?? 10_000
  const onError = o.onError ?? (() => {})
  const handlers = new Set<Handler>()
  /** the listening connection, null while there is none */
  let client: pg.Client | null = null
  /** the channels LISTENed on `client` */
  let listened = new Set<string>()
  /** +1 per connection made */
  let generation = 0
  let delay = o.reconnectMs
  let retryTimer: NodeJS.Timeout | null = null
  let ended = false
  const stats = { connects: 0, losses: 0 }

  // connection changes (connect, LISTEN, UNLISTEN, end) run one at a time
  let chain: Promise<unknown> = Promise.resolve()
  const serial = (fn: () => Promise<void>): Promise<void> => {
    const p = chain.then(fn)
    chain = p.catch(() => {})
    return p
  }

  const channels = () => new Set([...handlers].map((x) => x.channel))

  function dispatch(channel: string, payload: string) {
    for (const x of [...handlers]) {
      if (x.channel !== channel) continue
      try {
        x.h.notification(payload)
      } catch (e) {
        onError(e as Error, `notification handler of ${channel}`)
      }
    }
  }

  /** the connection `c` is gone (or unusable): tell the subscribers, reconnect later */
  function drop(c: pg.Client) {
    if (c !== client) return
    client = null
    listened = new Set()
    stats.losses++
    destroy(c)
    for (const x of [...handlers]) {
      try {
        x.h.lost?.()
      } catch (e) {
        onError(e as Error, `lost handler of ${x.channel}`)
      }
    }
    scheduleReconnect()
  }

  function scheduleReconnect() {
    if (ended || retryTimer || client || !handlers.size) return
    const wait = delay
    delay = Math.min(delay * 2, maxReconnectMs)
    retryTimer = setTimeout(() => {
      retryTimer = null
      void serial(connect).catch(() => {})
    }, wait)
    retryTimer.unref()
  }

  /** tells the handlers not yet told about the current connection; a throw drops it */
  async function tell(c: pg.Client) {
    const sql = sqlOfClient(c)
    for (const x of [...handlers]) {
      if (c !== client) return
      if (x.told === generation || !listened.has(x.channel)) continue
      x.told = generation
      try {
        await x.h.listening?.(sql)
      } catch (e) {
        onError(e as Error, `listening handler of ${x.channel}`)
        drop(c)
        return
      }
    }
  }

  async function connect(): Promise<void> {
    if (ended || client || !handlers.size) return
    const c = o.open()
    c.on('notification', (n) => {
      if (c === client) dispatch(n.channel, n.payload ?? '')
    })
    c.on('error', (e) => {
      onError(e, 'LISTEN connection')
      drop(c)
    })
    c.on('end', () => drop(c))
    try {
      await withTimeout(c.connect(), connectTimeoutMs)
      const want = [...channels()]
      if (want.length) await withTimeout(c.query(want.map((ch) => `LISTEN ${ch}`).join('; ')), connectTimeoutMs)
      if (ended || !handlers.size) {
        destroy(c)
        return
      }
      client = c
      listened = new Set(want)
      generation++
      stats.connects++
      delay = o.reconnectMs
    } catch (e) {
      onError(e as Error, 'LISTEN connection (retrying)')
      destroy(c)
      scheduleReconnect()
      return
    }
    await tell(c)
  }

  /** the connection LISTENs on every subscribed channel and no other; each handler is told */
  async function sync(): Promise<void> {
    if (ended) return
    if (!client) return connect()
    const c = client
    const want = channels()
    const add = [...want].filter((ch) => !listened.has(ch))
    const remove = [...listened].filter((ch) => !want.has(ch))
    if (!want.size) {
      client = null
      listened = new Set()
      await withTimeout(c.end(), 2000).catch(() => destroy(c))
      return
    }
    try {
      const text = [...add.map((ch) => `LISTEN ${ch}`), ...remove.map((ch) => `UNLISTEN ${ch}`)].join('; ')
      if (text) await withTimeout(c.query(text), connectTimeoutMs)
    } catch (e) {
      onError(e as Error, 'LISTEN connection')
      drop(c)
      return
    }
    for (const ch of add) listened.add(ch)
    for (const ch of remove) listened.delete(ch)
    await tell(c)
  }

  return {
    subscribe(channel, h) {
      if (!CHANNEL.test(channel)) throw new Error(`not a channel name: ${channel}`)
      if (ended) throw new Error('the listener is closed')
      const x: Handler = { channel, h, told: 0 }
      handlers.add(x)
      const ready = serial(sync).catch(() => {})
      return {
        ready,
        close: async () => {
          if (!handlers.delete(x)) return
          if (!handlers.size && retryTimer) {
            clearTimeout(retryTimer)
            retryTimer = null
          }
          await serial(sync).catch(() => {})
        },
      }
    },
    get connected() {
      return client !== null
    },
    async probe(fn, timeoutMs) {
      const c = client
      if (!c) throw new Error('not listening')
      try {
        return await withTimeout(fn(sqlOfClient(c)), timeoutMs)
      } catch (e) {
        drop(c)
        throw e
      }
    },
    stats,
    async close() {
      ended = true
      if (retryTimer) clearTimeout(retryTimer)
      retryTimer = null
      const c = client
      client = null
      if (c) await withTimeout(c.end(), 2000).catch(() => destroy(c))
    },
  }
}

/** a client for the listener: outside the pool, named so that operators (and tests) can find it */
export function listenClient(url: string): pg.Client {
  return new pg.Client({ connectionString: url, application_name: 'hitask-server-listen' })
}
