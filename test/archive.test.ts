// The archive (contract §8.2): archive with the subtree, list, restore, restore a copy, and
// the item limit per account level.
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

async function create(app: TestApp, session: string, body: Record<string, unknown>) {
  const r = await app.call('POST', '/api/item', { session, body })
  expect(r.statusCode).toBe(200)
  return r.json()
}

/** a project with a task and a sub-task */
async function tree(app: TestApp, session: string, extra: Record<string, unknown> = {}) {
  const project = await create(app, session, { title: 'Project', category: 0, ...extra })
  const task = await create(app, session, { title: 'Task', parent: project.id })
  const sub = await create(app, session, { title: 'Sub-task', parent: task.id })
  return { project, task, sub }
}

async function activeIds(app: TestApp, session: string): Promise<number[]> {
  const r = await app.call('GET', '/api/item', { session })
  expect(r.statusCode).toBe(200)
  return r.json().map((x: { id: number }) => x.id)
}

async function archivedIds(app: TestApp, session: string): Promise<number[]> {
  const r = await app.call('GET', '/api/archive', { session })
  expect(r.statusCode).toBe(200)
  return r.json().map((x: { id: number }) => x.id)
}

describe('POST /item/archive and GET /archive', () => {
  it('archives the item with its subtree: out of GET /item, into GET /archive as full items', async () => {
    const u = await t.signup()
    const { project, task, sub } = await tree(t, u.session)
    const r = await t.call('POST', '/api/item/archive', { session: u.session, form: { id: project.id } })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toEqual({ response_status: 0 })
    const active = await activeIds(t, u.session)
    for (const x of [project, task, sub]) expect(active).not.toContain(x.id)
    const archive = (await t.call('GET', '/api/archive', { session: u.session })).json()
    expect(archive.map((x: { id: number }) => x.id).sort()).toEqual([project.id, task.id, sub.id].sort())
    expect(archive.find((x: { id: number }) => x.id === task.id)).toMatchObject({ title: 'Task', parent: project.id, permission: 100 })
    expect(errorOf(await t.call('GET', `/api/item/${task.id}`, { session: u.session }))).toEqual({ status: 404, code: 1 })
    const h = (await t.call('GET', '/api/item/history', { session: u.session, query: { id: project.id } })).json()
    expect(h.at(-1)).toMatchObject({ property_name: 'archived', property_type: 'VOID', user_id: u.id })
  })

  it('answers 404/1 when already archived or invisible, 403/3 below level 80, 400/104 without id or guid; accepts a guid', async () => {
    const owner = await t.signup()
    const editor = await t.signup()
    const archiver = await t.signup()
    const stranger = await t.signup()
    const x = await create(t, owner.session, {
      title: 'Shared',
      permissions: [
        { principal: editor.id, level: 60 },
        { principal: archiver.id, level: 80 },
      ],
    })
    expect(errorOf(await t.call('POST', '/api/item/archive', { session: editor.session, form: { id: x.id } }))).toEqual({ status: 403, code: 3 })
    expect(errorOf(await t.call('POST', '/api/item/archive', { session: stranger.session, form: { id: x.id } }))).toEqual({ status: 404, code: 1 })
    expect(errorOf(await t.call('POST', '/api/item/archive', { session: owner.session, form: {} }))).toEqual({ status: 400, code: 104 })
    expect((await t.call('POST', '/api/item/archive', { session: archiver.session, form: { guid: x.guid } })).statusCode).toBe(200)
    expect(errorOf(await t.call('POST', '/api/item/archive', { session: owner.session, form: { id: x.id } }))).toEqual({ status: 404, code: 1 })
    // every user who can see it finds it in the archive; the stranger does not
    expect(await archivedIds(t, editor.session)).toContain(x.id)
    expect(await archivedIds(t, stranger.session)).not.toContain(x.id)
  })
})

