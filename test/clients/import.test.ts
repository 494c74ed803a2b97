// The web client's import screen (contract §11): it uploads a file to /api/v5/import/upload
// (multipart `file`, the session in the query), shows the parsed list for review, and posts
// the reviewed list as a JSON array to /api/v5/import/. Real files: CSV written with
// csv-stringify, XLSX written with exceljs, and hand-made edge cases.
import ExcelJS from 'exceljs'
import { stringify } from 'csv-stringify/sync'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, errorOf, type TestApp } from '../helpers/app.js'
import type { TestUser } from '../helpers/teams.js'
import { ITEM_KEYS, webClient, type WebClient } from './web-client.js'

let t: TestApp
let u: TestUser
let c: WebClient
beforeAll(async () => {
  t = await createTestApp({ smtp: false })
  u = await t.signup()
  c = webClient(t, u.session)
  expect((await c.post('user/preferences', { time_zone: 'Europe/Berlin' })).statusCode).toBe(200)
})
afterAll(async () => t?.close())

const itemCount = async (userId: number) => (await t.db.query('SELECT count(*)::int AS n FROM items WHERE user_id = $1', [userId])).rows[0].n as number

const csvFile = (data: string | Buffer, name = 'tasks.csv', type = 'text/csv') => [{ field: 'file', name, data: Buffer.isBuffer(data) ? data : Buffer.from(data), type }]

const HEADER = ['Title', 'Description', 'Start', 'End', 'Priority', 'Time estimate', 'Time spent', 'Tags']

async function xlsx(rows: unknown[][], build?: (ws: ExcelJS.Worksheet) => void): Promise<Buffer> {
  const wb = new ExcelJS.Workbook()
  const ws = wb.addWorksheet('Tasks')
  for (const r of rows) ws.addRow(r)
  build?.(ws)
  wb.addWorksheet('Ignored').addRow(['Title'])
  return Buffer.from(await wb.xlsx.writeBuffer())
}
const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'

