// The admin command line: `npm run cli -- <command>`. It works on DATABASE_URL, or on the
// embedded database under DATA_DIR (the running server's, when it is up). Every command
// goes through the same services as the API, so the same rules apply (docs/operations.md).
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import pino from 'pino'
import type { FastifyBaseLogger } from 'fastify'
import { ConfigError, loadConfig, type Config } from './platform/config.js'
import { openDatabase } from './platform/db/open.js'
import { EMBEDDED_PASSWORD } from './platform/db/embedded.js'
import { connectDb, type Db } from './platform/db/pool.js'
import type { Deps } from './deps.js'
import { ApiError } from './platform/errors.js'
import { loggerOptions } from './platform/logger.js'
import { randomToken } from './platform/secrets.js'
import { createMailer } from './platform/mailer.js'
import { MemoryCounters } from './platform/counters.js'
import { storageFromConfig } from './platform/storage.js'
import { createUserApiKey } from './users/sessions.js'
import * as users from './users/service.js'
import { teamLicences } from './teams/service.js'
import { rebuildPreviews } from './files/service.js'

const usage = `Usage: npm run cli -- <command> [options]

  api-key create [--name <name>]
      a new client API key; add it to API_KEYS (it is not stored anywhere else)
  api-key create --user <login|email> [--name <name>]
      the user's own API key (as POST /user/apikey), stored hashed, printed once
  user create --login <login> --email <email> [--password <p>] [--first-name <f>]
              [--last-name <l>] [--confirmed]
      a new account; without --password one is generated and printed
  user reset-password --user <login|email> [--password <p>]
      sets a new password (generated and printed without --password); the user's
      sessions end
  team list [--json]
      every team with its licences: used (members + pending invitations) of total
  previews rebuild
      makes the SQUARE and PROPORTIONAL previews of files stored before they existed
      and removes their old 64 and 256 px previews (docs/files.md)

Database: DATABASE_URL, else the embedded database in DATA_DIR/postgres.`

class UsageError extends Error {}

/** what the services need; the CLI sends mail like the server does and counts nothing */
type Cli = { deps: Deps; close: () => Promise<void> }

/**
 * The database: DATABASE_URL; else the embedded one, reached through the running server's
 * PostgreSQL when it is up (its files are locked while it runs), else started here.
 */
async function open(config: Config): Promise<Cli> {
  const log = pino({ ...loggerOptions(config), level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL }, pino.destination(2)) as unknown as FastifyBaseLogger
  const note = (msg: string) => process.stderr.write(msg + '\n')
  let db: Db
  let stop: (() => Promise<void>) | undefined
  const running = config.DATABASE_URL ? null : runningEmbeddedUrl(config)
  if (running) {
    note(`database: the running embedded PostgreSQL in ${path.resolve(config.DATA_DIR, 'postgres')}`)
    db = connectDb(running, { max: 2 })
  } else {
    const opened = await openDatabase(config, note)
    db = opened.db
    stop = opened.stopEmbedded
  }
  const mailer = createMailer({ smtpUrl: config.SMTP_URL, from: config.MAIL_FROM, log })
  const deps: Deps = { config, db, log, mailer, counters: new MemoryCounters(), storage: storageFromConfig(config), urlSecret: '' }
  return {
    deps,
    close: async () => {
      mailer.close()
      await db.close()
      await stop?.()
    },
  }
}

/** the URL of the embedded PostgreSQL a running server holds, from its postmaster.pid */
function runningEmbeddedUrl(config: Config): string | null {
  const pidFile = path.resolve(config.DATA_DIR, 'postgres', 'postmaster.pid')
  let lines: string[]
  try {
    lines = fs.readFileSync(pidFile, 'utf8').split('\n')
  } catch {
    return null
  }
  const pid = Number(lines[0])
  const port = Number(lines[3])
  try {
    process.kill(pid, 0)
  } catch {
    return null
  }
  // the password src/platform/db/embedded.ts gives the embedded cluster (it listens on loopback only)
  return Number.isInteger(port) && port > 0 ? `postgresql://postgres:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/hitask` : null
}

async function findUser(deps: Deps, loginOrEmail: string) {
  const u = await users.lookupUser(deps, loginOrEmail)
  if (!u) throw new UsageError(`no user with login or email "${loginOrEmail}"`)
  return u
}

function required(values: Record<string, unknown>, name: string): string {
  const v = values[name]
  if (typeof v !== 'string' || !v.trim()) throw new UsageError(`--${name} is required`)
  return v.trim()
}

/** a generated password: 16 random characters, well over the 8 required */
const generatedPassword = () => randomToken(12)

