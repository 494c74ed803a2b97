// Configuration from environment variables, parsed and checked once at start. A bad value
import fs from 'node:fs'
// stops the server with a message naming the variable (see README's table).
import { z } from 'zod'

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes')
const csv = z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def)

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(3000, 0).pipe(z.number().max(65535)),
  HOST: z.string().default('0.0.0.0'),
  /** PostgreSQL; unset: an embedded PostgreSQL kept under DATA_DIR */
  DATABASE_URL: z.string().url().optional(),
  DATA_DIR: z.string().default('./data'),
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
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CORS_ORIGINS: csv.default(['*']),
  BODY_LIMIT_BYTES: int(1024 * 1024, 1024),
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
  /** delta cursor safety margin, ms (docs/sync.md) */
  DELTA_MARGIN_MS: int(1000, 0),
  SHUTDOWN_GRACE_MS: int(10000, 0),
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
