// Small shared pieces of the runtime reliability checks (sync, faults, load): random picks,
// an answer tally, and the environment of a server process under test.
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)]!

/** the Redis every instance shares (rate-limit counters) */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Redis for the instances of one test file: its own key prefix, so parallel files (and
 *  their user ids, which restart at 1 in every database) never share a counter */
export const redisEnv = () => ({ REDIS_URL, REDIS_KEY_PREFIX: `hitask-rel-${Math.random().toString(36).slice(2, 10)}:` })

/** a server under load: the rate limit out of the way, one log line per warning */
export const LOAD_ENV = { RATE_LIMIT_PER_MINUTE: '100000000', LOG_LEVEL: 'warn' }

/** counts answers by operation and `status/response_status` */
export class Tally {
  readonly counts: Record<string, Record<string, number>> = {}
  add(op: string, status: number, body: unknown) {
    const code = body && typeof body === 'object' && 'response_status' in body ? (body as { response_status: unknown }).response_status : ''
    const key = `${status}${code !== '' ? '/' + String(code) : ''}`
    const o = (this.counts[op] ??= {})
    o[key] = (o[key] ?? 0) + 1
  }
  /** answers other than the ones a client may expect when racing other writers */
  unexpected(allowed: (status: number) => boolean): string[] {
    const out: string[] = []
    for (const [op, m] of Object.entries(this.counts)) for (const [k, n] of Object.entries(m)) if (!allowed(Number(k.split('/')[0]))) out.push(`${op} ${k} ×${n}`)
    return out
  }
  total(status = 200): number {
    let n = 0
    for (const m of Object.values(this.counts)) for (const [k, c] of Object.entries(m)) if (Number(k.split('/')[0]) === status) n += c
    return n
  }
}
