// Large accounts (issue 15, docs/performance.md): GET /item, /item/since, the delta and
// GET /archive are written batch by batch as the rows are read. A 5,000-item account, seeded in
// SQL (projects with inherited sharing through a user and a group, sub-items, tags, the
// caller's reminders, stars and unread marks, participants and assignees, files with previews,
// recurring items, archived trees, items the caller cannot see), must get exactly the answer
// the whole-list builder (the renderer applied to all the rows at once, as before streaming)
// produces: item by item and byte for byte. Then: a client that disconnects mid-stream frees
// its database connection at once (a real server process, a real socket, pg_stat_activity),
// and gzip and br answers decode to the same JSON while small answers are not compressed.
import http from 'node:http'
import zlib from 'node:zlib'
import crypto from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from './helpers/app.js'
import { postMultipart } from './helpers/multipart.js'
import { killAll, startServer, type ServerProcess } from './helpers/server-process.js'
import type { SessionUser } from '../src/users/sessions.js'
import { callerPrincipals } from '../src/items/access.js'
import { renderItems, type ItemView } from '../src/items/render.js'
import { deltaIds, visibleArchivedItems, visibleItems, visibleItemsAmong, visibleItemsChangedSince } from '../src/items/repository.js'
import { BATCH_SIZE } from '../src/items/delta.js'

let t: TestApp
let owner: { id: number; session: string }
let viewer: { id: number; session: string }
let user: SessionUser

