// Where the schema and its migrations live, and whether a database has every migration
// applied. Needs neither the migration engine nor Prisma: the production server checks the
// schema with this (DB_MIGRATIONS=check) while the migrate job applies migrations
// (src/migrate.ts, docs/database.md).
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'

// src/platform/db (or dist/platform/db once compiled): three levels below the project root
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
export const schemaPath = path.join(root, 'prisma/schema.prisma')
export const migrationsDir = path.join(root, 'prisma/migrations')

/** the migrations this version of the server expects, oldest first (prisma/migrations/<name>/) */
export function migrationNames(): string[] {
  if (!fs.existsSync(migrationsDir)) return []
  return fs
    .readdirSync(migrationsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(migrationsDir, d.name, 'migration.sql')))
    .map((d) => d.name)
    .sort()
}

export class SchemaNotCurrentError extends Error {
  constructor(readonly pending: string[]) {
    super(
      `the database schema is not current: ${pending.length} migration(s) not applied (${pending.join(', ')}). ` +
        'Apply them first (the migrate job: `node dist/migrate.js`, `npm run db:migrate`, or the `migrate` service of docker-compose.yml), ' +
        'or start with DB_MIGRATIONS=apply.',
    )
    this.name = 'SchemaNotCurrentError'
  }
}

/**
 * The migrations of prisma/migrations that the database has not applied (recorded as finished
 * and not rolled back in Prisma's `_prisma_migrations`). Migrations the database has and this
 * version does not know (a newer schema) are not an error: schema changes are additive.
 */
export async function pendingMigrations(connectionString: string, expected = migrationNames()): Promise<string[]> {
  const client = new pg.Client({ connectionString, application_name: 'hitask-schema-check' })
  // a connection error arriving later must not become an unhandled 'error' event
  client.on('error', () => {})
  await client.connect()
  try {
    const table = await client.query(`SELECT to_regclass('_prisma_migrations') AS t`)
    if (!table.rows[0]?.t) return expected
    const r = await client.query<{ migration_name: string }>(
      'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    )
    const applied = new Set(r.rows.map((x) => x.migration_name))
    return expected.filter((m) => !applied.has(m))
  } finally {
    await client.end().catch(() => {})
  }
}
