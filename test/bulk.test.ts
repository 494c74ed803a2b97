// Bulk delete and archive (contract §8.2 /item/deletemultiple, /item/archivemultiple).
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, errorOf, type TestApp } from './helpers/app.js'
import { postMultipart } from './helpers/multipart.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ smtp: false })
})
afterAll(async () => {
  await t?.close()
})

async function create(session: string, body: Record<string, unknown>) {
  const r = await t.call('POST', '/api/item', { session, body })
  expect(r.statusCode).toBe(200)
  return r.json()
}

async function exists(id: number): Promise<{ archived: boolean } | null> {
  const r = await t.db.query('SELECT archived FROM items WHERE id = $1', [id])
  return r.rows[0] ?? null
}

describe('POST /item/deletemultiple', () => {
  it('deletes the items the caller may delete (100) with their subtrees and skips the others silently', async () => {
    const owner = await t.signup()
    const me = await t.signup()
    const mine1 = await create(me.session, { title: 'mine 1', category: 0 })
    const child = await create(me.session, { title: 'child', parent: mine1.id })
    const mine2 = await create(me.session, { title: 'mine 2' })
    const shared80 = await create(owner.session, { title: 'shared', permissions: [{ principal: me.id, level: 80 }] })
    const invisible = await create(owner.session, { title: 'not mine' })
    const r = await t.call('POST', '/api/item/deletemultiple', {
      session: me.session,
      form: { id: [mine1.id, mine2.id, shared80.id, invisible.id, 99999999].join(',') },
    })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toEqual({ response_status: 0 })
    expect(await exists(mine1.id)).toBeNull()
    expect(await exists(child.id)).toBeNull()
    expect(await exists(mine2.id)).toBeNull()
    expect(await exists(shared80.id)).not.toBeNull()
    expect(await exists(invisible.id)).not.toBeNull()
  })

  it('removes the files of deleted items from storage and from the quota', async () => {
    const u = await t.signup()
    const p = await create(u.session, { title: 'p', category: 0 })
    const up = await postMultipart(t, '/api/file/upload', { session: u.session, fields: { parent_id: p.id }, files: [{ field: 'file', name: 'a.bin', data: Buffer.alloc(5000, 7) }] })
    expect(up.statusCode).toBe(200)
    const key = (await t.db.query('SELECT storage_key FROM files WHERE item_id = $1', [up.json().id])).rows[0].storage_key
    expect(fs.existsSync(path.join(t.dataDir, 'files', key))).toBe(true)
    expect((await t.call('POST', '/api/item/deletemultiple', { session: u.session, body: { id: [p.id] } })).statusCode).toBe(200)
    expect(fs.existsSync(path.join(t.dataDir, 'files', key))).toBe(false)
    expect(Number((await t.db.query('SELECT storage_used FROM users WHERE id = $1', [u.id])).rows[0].storage_used)).toBe(0)
  })

  it('answers 400/5 for a malformed list (nothing deleted) and 400/4 without one', async () => {
    const u = await t.signup()
    const x = await create(u.session, { title: 'x' })
    for (const id of [`${x.id},abc`, `${x.id};2`, '1.5', ',', '-3', '[1,"a"]']) {
      expect(errorOf(await t.call('POST', '/api/item/deletemultiple', { session: u.session, form: { id } })), id).toEqual({ status: 400, code: 5 })
    }
    expect(await exists(x.id)).not.toBeNull()
    expect(errorOf(await t.call('POST', '/api/item/deletemultiple', { session: u.session, form: {} }))).toEqual({ status: 400, code: 4 })
    expect(errorOf(await t.call('POST', '/api/item/deletemultiple', { form: { id: x.id } }))).toEqual({ status: 401, code: 7 })
  })
})

describe('POST /item/archivemultiple', () => {
  it('archives the items the caller may archive (80) with their subtrees and skips the others', async () => {
    const owner = await t.signup()
    const me = await t.signup()
    const p = await create(me.session, { title: 'p', category: 0 })
    const child = await create(me.session, { title: 'child', parent: p.id })
    const shared80 = await create(owner.session, { title: 'shared 80', permissions: [{ principal: me.id, level: 80 }] })
    const shared60 = await create(owner.session, { title: 'shared 60', permissions: [{ principal: me.id, level: 60 }] })
    const r = await t.call('POST', '/api/item/archivemultiple', { session: me.session, form: { id: `${p.id}, ${shared80.id},${shared60.id}` } })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toEqual({ response_status: 0 })
    expect(await exists(p.id)).toEqual({ archived: true })
    expect(await exists(child.id)).toEqual({ archived: true })
    expect(await exists(shared80.id)).toEqual({ archived: true })
    expect(await exists(shared60.id)).toEqual({ archived: false })
    const active = (await t.call('GET', '/api/item', { session: me.session })).json().map((x: { id: number }) => x.id)
    expect(active).toEqual([shared60.id])
    const archive = (await t.call('GET', '/api/archive', { session: me.session })).json().map((x: { id: number }) => x.id)
    expect(archive.sort()).toEqual([p.id, child.id, shared80.id].sort())
    // each archived item (not the skipped one) has its `archived` history entry (§8.2)
    for (const [id, n] of [[p.id, 1], [shared80.id, 1], [shared60.id, 0]] as const) {
      const h = await t.call('GET', '/api/item/history', { session: me.session, query: { id } })
      expect(h.statusCode).toBe(200)
      expect(h.json().filter((e: { property_name: string }) => e.property_name === 'archived')).toHaveLength(n)
    }
    // archived together: one restore brings back the project and its child
    expect((await t.call('GET', '/api/archive/restore', { session: me.session, query: { id: p.id } })).statusCode).toBe(200)
    expect(await exists(child.id)).toEqual({ archived: false })
    // a malformed list
    expect(errorOf(await t.call('POST', '/api/item/archivemultiple', { session: me.session, form: { id: 'x' } }))).toEqual({ status: 400, code: 5 })
  })
})