async function seed(db: TestApp['db'], O: number, V: number) {
  const biz = (await db.query(`INSERT INTO businesses (title, domain_name, owner_id) VALUES ('Big', 'big', $1) RETURNING id`, [O])).rows[0].id
  const group = crypto.randomUUID()
  await db.query(`INSERT INTO groups (id, business_id, name) VALUES ($1, $2, 'big')`, [group, biz])
  await db.query('INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)', [group, V])
  // 60 projects of the owner: even ones shared with the viewer (50), odd ones with the group (60)
  await db.query(
    `WITH p AS (
       INSERT INTO items (guid, user_id, business_id, title, category, short_name, short_name_key, issue_id, color, participants)
       SELECT 'proj-' || n, $1, $2::bigint, 'Project ' || n, 0, 'P' || n, 'b:' || $2::bigint || ':P' || n, n::text, n % 8,
              CASE WHEN n % 3 = 0 THEN ARRAY[$3::bigint] ELSE '{}' END
         FROM generate_series(1, 60) n RETURNING id, title)
     INSERT INTO item_permissions (item_id, principal, level)
     SELECT id, $1::text, 100 FROM p
     UNION ALL SELECT id, CASE WHEN substr(title, 9)::int % 2 = 0 THEN $3::text ELSE $4 END, CASE WHEN substr(title, 9)::int % 2 = 0 THEN 50 ELSE 60 END FROM p`,
    [O, biz, V, group],
  )
  // 49 sub-items each, with the project's list; dates, completion, assignees and participants on some
  await db.query(
    `WITH c AS (
       INSERT INTO items (guid, user_id, business_id, title, message, category, parent_id, issue_id, start_date, due_date,
                          priority, completed, assignee_id, participants, time_spent, is_all_day)
       SELECT 'sub-' || p.id || '-' || n, $1, $2::bigint, 'Task ' || p.id || '-' || n, CASE WHEN n % 4 = 0 THEN 'Details "quoted" ü ' || n END,
              CASE WHEN n % 10 = 0 THEN 2 ELSE 1 END, p.id, p.short_name || '-' || n,
              CASE WHEN n % 2 = 0 THEN timestamptz '2026-03-01 09:00+00' + (n || ' hours')::interval END,
              CASE WHEN n % 3 = 0 THEN timestamptz '2026-04-01 00:00+00' + (n || ' days')::interval END,
              20000 + n, n % 5 = 0, CASE WHEN n % 6 = 0 THEN $3::bigint END,
              CASE WHEN n % 8 = 0 THEN ARRAY[$3::bigint, $1::bigint] ELSE '{}' END, (n % 4) * 0.5, n % 9 = 0
         FROM items p, generate_series(1, 49) n WHERE p.category = 0 AND p.user_id = $1 RETURNING id, parent_id)
     INSERT INTO item_permissions (item_id, principal, level)
     SELECT c.id, pp.principal, pp.level FROM c JOIN item_permissions pp ON pp.item_id = c.parent_id`,
    [O, biz, V],
  )
  // a sub-item under some tasks (so those tasks have `children`), and one private to the owner
  await db.query(
    `WITH c AS (
       INSERT INTO items (guid, user_id, business_id, title, category, parent_id, issue_id)
       SELECT 'subsub-' || p.id, $1, $2::bigint, 'Step of ' || p.title, 1, p.id, p.issue_id || '.1'
         FROM items p WHERE p.title LIKE 'Task %-7' RETURNING id, parent_id, guid)
     INSERT INTO item_permissions (item_id, principal, level)
     SELECT c.id, pp.principal, pp.level FROM c JOIN item_permissions pp ON pp.item_id = c.parent_id
      WHERE c.guid NOT LIKE '%0' OR pp.principal = $1::text`,
    [O, biz],
  )
  // 2,200 tasks of the viewer's own; every fifth shared with the owner; some recurring, some with a location
  await db.query(
    `WITH t AS (
       INSERT INTO items (guid, user_id, title, category, issue_id, priority, recurring, recurring_interval, instances, location, contact, last_comment, last_comment_user_id, last_comment_at)
       SELECT 'own-' || n, $1, 'Own task ' || n, CASE WHEN n % 50 = 0 THEN 5 WHEN n % 97 = 0 THEN 4 ELSE 1 END, n::text, 10000 + n * 7,
              CASE WHEN n % 40 = 0 THEN 1 ELSE 0 END, 1,
              CASE WHEN n % 40 = 0 THEN '[{"status":1,"start_date":"2026-02-03","start_date_time":"2026-02-03T10:00:00.000Z"}]'::jsonb END,
              CASE WHEN n % 30 = 0 THEN jsonb_build_object('name', 'Room ' || n, 'lat', 52.5) END,
              NULL, CASE WHEN n % 6 = 0 THEN 'last word ' || n END, CASE WHEN n % 6 = 0 THEN $1::bigint END,
              CASE WHEN n % 6 = 0 THEN timestamptz '2026-05-05 05:05:05.123+00' END
         FROM generate_series(1, 2200) n RETURNING id, issue_id)
     INSERT INTO item_permissions (item_id, principal, level)
     SELECT id, $1::text, 100 FROM t UNION ALL SELECT id, $2::text, 50 FROM t WHERE issue_id::int % 5 = 0`,
    [V, O],
  )
  // 300 items the viewer cannot see
  await db.query(
    `WITH t AS (INSERT INTO items (guid, user_id, title, issue_id) SELECT 'hidden-' || n, $1, 'hidden ' || n, n::text FROM generate_series(1, 300) n RETURNING id)
     INSERT INTO item_permissions (item_id, principal, level) SELECT id, $1::text, 100 FROM t`,
    [O],
  )
  // tags, the viewer's reminders (and the owner's, which the viewer must not get), stars, unread marks
  await db.query(`INSERT INTO tags (space, name, name_key) VALUES ('b:' || $1::bigint, 'Work', 'work'), ('b:' || $1::bigint, 'home', 'home')`, [biz])
  await db.query(`INSERT INTO item_tags (item_id, tag_id) SELECT i.id, t.id FROM items i, tags t WHERE i.id % 7 = 0 AND (t.name = 'Work' OR i.id % 2 = 0)`)
  await db.query(`INSERT INTO item_alerts (item_id, user_id, time_type, time) SELECT id, $1, 4, 15 FROM items WHERE id % 13 = 0`, [V])
  await db.query(`INSERT INTO item_alerts (item_id, user_id, time_type, time) SELECT id, $1, 3, 2 FROM items WHERE id % 13 = 0 AND id % 2 = 0`, [V])
  await db.query(`INSERT INTO item_alerts (item_id, user_id, time_type, time) SELECT id, $1, 2, 1 FROM items WHERE id % 11 = 0`, [O])
  await db.query(`INSERT INTO item_user_state (item_id, user_id, starred, unread) SELECT id, $1, id % 11 = 0, CASE WHEN id % 17 = 0 THEN 2 ELSE 0 END FROM items WHERE id % 11 = 0 OR id % 17 = 0`, [V])
  // file items: every one has a files row, every other one previews
  await db.query(
    `INSERT INTO files (item_id, storage_key, content_type, size, name, owner_id, previews)
     SELECT id, 'key-' || id, CASE WHEN id % 2 = 0 THEN 'image/png' ELSE 'application/pdf' END, 1000 + id, 'f' || id, $1,
            CASE WHEN id % 2 = 0 THEN '[{"size":30,"type":"SQUARE","storage_key":"p30","content_type":"image/jpeg"},{"size":60,"type":"PROPORTIONAL","storage_key":"p60","content_type":"image/jpeg"}]'::jsonb END
       FROM items WHERE category = 5`,
    [V],
  )
  // two projects archived with their subtrees (a 200-ish item archive)
  await db.query(
    `WITH RECURSIVE sub(id) AS (SELECT id FROM items WHERE guid IN ('proj-1', 'proj-2') UNION SELECT i.id FROM items i JOIN sub ON i.parent_id = sub.id)
     UPDATE items SET archived = true, archived_at = now() - ((id % 3) || ' minutes')::interval WHERE id IN (SELECT id FROM sub)`,
  )
  await db.query('ANALYZE')
}

