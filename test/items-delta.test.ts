// Delta sync (contract §8.4): cursors, what counts as changed for a caller, and the
// no-lost-update guarantee under concurrent writers.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, errorOf, type TestApp } from './helpers/app.js'
import { itemsApi, type U } from './items-helpers.js'
import { buildApp } from '../src/app.js'
import { connectDb } from '../src/platform/db/pool.js'

let t: TestApp
let api: ReturnType<typeof itemsApi>
let a: U, b: U

beforeAll(async () => {
  t = await createTestApp({ smtp: false, env: { DELTA_MARGIN_MS: '5' } })
  api = itemsApi(t)
  ;[a, b] = await Promise.all([t.signup(), t.signup()])
})
afterAll(async () => t?.close())

async function delta(u: U, cursor: number | string) {
  const r = await t.call('GET', `/api/item/delta/${cursor}`, { session: u.session })
  expect(r.statusCode).toBe(200)
  return { body: r.json() as any[], cursor: Number(r.headers['x-cursor']) }
}
const changedIds = (body: any[]) => body.filter((x) => x.changed).map((x) => x.id).sort((x, y) => x - y)

describe('cursors', () => {
  it('GET /item, /item/since and /item/delta return X-Cursor; 0 means everything', async () => {
    const u = await t.signup()
    const x = await api.create(u, { title: 'one' })
    const all = await t.call('GET', '/api/item', { session: u.session })
    const c = Number(all.headers['x-cursor'])
    expect(c).toBeGreaterThan(Date.now() - 60_000)
    const d0 = await delta(u, 0)
    expect(d0.body).toHaveLength(1)
    expect(d0.body[0]).toMatchObject({ id: x.id, title: 'one', changed: true })
    expect(d0.cursor).toBeGreaterThan(0)
    const since = await t.call('GET', `/api/item/since/0`, { session: u.session })
    expect(since.json().map((i: any) => i.id)).toEqual([x.id])
    expect(Number(since.headers['x-cursor'])).toBeGreaterThan(0)
  })

  it('a cursor in the future or not a number → 400/5', async () => {
    for (const c of [String(Date.now() + 3_600_000), 'abc', '-5', '1.5']) {
      expect(errorOf(await t.call('GET', `/api/item/delta/${c}`, { session: a.session }))).toEqual({ status: 400, code: 5 })
    }
    expect(errorOf(await t.call('GET', `/api/item/since/xyz`, { session: a.session }))).toEqual({ status: 400, code: 5 })
  })
})

describe('changed for the caller', () => {
  it('unchanged items come as {id, changed:false}; a field change in full', async () => {
    const u = await t.signup()
    const x = await api.create(u, { title: 'x' })
    const y = await api.create(u, { title: 'y' })
    const first = await delta(u, 0)
    const quiet = await delta(u, first.cursor + 0)
    // nothing written since: at most a re-send inside the safety margin, and every id present
    expect(quiet.body.map((e) => e.id).sort()).toEqual([x.id, y.id].sort())
    await new Promise((r) => setTimeout(r, 20))
    const settled = await delta(u, quiet.cursor)
    expect(settled.body).toEqual([{ id: x.id, changed: false }, { id: y.id, changed: false }].sort((p, q) => p.id - q.id))
    await api.put(u, y.id, { title: 'y2' })
    const d = await delta(u, settled.cursor)
    expect(d.body.find((e) => e.id === x.id)).toEqual({ id: x.id, changed: false })
    expect(d.body.find((e) => e.id === y.id)).toMatchObject({ id: y.id, title: 'y2', changed: true, version: 2 })
  })

  it("the caller's own starred/alerts change counts for the caller only", async () => {
    const x = await api.create(a, { title: 's', permissions: [{ principal: b.id, level: 10 }] })
    await new Promise((r) => setTimeout(r, 20))
    const ca = (await delta(a, 0)).cursor
    const cb = (await delta(b, 0)).cursor
    await new Promise((r) => setTimeout(r, 20))
    await api.put(b, x.id, { starred: true })
    expect(changedIds((await delta(b, cb)).body)).toContain(x.id)
    expect(changedIds((await delta(a, ca)).body)).not.toContain(x.id)
  })

  it('a permission change that makes an item visible, or invisible', async () => {
    const u = await t.signup()
    const x = await api.create(a, { title: 'later shared' })
    await new Promise((r) => setTimeout(r, 20))
    const c0 = (await delta(u, 0)).cursor
    await api.put(a, x.id, { permissions: [{ principal: a.id, level: 100 }, { principal: u.id, level: 20 }] })
    const d1 = await delta(u, c0)
    expect(d1.body).toEqual([expect.objectContaining({ id: x.id, changed: true, permission: 20 })])
    await api.put(a, x.id, { permissions: [{ principal: a.id, level: 100 }] })
    const d2 = await delta(u, d1.cursor)
    expect(d2.body).toEqual([])
  })

  it('a group membership change marks every visible item changed', async () => {
    const u = await t.signup()
    const biz = await api.business(a.id)
    const g = await api.group(biz, [])
    const x = await api.create(a, { title: 'for the group', permissions: [{ principal: g, level: 10 }] })
    const own = await api.create(u, { title: 'own' })
    await new Promise((r) => setTimeout(r, 20))
    const c0 = (await delta(u, 0)).cursor
    await new Promise((r) => setTimeout(r, 20))
    await t.db.query('INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)', [g, u.id])
    const { touchVisibility } = await import('../src/items/repository.js')
    await touchVisibility(t.db, [u.id])
    const d = await delta(u, c0)
    expect(changedIds(d.body)).toEqual([x.id, own.id].sort((p, q) => p - q))
  })

  it('archived items are left out of GET /item and the delta', async () => {
    const u = await t.signup()
    const x = await api.create(u, { title: 'arch' })
    await t.db.query('UPDATE items SET archived = true WHERE id = $1', [x.id])
    expect(await api.list(u)).toEqual([])
    expect((await delta(u, 0)).body).toEqual([])
    expect(errorOf(await api.get(u, x.id))).toEqual({ status: 404, code: 1 })
  })

  it('/item/since returns only the items changed after the cursor', async () => {
    const u = await t.signup()
    await api.create(u, { title: 'old' })
    await new Promise((r) => setTimeout(r, 20))
    const c = (await delta(u, 0)).cursor
    await new Promise((r) => setTimeout(r, 20))
    const n = await api.create(u, { title: 'new' })
    const r = await t.call('GET', `/api/item/since/${c}`, { session: u.session })
    expect(r.json().map((i: any) => i.id)).toEqual([n.id])
  })
})

