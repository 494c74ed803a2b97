// Benchmark of the runtime database client (not a test; issue 10 "choose the runtime client by
// measurement"): the same representative work through
//   - node-postgres directly (pg.Pool, plain SQL: what src/platform/db/pool.ts does),
//   - the Prisma client (src/generated/prisma, @prisma/adapter-pg on a pg.Pool), its query API,
//   - the Prisma client with the same SQL as node-postgres ($queryRawUnsafe / $executeRawUnsafe),
//     which separates the cost of Prisma's layer from the cost of its query building;
// each at concurrency 1 and 16, closed loop (each worker sends its next operation when the
// last one answered), pools of DB_POOL_MAX (10) connections:
//   (a) read one items row by its unique guid
//   (b) upsert one user_preferences row (a key of one of 16 users: concurrent workers contend)
//   (c) a transaction shaped like an item create: bump the owner's issue_seq, insert the item,
//       insert two permission rows, insert a history row, read the item back (5 statements
//       plus BEGIN/COMMIT)
// Printed: operations/s, p50 and p99 latency (ms).
//
// The server no longer depends on @prisma/client (Prisma is the schema, migration and type
// source only), so the Prisma side needs it installed outside the project, once:
//   npm install --prefix /tmp/hitask-prisma-client-bench @prisma/client@7.10.0
// (PRISMA_CLIENT_DIR names another folder). The bench generates the client there from
// prisma/schema.prisma (its `generator rows` block swapped for a `prisma-client` one) at
// each run. @prisma/adapter-pg and the prisma CLI come from the project.
// Usage: npm run bench:db-client   (DATABASE_URL, else postgresql://postgres@127.0.0.1:5432/postgres;
// a fresh database is created for the run and dropped at the end; DB_BENCH_SECONDS per run, default 4)
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import { PrismaPg } from '@prisma/adapter-pg'
import { runMain, scratchDatabase } from './scratch-db.js'

const PRISMA_DIR = process.env.PRISMA_CLIENT_DIR || path.join(os.tmpdir(), 'hitask-prisma-client-bench')

/** the Prisma client generated from the project's schema into PRISMA_DIR/generated */
async function prismaClientClass(): Promise<new (o: { adapter: unknown }) => any> {
  if (!fs.existsSync(path.join(PRISMA_DIR, 'node_modules/@prisma/client/package.json'))) {
    console.error(`@prisma/client is not installed in ${PRISMA_DIR}; once:\n  npm install --prefix ${PRISMA_DIR} @prisma/client@7.10.0`)
    process.exit(2)
  }
  const root = path.resolve(import.meta.dirname, '..')
  const schema = fs
    .readFileSync(path.join(root, 'prisma/schema.prisma'), 'utf8')
    .replace(/generator rows \{[^}]*\}/, 'generator client {\n  provider     = "prisma-client"\n  output       = "./generated"\n  moduleFormat = "esm"\n}')
  fs.writeFileSync(path.join(PRISMA_DIR, 'schema.prisma'), schema)
  const cli = createRequire(path.join(root, 'package.json')).resolve('prisma/build/index.js')
  const r = spawnSync(process.execPath, [cli, 'generate', '--schema', 'schema.prisma'], {
    cwd: PRISMA_DIR,
    encoding: 'utf8',
    // as scripts/prisma-generate.mjs: no engine download
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' },
  })
  if (r.status !== 0) throw new Error(`prisma generate failed:\n${r.stdout}\n${r.stderr}`)
  const mod = (await import(pathToFileURL(path.join(PRISMA_DIR, 'generated/client.ts')).href)) as { PrismaClient: new (o: { adapter: unknown }) => any }
  return mod.PrismaClient
}

const SECONDS = Number(process.env.DB_BENCH_SECONDS ?? 4)
const WARMUP_SECONDS = 1
const POOL_MAX = 10
const CONCURRENCY = [1, 16]
const USERS = 16
const ITEMS = 2000

type Op = (worker: number, n: number) => Promise<unknown>
type Run = { client: string; work: string; concurrency: number; ops: number; perSecond: number; p50: number; p99: number; errors: number; firstError?: string }

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0