/** the old builder: the renderer applied to every row at once */
const oldList = async () => renderItems(t.deps, user, await visibleItems(t.deps.db, await callerPrincipals(t.deps.db, user)))

/** the first difference between two lists (null when equal), for a readable failure */
function firstDifference(a: unknown[], b: unknown[]): string | null {
  if (a.length !== b.length) return `lengths ${a.length} and ${b.length}`
  for (let n = 0; n < a.length; n++) {
    if (JSON.stringify(a[n]) !== JSON.stringify(b[n])) return `entry ${n}: ${JSON.stringify(a[n])}\n  != ${JSON.stringify(b[n])}`
  }
  return null
}

beforeAll(async () => {
  t = await createTestApp({ smtp: false })
  owner = await t.signup()
  viewer = await t.signup()
  await seed(t.db, owner.id, viewer.id)
  user = { id: viewer.id, timeZone: 'UTC', businessId: null, businessLevel: null, sessionHash: '', apiKeyHash: '' }
}, 120_000)

afterAll(async () => {
  await killAll()
  await t?.close()
})

describe('a 5,000-item account', () => {
  it('GET /item equals, item by item and byte for byte, the list built from all rows at once', async () => {
    const r = await t.call('GET', '/api/item', { session: viewer.session })
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(Number(r.headers['x-cursor'])).toBeGreaterThan(0)
    const streamed = r.json() as ItemView[]
    const old = await oldList()
    // the account is as large as meant, over several batches, with the extras on a portion
    expect(old.length).toBeGreaterThanOrEqual(5000)
    expect(old.length).toBeGreaterThan(3 * BATCH_SIZE)
    expect(old.filter((x) => x.tags).length).toBeGreaterThan(300)
    expect(old.filter((x) => x.alerts).length).toBeGreaterThan(300)
    expect(old.filter((x) => x.participants).length).toBeGreaterThan(100)
    expect(old.filter((x) => x.children).length).toBeGreaterThan(100)
    expect(old.filter((x) => x.previews).length).toBeGreaterThan(5)
    expect(old.filter((x) => x.starred).length).toBeGreaterThan(100)
    expect(old.filter((x) => x.unread).length).toBeGreaterThan(100)
    expect(old.filter((x) => x.instances).length).toBeGreaterThan(10)
    expect(new Set(old.map((x) => x.permission))).toEqual(new Set([50, 60, 100]))
    expect(firstDifference(streamed, old)).toBeNull()
    expect(r.body === JSON.stringify(old)).toBe(true)
    // the invisible and the archived are not there
    expect(streamed.some((x) => x.title.startsWith('hidden'))).toBe(false)
    expect(streamed.some((x) => x.guid === 'proj-1')).toBe(false)
  })

  it('GET /item/since equals the old builder', async () => {
    const r0 = await t.call('GET', '/api/item', { session: viewer.session })
    const cursor = Number(r0.headers['x-cursor'])
    // changes after the cursor: a title, a star of the viewer's, a permission change
    await t.db.query(`UPDATE items SET title = title || ' (edited)' WHERE guid LIKE 'own-1%'`)
    await t.db.query(`UPDATE item_user_state SET starred = NOT starred WHERE user_id = $1 AND item_id % 3 = 0`, [viewer.id])
    const r = await t.call('GET', `/api/item/since/${cursor}`, { session: viewer.session })
    expect(r.statusCode).toBe(200)
    const streamed = r.json() as ItemView[]
    const old = await renderItems(t.deps, user, await visibleItemsChangedSince(t.deps.db, await callerPrincipals(t.deps.db, user), cursor, viewer.id))
    expect(old.length).toBeGreaterThan(BATCH_SIZE)
    expect(firstDifference(streamed, old)).toBeNull()
    expect(r.body === JSON.stringify(old)).toBe(true)
  })

  it('the delta equals the old builder: stubs for the unchanged, the changed in full, in id order', async () => {
    const r0 = await t.call('GET', '/api/item', { session: viewer.session })
    const cursor = Number(r0.headers['x-cursor'])
    // 25 changed items spread over the batches, through the API
    const ids = (r0.json() as ItemView[]).filter((x) => x.permission >= 60).map((x) => x.id)
    const picked = ids.filter((_, n) => n % Math.floor(ids.length / 25) === 0).slice(0, 25)
    for (const id of picked) expect((await t.call('PUT', `/api/item/${id}`, { session: viewer.session, body: { title: 'changed ' + id } })).statusCode).toBe(200)
    const r = await t.call('GET', `/api/item/delta/${cursor}`, { session: viewer.session })
    expect(r.statusCode).toBe(200)
    const streamed = r.json() as { id: number; changed: boolean }[]
    // the old builder: ids and flags, the changed rows rendered, merged in id order
    const principals = await callerPrincipals(t.deps.db, user)
    const { ids: all, changed } = await deltaIds(t.deps.db, principals, cursor, viewer.id)
    const full = new Map((await renderItems(t.deps, user, await visibleItemsAmong(t.deps.db, principals, changed))).map((x) => [x.id, x]))
    const set = new Set(changed)
    const old = all.flatMap((id) => (!set.has(id) ? [{ id, changed: false }] : full.has(id) ? [{ ...full.get(id)!, changed: true }] : []))
    expect(changed.length).toBeGreaterThanOrEqual(25)
    expect(streamed.length).toBeGreaterThanOrEqual(5000)
    for (const id of picked) expect(streamed.find((x) => x.id === id)).toMatchObject({ changed: true, title: 'changed ' + id })
    expect(firstDifference(streamed, old)).toBeNull()
    expect(r.body === JSON.stringify(old)).toBe(true)
    // the delta lists what GET /item lists, in the same order
    expect(streamed.map((x) => x.id)).toEqual(((await t.call('GET', '/api/item', { session: viewer.session })).json() as ItemView[]).map((x) => x.id))
  })

  it('GET /archive equals the old builder, most recently archived first', async () => {
    const r = await t.call('GET', '/api/archive', { session: viewer.session })
    expect(r.statusCode).toBe(200)
    const streamed = r.json() as ItemView[]
    const old = await renderItems(t.deps, user, await visibleArchivedItems(t.deps.db, await callerPrincipals(t.deps.db, user)))
    expect(old.length).toBeGreaterThan(100)
    expect(firstDifference(streamed, old)).toBeNull()
    expect(r.body === JSON.stringify(old)).toBe(true)
  })
})

