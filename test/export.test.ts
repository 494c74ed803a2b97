// Export (contract §11, docs/calendar-and-export.md): CSV and XLSX with the columns the import
// reads; parsed back (csv-parse, exceljs) and read with the import's column rules they give the
// same titles, dates, priorities, times and tags; streamed in batches, so 100,000 items never
// sit in memory at once.
//
// The `readAsImport` below is this file's reading of §11's import rules, not the endpoint; the
// HTTP round trip through GET /export, POST /import/upload and POST /import/ is
// test/export-import.test.ts.
import http from 'node:http'
import v8 from 'node:v8'
import vm from 'node:vm'
import { parse } from 'csv-parse/sync'
import ExcelJS from 'exceljs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, errorOf, type TestApp } from './helpers/app.js'
import { itemsApi, type U } from './items-helpers.js'
import { parseDate } from '../src/platform/dates.js'

let t: TestApp
let api: ReturnType<typeof itemsApi>
let u: U

const TZ = 'America/Sao_Paulo'

beforeAll(async () => {
  t = await createTestApp({ smtp: false })
  api = itemsApi(t)
  u = await t.signup()
  expect((await t.call('POST', '/api/user/preferences', { session: u.session, form: { time_zone: TZ } })).statusCode).toBe(200)
  const other = await t.signup()
  await api.create(u, { title: 'Plain task' })
  await api.create(u, {
    title: 'Timed, with "quotes"; and a = sign',
    message: 'line one\nline two, with comma; "quoted"',
    start_date: '2026-12-01T09:15',
    end_date: '2026-12-01T17:45',
    priority: 25000,
    time_est: 1.5,
    time_spent: 0.25,
    tags: ['work', 'big project'],
  })
  await api.create(u, { title: 'All-day', start_date: '2026-12-24', end_date: '2026-12-26', is_all_day: true, priority: 10000, tags: ['home'] })
  await api.create(u, { title: 'Due only', due_date: '2027-01-15T12:00:00Z', priority: 30000, time_est: 8 })
  await api.create(u, { title: '=SUM(1,2)', message: 'a formula-looking title stays text' })
  await api.create(u, { title: 'Ünïcødé ✓ 日本語', tags: ['ça'] })
  const archived = await api.create(u, { title: 'Archived one', start_date: '2026-10-01T10:00' })
  expect((await t.call('POST', '/api/item/archive', { session: u.session, form: { id: archived.id } })).statusCode).toBe(200)
  await api.create(other, { title: 'Shared in', permissions: [{ principal: u.id, level: 10 }], tags: ['theirs'] })
  await api.create(other, { title: 'Not visible' })
})
afterAll(async () => t?.close())

type Imported = { title: string; message: string | null; start_date: number | null; end_date: number | null; priority: number | null; time_est: number | null; time_spent: number | null; tags: string[] }

/** §11 import rules: columns matched case-insensitively; priority low/normal/high or a number; tags comma-separated; dates as contract §1 */
function readAsImport(header: string[], rows: unknown[][], tz: string): Imported[] {
  const names: Record<string, string[]> = {
    title: ['title', 'name', 'subject', 'task'],
    message: ['description', 'notes', 'message'],
    start: ['start'],
    end: ['end', 'due'],
    priority: ['priority'],
    est: ['time estimate', 'estimate'],
    spent: ['time spent'],
    tags: ['tags'],
  }
  const col = (k: string) => header.findIndex((h) => names[k]!.includes(String(h).trim().toLowerCase()))
  const idx = Object.fromEntries(Object.keys(names).map((k) => [k, col(k)]))
  const cell = (r: unknown[], k: string) => (idx[k]! >= 0 ? r[idx[k]!] : undefined)
  const str = (v: unknown) => (v === undefined || v === null || v === '' ? null : String(v))
  const date = (v: unknown) => {
    const s = str(v)
    if (s === null) return null
    const d = parseDate(s, tz)
    if (!d) throw new Error(`not a date: ${s}`)
    return d.date.getTime()
  }
  const num = (v: unknown) => (str(v) === null ? null : Number(v))
  const prio = (v: unknown) => {
    const s = str(v)?.toLowerCase()
    if (s === undefined || s === null) return null
    return s === 'low' ? 10000 : s === 'normal' ? 20000 : s === 'high' ? 30000 : Number(s)
  }
  return rows.map((r) => ({
    title: String(cell(r, 'title')),
    message: str(cell(r, 'message')),
    start_date: date(cell(r, 'start')),
    end_date: date(cell(r, 'end')),
    priority: prio(cell(r, 'priority')),
    time_est: num(cell(r, 'est')),
    time_spent: num(cell(r, 'spent')),
    tags: (str(cell(r, 'tags')) ?? '').split(',').map((x) => x.trim()).filter(Boolean),
  }))
}

