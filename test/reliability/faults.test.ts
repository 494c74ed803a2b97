// A crash in the middle of writes: the real server process is SIGKILLed during a burst of
// concurrent creates (with guids), updates, file uploads and deletes, then started again on
// the same database and data folder. Every write that was acknowledged (a 200 received) is
// there with its acknowledged content, and nothing is half-written: every item has its
// owner's permission row and an existing parent whose principals it carries, every file item
// its files row, every files row its blobs, the storage counters match the files; and no blob
// is left without a files row once the start-up sweep has run (the upload's queued intent,
// docs/reliability-runtime.md), nor any temporary upload file.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase } from '../helpers/app.js'
import { httpClient, killAll, startServer, tempDataDir, type ServerProcess } from '../helpers/server-process.js'
import { LOAD_ENV, pick, sleep } from './runtime-helpers.js'
import { report, scale } from './scale.js'

const WORKERS = scale(8, 16)
const BURST_MS = scale(2500, 10_000)
const ROUNDS = scale(1, 3)

let database: Awaited<ReturnType<typeof createTestDatabase>>
let db: pg.Pool

beforeAll(async () => {
  database = await createTestDatabase()
  db = new pg.Pool({ connectionString: database.url, max: 2 })
})
afterAll(async () => {
  await killAll()
  await db?.end()
  await database?.drop()
})

type Tracked = {
  /** the worker that made it (and alone writes to it) */
  worker: number
  id: number
  guid: string
  parent: Tracked | null
  children: Tracked[]
  title: string
  /** a title sent whose answer never came (the process died): it may or may not be stored */
  inflightTitle?: string
  priority: number
  sha?: string
  deleted: boolean
  deleteInflight: boolean
}

const sha = (b: Buffer | Uint8Array) => crypto.createHash('sha256').update(b).digest('hex')
const gone = (t: Tracked): boolean => t.deleted || (t.parent !== null && gone(t.parent))
const maybeGone = (t: Tracked): boolean => t.deleteInflight || (t.parent !== null && maybeGone(t.parent))

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
}

/** the storage keys every files row holds: its blob and its previews */
async function keysOfFilesRows(): Promise<Map<string, number>> {
  const r = await db.query<{ item_id: number; storage_key: string; previews: { storage_key: string }[] | null }>('SELECT item_id, storage_key, previews FROM files')
  const keys = new Map<string, number>()
  for (const f of r.rows) {
    keys.set(f.storage_key, f.item_id)
    for (const p of f.previews ?? []) keys.set(p.storage_key, f.item_id)
  }
  return keys
}

/** everything half-written that SQL can see; each list should be empty */
async function integrity() {
  const q = async (sql: string) => (await db.query<{ id: number }>(sql)).rows.map((x) => x.id)
  return {
    itemsWithoutOwnerRow: await q(`SELECT id FROM items i WHERE NOT EXISTS (SELECT 1 FROM item_permissions p WHERE p.item_id = i.id AND p.principal = i.user_id::text AND p.level = 100)`),
    itemsWithMissingParent: await q(`SELECT id FROM items i WHERE parent_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM items p WHERE p.id = i.parent_id)`),
    childrenMissingParentPrincipals: await q(
      `SELECT DISTINCT c.id FROM items c JOIN item_permissions pp ON pp.item_id = c.parent_id
         LEFT JOIN item_permissions cp ON cp.item_id = c.id AND cp.principal = pp.principal
        WHERE cp.level IS NULL OR cp.level < pp.level`,
    ),
    fileItemsWithoutFilesRow: await q(`SELECT id FROM items i WHERE category = 5 AND NOT EXISTS (SELECT 1 FROM files f WHERE f.item_id = i.id)`),
    usersWithWrongStorageUsed: await q(
      `SELECT id FROM users u WHERE storage_used <> COALESCE((SELECT sum(size) FROM files f WHERE f.owner_id = u.id AND f.business_id IS NULL), 0)`,
    ),
  }
}

