// The migration job: applies every pending migration of prisma/migrations to DATABASE_URL (or
// to the embedded database in DATA_DIR/postgres) and exits. `npm run db:migrate` in
// development; `node dist/migrate.js` in the `migrate` image, which runs before the server
// (the server itself only checks the schema there: DB_MIGRATIONS=check). docs/database.md.
import { loadConfigOrExit } from './platform/config.js'
import { applyPendingMigrations, locateDatabase } from './platform/db/open.js'

const config = loadConfigOrExit()
const location = await locateDatabase(config, (m) => console.log(m))
let status = 0
try {
  const applied = await applyPendingMigrations(location.url)
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date')
} catch (e) {
  console.error(`migration failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
  status = 1
}
await location.stopEmbedded?.()
process.exit(status)
