// Export → import over HTTP (contract §11: "an exported file imports back to the same titles,
// dates, priorities, times and tags"): one user's items are downloaded with GET /api/export/csv
// and /api/export/xlsx, each file is uploaded by another account to POST /api/import/upload,
// the parsed list is posted back to POST /api/import/, and the created items equal the
// exported ones field by field for every field the files carry: title, description (message),
// start, end (the item's end date, else its due date: the files have one end column),
// priority, time estimate, time spent and tags. test/export.test.ts reads the files with the
// import's rules offline; this is the round trip through the real endpoints.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from './helpers/app.js'
import { postMultipart } from './helpers/multipart.js'
import { itemsApi, type U } from './items-helpers.js'

let t: TestApp
let api: ReturnType<typeof itemsApi>
let owner: U
/** the owner's items as GET /api/item renders them, in id order (the export's order) */
let exported: any[]

const TZ = 'Europe/Berlin'
const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'

const setZone = async (u: U, zone: string) => expect((await t.call('POST', '/api/user/preferences', { session: u.session, form: { time_zone: zone } })).statusCode).toBe(200)

/** text as a person types it in a title or a description: no control characters but a line break, no surrounding spaces (the import trims titles) */
const typed = (min: number, max: number) =>
  fc
    .string({ unit: 'grapheme', minLength: min, maxLength: max })
    // eslint-disable-next-line no-control-regex
    .filter((s) => !/[\u0000-\u0009\u000b-\u001f\u007f]/.test(s) && s.trim() === s && s.trim() !== '')

const instant = fc.integer({ min: Date.UTC(2001, 0, 1), max: Date.UTC(2039, 0, 1) }).map((ms) => new Date(ms).toISOString())
const day = instant.map((iso) => iso.slice(0, 10))

/** items with what the files carry, in every combination: timed, all-day, due-only, no dates */
const itemArb = fc.record({
  title: typed(1, 60),
  message: fc.option(typed(1, 200), { nil: undefined }),
  dates: fc.oneof(
    fc.record({ start_date: instant, end_date: instant }),
    fc.record({ start_date: day, end_date: day, is_all_day: fc.constant(true) }),
    fc.record({ due_date: instant }),
    fc.record({ start_date: instant }),
    fc.constant({}),
  ),
  priority: fc.oneof(fc.constantFrom(10000, 20000, 30000), fc.integer({ min: -2147483648, max: 2147483647 })),
  time_est: fc.integer({ min: 0, max: 40000 }).map((n) => n / 100),
  time_spent: fc.integer({ min: 0, max: 40000 }).map((n) => n / 8),
  // a tag name holding a comma cannot round-trip: the Tags column is comma-separated (docs/calendar-and-export.md)
  tags: fc.uniqueArray(fc.constantFrom('work', 'Home', 'big project', 'Ünïcode ✓', '42', 'ça'), { maxLength: 4, comparator: (a, b) => a.toLowerCase() === b.toLowerCase() }),
  category: fc.constantFrom(1, 2, 4),
})

beforeAll(async () => {
  t = await createTestApp({ smtp: false })
  api = itemsApi(t)
  owner = await t.signup()
  await setZone(owner, TZ)
  await api.create(owner, {
    title: 'Timed, with "quotes"; and a = sign',
    message: 'line one\nline two, with comma; "quoted"',
    start_date: '2026-12-01T09:15',
    end_date: '2026-12-01T17:45:30.125',
    priority: 25000,
    time_est: 1.5,
    time_spent: 0.25,
    tags: ['work', 'big project'],
  })
  await api.create(owner, { title: 'All-day', start_date: '2026-12-24', end_date: '2026-12-26', is_all_day: true, priority: 10000, tags: ['home'] })
  await api.create(owner, { title: 'Due only', due_date: '2027-01-15T12:00:00Z', priority: 30000, time_est: 8 })
  await api.create(owner, { title: '=SUM(1,2)', message: 'a formula-looking title stays text', priority: -7 })
  await api.create(owner, { title: 'Ünïcødé ✓ 日本語', tags: ['ça'] })
  for (const s of fc.sample(itemArb, { numRuns: 40, seed: 1611 })) {
    await api.create(owner, { title: s.title, category: s.category, priority: s.priority, time_est: s.time_est, time_spent: s.time_spent, tags: s.tags, ...s.dates, ...(s.message ? { message: s.message } : {}) })
  }
  exported = (await api.list(owner)).sort((a, b) => a.id - b.id)
  expect(exported.length).toBe(45)
})
afterAll(async () => t?.close())