/** `concurrency` workers calling op in a loop for `seconds`; latencies of the operations that ended in time */
async function loop(op: Op, concurrency: number, seconds: number): Promise<{ ops: number; ms: number[]; errors: number; firstError?: string }> {
  const end = performance.now() + seconds * 1000
  const ms: number[] = []
  let n = 0
  let errors = 0
  let firstError: string | undefined
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      while (performance.now() < end) {
        const t0 = performance.now()
        try {
          await op(w, n++)
          ms.push(performance.now() - t0)
        } catch (e) {
          // counted, not measured (a Prisma transaction that waited over its maxWait, say)
          errors++
          firstError ??= String((e as Error).message ?? e).split('\n').filter(Boolean).pop()
        }
      }
    }),
  )
  return { ops: ms.length, ms, errors, firstError }
}

async function measure(client: string, work: string, concurrency: number, op: Op): Promise<Run> {
  await loop(op, concurrency, WARMUP_SECONDS)
  const t0 = performance.now()
  const r = await loop(op, concurrency, SECONDS)
  const seconds = (performance.now() - t0) / 1000
  const sorted = r.ms.sort((a, b) => a - b)
  return { client, work, concurrency, ops: r.ops, perSecond: r.ops / seconds, p50: pct(sorted, 50), p99: pct(sorted, 99), errors: r.errors, firstError: r.firstError }
}

