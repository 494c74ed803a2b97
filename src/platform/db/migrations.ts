// Prisma's own schema engine, compiled to wasm (@prisma/schema-engine-wasm), driven through
// the pg driver adapter. The Prisma CLI cannot run `migrate` offline (it downloads a native
// engine); this runs the same engine in-process, so migrations stay standard Prisma
// migrations recorded in `_prisma_migrations`. See docs/database.md.
//
// Only migrations need this module and its packages (@prisma/schema-engine-wasm,
// @prisma/driver-adapter-utils): src/platform/db/open.ts imports it on demand, and the
// production image leaves them out (the `migrate` image has them).
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import pg from 'pg'
import { PrismaPg } from '@prisma/adapter-pg'
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils'
import { migrationNames, migrationsDir, schemaPath } from './schema-version.js'

export { migrationsDir, schemaPath }

const require = createRequire(import.meta.url)

type Engine = {
  applyMigrations(input: unknown): Promise<{ appliedMigrationNames: string[] }>
  diff(input: unknown): Promise<{ exitCode: number; stdout: string }>
}

let bgModule: Promise<any> | undefined
/** loads and starts the wasm schema engine (once per process) */
export async function loadWasm(): Promise<any> {
  bgModule ??= (async () => {
    const bg: any = await import('@prisma/schema-engine-wasm/schema_engine_bg')
    const wasmPath = path.join(path.dirname(require.resolve('@prisma/schema-engine-wasm')), 'schema_engine_bg.wasm')
    const { instance } = await (globalThis as any).WebAssembly.instantiate(fs.readFileSync(wasmPath), { './schema_engine_bg.js': bg })
    bg.__wbg_set_wasm(instance.exports)
    ;(instance.exports as any).__wbindgen_start()
    return bg
  })()
  return bgModule
}

/**
 * PrismaPg's executeScript splits a migration on every `;`, which breaks function bodies
 * (`$$ ... ; ... $$`). The native engine sends a migration as one simple-protocol query;
 * do the same, which also makes each migration file atomic.
 */
function wholeScriptAdapter(connectionString: string, opened: any[]) {
  const factory: any = new PrismaPg({ connectionString })
  const patch = (adapter: any) => {
    opened.push(adapter)
    adapter.executeScript = async (script: string) => {
      try {
        await adapter.client.query(script)
      } catch (error) {
        adapter.onError(error)
      }
    }
    return adapter
  }
  const connect = factory.connect.bind(factory)
  factory.connect = async () => patch(await connect())
  if (factory.connectToShadowDb) {
    const shadow = factory.connectToShadowDb.bind(factory)
    factory.connectToShadowDb = async () => patch(await shadow())
  }
  return factory
}

async function withEngine<T>(connectionString: string, fn: (engine: Engine) => Promise<T>): Promise<T> {
  const bg = await loadWasm()
  const schemaText = fs.readFileSync(schemaPath, 'utf8')
  const opened: any[] = []
  const adapter = bindMigrationAwareSqlAdapterFactory(wholeScriptAdapter(connectionString, opened) as any)
  const engine: Engine & { free?: () => void } = await bg.SchemaEngine.new(
    { datamodels: [[schemaPath, schemaText]] },
    () => {},
    adapter,
  )
  try {
    return await fn(engine)
  } finally {
    engine.free?.()
    // the engine does not close what it opened; without this the pool keeps the process alive
    await Promise.all(opened.map((a) => a.dispose?.().catch(() => {})))
  }
}

function migrationsList() {
  const dirs = migrationNames()
  const lockPath = path.join(migrationsDir, 'migration_lock.toml')
  return {
    baseDir: migrationsDir,
    lockfile: { path: 'migration_lock.toml', content: fs.existsSync(lockPath) ? fs.readFileSync(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: dirs.map((d) => ({
      path: d,
      migrationFile: { path: 'migration.sql', content: { tag: 'ok', value: fs.readFileSync(path.join(migrationsDir, d, 'migration.sql'), 'utf8') } },
    })),
  }
}

/**
 * Applies every pending migration of prisma/migrations. Safe to run from several processes
 * at once: a PostgreSQL advisory lock serialises them.
 */
export async function applyMigrations(connectionString: string): Promise<string[]> {
  const lockClient = new pg.Client({ connectionString, application_name: 'hitask-migrate' })
  // a connection lost later must fail the migration, not end the process with an unhandled 'error' event
  lockClient.on('error', () => {})
  await lockClient.connect()
  try {
    await lockClient.query('SELECT pg_advisory_lock(728310001)')
    return await withEngine(connectionString, async (engine) => {
      const r = await engine.applyMigrations({ migrationsList: migrationsList(), filters: { externalTables: [], externalEnums: [] } })
      return r.appliedMigrationNames
    })
  } finally {
    await lockClient.query('SELECT pg_advisory_unlock(728310001)').catch(() => {})
    await lockClient.end()
  }
}

/** The SQL that turns a database shaped like `fromSchema` (null: empty) into `toSchema`. */
export async function diffSchemas(connectionString: string, fromSchema: string | null, toSchema: string): Promise<string> {
  return withEngine(connectionString, async (engine) => {
    const target = (text: string) => ({ tag: 'schemaDatamodel', files: [{ path: schemaPath, content: text }] })
    const r = await engine.diff({
      from: fromSchema === null ? { tag: 'empty' } : target(fromSchema),
      to: target(toSchema),
      script: true,
      exitCode: null,
      filters: { externalTables: [], externalEnums: [] },
    })
    return r.stdout
  })
}
