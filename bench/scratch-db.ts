// What the benchmarks share: a scratch database on the PostgreSQL of DATABASE_URL (made anew
// for each run, every migration applied, dropped WITH (FORCE) at the end), and small helpers.
import crypto from 'node:crypto'
import { pathToFileURL } from 'node:url'
import pg from 'pg'

/** the server the scratch databases are made on (its own database is only used to create and drop them) */
export const BASE_URL = process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres'

/** `url` with its database replaced by `db` */
export function withDb(url: string, db: string): string {
  const u = new URL(url)
  u.pathname = '/' + db
  return u.toString()
}

export type ScratchDb = { name: string; url: string; drop(): Promise<void> }

/**
 * A new database named `prefix` + 8 random hex digits, with every migration applied unless
 * `migrate` is false (a server started on it applies them itself); `drop()` removes it.
 */
export async function scratchDatabase(prefix: string, o: { migrate?: boolean } = {}): Promise<ScratchDb> {
  const name = prefix + crypto.randomBytes(4).toString('hex')
  await admin((c) => c.query(`CREATE DATABASE ${name}`))
  const url = withDb(BASE_URL, name)
  const drop = () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
  if (o.migrate !== false) {
    try {
      // loaded here: bench/load.ts (imported by a reliability test) never migrates
      const { applyMigrations } = await import('../src/platform/db/migrations.js')
      await applyMigrations(url)
    } catch (e) {
      await drop().catch(() => {})
      throw e
    }
  }
  return { name, url, drop }
}

async function admin(fn: (c: pg.Client) => Promise<unknown>): Promise<void> {
  const c = new pg.Client({ connectionString: withDb(BASE_URL, 'postgres') })
  await c.connect()
  try {
    await fn(c)
  } finally {
    await c.end()
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** the p-th percentile of unsorted samples (the sample at floor(p% of n)); NaN for none */
export function percentile(xs: number[], p: number): number {
  if (!xs.length) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!
}

/** runs `main` when `moduleUrl` (import.meta.url) is the file node was started with; a failure exits 1 */
export function runMain(moduleUrl: string, main: () => Promise<unknown>, o: { exitAfter?: boolean } = {}) {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? '').href) return
  main().then(
    () => {
      if (o.exitAfter) process.exit(0)
    },
    (e) => {
      console.error(e)
      process.exit(1)
    },
  )
}
