// One PostgreSQL server for the whole run, chosen in this order: TEST_DATABASE_URL or
// DATABASE_URL; a testcontainers PostgreSQL when a container runtime answers; an embedded
// PostgreSQL in a temporary folder. The migrations are applied once to a template database;
// each test file clones it into its own database (test/helpers/app.ts).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import type { TestProject } from 'vitest/node'
import { applyMigrations } from '../../src/platform/db/migrations.js'
import { startEmbeddedPostgres } from '../../src/platform/db/embedded.js'

// unique per run: several runs may share one server (developers' worktrees, CI)
const TEMPLATE = `hitask_tpl_${process.pid}_${Date.now().toString(36)}`
let stop: (() => Promise<void>) | undefined

async function containerUrl(): Promise<{ url: string; stop: () => Promise<void> } | null> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers')
    await getContainerRuntimeClient()
  } catch {
    return null // no container runtime: fall back (the check fails within milliseconds)
  }
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql')
  const c = await new PostgreSqlContainer('postgres:16-alpine').start()
  return { url: c.getConnectionUri(), stop: async () => void (await c.stop()) }
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url)
  u.pathname = '/' + db
  return u.toString()
}

export default async function setup(project: TestProject) {
  let baseUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL
  let source = 'TEST_DATABASE_URL/DATABASE_URL'
  if (!baseUrl) {
    const c = await containerUrl()
    if (c) {
      baseUrl = c.url
      stop = c.stop
      source = 'testcontainers'
    }
  }
  if (!baseUrl) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hitask-test-pg-'))
    fs.chmodSync(dir, 0o755)
    const e = await startEmbeddedPostgres(path.join(dir, 'data'), { persistent: false })
    baseUrl = e.url
    stop = async () => {
      await e.stop()
      fs.rmSync(dir, { recursive: true, force: true })
    }
    source = 'embedded PostgreSQL'
  }
  console.log(`tests use PostgreSQL from ${source}`)
  const admin = new pg.Client({ connectionString: withDatabase(baseUrl, 'postgres') })
  await admin.connect()
  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE}`)
  await admin.query(`CREATE DATABASE ${TEMPLATE}`)
  await admin.end()
  await applyMigrations(withDatabase(baseUrl, TEMPLATE))
  project.provide('pgBaseUrl', baseUrl)
  project.provide('pgTemplate', TEMPLATE)
  return async () => {
    const a = new pg.Client({ connectionString: withDatabase(baseUrl!, 'postgres') })
    await a.connect().catch(() => {})
    await a.query(`DROP DATABASE IF EXISTS ${TEMPLATE} WITH (FORCE)`).catch(() => {})
    await a.end().catch(() => {})
    await stop?.()
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgBaseUrl: string
    pgTemplate: string
  }
}