describe('POST /api/v5/import/upload', () => {
  it('reads a CSV written by csv-stringify into {title, message, start_date, end_date, priority, time_est, time_spent, tags}, creating nothing', async () => {
    const data = stringify([
      HEADER,
      ['Buy milk', 'two litres,\n"fresh"', '2024-03-01 10:30', '2024-03-02', 'high', '1.5', '0,25', 'home, shop'],
      ['Call Bob', '', '2024-03-05', '', 'low', '', '', ''],
      ['', 'a row without a title is skipped', '', '', '', '', '', ''],
      ['Report', 'numbers', '2024-07-01T09:00:00Z', 'not a date', '25000', '3', '', 'work'],
    ])
    const before = await itemCount(u.id)
    const r = await c.upload('import/upload', csvFile(data))
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json()).toEqual([
      { title: 'Buy milk', message: 'two litres,\n"fresh"', start_date: '2024-03-01T10:30:00.000+01:00', end_date: '2024-03-02', priority: 30000, time_est: 1.5, time_spent: 0.25, tags: ['home', 'shop'] },
      { title: 'Call Bob', message: null, start_date: '2024-03-05', end_date: null, priority: 10000, time_est: null, time_spent: null, tags: [] },
      { title: 'Report', message: 'numbers', start_date: '2024-07-01T11:00:00.000+02:00', end_date: null, priority: 25000, time_est: 3, time_spent: null, tags: ['work'] },
    ])
    expect(await itemCount(u.id)).toBe(before)
  })

  it('reads an XLSX written by exceljs: date cells as wall-clock time in the caller zone, numbers, rich text, formulas, other column names', async () => {
    const data = await xlsx(
      [
        ['Subject', 'Notes', 'Start Date', 'Due', 'PRIORITY', 'estimate', 'time_spent', 'tags'],
        ['Plan trip', { richText: [{ text: 'Book ' }, { text: 'flights', font: { bold: true } }] }, new Date(Date.UTC(2024, 6, 1, 9, 0)), new Date(Date.UTC(2024, 6, 3)), 30000, 2, { formula: '1/4', result: 0.25 }, 'travel,Travel , fun'],
        ['Pay rent', null, '2024-08-01', null, 'Normal', null, null, null],
      ],
      (ws) => {
        ws.getCell('C2').numFmt = 'yyyy-mm-dd hh:mm'
        ws.getCell('D2').numFmt = 'yyyy-mm-dd'
      },
    )
    const r = await c.upload('import/upload', [{ field: 'file', name: 'plan.xlsx', data, type: XLSX_TYPE }])
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json()).toEqual([
      { title: 'Plan trip', message: 'Book flights', start_date: '2024-07-01T09:00:00.000+02:00', end_date: '2024-07-03', priority: 30000, time_est: 2, time_spent: 0.25, tags: ['travel', 'fun'] },
      { title: 'Pay rent', message: null, start_date: '2024-08-01', end_date: null, priority: 20000, time_est: null, time_spent: null, tags: [] },
    ])
  })

  it('hand-made CSVs: `;` separator, a byte-order mark, CRLF, quoted separators', async () => {
    const semi = '\uFEFFname;notes;due\r\n"Fix; the roof";"call, then fix";2024-09-01\r\nPaint;;\r\n'
    const r = await c.upload('import/upload', csvFile(semi))
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json()).toEqual([
      { title: 'Fix; the roof', message: 'call, then fix', start_date: null, end_date: '2024-09-01', priority: null, time_est: null, time_spent: null, tags: [] },
      { title: 'Paint', message: null, start_date: null, end_date: null, priority: null, time_est: null, time_spent: null, tags: [] },
    ])
    // no extension: the declared type decides
    const typed = await c.upload('import/upload', csvFile('Task\nOne\n', 'export', 'text/csv'))
    expect(typed.json()).toEqual([expect.objectContaining({ title: 'One' })])
  })

  it('answers 82 for an empty file or no rows, 81 for what cannot be read, 83 for another format', async () => {
    const code = async (files: { field: string; name: string; data: Buffer; type: string }[]) => errorOf(await c.upload('import/upload', files))
    expect(await code(csvFile(''))).toEqual({ status: 400, code: 82 })
    expect(await code(csvFile('Title,Description\n'))).toEqual({ status: 400, code: 82 })
    expect(await code(csvFile('Title,Description\n,only a description\n'))).toEqual({ status: 400, code: 82 })
    expect(await code([{ field: 'file', name: 'empty.xlsx', data: await xlsx([HEADER]), type: XLSX_TYPE }])).toEqual({ status: 400, code: 82 })
    expect(await code(csvFile(Buffer.from([0x54, 0x69, 0x74, 0x6c, 0x65, 0x0a, 0xc3, 0x28, 0x0a])))).toEqual({ status: 400, code: 81 })
    expect(await code(csvFile('Title,Notes\n"unclosed,quote\n'))).toEqual({ status: 400, code: 81 })
    expect(await code(csvFile('Colour,Size\nred,big\n'))).toEqual({ status: 400, code: 81 })
    expect(await code([{ field: 'file', name: 'fake.xlsx', data: Buffer.from('Title\nnot a zip\n'), type: XLSX_TYPE }])).toEqual({ status: 400, code: 81 })
    const zip = await xlsx([HEADER, ['x']])
    expect(await code([{ field: 'file', name: 'cut.xlsx', data: zip.subarray(0, zip.length - 200), type: XLSX_TYPE }])).toEqual({ status: 400, code: 81 })
    expect(await code([{ field: 'file', name: 'tasks.txt', data: Buffer.from('Title\nOne\n'), type: 'text/plain' }])).toEqual({ status: 400, code: 83 })
    expect(await code([{ field: 'file', name: 'old.xls', data: Buffer.from([0xd0, 0xcf, 0x11, 0xe0]), type: 'application/vnd.ms-excel' }])).toEqual({ status: 400, code: 83 })
    expect(await code([{ field: 'file', name: 'scan.pdf', data: Buffer.from('%PDF-1.4'), type: 'application/pdf' }])).toEqual({ status: 400, code: 83 })
    expect(errorOf(await c.upload('import/upload', []))).toEqual({ status: 400, code: 4 })
  })

  it('keeps to the limits: file size (413/25), rows (400/25), what an XLSX unpacks to (400/25)', async () => {
    const small = await createTestApp({ smtp: false, env: { FILE_MAX_BYTES: '20000', IMPORT_MAX_ROWS: '3', IMPORT_MAX_UNPACKED_BYTES: '100000' } })
    try {
      const s = await small.signup()
      const sc = webClient(small, s.session)
      const big = await sc.upload('import/upload', csvFile('Title\n' + 'x\n'.repeat(20000)))
      expect(errorOf(big)).toEqual({ status: 413, code: 25 })
      expect(errorOf(await sc.upload('import/upload', csvFile('Title\na\nb\nc\nd\n')))).toEqual({ status: 400, code: 25 })
      expect((await sc.upload('import/upload', csvFile('Title\na\nb\nc\n'))).json()).toHaveLength(3)
      // a small zip whose parts unpack past the limit
      const packed = await xlsx([HEADER, ['a'.repeat(150_000)]])
      expect(packed.length).toBeLessThan(20000)
      expect(errorOf(await sc.upload('import/upload', [{ field: 'file', name: 'big.xlsx', data: packed, type: XLSX_TYPE }]))).toEqual({ status: 400, code: 25 })
      expect((await sc.upload('import/upload', [{ field: 'file', name: 'ok.xlsx', data: await xlsx([HEADER, ['a'.repeat(1000)]]), type: XLSX_TYPE }])).statusCode).toBe(200)
      expect(errorOf(await sc.postJson('import/', [{ title: 'a' }, { title: 'b' }, { title: 'c' }, { title: 'd' }]))).toEqual({ status: 400, code: 25 })
      expect((await small.db.query('SELECT count(*)::int AS n FROM items')).rows[0].n).toBe(0)
    } finally {
      await small.close()
    }
  })
})