describe('GET /archive/restore', () => {
  it('restores the item with what its archiving took, answers the item, and shows it as changed in the delta feed', async () => {
    const u = await t.signup()
    const { project, task, sub } = await tree(t, u.session)
    const lone = await create(t, u.session, { title: 'Archived on its own', parent: project.id })
    expect((await t.call('POST', '/api/item/archive', { session: u.session, form: { id: lone.id } })).statusCode).toBe(200)
    expect((await t.call('POST', '/api/item/archive', { session: u.session, form: { id: project.id } })).statusCode).toBe(200)
    await new Promise((r) => setTimeout(r, t.config.DELTA_MARGIN_MS + 50))
    const cursor = (await t.call('GET', '/api/item', { session: u.session })).headers['x-cursor'] as string
    const r = await t.call('GET', '/api/archive/restore', { session: u.session, query: { id: project.id } })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toMatchObject({ id: project.id, title: 'Project', category: 0 })
    const active = await activeIds(t, u.session)
    for (const x of [project, task, sub]) expect(active).toContain(x.id)
    // the item archived earlier, on its own, stays archived
    expect(active).not.toContain(lone.id)
    expect(await archivedIds(t, u.session)).toEqual([lone.id])
    const delta = (await t.call('GET', `/api/item/delta/${cursor}`, { session: u.session })).json()
    for (const x of [project, task, sub]) expect(delta.find((e: { id: number }) => e.id === x.id)).toMatchObject({ changed: true })
    const h = (await t.call('GET', '/api/item/history', { session: u.session, query: { id: project.id } })).json()
    expect(h.map((e: { property_name: string }) => e.property_name).slice(-2)).toEqual(['archived', 'restored'])
  })

  it('puts an item whose parent is still archived at the top level', async () => {
    const u = await t.signup()
    const { project, task } = await tree(t, u.session)
    await t.call('POST', '/api/item/archive', { session: u.session, form: { id: project.id } })
    const r = await t.call('GET', '/api/archive/restore', { session: u.session, query: { guid: task.guid } })
    expect(r.statusCode).toBe(200)
    expect(r.json().parent).toBeFalsy()
    expect(await activeIds(t, u.session)).toContain(task.id)
  })

  it('needs level 80 (403/3) and an archived item (404/1)', async () => {
    const owner = await t.signup()
    const editor = await t.signup()
    const x = await create(t, owner.session, { title: 'x', permissions: [{ principal: editor.id, level: 60 }] })
    expect(errorOf(await t.call('GET', '/api/archive/restore', { session: owner.session, query: { id: x.id } }))).toEqual({ status: 404, code: 1 })
    await t.call('POST', '/api/item/archive', { session: owner.session, form: { id: x.id } })
    expect(errorOf(await t.call('GET', '/api/archive/restore', { session: editor.session, query: { id: x.id } }))).toEqual({ status: 403, code: 3 })
    expect(errorOf(await t.call('GET', '/api/archive/restorecopy', { session: editor.session, query: { id: x.id } }))).toEqual({ status: 403, code: 3 })
    expect(errorOf(await t.call('GET', '/api/archive/restore', { session: owner.session, query: { id: 'no such guid' } }))).toEqual({ status: 400, code: 5 })
  })
})

