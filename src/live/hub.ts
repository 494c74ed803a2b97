// The live channel of one server instance (contract §14, docs/sync.md "The live channel").
//
// The instance's one LISTEN connection (db.listener, src/platform/db/listener.ts) carries
// `hitask_live`. The database's triggers (migration calendar_feeds_and_live_triggers) NOTIFY at
// commit, with the principals a change is visible to and the change's transaction time t.
// Notifications that arrive together are handled as one burst: one query (which connected
// users are in the named groups) decides who is affected, whatever the number of open
// streams, and each affected stream gets
//   event: change
//   data: {"cursor": t − 1}
// where t is the lowest change time of the burst for that user: GET /item/delta/{t − 1}
// reports those changes (their changed_at ≥ t). A comment line every LIVE_HEARTBEAT_MS keeps
// proxies open. An ended session (trigger on sessions) closes its streams at once.
//
// If the LISTEN connection drops, notifications committed meanwhile are lost; so the
// connection is checked every LIVE_CHECK_MS with the delta's sync point m (a query on that
// connection, items/repository.ts syncPoint), and after a reconnect every stream gets a change
// with a cursor below the m of the last good check: every commit the instance may have missed
// has changed_at ≥ that m.
//
// The calendar feed uses the same signal to answer 304 without reading items: `mark()` and
// `changedSince()` tell whether any notification named a principal after a given moment.
import type { ServerResponse } from 'node:http'
import type { Deps } from '../deps.js'
import type { SessionUser } from '../users/sessions.js'
import type { Sql } from '../platform/db/pool.js'
import type { Subscription } from '../platform/db/listener.js'
import { errors } from '../platform/errors.js'
import { syncPoint } from '../items/repository.js'
import { existingSessions, groupMembersAmong } from './repository.js'

export const LIVE_CHANNEL = 'hitask_live'

type Stream = {
  id: number
  userId: number
  sessionHash: string
  res: ServerResponse
  /** a change not yet written because the socket was full: its cursor */
  pendingCursor: number | null
  closed: boolean
}

/** where the instance stood when a reader started: compare with changedSince() later */
export type LiveMark = { epoch: number; seq: number }

export class LiveHub {
  private subscription: Subscription | null = null
  /** listening on the channel, the sync point read since the last (re)connect */
  private up = false
  private stopped = false
  private checkTimer: NodeJS.Timeout | null = null
  private heartbeatTimer: NodeJS.Timeout | null = null
  /** m of the last good check of the LISTEN connection (ms), null before the first */
  private floor: number | null = null
  /** +1 at every (re)connect: a mark from an earlier epoch may have missed notifications */
  private epoch = 0
  /** +1 at every notification */
  private seq = 0
  /** principal → seq of the last notification that named it (for the calendar feed) */
  private lastSeq = new Map<string, number>()
  /** the burst being gathered: principal → lowest change time (ms) */
  private pending = new Map<string, number>()
  private pendingSessions = new Set<string>()
  private everyone: number | null = null
  private flushScheduled = false
  private flushing = false
  private nextId = 1
  private byUser = new Map<number, Map<number, Stream>>()
  private bySession = new Map<string, Set<Stream>>()
  private count = 0
  /** counters for tests and the benchmark */
  readonly stats = { notifications: 0, bursts: 0, groupQueries: 0, events: 0, reconnects: 0 }

  constructor(private readonly deps: Deps) {}