/** the fields both files carry, as an item renders them */
const carried = (i: any, o: { description: boolean }) => ({
  title: i.title,
  message: o.description ? i.message : null,
  start_date: i.start_date,
  end_date: i.end_date ?? i.due_date,
  priority: i.priority,
  time_est: i.time_est,
  time_spent: i.time_spent,
  tags: [...(i.tags ?? [])].sort(),
})

async function download(format: 'csv' | 'xlsx', description: boolean): Promise<Buffer> {
  const r = await t.call('GET', `/api/export/${format}`, { session: owner.session, query: description ? { includeDescription: 'true' } : {} })
  expect(r.statusCode).toBe(200)
  expect(String(r.headers['content-type'])).toContain(format === 'csv' ? 'text/csv' : XLSX_TYPE)
  return r.rawPayload
}

/** a new account in the owner's zone uploads the file and imports the reviewed list unchanged → the parsed list and the created items */
async function importInto(file: Buffer, format: 'csv' | 'xlsx') {
  const u = await t.signup()
  await setZone(u, TZ)
  const up = await postMultipart(t, '/api/import/upload', { session: u.session, files: [{ field: 'file', name: `hitask-export.${format}`, type: format === 'csv' ? 'text/csv' : XLSX_TYPE, data: file }] })
  expect(up.statusCode, up.body).toBe(200)
  const parsed = up.json() as any[]
  // the web client posts the reviewed array back as JSON
  const imported = await t.call('POST', '/api/import/', { session: u.session, body: parsed })
  expect(imported.statusCode, imported.body).toBe(200)
  const created = imported.json() as any[]
  // what the import answered is what the account now holds
  expect((await api.list(u)).sort((a, b) => a.id - b.id)).toEqual(created)
  return { parsed, created }
}

describe('export → import over HTTP', () => {
  for (const format of ['csv', 'xlsx'] as const) {
    it(`${format.toUpperCase()} with descriptions: the imported items equal the exported ones in every field the file carries`, async () => {
      const { parsed, created } = await importInto(await download(format, true), format)
      expect(parsed.length).toBe(exported.length)
      expect(created.map((i) => carried(i, { description: true }))).toEqual(exported.map((i) => carried(i, { description: true })))
      // imported as tasks of the new account
      expect(new Set(created.map((i) => i.category))).toEqual(new Set([1]))
      // an all-day item comes back all-day (its dates are days in the file)
      const allDay = created.find((i) => i.title === 'All-day')
      expect(allDay).toMatchObject({ is_all_day: true, start_date: '2026-12-24T00:00:00.000+01:00', end_date: '2026-12-26T00:00:00.000+01:00' })
    })
  }

  it('without includeDescription the descriptions stay behind, everything else comes back', async () => {
    const { created } = await importInto(await download('csv', false), 'csv')
    expect(created.every((i) => i.message === null)).toBe(true)
    expect(created.map((i) => carried(i, { description: false }))).toEqual(exported.map((i) => carried(i, { description: false })))
  })

  it('both files parse to the same list', async () => {
    const csv = (await importInto(await download('csv', true), 'csv')).parsed
    const xlsx = (await importInto(await download('xlsx', true), 'xlsx')).parsed
    expect(xlsx).toEqual(csv)
  })

  it('would see a difference: an edited file imports the edit (the comparison can fail)', async () => {
    const csv = (await download('csv', true)).toString('utf8').replace('Due only', 'Due soon')
    const { created } = await importInto(Buffer.from(csv), 'csv')
    expect(created.map((i) => carried(i, { description: true }))).not.toEqual(exported.map((i) => carried(i, { description: true })))
    expect(created.map((i) => i.title)).toContain('Due soon')
  })
})
