// npm run db:migrate: applies pending migrations to DATABASE_URL, or to the embedded database.
import { loadConfigOrExit } from '../config.js'
import { openDatabase } from './database.js'

const config = loadConfigOrExit()
const opened = await openDatabase(config, (m) => console.log(m))
console.log(opened.applied.length ? `applied: ${opened.applied.join(', ')}` : 'database is up to date')
await opened.db.close()
await opened.stopEmbedded?.()
process.exit(0)