  /** subscribes to the channel (retried in the background if the database cannot be reached) and starts the timers */
  async start(): Promise<void> {
    if (this.subscription) return
    this.stopped = false
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.deps.config.LIVE_HEARTBEAT_MS)
    this.heartbeatTimer.unref()
    this.checkTimer = setInterval(() => void this.check(), this.deps.config.LIVE_CHECK_MS)
    this.checkTimer.unref()
    this.subscription = this.deps.db.listener.subscribe(LIVE_CHANNEL, {
      notification: (payload) => this.onNotification(payload),
      listening: (sql) => this.listening(sql),
      lost: () => this.lost(),
    })
    await this.subscription.ready
  }

  /** closes every stream and the subscription */
  async stop(): Promise<void> {
    this.stopped = true
    for (const t of [this.heartbeatTimer, this.checkTimer]) if (t) clearInterval(t)
    for (const streams of [...this.byUser.values()]) for (const s of [...streams.values()]) this.close(s, 'shutdown')
    const sub = this.subscription
    this.subscription = null
    this.up = false
    await sub?.close()
  }

  /** the instance listens on the channel */
  get connected(): boolean {
    return this.up && this.deps.db.listener.connected
  }

  get streams(): number {
    return this.count
  }

  // ---- streams

  /**
   * Registers a stream for `user` and writes the SSE head and a `ready` event. Past
   * LIVE_MAX_STREAMS on this instance → 503 (nothing written); past LIVE_MAX_STREAMS_PER_USER
   * the user's oldest stream is closed (docs/sync.md says why).
   */
  open(user: SessionUser, res: ServerResponse, headers: Record<string, unknown> = {}): void {
    const { config } = this.deps
    if (this.count >= config.LIVE_MAX_STREAMS) throw errors.unavailable('Too many live streams on this server, please retry', 30)
    const had = this.byUser.get(user.id)
    while (had && had.size >= config.LIVE_MAX_STREAMS_PER_USER) this.close(had.values().next().value as Stream, 'too_many_streams')
    // (closing the last one removed the user's map)
    let mine = this.byUser.get(user.id)
    if (!mine) this.byUser.set(user.id, (mine = new Map()))
    const s: Stream = { id: this.nextId++, userId: user.id, sessionHash: user.sessionHash, res, pendingCursor: null, closed: false }
    mine.set(s.id, s)
    let same = this.bySession.get(s.sessionHash)
    if (!same) this.bySession.set(s.sessionHash, (same = new Set()))
    same.add(s)
    this.count++
    res.on('close', () => this.forget(s))
    res.on('error', () => this.forget(s))
    res.on('drain', () => {
      if (s.pendingCursor !== null && !s.closed) {
        const c = s.pendingCursor
        s.pendingCursor = null
        this.write(s, changeEvent(c))
      }
    })
    const head: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(headers)) if (v !== undefined && k.toLowerCase() !== 'content-length') head[k] = v
    res.writeHead(200, {
      ...head,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    } as Parameters<typeof res.writeHead>[1])
    // `retry`: how long an EventSource waits before reconnecting
    res.write('retry: 3000\nevent: ready\ndata: {}\n\n')
  }

  private write(s: Stream, text: string): boolean {
    if (s.closed || s.res.writableEnded || s.res.destroyed) return false
    try {
      s.res.write(text)
      return true
    } catch {
      this.forget(s)
      return false
    }
  }

  private send(s: Stream, cursor: number) {
    // a slow reader gets one event with the lowest cursor once its socket drains, never a pile
    if (s.res.writableNeedDrain) {
      s.pendingCursor = s.pendingCursor === null ? cursor : Math.min(s.pendingCursor, cursor)
      return
    }
    if (this.write(s, changeEvent(cursor))) this.stats.events++
  }

  private close(s: Stream, reason: string) {
    if (s.closed) return
    this.write(s, `event: closed\ndata: ${JSON.stringify({ reason })}\n\n`)
    this.forget(s)
    s.res.end()
  }

  private forget(s: Stream) {
    if (s.closed) return
    s.closed = true
    this.count--
    const mine = this.byUser.get(s.userId)
    mine?.delete(s.id)
    if (mine && !mine.size) this.byUser.delete(s.userId)
    const same = this.bySession.get(s.sessionHash)
    same?.delete(s)
    if (same && !same.size) this.bySession.delete(s.sessionHash)
  }

  private heartbeat() {
    for (const mine of this.byUser.values()) for (const s of mine.values()) if (!s.res.writableNeedDrain) this.write(s, ': keep-alive\n\n')
    void this.checkSessions()
  }

  /** closes the streams whose session no longer exists (safety net behind the sessions trigger) */
  private async checkSessions() {
    const hashes = [...this.bySession.keys()]
    if (!hashes.length) return
    try {
      const alive = await existingSessions(this.deps.db, hashes)
      for (const h of hashes) if (!alive.has(h)) for (const s of [...(this.bySession.get(h) ?? [])]) this.close(s, 'session_ended')
    } catch (e) {
      this.deps.log.warn({ err: e }, 'live: checking the sessions of open streams failed')
    }
  }

  // ---- the calendar feed's question: did anything change for these principals since a mark?

  mark(): LiveMark {
    return { epoch: this.connected ? this.epoch : -1, seq: this.seq }
  }

  /** true unless the instance has listened without a break since `mark` and no notification named one of `principals` */
  changedSince(principals: string[], mark: LiveMark): boolean {
    if (mark.epoch < 0 || !this.connected || mark.epoch !== this.epoch) return true
    for (const p of principals) if ((this.lastSeq.get(p) ?? 0) > mark.seq) return true
    return false
  }

  // ---- the LISTEN connection (db.listener)

  /** listening (first time or after a reconnect): from here on every commit is announced */
  private async listening(sql: Sql): Promise<void> {
    const { m } = await syncPoint(sql)
    if (this.stopped) return
    const missedSince = this.floor
    this.up = true
    this.epoch++
    this.floor = m
    if (missedSince !== null) {
      this.stats.reconnects++
      this.deps.log.info('live: LISTEN connection back; open streams are told to catch up')
      this.catchUp(missedSince)
    }
  }

  private lost() {
    if (!this.up) return
    this.up = false
    if (!this.stopped) this.deps.log.warn('live: LISTEN connection lost, reconnecting')
  }

  /** the connection answers (else the listener drops and reconnects it); its m becomes the catch-up floor */
  private async check() {
    if (!this.connected) return
    const epoch = this.epoch
    try {
      const { m } = await this.deps.db.listener.probe((sql) => syncPoint(sql), Math.max(2000, this.deps.config.LIVE_CHECK_MS))
      if (this.connected && epoch === this.epoch) this.floor = m
    } catch (e) {
      this.deps.log.warn({ err: e }, 'live: the LISTEN connection does not answer')
    }
  }

  /** after a gap: every stream gets a change whose cursor is below anything committed since `floor` */
  private catchUp(floor: number) {
    const cursor = Math.floor(floor) - this.deps.config.DELTA_MARGIN_MS - 1
    this.everyone = this.everyone === null ? cursor : Math.min(this.everyone, cursor)
    this.scheduleFlush()
    void this.checkSessions()
  }

  // ---- notifications → events

  private onNotification(payload: string) {
    const a = payload.indexOf(' ')
    const b = payload.indexOf(' ', a + 1)
    if (a < 0 || b < 0) return
    const kind = payload.slice(0, a)
    const t = Number(payload.slice(a + 1, b))
    const keys = payload.slice(b + 1).split(',')
    this.stats.notifications++
    this.seq++
    if (kind === 'c' && Number.isFinite(t)) {
      for (const k of keys) {
        if (!k) continue
        this.lastSeq.set(k, this.seq)
        const had = this.pending.get(k)
        if (had === undefined || t < had) this.pending.set(k, t)
      }
      // a bounded memory: forgetting means "changed" to the calendar (a new epoch)
      if (this.lastSeq.size > 500_000) {
        this.lastSeq.clear()
        this.epoch++
      }
    } else if (kind === 's') {
      for (const k of keys) if (k) this.pendingSessions.add(k)
    } else if (kind === 'v') {
      // what the calendar feed remembers about these users is stale; nothing for the streams
      for (const k of keys) if (k) this.lastSeq.set(k, this.seq)
      return
    }
    this.scheduleFlush()
  }

  private scheduleFlush() {
    if (this.flushScheduled || this.flushing) return
    this.flushScheduled = true
    // notifications read from the socket together are one burst
    setImmediate(() => void this.flush())
  }

  private async flush() {
    this.flushScheduled = false
    if (this.flushing) return
    this.flushing = true
    try {
      while (this.pending.size || this.pendingSessions.size || this.everyone !== null) {
        const changes = this.pending
        const ended = this.pendingSessions
        const everyone = this.everyone
        this.pending = new Map()
        this.pendingSessions = new Set()
        this.everyone = null
        this.stats.bursts++
        for (const h of ended) for (const s of [...(this.bySession.get(h) ?? [])]) this.close(s, 'session_ended')
        if (!this.count) continue
        const affected = new Map<number, number>()
        const hit = (userId: number, t: number) => {
          const had = affected.get(userId)
          if (had === undefined || t < had) affected.set(userId, t)
        }
        const groups: string[] = []
        for (const [p, t] of changes) {
          if (/^\d+$/.test(p)) {
            if (this.byUser.has(Number(p))) hit(Number(p), t - 1)
          } else groups.push(p)
        }
        if (groups.length) {
          try {
            this.stats.groupQueries++
            for (const r of await groupMembersAmong(this.deps.db, groups, [...this.byUser.keys()])) hit(r.user_id, changes.get(r.group_id)! - 1)
          } catch (e) {
            // who is affected cannot be told: tell everyone (a needless delta costs less than a lost change)
            this.deps.log.warn({ err: e }, 'live: resolving group principals failed; every stream is told')
            let lowest = Infinity
            for (const t of changes.values()) if (t < lowest) lowest = t
            lowest -= 1
            for (const u of this.byUser.keys()) hit(u, lowest)
          }
        }
        if (everyone !== null) for (const u of this.byUser.keys()) hit(u, everyone)
        for (const [userId, cursor] of affected) for (const s of [...(this.byUser.get(userId)?.values() ?? [])]) this.send(s, cursor)
      }
    } catch (e) {
      this.deps.log.error({ err: e }, 'live: delivering a burst failed')
    } finally {
      this.flushing = false
      if (this.pending.size || this.pendingSessions.size || this.everyone !== null) this.scheduleFlush()
    }
  }
}

const changeEvent = (cursor: number) => `event: change\ndata: {"cursor":${cursor}}\n\n`

const hubs = new WeakMap<Deps, LiveHub>()

/** the live hub of this application instance (one per Deps), created on first use */
export function liveHub(deps: Deps): LiveHub {
  let h = hubs.get(deps)
  if (!h) hubs.set(deps, (h = new LiveHub(deps)))
  return h
}