async function apiKeyCreate(argv: string[]) {
  const { values } = parseArgs({ args: argv, options: { name: { type: 'string' }, user: { type: 'string' } } })
  if (!values.user) {
    // client keys are configuration (API_KEYS), not rows: api_keys rows belong to one user
    const key = randomToken(24)
    console.log(`New client API key${values.name ? ` for ${values.name}` : ''}:\n\n  ${key}\n`)
    console.log('Add it to API_KEYS (comma-separated) and restart the server, e.g.')
    console.log(`  API_KEYS=${key}`)
    console.log('It is not stored anywhere: keep it now.')
    return
  }
  const cli = await open(config())
  try {
    const u = await findUser(cli.deps, values.user)
    const r = await createUserApiKey(cli.deps, u.id, (values.name ?? 'cli').trim() || 'cli')
    console.log(`API key "${r.name}" of ${u.login} (shown once, stored hashed):\n\n  ${r.api_key}\n`)
  } finally {
    await cli.close()
  }
}

async function userCreate(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      login: { type: 'string' },
      email: { type: 'string' },
      password: { type: 'string' },
      'first-name': { type: 'string' },
      'last-name': { type: 'string' },
      confirmed: { type: 'boolean' },
    },
  })
  const login = required(values, 'login')
  const email = required(values, 'email')
  const password = values.password ?? generatedPassword()
  const cli = await open(config())
  try {
    // by the sign-up rules, without a session; --confirmed: no confirmation email
    const user = await users.createUser(
      cli.deps,
      { login, email, password, firstName: (values['first-name'] ?? '').trim(), lastName: (values['last-name'] ?? '').trim() },
      { emailConfirmed: !!values.confirmed },
    )
    console.log(`Created user ${user.login} (id ${user.id}, ${user.email}${values.confirmed ? ', email confirmed' : ', confirmation email sent'})`)
    if (!values.password) console.log(`Password: ${password}`)
  } finally {
    await cli.close()
  }
}

async function userResetPassword(argv: string[]) {
  const { values } = parseArgs({ args: argv, options: { user: { type: 'string' }, password: { type: 'string' } } })
  const who = required(values, 'user')
  const password = values.password ?? generatedPassword()
  users.checkPassword(password)
  const cli = await open(config())
  try {
    const u = await findUser(cli.deps, who)
    // as after a reset by email: whoever knew the old password is signed out
    await users.setPassword(cli.deps, u.id, password)
    console.log(`Password of ${u.login} changed; their sessions ended.`)
    if (!values.password) console.log(`Password: ${password}`)
  } finally {
    await cli.close()
  }
}

async function teamList(argv: string[]) {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' } } })
  const cli = await open(config())
  try {
    const rows = await teamLicences(cli.deps)
    if (values.json) {
      console.log(JSON.stringify(rows, null, 2))
      return
    }
    if (!rows.length) {
      console.log('No teams.')
      return
    }
    const table = [
      ['id', 'domain', 'title', 'owner', 'members', 'invited', 'licences'],
      ...rows.map((t) => [String(t.id), t.domain_name, t.title, t.owner ?? '-', String(t.members), String(t.pending_invitations), `${t.licenses_used}/${t.licenses_number}`]),
    ]
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)))
    for (const row of table) console.log(row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd())
  } finally {
    await cli.close()
  }
}

async function previewsRebuild() {
  const cli = await open(config())
  try {
    const r = await rebuildPreviews(cli.deps, { log: (line) => process.stderr.write(line + '\n') })
    console.log(`Previews rebuilt for ${r.rebuilt} file${r.rebuilt === 1 ? '' : 's'}${r.failed ? `; ${r.failed} failed (see the log; run it again)` : ''}.`)
    if (r.failed) process.exitCode = 1
  } finally {
    await cli.close()
  }
}

function config(): Config {
  // a .env file in the working directory, as for the server
  if (fs.existsSync('.env')) process.loadEnvFile('.env')
  return loadConfig()
}

const commands: Record<string, (argv: string[]) => Promise<void>> = {
  'api-key create': apiKeyCreate,
  'user create': userCreate,
  'user reset-password': userResetPassword,
  'team list': teamList,
  'previews rebuild': previewsRebuild,
}

async function main(argv: string[]) {
  const name = argv.slice(0, 2).join(' ')
  const command = commands[name]
  if (!command) {
    const help = !argv.length || ['help', '--help', '-h'].includes(argv[0]!)
    ;(help ? process.stdout : process.stderr).write(usage + '\n')
    return help ? 0 : 2
  }
  await command(argv.slice(2))
  return 0
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code || Number(process.exitCode ?? 0)),
  (e) => {
    if (e instanceof UsageError || e instanceof ConfigError || (e as { code?: string }).code?.startsWith?.('ERR_PARSE_ARGS')) {
      process.stderr.write(`${(e as Error).message}\n\n${usage}\n`)
      process.exit(2)
    }
    if (e instanceof ApiError) {
      // a rule of the service: the API's message and code
      process.stderr.write(`error ${e.code}: ${e.message}\n`)
      process.exit(1)
    }
    process.stderr.write(`failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`)
    process.exit(1)
  },
)