/** what the exported items should import back as, from GET /item (and /archive) */
async function expected(o: { archived: boolean; description: boolean }): Promise<Imported[]> {
  const items = [...(await api.list(u))]
  if (o.archived) items.push(...(await t.call('GET', '/api/archive', { session: u.session })).json())
  const ms = (s: string | null) => (s ? Date.parse(s) : null)
  return items
    .sort((a, b) => a.id - b.id)
    .map((i) => ({
      title: i.title,
      message: o.description ? (i.message ?? null) : null,
      start_date: ms(i.start_date),
      end_date: ms(i.end_date ?? i.due_date),
      priority: i.priority,
      time_est: i.time_est,
      time_spent: i.time_spent,
      tags: [...(i.tags ?? [])].sort((a: string, b: string) => a.toLowerCase().localeCompare(b.toLowerCase())),
    }))
}
const sortTags = (x: Imported[]) => x.map((i) => ({ ...i, tags: [...i.tags].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())) }))

describe('CSV', () => {
  it('with descriptions: the columns the import reads; read back it equals the items', async () => {
    const r = await t.call('GET', '/api/export/csv', { session: u.session, query: { includeDescription: 'true' } })
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toBe('text/csv; charset=utf-8')
    expect(r.headers['content-disposition']).toMatch(/^attachment; filename="hitask-export-\d{4}-\d{2}-\d{2}\.csv"$/)
    const rows = parse(r.body, { relax_column_count: false }) as string[][]
    const [header, ...data] = rows
    expect(header).toEqual(['Title', 'Description', 'Start', 'End', 'Priority', 'Time estimate', 'Time spent', 'Tags'])
    expect(sortTags(readAsImport(header!, data, TZ))).toEqual(await expected({ archived: false, description: true }))
    // all-day dates are date-only (the import reads them as all-day); timed ones carry the offset
    const allDay = data.find((x) => x[0] === 'All-day')!
    expect(allDay.slice(2, 4)).toEqual(['2026-12-24', '2026-12-26'])
    const timed = data.find((x) => x[0]!.startsWith('Timed'))!
    expect(timed[2]).toBe('2026-12-01T09:15:00.000-03:00')
  })

  it('without descriptions there is no Description column; archived items only with includeArchived', async () => {
    const r = await t.call('GET', '/api/export/csv', { session: u.session })
    const [header, ...data] = parse(r.body) as string[][]
    expect(header).toEqual(['Title', 'Start', 'End', 'Priority', 'Time estimate', 'Time spent', 'Tags'])
    expect(data.map((x) => x[0])).not.toContain('Archived one')
    expect(data.map((x) => x[0])).not.toContain('Not visible')
    const withArchived = parse((await t.call('GET', '/api/export/csv', { session: u.session, query: { includeArchived: '1' } })).body) as string[][]
    expect(sortTags(readAsImport(withArchived[0]!, withArchived.slice(1), TZ))).toEqual(await expected({ archived: true, description: false }))
  })

  it('a bad flag → 400/5; no session → 401/7', async () => {
    expect(errorOf(await t.call('GET', '/api/export/csv', { session: u.session, query: { includeArchived: 'maybe' } }))).toEqual({ status: 400, code: 5 })
    expect(errorOf(await t.call('GET', '/api/export/xlsx'))).toEqual({ status: 401, code: 7 })
  })
})

describe('XLSX', () => {
  it('read back with exceljs it equals the items; text stays text, numbers are numbers', async () => {
    const r = await t.call('GET', '/api/export/xlsx', { session: u.session, query: { includeDescription: 'true', includeArchived: 'true' } })
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
    expect(r.headers['content-disposition']).toMatch(/filename="hitask-export-\d{4}-\d{2}-\d{2}\.xlsx"/)
    const wb = new ExcelJS.Workbook()
    await wb.xlsx.load(r.rawPayload as any)
    const ws = wb.worksheets[0]!
    const rows: unknown[][] = []
    ws.eachRow((row) => rows.push((row.values as unknown[]).slice(1)))
    const [header, ...data] = rows
    expect(header).toEqual(['Title', 'Description', 'Start', 'End', 'Priority', 'Time estimate', 'Time spent', 'Tags'])
    expect(sortTags(readAsImport(header as string[], data, TZ))).toEqual(await expected({ archived: true, description: true }))
    const formula = data.find((x) => x[0] === '=SUM(1,2)')!
    expect(typeof formula[0]).toBe('string')
    expect(ws.getCell(`A${rows.indexOf(formula) + 1}`).type).toBe(ExcelJS.ValueType.String)
    expect(typeof data[0]![4]).toBe('number')
  })
})

