// Which PostgreSQL to use: DATABASE_URL when set, otherwise an embedded one kept under
// DATA_DIR/postgres. Migrations are applied before the app starts.
import path from 'node:path'
import type { Config } from '../config.js'
import { startEmbeddedPostgres } from './embedded.js'
import { applyMigrations } from './schema-engine.js'
import { connectDb, type Db } from './prisma.js'

export type OpenedDatabase = { db: Db; kind: 'external' | 'embedded'; stopEmbedded?: () => Promise<void>; applied: string[] }

export async function openDatabase(config: Config, log: (msg: string) => void): Promise<OpenedDatabase> {
  let url = config.DATABASE_URL
  let stopEmbedded: (() => Promise<void>) | undefined
  if (url) {
    log(`database: PostgreSQL at ${redactUrl(url)} (DATABASE_URL)`)
  } else {
    const dir = path.resolve(config.DATA_DIR, 'postgres')
    log(`database: embedded PostgreSQL in ${dir} (DATABASE_URL not set)`)
    const embedded = await startEmbeddedPostgres(dir)
    url = embedded.url
    stopEmbedded = embedded.stop
  }
  const applied = await applyMigrations(url)
  if (applied.length) log(`database: applied migrations ${applied.join(', ')}`)
  return { db: connectDb(url), kind: stopEmbedded ? 'embedded' : 'external', stopEmbedded, applied }
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return '(unparsable url)'
  }
}