describe('SIGKILL during concurrent writes', () => {
  it('acknowledged writes survive with their content; nothing half-written; no orphaned blob after the start-up sweep', async () => {
    const dataDir = tempDataDir('hitask-faults-')
    const blobDir = path.join(dataDir, 'files')
    const tmpDir = path.join(dataDir, 'tmp')
    const photo = await sharp({ create: { width: 48, height: 32, channels: 3, background: { r: 200, g: 30, b: 30 } } }).png().toBuffer()
    let server: ServerProcess = await startServer({ databaseUrl: database.url, dataDir, env: LOAD_ENV })
    const users = await Promise.all([0, 1].map((i) => httpClient(server.base).signup(`crash${i}x${Date.now().toString(36)}`)))
    const tracked: Tracked[] = []
    const acked: Record<string, number> = { create: 0, update: 0, upload: 0, delete: 0 }
    const figures: Record<string, number> = { kills: 0, inflightAtKill: 0, uploadIntentsLeft: 0, tempFilesLeft: 0, blobsWithoutFilesRow: 0 }

    for (let round = 0; round < ROUNDS; round++) {
      const c = httpClient(server.base)
      let killed = false
      let inflight = 0

      /** one request; undefined when the process died before answering */
      const send = async <T>(fn: () => Promise<T>): Promise<T | undefined> => {
        inflight++
        try {
          return await fn()
        } catch {
          return undefined
        } finally {
          inflight--
        }
      }

      async function worker(w: number) {
        const u = users[w % users.length]!
        const mine = () => tracked.filter((t) => t.worker === w)
        let n = 0
        while (!killed) {
          n++
          const own = mine().filter((t) => !gone(t) && !maybeGone(t))
          const roll = Math.random()
          if (roll < 0.35 || !own.length) {
            const parent = own.length && Math.random() < 0.3 ? pick(own) : null
            const guid = `r${round}w${w}-${n}-${crypto.randomBytes(3).toString('hex')}`
            const title = `c${n}`
            const r = await send(() => c.call('POST', '/api/item', { session: u.session, form: { guid, title, priority: n, parent_id: parent?.id } }))
            if (r?.status === 200) {
              const t: Tracked = { worker: w, id: r.body.id, guid, parent, children: [], title, priority: n, deleted: false, deleteInflight: false }
              parent?.children.push(t)
              tracked.push(t)
              acked.create!++
            } else if (r && r.status !== 200) throw new Error(`create: ${r.status} ${r.text}`)
          } else if (roll < 0.6) {
            const t = pick(own)
            const title = `u${n}-${crypto.randomBytes(2).toString('hex')}`
            t.inflightTitle = title
            const r = await send(() => c.call('PUT', `/api/item/${t.id}`, { session: u.session, form: { title } }))
            if (r?.status === 200) {
              t.title = title
              t.inflightTitle = undefined
              acked.update!++
            } else if (r) throw new Error(`update: ${r.status} ${r.text}`)
          } else if (roll < 0.85) {
            const parent = own.length && Math.random() < 0.4 ? pick(own) : null
            const guid = `r${round}w${w}-${n}-f${crypto.randomBytes(3).toString('hex')}`
            const isPhoto = Math.random() < 0.4
            const bytes = isPhoto ? photo : crypto.randomBytes(1000 + Math.floor(Math.random() * 60_000))
            const fd = new FormData()
            fd.append('guid', guid)
            if (parent) fd.append('parent_id', String(parent.id))
            fd.append('file', new Blob([new Uint8Array(bytes)], { type: isPhoto ? 'image/png' : 'application/octet-stream' }), isPhoto ? 'p.png' : 'b.bin')
            const r = await send(() => c.call('POST', '/api/file/upload', { session: u.session, body: fd }))
            if (r?.status === 200) {
              const t: Tracked = { worker: w, id: r.body.id, guid, parent, children: [], title: r.body.title, priority: r.body.priority, sha: sha(bytes), deleted: false, deleteInflight: false }
              parent?.children.push(t)
              tracked.push(t)
              acked.upload!++
            } else if (r) throw new Error(`upload: ${r.status} ${r.text}`)
          } else {
            const t = pick(own)
            t.deleteInflight = true
            const r = await send(() => c.call('DELETE', `/api/item/${t.id}`, { session: u.session }))
            if (r?.status === 200) {
              t.deleted = true
              acked.delete!++
            } else if (r) throw new Error(`delete: ${r.status} ${r.text}`)
            if (r) t.deleteInflight = false
          }
        }
      }

      const working = Array.from({ length: WORKERS }, (_, w) => worker(w))
      await sleep(BURST_MS)
      figures.inflightAtKill! += inflight
      killed = true
      await server.kill()
      figures.kills!++
      await Promise.all(working)

      // right after the crash: every blob on disk is a files row's, or queued for the sweep
      const rowKeys = await keysOfFilesRows()
      const queued = new Set((await db.query<{ key: string }>('SELECT key FROM deleted_blobs')).rows.map((x) => x.key))
      const unaccounted = filesUnder(blobDir).filter((k) => !rowKeys.has(k) && !queued.has(k) && !queued.has('upload:' + k))
      expect(unaccounted).toEqual([])
      figures.uploadIntentsLeft! += [...queued].filter((k) => k.startsWith('upload:')).length
      figures.tempFilesLeft! += filesUnder(tmpDir).length

      // the grace of an interrupted upload (an hour) has passed, as it will in production
      await db.query(`UPDATE deleted_blobs SET created_at = created_at - interval '2 hours'`)
      const old = new Date(Date.now() - 2 * 3600_000)
      for (const f of filesUnder(tmpDir)) fs.utimesSync(path.join(tmpDir, f), old, old)

      server = await startServer({ databaseUrl: database.url, dataDir, env: LOAD_ENV })
      // the start-up sweeps run beside the start; wait for them to empty the queue
      for (let i = 0; i < 100; i++) {
        const left = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM deleted_blobs')).rows[0]!.n
        if (left === 0 && filesUnder(tmpDir).length === 0) break
        await sleep(100)
      }
      expect((await db.query('SELECT key FROM deleted_blobs')).rows).toEqual([])
      expect(filesUnder(tmpDir)).toEqual([])
    }

    // acknowledged writes, through the restarted server
    const c = httpClient(server.base)
    const wrong: string[] = []
    let checked = 0
    for (const t of tracked) {
      const u = users[t.worker % users.length]!
      const r = await c.call('GET', `/api/item/${t.id}`, { session: u.session })
      if (gone(t)) {
        if (r.status !== 404) wrong.push(`item ${t.id} deleted (acknowledged) but answers ${r.status}`)
        continue
      }
      if (maybeGone(t) && r.status === 404) continue
      checked++
      if (r.status !== 200) {
        wrong.push(`item ${t.id} (${t.guid}) acknowledged but answers ${r.status} ${r.text}`)
        continue
      }
      if (r.body.guid !== t.guid) wrong.push(`item ${t.id}: guid ${r.body.guid}, acknowledged ${t.guid}`)
      if (r.body.title !== t.title && r.body.title !== t.inflightTitle) wrong.push(`item ${t.id}: title ${r.body.title}, acknowledged ${t.title}`)
      if (r.body.priority !== t.priority) wrong.push(`item ${t.id}: priority ${r.body.priority}, acknowledged ${t.priority}`)
      if (r.body.parent !== (t.parent?.id ?? 0)) wrong.push(`item ${t.id}: parent ${r.body.parent}, acknowledged ${t.parent?.id ?? 0}`)
      if (t.sha) {
        const f = await fetch(`${server.base}/api/file/${t.id}`, { headers: { 'x-hi-session': u.session } })
        const bytes = Buffer.from(await f.arrayBuffer())
        if (f.status !== 200 || sha(bytes) !== t.sha) wrong.push(`file ${t.id}: ${f.status}, ${bytes.length} bytes, not the uploaded ones`)
      }
    }

    // nothing half-written
    const broken = await integrity()
    const rowKeys = await keysOfFilesRows()
    const onDisk = new Set(filesUnder(blobDir))
    const blobsMissing = [...rowKeys.keys()].filter((k) => !onDisk.has(k))
    const orphans = [...onDisk].filter((k) => !rowKeys.has(k))
    figures.blobsWithoutFilesRow = orphans.length

    report('faults-sigkill', { workers: WORKERS, burstMs: BURST_MS, ...figures, acknowledged: acked, itemsChecked: checked, filesRows: (await db.query('SELECT 1 FROM files')).rowCount })
    if (wrong.length) console.log(wrong.slice(0, 30).join('\n'))

    expect(wrong).toEqual([])
    expect(broken).toEqual({ itemsWithoutOwnerRow: [], itemsWithMissingParent: [], childrenMissingParentPrincipals: [], fileItemsWithoutFilesRow: [], usersWithWrongStorageUsed: [] })
    expect(blobsMissing).toEqual([])
    expect(orphans).toEqual([])
    expect(acked.create! + acked.upload!).toBeGreaterThan(0)
    expect(checked).toBeGreaterThan(0)
  })
})
