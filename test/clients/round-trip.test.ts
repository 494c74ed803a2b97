// The round trip of contract §8.1 as a property: a random item (every field the API takes,
// reminders, occurrences, tags, sharing, a parent, a comment, sometimes a picture), read back
// by its owner or by a team mate it is shared with, and sent back exactly as rendered by PUT,
// as JSON or in the 2018 web client's form encoding (objects and arrays JSON-stringified,
// null as the text `null`, labelled application/json), is accepted and changes nothing: the
// same answer, no new version, no history row, no write to any table.
import fc from 'fast-check'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, formEncode, type TestApp } from '../helpers/app.js'
import { makeTeam, type TestUser } from '../helpers/teams.js'
import { webClient, type WebClient } from './web-client.js'
import { dateIn as dateInForms, itemFields, userText } from './item-arbitraries.js'

let t: TestApp
let owner: TestUser
let mate: TestUser
let everyone: string
let clients: { owner: WebClient; mate: WebClient }
let picture: Buffer

const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'Pacific/Chatham']
const LEVELS = [10, 20, 30, 40, 50, 60, 70, 80, 100]

beforeAll(async () => {
  // many requests a minute: the rate limit is not what is tested
  t = await createTestApp({ env: { RATE_LIMIT_PER_MINUTE: '1000000' } })
  const team = await makeTeam(t, 1)
  owner = team.owner
  mate = team.members[0]!
  everyone = team.everyone
  clients = { owner: webClient(t, owner.session), mate: webClient(t, mate.session) }
  picture = await sharp({ create: { width: 90, height: 70, channels: 3, background: '#3a7' } }).png().toBuffer()
})
afterAll(async () => t?.close())

const text = (min: number, max: number) => userText(min, max, { notNull: true })
const dateIn = dateInForms('-03:30')

const alertArb = fc.oneof(
  fc.record({ timeType: fc.constant(1), time: fc.constant(null), timeSpecified: dateIn }),
  fc.record({ timeType: fc.constantFrom(2, 3, 4), time: fc.integer({ min: 0, max: 10000 }), timeSpecified: fc.constant(null) }),
).chain((a) =>
  fc.record({
    repeat: fc.option(fc.integer({ min: 0, max: 5 }), { nil: null }),
    repeatInterval: fc.option(fc.integer({ min: 1, max: 60 }), { nil: null }),
    sound: fc.boolean(),
    alert: fc.boolean(),
    email: fc.boolean(),
    push: fc.boolean(),
  }).map((rest) => ({ ...a, ...rest })),
)

const itemArb = fc.record({
  zone: fc.constantFrom(...ZONES),
  ...itemFields(text, dateIn, ['work', 'Home', 'urgent', 'a, b', 'Ünïcode ✓', '42']),
  file: fc.integer({ min: 0, max: 9 }).map((n) => n < 2),
  underParent: fc.boolean(),
  category: fc.constantFrom(0, 1, 1, 2, 4, 6, 7),
  completeOccurrence: fc.option(dateIn, { nil: null }),
  time_est: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 40000 }).map((n) => n / 100)),
  time_spent: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 40000 }).map((n) => n / 8)),
  location: fc.option(fc.record({ address: text(0, 30), lat: fc.double({ min: -90, max: 90, noNaN: true }), lng: fc.double({ min: -180, max: 180, noNaN: true }), extra: fc.option(fc.record({ floor: fc.integer(), tags: fc.array(fc.string(), { maxLength: 2 }) }), { nil: undefined }) }), { nil: null }),
  contactName: text(1, 20),
  alerts: fc.array(alertArb, { maxLength: 3 }),
  shareWith: fc.constantFrom('none', 'mate', 'everyone'),
  shareLevel: fc.constantFrom(...LEVELS),
  people: fc.constantFrom('none', 'assignee', 'participant', 'both'),
  short: fc.option(fc.stringMatching(/^[A-Za-z0-9]{1,8}$/), { nil: null }),
  comment: fc.option(text(1, 60), { nil: null }),
  viewer: fc.constantFrom('owner', 'mate'),
  mateAlerts: fc.array(alertArb, { maxLength: 2 }),
  mateStarred: fc.boolean(),
  encoding: fc.constantFrom('json', 'form'),
  path: fc.constantFrom('id', 'guid', 'body'),
})
type Spec = typeof itemArb extends fc.Arbitrary<infer T> ? T : never

/** every row any write could touch, in a stable order */
async function everything() {
  const q = async (sql: string) => (await t.db.query(sql)).rows
  return {
    items: await q('SELECT * FROM items ORDER BY id'),
    permissions: await q('SELECT * FROM item_permissions ORDER BY item_id, principal'),
    states: await q('SELECT * FROM item_user_state ORDER BY item_id, user_id'),
    alerts: await q('SELECT * FROM item_alerts ORDER BY id'),
    tags: await q('SELECT * FROM tags ORDER BY id'),
    itemTags: await q('SELECT * FROM item_tags ORDER BY item_id, tag_id'),
    history: await q('SELECT * FROM item_history ORDER BY id'),
    comments: await q('SELECT * FROM comments ORDER BY id'),
    files: await q('SELECT * FROM files ORDER BY id'),
  }
}

let seq = 0