describe('streamed in batches', () => {
  const N = 100_000

  beforeAll(async () => {
    // 100,000 items of one user, straight in SQL (the API would take minutes)
    const big = await t.signup()
    ;(globalThis as any).big = big
    await t.db.query(
      `WITH ins AS (INSERT INTO items (guid, user_id, title, message, start_date, priority, time_est)
                    SELECT 'bulk-' || g, $1, 'Item ' || g || ' ' || repeat('x', 60), 'Description ' || g || ' ' || repeat('y', 200),
                           timestamptz '2026-01-01 00:00:00Z' + g * interval '1 minute', 20000, 1
                      FROM generate_series(1, $2::int) g RETURNING id)
       INSERT INTO item_permissions (item_id, principal, level) SELECT id, $1::bigint::text, 100 FROM ins`,
      [big.id, N],
    )
  }, 120_000)

  v8.setFlagsFromString('--expose-gc')
  const gc = vm.runInNewContext('gc') as () => void
  const liveHeap = () => {
    gc()
    return process.memoryUsage().heapUsed
  }

  async function download(path: string, session: string, slow: boolean): Promise<{ bytes: number; body: Buffer | null; peakMb: number; ms: number }> {
    await t.app.listen({ port: 0, host: '127.0.0.1' }).catch(() => {})
    const port = (t.app.server.address() as { port: number }).port
    // live memory: the heap after a full collection, sampled while the download runs
    const base = liveHeap()
    let peak = base
    const sampler = setInterval(() => (peak = Math.max(peak, liveHeap())), 500)
    const t0 = performance.now()
    try {
      return await new Promise((resolve, reject) => {
        http
          .get(`http://127.0.0.1:${port}${path}`, { headers: { 'x-hi-session': session } }, (res) => {
            expect(res.statusCode).toBe(200)
            let bytes = 0
            const keep: Buffer[] = []
            res.on('data', (c: Buffer) => {
              bytes += c.length
              if (path.includes('xlsx')) keep.push(c)
              if (slow) {
                // a slow client: the server must wait, not buffer
                res.pause()
                setTimeout(() => res.resume(), 2)
              }
            })
            res.on('end', () => resolve({ bytes, body: keep.length ? Buffer.concat(keep) : null, peakMb: (peak - base) / 1e6, ms: performance.now() - t0 }))
            res.on('error', reject)
          })
          .on('error', reject)
      })
    } finally {
      clearInterval(sampler)
    }
  }

  it('100,000 items as CSV: every row, read one batch at a time, memory far below all the rows', async () => {
    const big = (globalThis as any).big as U
    const seen: string[] = []
    const stop = t.db.observe((q) => seen.push(q))
    const r = await download('/api/export/csv?includeDescription=true', big.session, true)
    stop()
    const batches = seen.filter((q) => q.includes('CROSS JOIN LATERAL')).length
    expect(batches).toBeGreaterThanOrEqual(N / t.config.EXPORT_BATCH_SIZE)
    // what holding every row at once costs, for comparison
    const before = liveHeap()
    const all = await t.db.query(`SELECT i.* FROM items i JOIN item_permissions p ON p.item_id = i.id WHERE p.principal = $1`, [String(big.id)])
    const allRowsMb = (liveHeap() - before) / 1e6
    expect(all.rows).toHaveLength(N)
    console.log(`export CSV of ${N} items: ${(r.bytes / 1e6).toFixed(1)} MB in ${Math.round(r.ms)} ms, heap peak +${r.peakMb.toFixed(1)} MB (all rows at once: +${allRowsMb.toFixed(1)} MB), ${batches} batches`)
    expect(r.bytes).toBeGreaterThan(N * 250)
    expect(r.peakMb).toBeLessThan(allRowsMb / 4)
  }, 180_000)

  it('100,000 items as XLSX to a slow client: every row, memory bounded', async () => {
    const big = (globalThis as any).big as U
    const r = await download('/api/export/xlsx', big.session, true)
    const wb = new ExcelJS.Workbook()
    await wb.xlsx.load(r.body as any)
    console.log(`export XLSX of ${N} items: ${(r.bytes / 1e6).toFixed(1)} MB in ${Math.round(r.ms)} ms, heap peak +${r.peakMb.toFixed(1)} MB`)
    expect(wb.worksheets[0]!.rowCount).toBe(N + 1)
    expect(r.peakMb).toBeLessThan(30)
  }, 240_000)
})
