// The long lists are rendered by PostgreSQL (src/items/json-repository.ts), a single item by
// JavaScript (src/items/render.ts): a client must get the same item from both. Property test
// over stored items (any text, dates from 1950 to 2150, whole and fractional numbers,
// permissions through the user, a group and others, tags, the caller's stars, unread marks
// and reminders, files, locations, sub-items the caller sees or not) and over time zones with
// daylight saving, half- and quarter-hour offsets: every item of GET /api/item reads exactly
// as GET /api/item/{id} answers it, byte for byte, and so does the delta's changed item.
import crypto from 'node:crypto'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from './helpers/app.js'
import { itemJsonOfBatch } from '../src/items/json-repository.js'
import { zoneTable } from '../src/platform/dates.js'

let t: TestApp
let owner: { id: number; session: string }
let viewer: { id: number; session: string }
let group: string
let biz: number
const tagIds: number[] = []

const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Asia/Kathmandu', 'Australia/Lord_Howe', 'Pacific/Chatham', 'America/St_Johns', 'America/Asuncion', 'Africa/Casablanca']

beforeAll(async () => {
  // a few thousand requests from one user: above the default rate limit
  t = await createTestApp({ smtp: false, env: { RATE_LIMIT_PER_MINUTE: '100000' } })
  owner = await t.signup()
  viewer = await t.signup()
  biz = (await t.db.query(`INSERT INTO businesses (title, domain_name, owner_id) VALUES ('Render', 'render', $1) RETURNING id`, [owner.id])).rows[0].id
  group = crypto.randomUUID()
  await t.db.query(`INSERT INTO groups (id, business_id, name) VALUES ($1, $2, 'render')`, [group, biz])
  await t.db.query('INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)', [group, viewer.id])
  const tags = await t.db.query(
    `INSERT INTO tags (space, name, name_key) VALUES ('b:' || $1::bigint, 'Work', 'work'), ('b:' || $1::bigint, 'äpfel "x"', 'äpfel "x"'), ('b:' || $1::bigint, 'zz\\z', 'zz\\z') RETURNING id`,
    [biz],
  )
  tagIds.push(...tags.rows.map((r: { id: number }) => r.id))
}, 60_000)

afterAll(async () => {
  await t?.close()
})

// text with quotes, backslashes, control characters, non-Latin letters and emoji
const text = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', '"', '\\', '/', '\n', '\t', '\u0001', '\u001f', '\u007f', 'ü', 'Ж', '中', '😀', '\u2028', '<', '&'), maxLength: 12 })
const instant = (from: number, to: number) => fc.integer({ min: Date.UTC(from, 0, 1), max: Date.UTC(to, 0, 1) }).map((ms) => new Date(ms).toISOString())
// mostly within the zone tables' years (1970–2099), now and then outside them
const date = fc.option(fc.oneof({ arbitrary: instant(1970, 2100), weight: 9 }, { arbitrary: instant(1950, 2150), weight: 1 }), { nil: null })
const recent = fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }).map((ms) => new Date(ms).toISOString())
const float = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 10_000 }), weight: 9 }, { arbitrary: fc.constantFrom(0.5, 1.25, 1e-7, 123456.789, 1e16), weight: 1 })
/** true now and then */
const rarely = fc.integer({ min: 0, max: 5 }).map((n) => n === 0)

const item = fc.record({
  title: text,
  message: fc.option(text, { nil: null }),
  category: fc.constantFrom(0, 1, 2, 4, 5),
  completed: fc.boolean(),
  color: fc.integer({ min: 0, max: 7 }),
  shortName: fc.option(text, { nil: null }),
  recurring: fc.integer({ min: 0, max: 4 }),
  recurringEnd: date,
  start: date,
  end: date,
  due: date,
  created: recent,
  updated: recent,
  allDay: fc.boolean(),
  timeTrack: fc.boolean(),
  timeEst: float,
  timeSpent: float,
  priority: fc.integer({ min: 0, max: 40_000 }),
  assignee: fc.boolean(),
  participants: fc.boolean(),
  location: fc.oneof({ arbitrary: fc.constant(null), weight: 5 }, { arbitrary: fc.constantFrom({ name: 'Room 1', lat: 52.5 }, { a: [1, 2], b: 'x y' }), weight: 1 }),
  lastComment: fc.option(fc.tuple(text, recent), { nil: null }),
  contact: fc.option(text, { nil: null }),
  // how the viewer sees it: directly, through the group, as its owner
  sharing: fc.constantFrom('direct', 'group', 'own'),
  level: fc.constantFrom(20, 50, 60, 80, 100),
  alsoShared: fc.boolean(),
  tags: fc.subarray([0, 1, 2]),
  starred: fc.boolean(),
  unread: fc.constantFrom(0, 0, 3),
  alert: rarely,
  file: rarely,
  // the index of an earlier item of the same run to be its parent
  parent: fc.option(fc.nat(), { nil: null, freq: 2 }),
})

type Gen = typeof item extends fc.Arbitrary<infer T> ? T : never