/** makes the item the spec describes through the API, as the owner → its id and who may read it */
async function makeItem(s: Spec): Promise<{ id: number; readers: ('owner' | 'mate')[] }> {
  const o = clients.owner
  for (const [c, who] of [[o, owner], [clients.mate, mate]] as const) {
    const r = await c.post('user/preferences', { time_zone: s.zone })
    expect(r.statusCode, `${who.login} zone: ${r.body}`).toBe(200)
  }
  const mateGrant = s.shareWith === 'mate' ? [{ principal: String(mate.id), level: s.shareLevel }] : s.shareWith === 'everyone' ? [{ principal: everyone, level: s.shareLevel }] : []
  let parent: number | undefined
  if (s.underParent) {
    const p = await o.post('item', { title: `parent ${++seq}`, category: 0, permissions: [{ principal: String(owner.id), level: 100 }, ...mateGrant] })
    expect(p.statusCode, p.body).toBe(200)
    parent = p.json().id
  }
  let id: number
  const category = s.file ? 5 : s.underParent && s.category === 0 ? 1 : s.category
  if (s.file) {
    const up = await o.upload('file/upload', [{ field: 'file', name: `pic ${seq}.png`, data: picture, type: 'image/png' }], parent ? { parent_id: String(parent) } : {})
    expect(up.statusCode, up.body).toBe(200)
    id = up.json().id
  } else {
    const body: Record<string, unknown> = { title: s.title, category }
    if (parent) body.parent = parent
    const r = await o.post('item', body)
    expect(r.statusCode, r.body).toBe(200)
    id = r.json().id
  }
  // every other field through an update, as the edit dialog does
  const fields: Record<string, unknown> = {
    message: s.message, completed: s.completed, color: s.color, color_value: s.color_value, priority: s.priority,
    start_date: s.start_date, end_date: s.end_date, due_date: s.due_date, is_all_day: s.is_all_day,
    recurring: s.recurring, recurring_interval: s.recurring_interval, recurring_end_date: s.recurring_end_date,
    time_track: s.time_track, time_est: s.time_est, time_spent: s.time_spent, tags: s.tags, location: s.location,
    alerts: s.alerts, starred: s.starred,
  }
  if (!s.file) fields.title = s.title
  if (category === 7) fields.contact = JSON.stringify(['vcard', [['version', {}, 'text', '4.0'], ['fn', {}, 'text', s.contactName]]])
  if (category === 0 && s.short) fields.short_name = (s.short.slice(0, 4) + seq.toString(36)).slice(0, 8)
  if (!parent && mateGrant.length) fields.permissions = [{ principal: String(owner.id), level: 100 }, ...mateGrant]
  const canName = !parent || mateGrant.length > 0
  if (canName && (s.people === 'assignee' || s.people === 'both')) fields.assignee = mate.id
  if (canName && (s.people === 'participant' || s.people === 'both')) fields.participants = [mate.id]
  const u = await o.put(`item/${id}`, fields)
  expect(u.statusCode, u.body).toBe(200)
  if (s.recurring > 0 && s.completeOccurrence) {
    const c = await o.put('item', { id, completed: true, instance_date_time: s.completeOccurrence })
    expect(c.statusCode, c.body).toBe(200)
  }
  if (s.comment) expect((await o.post('item/comment', { id, message: s.comment })).statusCode).toBe(200)
  const readers: ('owner' | 'mate')[] = ['owner']
  const mateSees = (await clients.mate.get(`item/${id}`)).statusCode === 200
  if (mateSees) {
    readers.push('mate')
    // the mate's own reminders and star
    const m = await clients.mate.put(`item/${id}`, { alerts: s.mateAlerts, starred: s.mateStarred })
    expect(m.statusCode, m.body).toBe(200)
  }
  return { id, readers }
}

describe('§8.1 round trip as a property', () => {
  it('an item sent back exactly as rendered, as JSON or as the web client form, is accepted and changes nothing', { timeout: 300_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(itemArb, async (s) => {
        const { id, readers } = await makeItem(s)
        const who = readers.includes(s.viewer) ? s.viewer : 'owner'
        const c = clients[who]
        const rendered = (await c.get(`item/${id}`)).json()
        // the same object in the list the client holds
        expect(((await c.get('item')).json() as any[]).find((x) => x.id === id)).toEqual(rendered)
        const before = await everything()
        const path = s.path === 'id' ? `item/${id}` : s.path === 'guid' ? `item/${rendered.guid}` : 'item'
        const r =
          s.encoding === 'form'
            ? await c.put(path, formEncode(rendered))
            : await t.app.inject({ method: 'PUT', url: c.url(path), headers: { 'content-type': 'application/json' }, payload: JSON.stringify(rendered) })
        expect(r.statusCode, `${who} ${s.encoding}: ${r.body}`).toBe(200)
        expect(r.json()).toEqual(rendered)
        expect(await everything()).toEqual(before)
        expect((await c.get(`item/${id}`)).json()).toEqual(rendered)
      }),
      { numRuns: Number(process.env.CLIENTS_ROUND_TRIP_RUNS ?? 60) },
    )
  })

  it('would see a change: the same item with one field different is a write (the property can fail)', async () => {
    const { id } = await makeItem(fc.sample(itemArb, { numRuns: 1, seed: 7 })[0]!)
    const rendered = (await clients.owner.get(`item/${id}`)).json()
    const before = await everything()
    const r = await clients.owner.put(`item/${id}`, formEncode({ ...rendered, priority: rendered.priority === 1 ? 2 : 1 }))
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json().version).toBe(rendered.version + 1)
    expect(await everything()).not.toEqual(before)
  })
})
