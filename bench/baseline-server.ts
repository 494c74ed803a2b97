// The baseline of bench/items.ts (not part of the server): a bare Fastify + pg process that
// serves the item list and the delta of one user from one SQL query each, serialised with
// JSON.stringify as Fastify does by default: the floor the real routes are compared with.
// Run as a child process by the bench (so its RSS is sampled as the server's is):
//   DATABASE_URL=… PRINCIPALS='["12","<group id>"]' PORT=… tsx bench/baseline-server.ts
import Fastify from 'fastify'
import compress from '@fastify/compress'
import pg from 'pg'
import { visibleSql } from '../src/items/repository.js'

pg.types.setTypeParser(20, (v) => Number(v))
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10, application_name: 'hitask-bench-baseline' })
const principals = JSON.parse(process.env.PRINCIPALS ?? '[]') as string[]
const app = Fastify({ logger: false })
// the same compression as the server (a client that asks for it gets it)
await app.register(compress, { encodings: ['br', 'gzip'], threshold: 1024, customTypes: /^application\/json(;|$)/, globalDecompression: false })

// every visible non-archived item, the rows as they come
app.get('/items', async () => {
  const r = await pool.query(`SELECT i.*, v.level FROM ${visibleSql('$1')} v JOIN items i ON i.id = v.item_id WHERE v.level > 0 AND NOT i.archived ORDER BY i.id`, [principals])
  return r.rows
})

// the delta: the visible ids with a changed flag in one query, then the changed rows
app.get('/delta/:cursor', async (req) => {
  const since = Number((req.params as { cursor: string }).cursor)
  const r = await pool.query<{ id: number; changed: boolean }>(
    `SELECT i.id, i.changed_at > to_timestamp($2::float8 / 1000) AS changed FROM ${visibleSql('$1')} v JOIN items i ON i.id = v.item_id
      WHERE v.level > 0 AND NOT i.archived ORDER BY i.id`,
    [principals, since],
  )
  const changed = r.rows.filter((x) => x.changed).map((x) => x.id)
  const rows = changed.length ? (await pool.query('SELECT * FROM items WHERE id = ANY($1::bigint[])', [changed])).rows : []
  const byId = new Map(rows.map((x) => [x.id, x]))
  return r.rows.map((x) => (x.changed ? { ...byId.get(x.id), changed: true } : { id: x.id, changed: false }))
})

await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.stdout.write('listening\n')