describe('GET /archive/restorecopy', () => {
  it('restores a deep copy with new ids and guids, carrying fields, permissions, tags and files, not comments; the original stays archived', async () => {
    const u = await t.signup()
    const mate = await t.signup()
    const { project, task, sub } = await tree(t, u.session, { permissions: [{ principal: mate.id, level: 60 }] })
    await t.call('PUT', `/api/item/${task.id}`, { session: u.session, body: { tags: ['red'], message: 'details', priority: 30000 } })
    await t.call('POST', '/api/item/comment', { session: u.session, form: { id: task.id, message: 'a comment' } })
    const file = await postMultipart(t, '/api/file/upload', { session: u.session, fields: { parent_id: task.id }, files: [{ field: 'file', name: 'notes.txt', data: Buffer.from('file body'), type: 'text/plain' }] })
    expect(file.statusCode).toBe(200)
    const usedBefore = Number((await t.db.query('SELECT storage_used FROM users WHERE id = $1', [u.id])).rows[0].storage_used)
    await t.call('POST', '/api/item/archive', { session: u.session, form: { id: project.id } })

    const r = await t.call('GET', '/api/archive/restorecopy', { session: u.session, query: { id: project.id } })
    expect(r.statusCode).toBe(200)
    const copy = r.json()
    expect(copy.id).not.toBe(project.id)
    expect(copy.guid).not.toBe(project.guid)
    expect(copy).toMatchObject({ title: 'Project', category: 0 })
    // the original is still archived, the copy is active
    expect(await archivedIds(t, u.session)).toContain(project.id)
    const items = (await t.call('GET', '/api/item', { session: u.session })).json() as Array<Record<string, any>>
    const copiedTask = items.find((x) => x.title === 'Task' && x.parent === copy.id)!
    expect(copiedTask).toMatchObject({ message: 'details', priority: 30000, tags: ['red'], last_comment: null })
    expect(copiedTask.id).not.toBe(task.id)
    const copiedSub = items.find((x) => x.title === 'Sub-task' && x.parent === copiedTask.id)
    expect(copiedSub).toBeTruthy()
    expect(copiedSub!.id).not.toBe(sub.id)
    const copiedFile = items.find((x) => x.category === 5 && x.parent === copiedTask.id)!
    expect(copiedFile).toMatchObject({ title: 'notes.txt', file_size: 9 })
    const bytes = await t.call('GET', `/api/file/${copiedFile.id}`, { session: u.session })
    expect(bytes.body).toBe('file body')
    // the copy's file is a blob of its own, charged to the quota
    expect(Number((await t.db.query('SELECT storage_used FROM users WHERE id = $1', [u.id])).rows[0].storage_used)).toBe(usedBefore * 2)
    const keys = (await t.db.query('SELECT storage_key FROM files WHERE owner_id = $1', [u.id])).rows.map((x) => x.storage_key)
    expect(new Set(keys).size).toBe(2)
    for (const k of keys) expect(fs.existsSync(path.join(t.dataDir, 'files', k))).toBe(true)
    // comments stay with the original
    const h = (await t.call('GET', '/api/item/history', { session: u.session, query: { id: copiedTask.id } })).json()
    expect(h.some((e: { property_name: string }) => e.property_name === 'comment')).toBe(false)
    // permissions came along: the team mate sees the copies at their level
    const mateView = await t.call('GET', `/api/item/${copiedSub!.id}`, { session: mate.session })
    expect(mateView.statusCode).toBe(200)
    expect(mateView.json().permission).toBe(60)
  })
})

describe('item limit (ITEM_LIMITS)', () => {
  it('refuses restore and restorecopy with 507/20 when the owner would pass the limit of their account level', async () => {
    const app = await createTestApp({ smtp: false, env: { ITEM_LIMITS: '0:4,100:100' } })
    try {
      const u = await app.signup()
      const { project } = await tree(app, u.session)
      await app.call('POST', '/api/item/archive', { session: u.session, form: { id: project.id } })
      // 3 archived, 2 active: restoring 3 would make 5 > 4
      await create(app, u.session, { title: 'a' })
      const b = await create(app, u.session, { title: 'b' })
      expect(errorOf(await app.call('GET', '/api/archive/restore', { session: u.session, query: { id: project.id } }))).toEqual({ status: 507, code: 20 })
      expect(errorOf(await app.call('GET', '/api/archive/restorecopy', { session: u.session, query: { id: project.id } }))).toEqual({ status: 507, code: 20 })
      expect(await archivedIds(app, u.session)).toHaveLength(3)
      // one item fewer: it fits
      await app.call('DELETE', `/api/item/${b.id}`, { session: u.session })
      expect((await app.call('GET', '/api/archive/restore', { session: u.session, query: { id: project.id } })).statusCode).toBe(200)
      // a premium account has the higher limit
      await app.call('POST', '/api/item/archive', { session: u.session, form: { id: project.id } })
      await create(app, u.session, { title: 'c' })
      await app.db.query('UPDATE users SET account_level = 100 WHERE id = $1', [u.id])
      expect((await app.call('GET', '/api/archive/restorecopy', { session: u.session, query: { id: project.id } })).statusCode).toBe(200)
    } finally {
      await app.close()
    }
  })
})
