// A fresh application on its own database (cloned from the migrated template), a real
// SMTP server for its emails, and small helpers to call the API as a client would.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import crypto from 'node:crypto'
import pg from 'pg'
import { inject } from 'vitest'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildApp, type BuildOptions } from '../../src/app.js'
import type { ResponseViolation } from '../../src/http/response-check.js'
import { loadConfig, type Config } from '../../src/platform/config.js'
import { connectDb, type Db } from '../../src/platform/db/pool.js'
import { poolOptions } from '../../src/platform/db/open.js'
import type { Deps } from '../../src/deps.js'
import { startSmtp } from './smtp.js'

export { API_KEY, formEncode } from './wire.js'
import { API_KEY, formEncode } from './wire.js'

function withDatabase(url: string, db: string): string {
  const u = new URL(url)
  u.pathname = '/' + db
  return u.toString()
}

/** a new empty database with the schema; returns its URL and a function that drops it */
export async function createTestDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = inject('pgBaseUrl')
  const name = 'hitask_t_' + crypto.randomBytes(6).toString('hex')
  const admin = new pg.Client({ connectionString: withDatabase(base, 'postgres') })
  await admin.connect()
  // cloning a template fails while another clone is being made from it: retry briefly
  for (let i = 0; ; i++) {
    try {
      await admin.query(`CREATE DATABASE ${name} TEMPLATE ${inject('pgTemplate')}`)
      break
    } catch (e) {
      if (i > 50 || !/being accessed/.test(String(e))) throw e
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200))
    }
  }
  await admin.end()
  return {
    url: withDatabase(base, name),
    drop: async () => {
      const a = new pg.Client({ connectionString: withDatabase(base, 'postgres') })
      await a.connect()
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await a.end()
    },
  }
}

export type TestApp = Awaited<ReturnType<typeof createTestApp>>

export async function createTestApp(
  opts: {
    env?: Record<string, string>
    config?: Partial<Config>
    smtp?: boolean
    onRoute?: BuildOptions['onRoute']
    /** use this database (already migrated; not dropped at close) instead of a new one */
    databaseUrl?: string
    /**
     * every answer is checked against its route's declared schema and codes (on for the whole
     * suite); a test that breaks an answer on purpose passes its own handler
     */
    checkResponses?: (violation: ResponseViolation) => void
  } = {},
) {
  const database = opts.databaseUrl ? { url: opts.databaseUrl, drop: async () => {} } : await createTestDatabase()
  const smtp = opts.smtp === false ? null : await startSmtp()
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hitask-test-data-'))
  const logLines: string[] = []
  const logStream = { write: (s: string) => void logLines.push(s) } as unknown as NodeJS.WritableStream
  const config = loadConfig(
    {
      NODE_ENV: 'test',
      API_KEYS: API_KEY,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      PUBLIC_URL: 'http://hitask.test',
      // the job workers (notifications) run only where a test asks for them
      WORKERS_ENABLED: 'false',
      // the tests' pool size unless a test sets DB_POOL_MAX (the pool settings come from the config)
      DB_POOL_MAX: '5',
      ...(smtp ? { SMTP_URL: smtp.url } : {}),
      ...opts.env,
    },
    opts.config,
  )
  const db: Db = connectDb(database.url, poolOptions(config))
  const violations: ResponseViolation[] = []
  const checkResponses =
    opts.checkResponses ??
    ((v: ResponseViolation) => {
      violations.push(v)
      console.error(`response check: ${v.method} ${v.url} (${v.route}) answered ${v.status} that ${v.problem}`)
    })
  const { app, deps } = await buildApp({ config, db, logStream, onRoute: opts.onRoute, checkResponses })
  const t = {
    app,
    deps: deps as Deps,
    db,
    smtp,
    config,
    dataDir,
    logLines,
    /** answers that did not match their route's declaration (each also answered 500) */
    violations,
    async close() {
      await app.close()
      await deps.counters.close()
      deps.mailer.close()
      await db.close()
      await smtp?.close()
      await database.drop()
      fs.rmSync(dataDir, { recursive: true, force: true })
      if (violations.length) {
        throw new Error(`${violations.length} answer(s) did not match their route's declaration:\n` + violations.map((v) => `  ${v.method} ${v.url} → ${v.status}: ${v.problem}`).join('\n'))
      }
    },
    /** a request as a client sends it; `session` goes in the x-hi-session header */
    async call(method: string, url: string, o: { session?: string; query?: Record<string, unknown>; body?: unknown; form?: Record<string, unknown>; headers?: Record<string, string> } = {}): Promise<LightMyRequestResponse> {
      const headers: Record<string, string> = { ...o.headers }
      if (o.session) headers['x-hi-session'] = o.session
      let payload: string | undefined
      if (o.form) {
        headers['content-type'] ??= 'application/x-www-form-urlencoded'
        payload = formEncode(o.form)
      } else if (o.body !== undefined) {
        headers['content-type'] ??= 'application/json'
        payload = typeof o.body === 'string' ? o.body : JSON.stringify(o.body)
      }
      return app.inject({ method: method as any, url, query: o.query as any, headers, payload })
    },
    /** signs up a new user and returns its id and session */
    async signup(login = 'u' + crypto.randomBytes(4).toString('hex'), extra: Record<string, string> = {}) {
      const r = await t.call('POST', '/api/user/signup', {
        form: { login, email: `${login}@example.com`, password: 'password123', firstName: 'First' + login, lastName: 'Last', api_key: API_KEY, ...extra },
      })
      if (r.statusCode !== 200) throw new Error(`signup failed: ${r.statusCode} ${r.body}`)
      const b = r.json()
      return { id: b.id as number, session: b.session_id as string, login, email: `${login}@example.com`, password: 'password123' }
    },
  }
  return t
}

export function errorOf(r: LightMyRequestResponse): { status: number; code: number } {
  const b = r.json()
  return { status: r.statusCode, code: b.response_status }
}

export type { FastifyInstance }