async function main() {
  const PrismaClient = await prismaClientClass()
  const { name: dbName, url, drop } = await scratchDatabase('hitask_dbbench_')
  console.log(`database ${dbName}; ${os.cpus().length} CPUs; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; ${SECONDS}s per run, pools of ${POOL_MAX}`)
  const pgPool = new pg.Pool({ connectionString: url, max: POOL_MAX })
  const prismaPool = new pg.Pool({ connectionString: url, max: POOL_MAX })
  const prisma = new PrismaClient({ adapter: new PrismaPg(prismaPool) })
  try {
    // users, and items to read
    const users = (
      await pgPool.query<{ id: string }>(
        `INSERT INTO users (login, login_key, email, email_key, password_hash, picture_hash)
         SELECT 'u' || n, 'u' || n, 'u' || n || '@bench.test', 'u' || n || '@bench.test', 'x', md5(random()::text) FROM generate_series(1, $1) n RETURNING id`,
        [USERS],
      )
    ).rows.map((r) => Number(r.id))
    const guids = (
      await pgPool.query<{ guid: string }>(
        `INSERT INTO items (guid, user_id, title, message, issue_id)
         SELECT gen_random_uuid()::text, $1, 'Item ' || n, 'Some description text for the item', n::text FROM generate_series(1, $2) n RETURNING guid`,
        [users[0], ITEMS],
      )
    ).rows.map((r) => r.guid)
    await pgPool.query('ANALYZE')
    const owner = (w: number) => users[w % USERS]!
    const other = (w: number) => String(users[(w + 1) % USERS]!)
    const guid = (n: number) => guids[(n * 7919) % guids.length]!

    // (a) one row by a unique key
    const readPg: Op = (_w, n) => pgPool.query('SELECT * FROM items WHERE guid = $1', [guid(n)])
    const readPrisma: Op = (_w, n) => prisma.item.findUnique({ where: { guid: guid(n) } })
    const readPrismaRaw: Op = (_w, n) => prisma.$queryRawUnsafe('SELECT * FROM items WHERE guid = $1', guid(n))

    // (b) an upsert (16 users × 4 keys: concurrent workers hit the same rows)
    const UPSERT = `INSERT INTO user_preferences (user_id, key, value) VALUES ($1, $2, $3)
                    ON CONFLICT (user_id, key) DO UPDATE SET value = EXCLUDED.value`
    const upsertPg: Op = (w, n) => pgPool.query(UPSERT, [owner(w), `k${n % 4}`, JSON.stringify(String(n))])
    const upsertPrisma: Op = (w, n) => {
      const key = `k${n % 4}`
      const value = JSON.stringify(String(n))
      return prisma.userPreference.upsert({ where: { userId_key: { userId: BigInt(owner(w)), key } }, create: { userId: BigInt(owner(w)), key, value }, update: { value } })
    }
    const upsertPrismaRaw: Op = (w, n) => prisma.$executeRawUnsafe(UPSERT, owner(w), `k${n % 4}`, JSON.stringify(String(n)))

    // (c) a create-shaped transaction
    const SEQ = 'UPDATE users SET issue_seq = issue_seq + 1 WHERE id = $1 RETURNING issue_seq'
    const ITEM = `INSERT INTO items (guid, user_id, title, issue_id) VALUES ($1, $2, $3, $4) RETURNING id`
    const PERMS = `INSERT INTO item_permissions (item_id, principal, level) VALUES ($1, $2, 100), ($1, $3, 20)`
    const HIST = `INSERT INTO item_history (item_id, user_id, user_name, property_name, property_type) VALUES ($1, $2, 'Bench', 'created', 'VOID')`
    const BACK = 'SELECT * FROM items WHERE id = $1'
    const txPg: Op = async (w) => {
      const c = await pgPool.connect()
      try {
        await c.query('BEGIN')
        const seq = (await c.query(SEQ, [owner(w)])).rows[0].issue_seq
        const id = (await c.query(ITEM, [crypto.randomUUID(), owner(w), 'created', String(seq)])).rows[0].id
        await c.query(PERMS, [id, String(owner(w)), other(w)])
        await c.query(HIST, [id, owner(w)])
        const row = (await c.query(BACK, [id])).rows[0]
        await c.query('COMMIT')
        return row
      } catch (e) {
        await c.query('ROLLBACK').catch(() => {})
        throw e
      } finally {
        c.release()
      }
    }
    const txPrisma: Op = (w) =>
      prisma.$transaction(async (tx: any) => {
        const u = await tx.user.update({ where: { id: BigInt(owner(w)) }, data: { issueSeq: { increment: 1 } }, select: { issueSeq: true } })
        const item = await tx.item.create({ data: { guid: crypto.randomUUID(), userId: BigInt(owner(w)), title: 'created', issueId: String(u.issueSeq) }, select: { id: true } })
        await tx.itemPermission.createMany({
          data: [
            { itemId: item.id, principal: String(owner(w)), level: 100 },
            { itemId: item.id, principal: other(w), level: 20 },
          ],
        })
        await tx.itemHistory.create({ data: { itemId: item.id, userId: BigInt(owner(w)), userName: 'Bench', propertyName: 'created', propertyType: 'VOID' } })
        return tx.item.findUnique({ where: { id: item.id } })
      })
    const txPrismaRaw: Op = (w) =>
      prisma.$transaction(async (tx: any) => {
        const seq = ((await tx.$queryRawUnsafe(SEQ, owner(w))) as { issue_seq: number }[])[0]!.issue_seq
        const id = ((await tx.$queryRawUnsafe(ITEM, crypto.randomUUID(), owner(w), 'created', String(seq))) as { id: bigint }[])[0]!.id
        await tx.$executeRawUnsafe(PERMS, id, String(owner(w)), other(w))
        await tx.$executeRawUnsafe(HIST, id, owner(w))
        return tx.$queryRawUnsafe(BACK, id)
      })

    const work: Array<[string, Array<[string, Op]>]> = [
      ['(a) one row by unique key', [['node-postgres', readPg], ['Prisma client', readPrisma], ['Prisma, raw SQL', readPrismaRaw]]],
      ['(b) upsert', [['node-postgres', upsertPg], ['Prisma client', upsertPrisma], ['Prisma, raw SQL', upsertPrismaRaw]]],
      ['(c) 5-statement create transaction', [['node-postgres', txPg], ['Prisma client', txPrisma], ['Prisma, raw SQL', txPrismaRaw]]],
    ]
    const runs: Run[] = []
    for (const [name, clients] of work)
      for (const c of CONCURRENCY)
        for (const [client, op] of clients) {
          const r = await measure(client, name, c, op)
          runs.push(r)
          process.stdout.write('.')
        }
    console.log('\n')
    console.log('work                                  concurrency  client              ops/s    p50 ms   p99 ms   vs node-postgres  errors')
    for (const r of runs) {
      const ref = runs.find((x) => x.work === r.work && x.concurrency === r.concurrency && x.client === 'node-postgres')!
      console.log(
        `${r.work.padEnd(38)} ${String(r.concurrency).padStart(10)}  ${r.client.padEnd(16)} ${r.perSecond.toFixed(0).padStart(8)} ${r.p50.toFixed(2).padStart(9)} ${r.p99.toFixed(2).padStart(8)}   ${(r.perSecond / ref.perSecond).toFixed(2).padStart(6)}x ${String(r.errors).padStart(12)}`,
      )
    }
    for (const r of runs.filter((x) => x.errors)) console.log(`errors of ${r.client}, ${r.work}, ${r.concurrency}: ${r.errors}, e.g. ${r.firstError}`)
    console.log(`\nload average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`)
  } finally {
    await prisma.$disconnect().catch(() => {})
    await prismaPool.end().catch(() => {})
    await pgPool.end().catch(() => {})
    await drop()
  }
}

runMain(import.meta.url, main)