describe('POST /api/v5/import/', () => {
  it('creates the reviewed list as the caller’s tasks and answers them; the file imports to the same titles, dates, priorities, times and tags', async () => {
    const data = stringify([HEADER, ['Buy milk', 'two litres', '2024-03-01 10:30', '2024-03-02', 'high', '1.5', '0.25', 'home, shop'], ['Call Bob', '', '2024-03-05', '', 'low', '', '', '']])
    const parsed = (await c.upload('import/upload', csvFile(data))).json()
    // the client reviews the list and posts it back, as JSON, to import/ (trailing slash)
    const r = await c.postJson('import/', parsed)
    expect(r.statusCode, r.body).toBe(200)
    const created = r.json() as any[]
    expect(created).toHaveLength(2)
    for (const item of created) expect(Object.keys(item).sort()).toEqual(ITEM_KEYS)
    expect(created[0]).toMatchObject({ title: 'Buy milk', message: 'two litres', category: 1, start_date: '2024-03-01T10:30:00.000+01:00', end_date: '2024-03-02T00:00:00.000+01:00', is_all_day: false, priority: 30000, time_est: 1.5, time_spent: 0.25, user_id: u.id, permission: 100 })
    expect([...created[0].tags].sort()).toEqual(['home', 'shop'])
    expect(created[1]).toMatchObject({ title: 'Call Bob', message: null, start_date: '2024-03-05T00:00:00.000+01:00', is_all_day: true, priority: 10000, tags: null })
    const list = (await c.get('item')).json() as any[]
    for (const item of created) expect(list.find((x) => x.id === item.id)).toEqual(item)
    // without the trailing slash too
    expect((await c.postJson('import', [{ title: 'No slash' }])).json()[0]).toMatchObject({ title: 'No slash', priority: 20000 })
  })

  it('is all or nothing: one refused entry creates none', async () => {
    const before = await itemCount(u.id)
    const bad = await c.postJson('import/', [{ title: 'fine' }, { title: 'bad date', start_date: 'next tuesday' }])
    expect(errorOf(bad)).toEqual({ status: 400, code: 5 })
    const untitled = await c.postJson('import/', [{ title: 'fine' }, { title: '  ', message: 'x' }])
    expect(errorOf(untitled)).toEqual({ status: 400, code: 4 })
    expect(untitled.json().error_message).toContain('items.1.title')
    expect(errorOf(await c.postJson('import/', [{ title: 'fine' }, { title: 'x', time_spent: -1 }]))).toEqual({ status: 400, code: 5 })
    expect(errorOf(await c.postJson('import/', { title: 'not a list' }))).toEqual({ status: 400, code: 4 })
    expect(errorOf(await c.postJson('import/', []))).toEqual({ status: 400, code: 82 })
    expect(errorOf(await c.post('import/', '[{"title": "broken"'))).toEqual({ status: 400, code: 46 })
    expect(await itemCount(u.id)).toBe(before)
    // a form client may send the list as `items`
    const form = await c.post('import/', { items: [{ title: 'from a form', tags: 'a,b' }] })
    expect(form.statusCode, form.body).toBe(200)
    expect(await itemCount(u.id)).toBe(before + 1)
  })

  it('checks the item limit for the whole list first: 507/20 and nothing created', async () => {
    const limited = await createTestApp({ smtp: false, env: { ITEM_LIMITS: '0:5' } })
    try {
      const s = await limited.signup()
      const sc = webClient(limited, s.session)
      for (const title of ['1', '2', '3']) expect((await sc.post('item', { title })).statusCode).toBe(200)
      expect(errorOf(await sc.postJson('import/', [{ title: 'a' }, { title: 'b' }, { title: 'c' }]))).toEqual({ status: 507, code: 20 })
      expect((await limited.db.query('SELECT count(*)::int AS n FROM items')).rows[0].n).toBe(3)
      expect((await sc.postJson('import/', [{ title: 'a' }, { title: 'b' }])).statusCode).toBe(200)
    } finally {
      await limited.close()
    }
  })
})
