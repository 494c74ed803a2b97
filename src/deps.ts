// What every service and route is given: configuration, the database, the logger and the
// outside-world adapters. Built once in src/app.ts (or by a test).
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from './config.js'
import type { Db } from './db/prisma.js'
import type { Mailer } from './services/mailer.js'
import type { CounterStore } from './services/counters.js'
import type { Storage } from './services/storage.js'

export type Deps = {
  config: Config
  db: Db
  log: FastifyBaseLogger
  mailer: Mailer
  counters: CounterStore
  storage: Storage
  /** secret for signed file URLs */
  urlSecret: string
}
