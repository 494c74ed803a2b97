// Shared helpers of the items tests: create/update through the API, groups straight in SQL.
import crypto from 'node:crypto'
import { expect } from 'vitest'
import type { TestApp } from './helpers/app.js'

export type U = { id: number; session: string }

export function itemsApi(t: TestApp) {
  const api = {
    async create(u: U, body: Record<string, unknown>) {
      const r = await t.call('POST', '/api/item', { session: u.session, body })
      if (r.statusCode !== 200) throw new Error(`create failed: ${r.statusCode} ${r.body}`)
      return r.json()
    },
    put: (u: U, id: number | string, body: Record<string, unknown>) => t.call('PUT', `/api/item/${id}`, { session: u.session, body }),
    get: (u: U, id: number | string) => t.call('GET', `/api/item/${id}`, { session: u.session }),
    async list(u: U) {
      const r = await t.call('GET', '/api/item', { session: u.session })
      expect(r.statusCode).toBe(200)
      return r.json() as any[]
    },
    /** the stored row, bypassing the API (to check nothing changed) */
    async row(id: number) {
      const r = await t.db.query('SELECT * FROM items WHERE id = $1', [id])
      const p = await t.db.query('SELECT principal, level FROM item_permissions WHERE item_id = $1 ORDER BY principal', [id])
      return r.rows[0] ? { ...r.rows[0], perms: Object.fromEntries(p.rows.map((x) => [x.principal, x.level])) } : null
    },
    async business(ownerId: number) {
      const r = await t.db.query(`INSERT INTO businesses (title, domain_name, owner_id) VALUES ('B', $1, $2) RETURNING id`, ['d' + crypto.randomBytes(5).toString('hex'), ownerId])
      return r.rows[0].id as number
    },
    async group(businessId: number, members: number[]) {
      const id = crypto.randomUUID()
      await t.db.query(`INSERT INTO groups (id, business_id, name) VALUES ($1, $2, 'g')`, [id, businessId])
      for (const m of members) await t.db.query('INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)', [id, m])
      return id
    },
  }
  return api
}

export const permsOf = (item: { permissions: { principal: string; level: number }[] }) =>
  Object.fromEntries(item.permissions.map((p) => [p.principal, p.level]))