describe('compression', () => {
  it('gzip and br answers decode to the same JSON as the plain one; the plain one is not encoded', async () => {
    const plain = await t.call('GET', '/api/item', { session: viewer.session })
    expect(plain.headers['content-encoding']).toBeUndefined()
    for (const enc of ['gzip', 'br'] as const) {
      const r = await t.call('GET', '/api/item', { session: viewer.session, headers: { 'accept-encoding': enc } })
      expect(r.statusCode).toBe(200)
      expect(r.headers['content-encoding']).toBe(enc)
      expect(r.headers.vary).toMatch(/accept-encoding/i)
      const bytes = enc === 'gzip' ? zlib.gunzipSync(r.rawPayload) : zlib.brotliDecompressSync(r.rawPayload)
      expect(r.rawPayload.length).toBeLessThan(bytes.length / 4)
      expect(bytes.toString('utf8') === plain.body).toBe(true)
    }
    // both accepted: one of them, decoded the same
    const both = await t.call('GET', '/api/archive', { session: viewer.session, headers: { 'accept-encoding': 'gzip, deflate, br' } })
    expect(['gzip', 'br']).toContain(both.headers['content-encoding'])
  })

  it('small answers are not compressed', async () => {
    const lonely = await t.signup()
    const empty = await t.call('GET', '/api/item', { session: lonely.session, headers: { 'accept-encoding': 'gzip, br' } })
    expect(empty.headers['content-encoding']).toBeUndefined()
    expect(empty.body).toBe('[]')
    const ok = await t.call('GET', '/api/item/read/' + (await t.call('POST', '/api/item', { session: lonely.session, body: { title: 'x' } })).json().id, {
      session: lonely.session,
      headers: { 'accept-encoding': 'gzip, br' },
    })
    expect(ok.statusCode).toBe(200)
    expect(ok.headers['content-encoding']).toBeUndefined()
    expect(ok.json()).toEqual({ response_status: 0 })
  })
  it('file downloads are sent as stored, even JSON ones, whatever the client accepts', async () => {
    const json = Buffer.from(JSON.stringify(Array.from({ length: 400 }, (_, n) => ({ n, text: 'the same words again and again' }))))
    const up = await postMultipart(t, '/api/file/upload', { session: viewer.session, files: [{ field: 'file', name: 'data.json', data: json, type: 'application/json' }] })
    expect(up.statusCode).toBe(200)
    const r = await t.call('GET', `/api/file/${up.json().id}`, { session: viewer.session, headers: { 'accept-encoding': 'gzip, br' } })
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toMatch(/^application\/json/)
    expect(r.headers['content-encoding']).toBeUndefined()
    expect(r.rawPayload.equals(json)).toBe(true)
  })
})

