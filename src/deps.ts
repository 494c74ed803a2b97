// What every service and route is given: configuration, the database, the logger and the
// outside-world adapters. Built once in src/app.ts (or by a test).
import type { FastifyBaseLogger } from 'fastify'
import type { Config } from './platform/config.js'
import type { Db } from './platform/db/pool.js'
import type { Mailer } from './platform/mailer.js'
import type { CounterStore } from './platform/counters.js'
import type { Storage } from './platform/storage.js'

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
