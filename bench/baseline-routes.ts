// The baseline's two routes (bench/items.ts): every visible non-archived item of `principals`
// from one SQL query, the rows serialised as they come; and the delta from one query for the
// visible ids with a changed flag, then the changed rows (the real delta also reads per-user
// state and renders; this is its floor). Served by bench/baseline-server.ts as a process of its
// own, and in process by bench/items.ts's 10,000-item run.
import type { FastifyInstance } from 'fastify'
import { visibleSql } from '../src/items/repository.js'

type Queryable = { query: <R extends Record<string, any> = any>(sql: string, params?: unknown[]) => Promise<{ rows: R[] }> }

export function baselineRoutes(app: FastifyInstance, db: Queryable, principals: string[]) {
  app.get('/items', async () => {
    const r = await db.query(`SELECT i.*, v.level FROM ${visibleSql('$1')} v JOIN items i ON i.id = v.item_id WHERE v.level > 0 AND NOT i.archived ORDER BY i.id`, [principals])
    return r.rows
  })
  app.get('/delta/:cursor', async (req) => {
    const since = Number((req.params as { cursor: string }).cursor)
    const r = await db.query<{ id: number; changed: boolean }>(
      `SELECT i.id, i.changed_at > to_timestamp($2::float8 / 1000) AS changed FROM ${visibleSql('$1')} v JOIN items i ON i.id = v.item_id
        WHERE v.level > 0 AND NOT i.archived ORDER BY i.id`,
      [principals, since],
    )
    const changed = r.rows.filter((x) => x.changed).map((x) => x.id)
    const rows = changed.length ? (await db.query('SELECT * FROM items WHERE id = ANY($1::bigint[])', [changed])).rows : []
    const byId = new Map(rows.map((x) => [x.id, x]))
    return r.rows.map((x) => (x.changed ? { ...byId.get(x.id), changed: true } : { id: x.id, changed: false }))
  })
}
