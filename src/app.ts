// Builds the Fastify application from its dependencies. Every domain's routes module exports
// a default `register(route, deps, app)`; they are registered in the order of `routeModules`.
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import Fastify, { LogController, type FastifyInstance, type RouteOptions } from 'fastify'
import cookie from '@fastify/cookie'
import cors from '@fastify/cors'
import type { Config } from './platform/config.js'
import type { Deps } from './deps.js'
import type { Db } from './platform/db/pool.js'
import { errors } from './platform/errors.js'
import { registerErrorHandling, sendError } from './http/error-handler.js'
import { parseQueryString, registerParams } from './http/params.js'
import { defineRoutes, type RouteModule } from './http/route.js'
import { registerAdmission } from './http/admission.js'
import { corsOptionsFor } from './http/cors.js'
import { rewriteVersionedUrl } from './http/version.js'
import { createMailer, type Mailer } from './platform/mailer.js'
import { createCounters, type CounterStore } from './platform/counters.js'
import { storageFromConfig, type Storage } from './platform/storage.js'
import { loggerOptions } from './platform/logger.js'
import { registerOpenApi } from './http/openapi.js'
import { registerMetrics } from './http/metrics.js'
import { registerClosing } from './http/closing.js'
import { registerResponseCheck, type ResponseViolation } from './http/response-check.js'
import { registerCompression } from './http/json-stream.js'
import systemRoutes from './http/system-routes.js'
import archiveRoutes from './archive/routes.js'
import avatarRoutes from './avatars/routes.js'
import pictureRoutes from './avatars/picture-routes.js'
import bulkRoutes from './items/bulk-routes.js'
import calendarRoutes from './calendar/routes.js'
import businessRoutes from './teams/business-routes.js'
import commentRoutes from './comments/routes.js'
import historyRoutes from './comments/history-routes.js'
import contactRoutes from './contacts/routes.js'
import exportRoutes from './export/routes.js'
import fileRoutes from './files/routes.js'
import groupRoutes from './groups/routes.js'
import importRoutes from './import/routes.js'
import itemRoutes from './items/routes.js'
import liveRoutes from './live/routes.js'
import preferenceRoutes from './users/preferences-routes.js'
import tagRoutes from './tags/routes.js'
import teamRoutes from './teams/routes.js'
import userRoutes from './users/routes.js'
import externalUserRoutes from './users/external-routes.js'
import notificationRoutes from './notifications/routes.js'
import { startNotifications, type Notifications } from './notifications/runtime.js'
import { registerNotificationMetrics } from './notifications/metrics.js'


/** every domain's routes, in registration order */
const routeModules: RouteModule[] = [
  systemRoutes, archiveRoutes, avatarRoutes, bulkRoutes, businessRoutes, commentRoutes, contactRoutes, fileRoutes,
  groupRoutes, historyRoutes, importRoutes, itemRoutes, pictureRoutes, preferenceRoutes, tagRoutes, teamRoutes, userRoutes, externalUserRoutes,
  // live updates (issue 14): starts the instance's LISTEN connection
  liveRoutes,
  // calendar feed and export (issue 14)
  calendarRoutes, exportRoutes,
  // notifications, reminders, Web Push and webhooks (issue 13)
  notificationRoutes,
]

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
  /**
   * tests only: every answer is checked against its route's declared schema and codes
   * (src/http/response-check.ts); a violation is reported here and the request answers 500
   */
  checkResponses?: (violation: ResponseViolation) => void
}


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
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    // UTF-8 checked, forbidden keys dropped, the last of a repeated key (src/http/params.ts)
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, querystringParser: parseQueryString },
    rewriteUrl: rewriteVersionedUrl,
    // while closing, src/http/closing.ts answers with the contract's envelope
    return503OnClosing: false,
    // the router's own refusals get the envelope too: an undecodable URL is malformed
    // input; a path segment longer than any id, guid or avatar name names nothing
    frameworkErrors: (error, _req, reply) =>
      sendError(reply, (error as { code?: string }).code === 'FST_ERR_MAX_PARAM_LENGTH' ? errors.notFound('Resource') : errors.invalidFormat('request URL')),
  })
  if (opts.onRoute) app.addHook('onRoute', opts.onRoute)
  // first of the onSend hooks: it sees the answer before anything re-encodes it
  if (opts.checkResponses) registerResponseCheck(app, opts.checkResponses)

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
  await app.register(cors, corsOptionsFor(config))
  // gzip and br for JSON answers of 1 KB or more (docs/performance.md); before the routes
  await registerCompression(app)
  // the address's rate budget when a request arrives; API key, session, cross-site rule and
  // rate limit before anything is written (docs/security.md)
  const admit = registerAdmission(app, deps)
  await registerParams(app, { bodyLimit: config.BODY_LIMIT_BYTES, bodyIdleTimeoutMs: config.BODY_IDLE_TIMEOUT_MS, tmpDir: path.resolve(config.DATA_DIR, 'tmp'), admit })

  // one line per request: id, route, status, time (never parameters: they carry secrets)
  app.addHook('onResponse', async (req, reply) => {
    req.log.info(
      // reqId comes from the request's child logger
      { method: req.method, route: req.routeOptions.url ?? 'unknown', status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
      'request',
    )
  })

  const route = defineRoutes(app, deps)
  const metrics = registerMetrics(app, deps, route)
  for (const register of routeModules) await register(route, deps, app)
  // background work (job workers, outbox listener, crons, email-in), stopped before the pool closes
  app.decorate('notifications', null)
  app.addHook('onClose', async () => {
    await app.notifications?.stop()
  })
  await app.ready()
  app.notifications = await startNotifications(deps)
  registerNotificationMetrics(metrics.registry, deps, app.notifications)
  return { app, deps }
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: Deps
    notifications: Notifications | null
  }
}
