// Configuration from environment variables, parsed and checked once at start. A bad value
import fs from 'node:fs'
// stops the server with a message naming the variable (see README's table).
import { z } from 'zod'

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes')
const csv = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def)

/** OpenID Connect providers (contract §13): `ID=ISSUER_URL` pairs, comma-separated; a bare GOOGLE is Google's issuer */
export type OidcProviderConfig = { id: string; issuer: string }
const GOOGLE_ISSUER = 'https://accounts.google.com'
const oidcProviders = z.string().transform((s, ctx): OidcProviderConfig[] => {
  const out: OidcProviderConfig[] = []
  for (const part of s.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9_-]{1,32})(?:=(.+))?$/.exec(part)
    const id = m?.[1]?.toUpperCase()
    const issuer = m?.[2]?.trim() ?? (id === 'GOOGLE' ? GOOGLE_ISSUER : undefined)
    let url: URL | null = null
    try {
      url = issuer ? new URL(issuer) : null
    } catch {
      url = null
    }
    if (!id || !url || !/^https?:$/.test(url.protocol) || url.search || url.hash) {
      ctx.addIssue({ code: 'custom', message: `"${part}" is not ID=ISSUER_URL (an http(s) URL without query), nor GOOGLE` })
      return z.NEVER
    }
    if (out.some((p) => p.id === id)) {
      ctx.addIssue({ code: 'custom', message: `provider ${id} is listed twice` })
      return z.NEVER
    }
    out.push({ id, issuer: issuer!.replace(/\/+$/, '') })
  }
  return out
})

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(3000, 0).pipe(z.number().max(65535)),
  HOST: z.string().default('0.0.0.0'),
  /** PostgreSQL; unset: an embedded PostgreSQL kept under DATA_DIR */
  DATABASE_URL: z.string().url().optional(),
  DATA_DIR: z.string().default('./data'),
  /** connections of the database pool */
  DB_POOL_MAX: int(10, 1),
  /** longest wait for a pool connection; then the request answers 503 */
  DB_POOL_ACQUIRE_TIMEOUT_MS: int(5000, 100),
  /** longest statement (and default transaction statement bound), ms */
  DB_STATEMENT_TIMEOUT_MS: int(15000, 100),
  /** the database ends a transaction left idle this long (last line of defence), ms */
  DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: int(30000, 100),
  /**
   * at start: `apply` pending migrations (needs the migration engine, a development
   * dependency), or `check` that none is pending and refuse to start otherwise (the
   * production image: migrations run as their own job, docs/database.md)
   */
  DB_MIGRATIONS: z.enum(['apply', 'check']).default('apply'),
  /** GET /ready answers 503 when the database has not answered through the pool within this, ms */
  READY_TIMEOUT_MS: int(2000, 100),
  /** comma-separated client API keys */
  API_KEYS: csv.default([]),
  REDIS_URL: z.string().url().optional(),
  /** prefix of every Redis key (several deployments may share one Redis) */
  REDIS_KEY_PREFIX: z.string().max(64).default('hitask:'),
  /** smtp://user:pass@host:port or smtps://…; unset: emails are written to the log */
  SMTP_URL: z.string().url().optional(),
  MAIL_FROM: z.string().default('Hitask <no-reply@localhost>'),
  /** base of links in emails */
  PUBLIC_URL: z.string().url().default('http://localhost:3000'),
  RATE_LIMIT_PER_MINUTE: int(600, 1),
  AUTH_FAIL_PER_MINUTE_PER_ADDRESS: int(30, 1),
  AUTH_FAIL_PER_15MIN_PER_LOGIN: int(10, 1),
  /** invitation emails (team and contact invitations) a user may send per hour; over it → 429/67 */
  INVITES_PER_HOUR_PER_USER: int(50, 1),
  /** largest permission change: items × principals one request may write (contract §15); over it → 400/20 */
  MAX_CASCADE_ITEMS: int(10000, 1),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * origins allowed to call the API from a browser WITH credentials (the HI_SESSION cookie),
   * and whose cookie-authenticated writes are not refused as cross-site (docs/security.md);
   * unset: any origin may call without credentials
   */
  CORS_ORIGINS: csv.default([]),
  BODY_LIMIT_BYTES: int(1024 * 1024, 1024),
  /** a request body that sends nothing for this long ends the request (and its temporary files), ms */
  BODY_IDLE_TIMEOUT_MS: int(30_000, 100),
  /** /metrics on its own port (the API port does not serve it); unset: not served on a port of its own */
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /** /metrics on the API port for `Authorization: Bearer <METRICS_TOKEN>`; unset: not served there */
  METRICS_TOKEN: z.string().min(16).optional(),
  SESSION_IDLE_DAYS: int(30, 1),
  TOKEN_TTL_HOURS: int(24 * 7, 1),
  TRUST_PROXY: bool.default(false),
  /** file storage: 'local' (under DATA_DIR/files) or 's3' */
  STORAGE: z.enum(['local', 's3']).default('local'),
  FILES_DIR: z.string().optional(),
  S3_BUCKET: z.string().optional(),
  S3_REGION: z.string().default('us-east-1'),
  S3_ENDPOINT: z.string().url().optional(),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  S3_FORCE_PATH_STYLE: bool.default(true),
  /** largest file accepted by POST /file/upload */
  FILE_MAX_BYTES: int(100 * 1024 * 1024, 1),
  /** storage quota of a user without a team, MB */
  USER_STORAGE_QUOTA_MB: int(1024, 0),
  /** storage quota of a new team, MB */
  TEAM_STORAGE_QUOTA_MB: int(10240, 0),
  TEAM_LICENSES: int(10, 1),
  /** items limit per account level, e.g. "0:200,100:5000"; unset: unlimited */
  ITEM_LIMITS: z.string().optional(),
  /** secret for signed file URLs; unset: generated and kept in DATA_DIR */
  URL_SIGNING_SECRET: z.string().min(16).optional(),
  FILE_URL_TTL_SECONDS: int(300, 1),
  /** previews' URLs (an item's previews[].url) stay the same for this long and work for at least this long (docs/files.md) */
  PREVIEW_URL_TTL_SECONDS: int(30 * 86_400, 60),
  /** most rows an import file (POST /import/upload) or an import (POST /import/) may hold (docs/import.md) */
  IMPORT_MAX_ROWS: int(1000, 1),
  /** most bytes an XLSX import file may unpack to (its zip directory's sizes) */
  IMPORT_MAX_UNPACKED_BYTES: int(256 * 1024 * 1024, 1024),
  /** sign-in with external accounts (contract §13, docs/external-sign-in.md): `GOOGLE`, `ID=https://issuer`, … */
  OIDC_PROVIDERS: oidcProviders.default([]),
  /** longest wait for a provider's discovery document or userinfo answer, ms */
  OIDC_TIMEOUT_MS: int(10000, 100),
  /** delta cursor safety margin, ms (docs/sync.md) */
  DELTA_MARGIN_MS: int(1000, 0),
  SHUTDOWN_GRACE_MS: int(10000, 0),
  /** the V8 heap may grow to (1 + this/100) × what a full collection left before the next one
   *  (V8's --heap-growing-percent); 0: V8's own rule, up to about 4× (docs/performance.md) */
  HEAP_GROWING_PERCENT: int(50, 0),
  /** live updates (GET /item/live, docs/sync.md): a comment line this often keeps proxies open, ms */
  LIVE_HEARTBEAT_MS: int(25000, 100),
  /** open live streams of one user on one instance; a new one past it closes that user's oldest */
  LIVE_MAX_STREAMS_PER_USER: int(10, 1),
  /** open live streams on one instance; past it a new stream answers 503 */
  LIVE_MAX_STREAMS: int(10000, 1),
  /** how often the LISTEN connection is checked (and the sessions of open streams), ms */
  LIVE_CHECK_MS: int(5000, 100),
  /** first wait before reconnecting a lost LISTEN connection (doubles up to 30 s), ms */
  LIVE_RECONNECT_MS: int(500, 10),
  /** calendar feeds: suggested refresh interval and Cache-Control max-age, seconds */
  CALENDAR_REFRESH_SECONDS: int(900, 0),
  /** calendar feeds whose ETag each instance remembers (answers 304 without reading items) */
  CALENDAR_CACHE_ENTRIES: int(10000, 0),
  /** rows read per query by the export and the calendar feed (memory stays bounded by it) */
  EXPORT_BATCH_SIZE: int(1000, 10),

  // ---- notifications, reminders, email-in, Web Push, webhooks (docs/notifications.md)
  /** run the job workers on this instance (queue, outbox, reminders, summaries, deliveries) */
  WORKERS_ENABLED: bool.default(true),
  /** how often an idle worker asks the queue for work, seconds */
  JOBS_POLL_SECONDS: z.coerce.number().min(0.5).max(60).default(2),
  /** change notifications to one user within this window go out as one email / push */
  NOTIFY_BATCH_SECONDS: int(120, 0),
  /** local hour (0–23, the user's time_zone) of the daily summary email */
  DAILY_SUMMARY_HOUR: int(7, 0).pipe(z.number().max(23)),
  /** link to an item in emails and push messages; {id} and {guid} are replaced (default PUBLIC_URL/#item/{id}) */
  ITEM_LINK_TEMPLATE: z.string().regex(/^https?:\/\/\S+$/).optional(),
  /** VAPID key pair (base64url) of Web Push; unset: generated once and kept in DATA_DIR */
  VAPID_PUBLIC_KEY: z.string().regex(/^[A-Za-z0-9_-]{80,100}$/).optional(),
  VAPID_PRIVATE_KEY: z.string().regex(/^[A-Za-z0-9_-]{40,50}$/).optional(),
  /** contact of the VAPID claims (mailto: or https:); default mailto: the MAIL_FROM address */
  VAPID_SUBJECT: z.string().regex(/^(mailto:|https:\/\/)\S+$/).optional(),
  /** accept push subscription endpoints on loopback, private or link-local addresses (tests) */
  PUSH_ALLOW_PRIVATE: bool.default(false),
  /** accept webhook URLs on loopback, private or link-local addresses */
  WEBHOOK_ALLOW_PRIVATE: bool.default(false),
  /** first webhook retry delay, seconds; it doubles per attempt up to an hour, for 24 h */
  WEBHOOK_RETRY_SECONDS: int(30, 1),
  /** time a webhook receiver or push service has to answer, ms */
  DELIVERY_TIMEOUT_MS: int(10000, 100),
  /** SMTP port of the email-in listener; unset: no listener (0: any free port) */
  INBOUND_SMTP_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  INBOUND_SMTP_HOST: z.string().default('0.0.0.0'),
  /** domain of the team inboxes (<random>@INBOUND_MAIL_DOMAIN); unset: teams show no emailInbox */
  INBOUND_MAIL_DOMAIN: z
    .string()
    .regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i)
    .transform((v) => v.toLowerCase())
    .optional(),
  /** largest message the email-in listener accepts, bytes */
  INBOUND_MAX_BYTES: int(25 * 1024 * 1024, 1024),
})

export type Config = z.infer<typeof configSchema>

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}): Config {
  // empty strings mean "unset", as in most .env files
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
  const r = configSchema.safeParse(cleaned)
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`)
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`)
  }
  return { ...r.data, ...overrides }
}

/**
 * The configuration of a command-line entry point (server, seed, migrations): a `.env` file in
 * the working directory when there is one (Node's own loader), then the environment; a bad
 * value prints the message naming it and exits with code 2.
 */
export function loadConfigOrExit(): Config {
  if (fs.existsSync('.env')) process.loadEnvFile('.env')
  try {
    return loadConfig()
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(e.message + '\n')
      process.exit(2)
    }
    throw e
  }
}