describe('on a real server process', () => {
  let server: ServerProcess
  beforeAll(async () => {
    // unchecked: the response check reads a streamed answer whole (the in-process app above checks it)
    server = await startServer({ databaseUrl: t.db.url, checked: false, env: {
        DB_POOL_MAX: '4',
        WORKERS_ENABLED: 'false',
        LOG_LEVEL: 'warn',
        // the same preview URLs as the in-process app's
        PUBLIC_URL: t.config.PUBLIC_URL,
        URL_SIGNING_SECRET: t.deps.urlSecret,
      },
    })
  }, 120_000)

  /** the server's own database sessions that are doing something (a statement or an open transaction) */
  async function busyBackends(admin: pg.Client): Promise<{ state: string; query: string }[]> {
    const r = await admin.query(
      `SELECT state, query FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'hitask-server' AND pid <> pg_backend_pid()
          AND backend_type = 'client backend' AND state IS DISTINCT FROM 'idle'`,
    )
    return r.rows
  }

  /** GET /api/item on a raw socket: resolves with the response once the first body chunk came, the socket then destroyed */
  function firstChunkThenHangUp(path: string, headers: Record<string, string> = {}): Promise<{ headers: http.IncomingHttpHeaders; chunk: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = http.get(`${server.base}${path}`, { headers: { 'x-hi-session': viewer.session, ...headers } }, (res) => {
        res.once('data', (chunk: Buffer) => {
          req.destroy()
          res.destroy()
          resolve({ headers: res.headers, chunk })
        })
        res.once('error', () => {})
      })
      req.on('error', (e) => {
        if (!req.destroyed) reject(e)
      })
    })
  }

  it('a large list is streamed (chunked, no Content-Length) and equals the in-process answer', async () => {
    const r = await fetch(`${server.base}/api/item`, { headers: { 'x-hi-session': viewer.session } })
    expect(r.status).toBe(200)
    expect(r.headers.get('content-length')).toBeNull()
    expect(r.headers.get('transfer-encoding')).toBe('chunked')
    const body = await r.text()
    const old = await oldList()
    expect(firstDifference(JSON.parse(body), old)).toBeNull()
    expect(body === JSON.stringify(old)).toBe(true)
    // compressed while streamed: decodes to the same bytes
    for (const enc of ['gzip', 'br']) {
      const z = await new Promise<{ enc: string | undefined; bytes: Buffer }>((resolve, reject) => {
        http.get(`${server.base}/api/item`, { headers: { 'x-hi-session': viewer.session, 'accept-encoding': enc } }, (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => resolve({ enc: res.headers['content-encoding'], bytes: Buffer.concat(chunks) }))
          res.on('error', reject)
        })
      })
      expect(z.enc).toBe(enc)
      const decoded = enc === 'gzip' ? zlib.gunzipSync(z.bytes) : zlib.brotliDecompressSync(z.bytes)
      expect(decoded.toString('utf8') === body).toBe(true)
    }
  })

  it('a read ahead that fails while the batch before it is being written ends that answer, not the process', async () => {
    // an account of 20,000 items (an answer far larger than the socket buffers), a server whose
    // statements give up after 3 s, and a lock on items that makes the next batch's read fail
    const heavy = await t.signup()
    await t.db.query(
      `WITH n AS (INSERT INTO items (guid, user_id, title, message, category, issue_id)
         SELECT gen_random_uuid()::text, $1, 'Heavy ' || n, repeat('text ', 400), 1, n::text FROM generate_series(1, 20000) n RETURNING id)
       INSERT INTO item_permissions (item_id, principal, level) SELECT id, $2, 100 FROM n`,
      [heavy.id, String(heavy.id)],
    )
    await t.db.query('ANALYZE items, item_permissions')
    // long enough that no read before the lock gives up on a loaded machine; the lock is held longer
    const timeoutMs = 3000
    const s2 = await startServer({ databaseUrl: t.db.url, checked: false, env: { DB_POOL_MAX: '4', WORKERS_ENABLED: 'false', LOG_LEVEL: 'warn', DB_STATEMENT_TIMEOUT_MS: String(timeoutMs) } })
    const locker = new pg.Client({ connectionString: t.db.url })
    await locker.connect()
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
    try {
      const read = await new Promise<{ status: number; bytes: number; complete: boolean }>((resolve) => {
        let bytes = 0
        let lockedAt = -1
        let stage = 0
        const req = http.get(`${s2.base}/api/item`, { headers: { 'x-hi-session': heavy.session } }, (res) => {
          res.on('data', (c: Buffer) => {
            bytes += c.length
            if (stage === 0) {
              // the server fills the socket buffers and waits: lock items, then read on
              stage = 1
              res.pause()
              void (async () => {
                await sleep(1000)
                await locker.query('BEGIN')
                await locker.query('LOCK TABLE items IN ACCESS EXCLUSIVE MODE')
                lockedAt = bytes
                res.resume()
              })()
            } else if (stage === 1 && lockedAt >= 0 && bytes > lockedAt + 4_000_000) {
              // batches written since the lock: a read ahead started under it and fails (the statement timeout)
              // while the batch before it waits here to be written
              stage = 2
              res.pause()
              void (async () => {
                await sleep(timeoutMs + 1500)
                await locker.query('ROLLBACK')
                res.resume()
              })()
            }
          })
          const done = () => resolve({ status: res.statusCode ?? 0, bytes, complete: res.complete })
          res.on('end', done)
          res.on('error', done)
          res.on('close', done)
        })
        req.on('error', () => resolve({ status: 0, bytes, complete: false }))
      })
      expect(read.status).toBe(200)
      // the answer stopped: its end never came
      expect(read.complete).toBe(false)
      // the process is still up and answers the whole list
      expect(s2.proc.exitCode).toBeNull()
      const again = await fetch(`${s2.base}/api/item`, { headers: { 'x-hi-session': heavy.session } })
      expect(again.status).toBe(200)
      expect(((await again.json()) as unknown[]).length).toBe(20000)
      expect(s2.output()).not.toMatch(/unhandled|UnhandledPromiseRejection/i)
    } finally {
      await locker.query('ROLLBACK').catch(() => {})
      await locker.end().catch(() => {})
      await s2.kill()
    }
  })

  it('a client that disconnects mid-stream frees its database connection at once', async () => {
    const admin = new pg.Client({ connectionString: t.db.url })
    await admin.connect()
    try {
      // more disconnects than the server's pool has connections (4): a leaked one would show
      for (let n = 0; n < 6; n++) {
        for (const path of ['/api/item', '/api/item/delta/0']) {
          const { headers, chunk } = await firstChunkThenHangUp(path)
          expect(headers['content-length']).toBeUndefined()
          expect(chunk.subarray(0, 1).toString()).toBe('[')
          // the server's connections go back to idle: polled a bounded number of times
          let busy = await busyBackends(admin)
          for (let i = 0; i < 100 && busy.length; i++) {
            await new Promise((res) => setTimeout(res, 20))
            busy = await busyBackends(admin)
          }
          expect(busy).toEqual([])
        }
      }
      // and the server still answers in full
      const r = await fetch(`${server.base}/api/item`, { headers: { 'x-hi-session': viewer.session } })
      expect(r.status).toBe(200)
      expect(((await r.json()) as unknown[]).length).toBeGreaterThanOrEqual(5000)
    } finally {
      await admin.end()
    }
  })
})
