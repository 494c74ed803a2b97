// Fixed-window counters for rate limits: in Redis when REDIS_URL is set (shared by every
// server instance), in process otherwise.
import { Redis } from 'ioredis'

export interface CounterStore {
  /** adds 1 to `key` in the window of `windowMs`; returns the count and when the window ends */
  hit(key: string, windowMs: number): Promise<{ count: number; resetAt: number }>
  /** the count without adding */
  peek(key: string, windowMs: number): Promise<{ count: number; resetAt: number }>
  reset(key: string): Promise<void>
  close(): Promise<void>
  readonly kind: 'redis' | 'memory'
}

export class MemoryCounters implements CounterStore {
  readonly kind = 'memory' as const
  private readonly windows = new Map<string, { count: number; resetAt: number }>()
  private readonly sweeper = setInterval(() => {
    const now = Date.now()
    for (const [k, v] of this.windows) if (v.resetAt <= now) this.windows.delete(k)
  }, 60_000).unref()

  async hit(key: string, windowMs: number) {
    const now = Date.now()
    let w = this.windows.get(key)
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + windowMs }
      this.windows.set(key, w)
    }
    w.count++
    return { ...w }
  }
  async peek(key: string, windowMs: number) {
    const w = this.windows.get(key)
    if (!w || w.resetAt <= Date.now()) return { count: 0, resetAt: Date.now() + windowMs }
    return { ...w }
  }
  async reset(key: string) {
    this.windows.delete(key)
  }
  async close() {
    clearInterval(this.sweeper)
  }
}

export class RedisCounters implements CounterStore {
  readonly kind = 'redis' as const
  constructor(readonly redis: Redis, private readonly prefix: string) {}

  async hit(key: string, windowMs: number) {
    const k = this.prefix + key
    const r = await this.redis.multi().incr(k).pttl(k).exec()
    const count = Number(r?.[0]?.[1] ?? 1)
    let ttl = Number(r?.[1]?.[1] ?? -1)
    if (ttl < 0) {
      await this.redis.pexpire(k, windowMs)
      ttl = windowMs
    }
    return { count, resetAt: Date.now() + ttl }
  }
  async peek(key: string, windowMs: number) {
    const k = this.prefix + key
    const r = await this.redis.multi().get(k).pttl(k).exec()
    const count = Number(r?.[0]?.[1] ?? 0)
    const ttl = Number(r?.[1]?.[1] ?? -1)
    return { count, resetAt: Date.now() + (ttl > 0 ? ttl : windowMs) }
  }
  async reset(key: string) {
    await this.redis.del(this.prefix + key)
  }
  async close() {
    await this.redis.quit().catch(() => {})
  }
}

export function createCounters(redisUrl: string | undefined, keyPrefix = 'hitask:'): CounterStore {
  if (!redisUrl) return new MemoryCounters()
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false })
  redis.on('error', () => {})
  return new RedisCounters(redis, keyPrefix + 'rl:')
}