describe('no lost update', () => {
  it('a write whose transaction started before the read and committed after it shows in the next delta', async () => {
    const u = await t.signup()
    const x = await api.create(u, { title: 'before' })
    const slow = new pg.Client({ connectionString: t.db.url })
    await slow.connect()
    try {
      await slow.query('BEGIN')
      await slow.query(`UPDATE items SET title = 'slow write', version = version + 1 WHERE id = $1`, [x.id])
      await new Promise((r) => setTimeout(r, 50))
      const d1 = await delta(u, 0) // does not see the uncommitted write
      expect(d1.body[0].title).toBe('before')
      await new Promise((r) => setTimeout(r, 50))
      await slow.query('COMMIT')
      const d2 = await delta(u, d1.cursor)
      expect(d2.body).toEqual([expect.objectContaining({ id: x.id, title: 'slow write', changed: true })])
    } finally {
      await slow.end()
    }
  })

  it('concurrent writers on two server instances (and slow raw transactions) and a reader following the cursor chain across both end equal', async () => {
    // a second instance of the server on the same database
    const db2 = connectDb(t.db.url, { max: 5 })
    const second = await buildApp({ config: t.config, db: db2 })
    const instances = [t.app, second.app]
    const owner = await t.signup()
    const writers = await Promise.all([t.signup(), t.signup()])
    const perms = writers.map((w) => ({ principal: w.id, level: 100 }))
    const ids: number[] = []
    for (let i = 0; i < 12; i++) ids.push((await api.create(owner, { title: 'seed ' + i, permissions: perms })).id)

    const copy = new Map<number, any>()
    let cursor = 0
    let reads = 0
    const follow = async () => {
      // alternate instances: a cursor from one is valid on the other
      const r = await instances[reads++ % 2]!.inject({ method: 'GET', url: `/api/item/delta/${cursor}`, headers: { 'x-hi-session': owner.session } })
      expect(r.statusCode).toBe(200)
      const d = { body: r.json() as any[], cursor: Number(r.headers['x-cursor']) }
      const present = new Set<number>()
      for (const e of d.body) {
        present.add(e.id)
        if (e.changed) {
          const { changed: _c, ...item } = e
          copy.set(e.id, item)
        } else expect(copy.has(e.id)).toBe(true)
      }
      for (const id of [...copy.keys()]) if (!present.has(id)) copy.delete(id)
      cursor = d.cursor
    }

    let running = true
    const reader = (async () => {
      while (running) {
        await follow()
        await new Promise((r) => setTimeout(r, 3))
      }
    })()
    const rnd = (n: number) => Math.floor(Math.random() * n)
    const httpWriter = async (w: U, n: number, instance: number) => {
      const app = instances[instance]!
      const call = (method: string, url: string, body?: unknown) =>
        app.inject({ method: method as any, url, headers: { 'x-hi-session': w.session, 'content-type': 'application/json' }, payload: body === undefined ? undefined : JSON.stringify(body) })
      for (let i = 0; i < n; i++) {
        const id = ids[rnd(ids.length)]!
        const op = rnd(10)
        let r
        if (op < 7) r = await call('PUT', `/api/item/${id}`, { title: `w${w.id}-${i}`, priority: rnd(30000) })
        else if (op < 8) r = await call('PUT', `/api/item/${id}`, { starred: rnd(2) === 1 })
        else if (op < 9) {
          r = await call('POST', '/api/item', { title: `new ${i}`, parent: id })
          if (r.statusCode === 200) ids.push(r.json().id)
        } else r = await call('DELETE', `/api/item/${ids.splice(rnd(ids.length), 1)[0]!}`)
        // the other writer may have deleted the item (or the parent) meanwhile: 404 is right then
        expect([200, 404]).toContain(r.statusCode)
      }
    }
    // another "instance": raw transactions that stay open a while before committing
    const slowWriter = async (n: number) => {
      const c = new pg.Client({ connectionString: t.db.url })
      await c.connect()
      for (let i = 0; i < n; i++) {
        await c.query('BEGIN')
        await c.query(`UPDATE items SET title = $2, version = version + 1, time_last_update = now() WHERE id = $1`, [ids[rnd(ids.length)], `slow-${i}`])
        await new Promise((r) => setTimeout(r, 5 + rnd(40)))
        await c.query('COMMIT')
      }
      await c.end()
    }
    try {
      await Promise.all([httpWriter(writers[0]!, 40, 0), httpWriter(writers[1]!, 40, 1), slowWriter(25), slowWriter(25)])
    } finally {
      running = false
      await reader
    }
    await follow()
    await second.app.close()
    await second.deps.counters.close()
    second.deps.mailer.close()
    await db2.close()

    const server = await api.list(owner)
    expect(server.length).toBeGreaterThan(0)
    expect(copy.size).toBe(server.length)
    for (const item of server) expect(copy.get(item.id), `item ${item.id}`).toEqual(item)
  })
})
