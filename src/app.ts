// Builds the Fastify application from its dependencies. Every module in src/routes/ exports
// a default `register(route, deps, app)`; they are loaded in file-name order.
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import { fileURLToPath, pathToFileURL } from 'node:url'
import Fastify, { LogController, type FastifyInstance, type RouteOptions } from 'fastify'
import cookie from '@fastify/cookie'
import cors from '@fastify/cors'
import type { Config } from './config.js'
import type { Deps } from './deps.js'
import type { Db } from './db/prisma.js'
import { errors, registerErrorHandling, sendError } from './http/errors.js'
import { registerParams } from './http/params.js'
import { defineRoutes, registerSessionHook } from './http/route.js'
import { registerRateLimit } from './http/rate-limit.js'
import { rewriteVersionedUrl } from './http/version.js'
import { createMailer, type Mailer } from './services/mailer.js'
import { createCounters, type CounterStore } from './services/counters.js'
import { storageFromConfig, type Storage } from './services/storage.js'
import { loggerOptions } from './lib/logger.js'
import { registerOpenApi } from './http/openapi.js'
import { registerMetrics } from './http/metrics.js'
import { registerClosing } from './http/closing.js'

export type RouteModule = (route: ReturnType<typeof defineRoutes>, deps: Deps, app: FastifyInstance) => void | Promise<void>

export type BuildOptions = {
  config: Config
  db: Db
  mailer?: Mailer
  counters?: CounterStore
  storage?: Storage
  /** pino destination (tests capture the log) */
  logStream?: NodeJS.WritableStream
  /** called for every route as it is registered (tests list them) */
  onRoute?: (route: RouteOptions) => void
}

const routesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'routes')

/** the URL-signing secret: configured, or generated once and kept in DATA_DIR */
function urlSecretOf(config: Config): string {
  if (config.URL_SIGNING_SECRET) return config.URL_SIGNING_SECRET
  const file = path.resolve(config.DATA_DIR, 'url-signing-secret')
  try {
    return fs.readFileSync(file, 'utf8').trim()
  } catch {
    const s = crypto.randomBytes(32).toString('base64url')
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, s, { mode: 0o600 })
    return s
  }
}

export async function buildApp(opts: BuildOptions): Promise<{ app: FastifyInstance; deps: Deps }> {
  const { config } = opts
  const app = Fastify({
    logger: loggerOptions(config, opts.logStream),
    genReqId: () => crypto.randomUUID(),
    // Fastify's own request lines would log URLs, whose query strings carry session ids
    // and API keys; src/app.ts logs its own line per request instead.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' } as any),
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    rewriteUrl: rewriteVersionedUrl,
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
    // while closing, src/http/closing.ts answers with the contract's envelope
    return503OnClosing: false,
    // the router's own refusals get the envelope too: an undecodable URL is malformed
    // input; a path segment longer than any id, guid or avatar name names nothing
    frameworkErrors: (error, _req, reply) =>
      sendError(reply, (error as { code?: string }).code === 'FST_ERR_MAX_PARAM_LENGTH' ? errors.notFound('Resource') : errors.invalidFormat('request URL')),
  })
  if (opts.onRoute) app.addHook('onRoute', opts.onRoute)

  const deps: Deps = {
    config,
    db: opts.db,
    log: app.log,
    mailer: opts.mailer ?? createMailer({ smtpUrl: config.SMTP_URL, from: config.MAIL_FROM, log: app.log }),
    counters: opts.counters ?? createCounters(config.REDIS_URL, config.REDIS_KEY_PREFIX),
    storage: opts.storage ?? storageFromConfig(config),
    urlSecret: urlSecretOf(config),
  }
  app.decorate('deps', deps)

  registerErrorHandling(app)
  registerClosing(app)
  // before any route: the document is built from the routes registered after it
  await registerOpenApi(app)
  await app.register(cookie)
  await app.register(cors, {
    origin: config.CORS_ORIGINS.includes('*') ? true : config.CORS_ORIGINS,
    credentials: true,
    allowedHeaders: ['content-type', 'x-hi-session'],
    exposedHeaders: ['X-Cursor', 'X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'Retry-After'],
    methods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
  })
  await registerParams(app, { bodyLimit: config.BODY_LIMIT_BYTES, tmpDir: path.resolve(config.DATA_DIR, 'tmp') })
  registerSessionHook(app, deps)
  await registerRateLimit(app, deps)

  // one line per request: id, route, status, time (never parameters: they carry secrets)
  app.addHook('onResponse', async (req, reply) => {
    req.log.info(
      // reqId comes from the request's child logger
      { method: req.method, route: req.routeOptions.url ?? 'unknown', status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
      'request',
    )
  })

  const route = defineRoutes(app, deps)
  registerMetrics(app, deps, route)
  const files = fs.readdirSync(routesDir).filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts')).sort()
  for (const f of files) {
    const mod = (await import(pathToFileURL(path.join(routesDir, f)).href)) as { default?: RouteModule }
    if (typeof mod.default === 'function') await mod.default(route, deps, app)
  }
  await app.ready()
  return { app, deps }
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: Deps
  }
}
