// The Prisma client (Rust-free, over @prisma/adapter-pg) and a pg pool for raw SQL on the
// hot paths. Both point at the same database.
import pg from 'pg'
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient } from '../generated/prisma/client.js'

export type Db = {
  prisma: PrismaClient
  pool: pg.Pool
  url: string
  close: () => Promise<void>
}

// int8 (bigint ids) and numeric come back as strings from pg; ids stay below 2^53 here,
// so numbers are what the API wants (contract §1: ids are JSON numbers).
pg.types.setTypeParser(20, (v) => Number(v))
// int8[] (items.participants) likewise
const parseInt8Array = pg.types.getTypeParser(1016 as any) as (v: string) => (string | null)[]
pg.types.setTypeParser(1016 as any, (v: string) => parseInt8Array(v).map((x) => (x === null ? null : Number(x))))

export function connectDb(url: string, opts: { max?: number } = {}): Db {
  const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10 })
  // an idle client losing its connection must not crash the process
  pool.on('error', () => {})
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) })
  return {
    prisma,
    pool,
    url,
    close: async () => {
      await prisma.$disconnect().catch(() => {})
      await pool.end().catch(() => {})
    },
  }
}