/** the generated items stored as they are, through SQL (any value the columns hold) */
async function store(items: Gen[]): Promise<number[]> {
  const ids: number[] = []
  for (const [n, x] of items.entries()) {
    const ownerId = x.sharing === 'own' ? viewer.id : owner.id
    const parentId = x.parent !== null && ids.length ? ids[x.parent % ids.length]! : null
    const r = await t.db.query(
      `INSERT INTO items (guid, user_id, business_id, title, message, category, completed, color, parent_id, short_name, issue_id, recurring,
                          recurring_end_date, start_date, end_date, due_date, is_all_day, time_create, time_last_update, time_track, time_est,
                          time_spent, priority, assignee_id, participants, location, contact, last_comment, last_comment_user_id, last_comment_at,
                          last_transition_time, last_transition_user)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32)
       RETURNING id`,
      [
        crypto.randomUUID(), ownerId, biz, x.title, x.message, x.category, x.completed, x.color, parentId, x.shortName, String(n + 1), x.recurring,
        x.recurringEnd, x.start, x.end, x.due, x.allDay, x.created, x.updated, x.timeTrack, x.timeEst,
        x.timeSpent, x.priority, x.assignee ? owner.id : null, x.participants ? [viewer.id, owner.id] : [], x.location === null ? null : JSON.stringify(x.location), x.contact,
        x.lastComment?.[0] ?? null, x.lastComment ? owner.id : null, x.lastComment?.[1] ?? null,
        x.completed ? x.updated : null, x.completed ? viewer.id : null,
      ],
    )
    const id = r.rows[0].id as number
    ids.push(id)
    const grants: [string, number][] = [[String(ownerId), 100]]
    if (x.sharing === 'direct') grants.push([String(viewer.id), x.level])
    if (x.sharing === 'group') grants.push([group, x.level])
    if (x.alsoShared) grants.push([x.sharing === 'own' ? String(owner.id) : 'g-' + n, 50])
    for (const [principal, level] of grants) await t.db.query('INSERT INTO item_permissions (item_id, principal, level) VALUES ($1, $2, $3)', [id, principal, level])
    for (const k of x.tags) await t.db.query('INSERT INTO item_tags (item_id, tag_id) VALUES ($1, $2)', [id, tagIds[k]])
    if (x.starred || x.unread) await t.db.query('INSERT INTO item_user_state (item_id, user_id, starred, unread) VALUES ($1, $2, $3, $4)', [id, viewer.id, x.starred, x.unread])
    if (x.alert) await t.db.query('INSERT INTO item_alerts (item_id, user_id, time_type, time) VALUES ($1, $2, 4, 15)', [id, viewer.id])
    if (x.file) {
      await t.db.query(
        `INSERT INTO files (item_id, storage_key, content_type, size, name, owner_id, previews)
         VALUES ($1, $2, 'image/png', 1234, 'f.png', $3, '[{"size":30,"type":"SQUARE","storage_key":"p30","content_type":"image/jpeg"}]'::jsonb)`,
        [id, 'key-' + id, ownerId],
      )
    }
  }
  return ids
}

describe('the lists rendered by PostgreSQL', () => {
  it('give every item exactly as GET /api/item/{id} renders it, in every time zone', async () => {
    const seen = { bySql: 0, items: 0, zones: new Set<string>(), dated: 0, fileOrAlert: 0 }
    await fc.assert(
      fc.asyncProperty(fc.array(item, { minLength: 1, maxLength: 8 }), fc.constantFrom(...ZONES), async (items, zone) => {
        await t.db.query(`DELETE FROM items WHERE user_id = ANY($1::bigint[])`, [[owner.id, viewer.id]])
        const pref = await t.call('POST', '/api/user/preferences', { session: viewer.session, form: { time_zone: zone } })
        expect(pref.statusCode).toBe(200)
        const r0 = await t.call('GET', '/api/item', { session: viewer.session })
        const cursor = r0.headers['x-cursor']
        const ids = await store(items)
        const list = await t.call('GET', '/api/item', { session: viewer.session })
        expect(list.statusCode).toBe(200)
        const listed = list.json() as { id: number }[]
        // each item the viewer sees is listed (an item seen by the owner alone is not)
        const visible = (await t.db.query(`SELECT DISTINCT item_id FROM item_permissions WHERE item_id = ANY($1::bigint[]) AND principal = ANY($2::text[])`, [ids, [String(viewer.id), group]])).rows
        expect(listed.length).toBe(visible.length)
        const delta = (await t.call('GET', `/api/item/delta/${cursor}`, { session: viewer.session })).json() as { id: number; changed: boolean }[]
        const singles: string[] = []
        for (const x of listed) {
          const one = await t.call('GET', `/api/item/${x.id}`, { session: viewer.session })
          expect(one.statusCode).toBe(200)
          singles.push(one.body)
          expect(JSON.stringify(delta.find((d) => d.id === x.id))).toBe(JSON.stringify({ ...(one.json() as object), changed: true }))
        }
        // byte for byte: the list is the single answers, in id order, joined
        expect(list.body).toBe('[' + singles.join(',') + ']')
        // how many of them PostgreSQL wrote (the others went to the JavaScript renderer)
        const rows = await itemJsonOfBatch(t.deps.db, { principals: [String(viewer.id), group], ids, userId: viewer.id, zone: zoneTable(zone) })
        seen.bySql += rows.filter((x) => x.json !== null).length
        seen.items += listed.length
        seen.zones.add(zone)
        seen.dated += listed.filter((x) => (x as { start_date?: unknown }).start_date).length
        seen.fileOrAlert += listed.filter((x) => (x as { alerts?: unknown; file_size?: unknown }).alerts || (x as { file_size?: unknown }).file_size).length
      }),
      { numRuns: 60 },
    )
    // the runs covered what they are meant to
    expect(seen.items).toBeGreaterThan(100)
    expect(seen.bySql).toBeGreaterThan(seen.items / 4)
    expect(seen.zones.size).toBeGreaterThan(5)
    expect(seen.dated).toBeGreaterThan(20)
    expect(seen.fileOrAlert).toBeGreaterThan(10)
  }, 240_000)
})
