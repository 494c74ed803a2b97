// What `npm start` runs (src/server.ts): configuration, database (embedded when DATABASE_URL
// is unset), migrations, the app, and a graceful shutdown on SIGTERM/SIGINT.
import fs from 'node:fs'
import path from 'node:path'
import v8 from 'node:v8'
import { loadConfigOrExit, type Config } from './platform/config.js'
import { openDatabase } from './platform/db/open.js'
import { SchemaNotCurrentError } from './platform/db/schema-version.js'
import { buildApp, type BuildOptions } from './app.js'
import { randomToken } from './platform/secrets.js'

function log(msg: string) {
  process.stdout.write(JSON.stringify({ level: 30, time: Date.now(), msg }) + '\n')
}

/** With no API_KEYS outside production, a key is generated once, kept in DATA_DIR, and printed. */
function ensureApiKey(config: Config): Config {
  if (config.API_KEYS.length || config.NODE_ENV === 'production') return config
  const file = path.resolve(config.DATA_DIR, 'api-key')
  let key: string
  if (fs.existsSync(file)) key = fs.readFileSync(file, 'utf8').trim()
  else {
    key = randomToken(18)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, key + '\n', { mode: 0o600 })
  }
  process.stdout.write(`\n  API key for clients (from ${file}): ${key}\n\n`)
  return { ...config, API_KEYS: [key] }
}

/**
 * Starts the server and its graceful shutdown. `extra`: what a test harness adds to the app
 * (test/helpers/checked-server.ts: the response check on a real server process).
 */
export async function serve(extra: Pick<BuildOptions, 'checkResponses'> = {}) {
  const config = ensureApiKey(loadConfigOrExit())
  // the long lists make garbage fast; V8's own rule lets the heap reach about 4× what is live
  // before a full collection (docs/performance.md, "Memory")
  if (config.HEAP_GROWING_PERCENT > 0) v8.setFlagsFromString(`--heap-growing-percent=${config.HEAP_GROWING_PERCENT}`)
  const opened = await openDatabase(config, log, (e, where) =>
    process.stdout.write(JSON.stringify({ level: 50, time: Date.now(), msg: `database: ${where} failed`, err: { message: e.message, code: (e as { code?: string }).code } }) + '\n'),
  )
  const { app, deps } = await buildApp({ config, db: opened.db, ...extra })

  let stopping = false
  /**
   * Stop accepting connections, let the requests in flight finish (at most
   * SHUTDOWN_GRACE_MS, then their connections are cut), close Redis, SMTP and the database,
   * and exit: 0 when every request finished, 1 when some had to be cut.
   */
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    app.log.info({ signal, graceMs: config.SHUTDOWN_GRACE_MS }, 'shutting down: no new connections, finishing requests in flight')
    let exitCode = 0
    const grace = setTimeout(() => {
      exitCode = 1
      app.log.warn('shutdown grace period over: cutting the connections still open')
      app.server.closeAllConnections()
    }, config.SHUTDOWN_GRACE_MS)
    // last resort, should closing itself hang (a database that does not answer)
    setTimeout(() => process.exit(1), config.SHUTDOWN_GRACE_MS + 15_000).unref()
    const step = async (what: string, fn: () => unknown) => {
      try {
        await fn()
      } catch (e) {
        exitCode = 1
        app.log.error({ err: e }, `shutdown: closing ${what} failed`)
      }
    }
    // resolves once every connection has ended (Fastify closes the idle keep-alive ones)
    await step('the HTTP server', () => app.close())
    clearTimeout(grace)
    await step('the rate-limit counters', () => deps.counters.close())
    await step('the mailer', () => deps.mailer.close())
    await step('the database', () => opened.db.close())
    await step('the embedded database', () => opened.stopEmbedded?.())
    app.log.info({ exitCode }, 'stopped')
    process.exit(exitCode)
  }
  // the embedded database (if any) is stopped last, after the requests in flight
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))

  await app.listen({ port: config.PORT, host: config.HOST })
}

/** a start that failed: the reason on stderr, exit code 1 */
export function failedToStart(e: unknown): never {
  // a schema behind this version is an operator's matter: its message says what to do
  const text = e instanceof SchemaNotCurrentError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)
  process.stderr.write(`failed to start: ${text}\n`)
  process.exit(1)
}
