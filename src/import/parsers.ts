// Reading an import file (contract §11 `POST /import/upload`, docs/import.md): which format
// it is, its rows (csv-parse for CSV, exceljs for XLSX, both streamed and stopped past the row
// limit), and the parsed items made from them. Nothing here touches the database.
import fs from 'node:fs'
import { Transform } from 'node:stream'
import { TextDecoder } from 'node:util'
import { parse } from 'csv-parse'
import ExcelJS from 'exceljs'
import { ApiError, errors } from '../platform/errors.js'
import { formatDate, formatDay, parseDate } from '../platform/dates.js'
import type { UploadedFile } from '../platform/uploads.js'
import { MESSAGE_MAX, TITLE_MAX } from '../items/input.js'
import { XLSX_TYPE } from '../export/schemas.js'

export type ImportFormat = 'csv' | 'xlsx'

/** one row of the file as the import screen reviews it (and POST /import/ takes back) */
export type ParsedItem = {
  title: string
  message: string | null
  start_date: string | null
  end_date: string | null
  priority: number | null
  time_est: number | null
  time_spent: number | null
  tags: string[]
}

export type Limits = { maxRows: number; maxUnpackedBytes: number }

const TAG_MAX = 100
const CSV_TYPES = new Set(['text/csv', 'application/csv', 'text/comma-separated-values', 'text/x-csv', 'text/x-comma-separated-values'])

/** by the name's extension, else by the declared type; anything else (a .txt, an .xls, a PDF…) → 400/83 */
export function formatOf(file: Pick<UploadedFile, 'filename' | 'mimetype'>): ImportFormat {
  const ext = /\.([A-Za-z0-9]{1,8})$/.exec(file.filename.trim())?.[1]?.toLowerCase()
  if (ext === 'csv') return 'csv'
  if (ext === 'xlsx') return 'xlsx'
  if (ext === undefined) {
    const type = file.mimetype.split(';')[0]!.trim().toLowerCase()
    if (CSV_TYPES.has(type)) return 'csv'
    if (type === XLSX_TYPE) return 'xlsx'
  }
  throw errors.fileFormat()
}

/** the header row and the rows after it, as cell values (strings, numbers, dates, booleans, nulls) */
export type Sheet = { header: unknown[]; rows: unknown[][] }

const tooManyRows = (max: number) => errors.tooLarge('rows', max)

// ── CSV ─────────────────────────────────────────────────────────────────────────────────

/** `;` when the header line has more semicolons than commas outside quotes, else `,` */
export function delimiterOf(head: string): ',' | ';' {
  let commas = 0
  let semicolons = 0
  let quoted = false
  for (const ch of head.replace(/^\uFEFF/, '')) {
    if (ch === '"') quoted = !quoted
    else if (!quoted && ch === ',') commas++
    else if (!quoted && ch === ';') semicolons++
    else if (!quoted && (ch === '\n' || ch === '\r')) break
  }
  return semicolons > commas ? ';' : ','
}

/** UTF-8 only: invalid bytes fail the read (400/81) instead of becoming U+FFFD */
function utf8Check() {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      try {
        decoder.decode(chunk, { stream: true })
        cb(null, chunk)
      } catch (e) {
        cb(e as Error)
      }
    },
    flush(cb) {
      try {
        decoder.decode()
        cb()
      } catch (e) {
        cb(e as Error)
      }
    },
  })
}

async function readCsv(path: string, limits: Limits): Promise<Sheet> {
  const fd = await fs.promises.open(path, 'r')
  let head: string
  try {
    const buf = Buffer.alloc(64 * 1024)
    const { bytesRead } = await fd.read(buf, 0, buf.length, 0)
    head = buf.subarray(0, bytesRead).toString('utf8')
  } finally {
    await fd.close()
  }
  if (head.includes('\0')) throw errors.unparsableFile()
  const parser = parse({ delimiter: delimiterOf(head), bom: true, relax_column_count: true, relax_quotes: true, skip_empty_lines: true })
  const source = fs.createReadStream(path)
  const check = utf8Check()
  // a failure of either stage ends the parse with it
  source.on('error', (e) => parser.destroy(e))
  check.on('error', (e) => parser.destroy(e))
  source.pipe(check).pipe(parser)
  const records: unknown[][] = []
  try {
    for await (const record of parser) {
      records.push(record as unknown[])
      if (records.length > limits.maxRows + 1) throw tooManyRows(limits.maxRows)
    }
  } catch (e) {
    if (e instanceof ApiError) throw e
    throw errors.unparsableFile()
  } finally {
    source.destroy()
  }
  const [header, ...rows] = records
  return { header: header ?? [], rows }
}

// ── XLSX ────────────────────────────────────────────────────────────────────────────────

/**
 * The sum of the uncompressed sizes the zip's central directory declares; null when the file
 * is not a readable zip. An XLSX is a zip: a small file could otherwise unpack to gigabytes.
 */
export async function declaredUnzippedSize(path: string): Promise<number | null> {
  const fd = await fs.promises.open(path, 'r')
  try {
    const { size } = await fd.stat()
    const tailLength = Math.min(size, 65_557) // end record (22) + the longest comment
    const tail = Buffer.alloc(tailLength)
    await fd.read(tail, 0, tailLength, size - tailLength)
    let eocd = -1
    for (let i = tailLength - 22; i >= 0; i--) if (tail.readUInt32LE(i) === 0x06054b50) { eocd = i; break }
    if (eocd < 0) return null
    const entries = tail.readUInt16LE(eocd + 10)
    const dirSize = tail.readUInt32LE(eocd + 12)
    const dirOffset = tail.readUInt32LE(eocd + 16)
    // ZIP64 markers: sizes beyond 4 GiB are never a spreadsheet to import
    if (entries === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) return Number.POSITIVE_INFINITY
    if (dirOffset + dirSize > size) return null
    const dir = Buffer.alloc(dirSize)
    await fd.read(dir, 0, dirSize, dirOffset)
    let total = 0
    for (let at = 0, n = 0; n < entries; n++) {
      if (at + 46 > dir.length || dir.readUInt32LE(at) !== 0x02014b50) return null
      const unpacked = dir.readUInt32LE(at + 24)
      if (unpacked === 0xffffffff) return Number.POSITIVE_INFINITY
      total += unpacked
      at += 46 + dir.readUInt16LE(at + 28) + dir.readUInt16LE(at + 30) + dir.readUInt16LE(at + 32)
    }
    return total
  } finally {
    await fd.close()
  }
}

/** a cell's value: rich text joined, a formula's result, a link's text; errors and blanks null */
function cellValue(v: unknown): unknown {
  if (v === null || v === undefined) return null
  if (v instanceof Date || typeof v !== 'object') return v
  const o = v as { richText?: { text?: string }[]; result?: unknown; text?: unknown; error?: unknown; formula?: unknown; sharedFormula?: unknown }
  if (Array.isArray(o.richText)) return o.richText.map((r) => r.text ?? '').join('')
  if ('formula' in o || 'sharedFormula' in o) return cellValue(o.result)
  if ('text' in o) return cellValue(o.text)
  return null
}

async function readXlsx(path: string, limits: Limits): Promise<Sheet> {
  const head = Buffer.alloc(4)
  const fd = await fs.promises.open(path, 'r')
  try {
    await fd.read(head, 0, 4, 0)
  } finally {
    await fd.close()
  }
  if (head.readUInt32LE(0) !== 0x04034b50) throw errors.unparsableFile()
  const unpacked = await declaredUnzippedSize(path)
  if (unpacked === null) throw errors.unparsableFile()
  if (unpacked > limits.maxUnpackedBytes) throw errors.tooLarge('unpacked file', `${limits.maxUnpackedBytes} bytes`)
  const rows: unknown[][] = []
  try {
    const reader = new ExcelJS.stream.xlsx.WorkbookReader(path, { sharedStrings: 'cache', styles: 'cache', hyperlinks: 'ignore', worksheets: 'emit', entries: 'ignore' })
    for await (const sheet of reader) {
      // the first sheet only
      for await (const row of sheet as AsyncIterable<{ values: unknown[] }>) {
        rows.push((Array.isArray(row.values) ? row.values.slice(1) : []).map(cellValue))
        if (rows.length > limits.maxRows + 1) throw tooManyRows(limits.maxRows)
      }
      break
    }
  } catch (e) {
    if (e instanceof ApiError) throw e
    throw errors.unparsableFile()
  }
  const [header, ...rest] = rows
  return { header: header ?? [], rows: rest }
}

/** the file's header and rows; 400/81 when it cannot be read, 400/25 past the limits, 400/82 when empty */
export async function readSheet(format: ImportFormat, path: string, limits: Limits): Promise<Sheet> {
  if ((await fs.promises.stat(path)).size === 0) throw errors.emptyFile()
  return format === 'csv' ? readCsv(path, limits) : readXlsx(path, limits)
}

// ── from rows to items ──────────────────────────────────────────────────────────────────

type Field = keyof ParsedItem

/** the column names each field is read from (case, spaces and underscores ignored) */
export const COLUMN_NAMES: Record<Field, string[]> = {
  title: ['title', 'name', 'subject', 'task'],
  message: ['description', 'notes', 'message'],
  start_date: ['start', 'start date'],
  end_date: ['end', 'due', 'end date', 'due date'],
  priority: ['priority'],
  time_est: ['time estimate', 'estimate', 'time est'],
  time_spent: ['time spent'],
  tags: ['tags', 'tag'],
}

const headerKey = (v: unknown) => String(cellValue(v) ?? '').replace(/^\uFEFF/, '').trim().toLowerCase().replace(/[\s_]+/g, ' ')

/** field → column index (the first matching column); 400/81 without a title column */
export function columnsOf(header: unknown[]): Partial<Record<Field, number>> {
  const keys = header.map(headerKey)
  const out: Partial<Record<Field, number>> = {}
  for (const [field, names] of Object.entries(COLUMN_NAMES) as [Field, string[]][]) {
    const i = keys.findIndex((k) => names.includes(k))
    if (i >= 0) out[field] = i
  }
  if (out.title === undefined) throw errors.unparsableFile()
  return out
}

const textOf = (v: unknown): string | null => {
  if (v === null || v === undefined) return null
  if (v instanceof Date) return v.toISOString()
  // eslint-disable-next-line no-control-regex
  const s = String(v).replace(/\u0000/g, '')
  return s.trim() === '' ? null : s
}

/** Excel's day numbers count from 1899-12-30 */
const EXCEL_EPOCH_MS = Date.UTC(1899, 11, 30)

/**
 * A date cell: an XLSX date (the sheet's wall-clock time, read in `tz`), an Excel day number,
 * or text the API reads (ISO 8601, also with a space before the time); midnight or a bare day
 * is a day (`YYYY-MM-DD`). Anything else: null.
 */
export function dateOf(v: unknown, tz: string): string | null {
  let text: string | null = null
  if (v instanceof Date || typeof v === 'number') {
    const ms = v instanceof Date ? v.getTime() : EXCEL_EPOCH_MS + Math.round(v * 86_400_000)
    if (!Number.isFinite(ms)) return null
    const wall = new Date(ms).toISOString()
    text = wall.endsWith('T00:00:00.000Z') ? wall.slice(0, 10) : wall.slice(0, 23)
  } else if (typeof v === 'string') {
    text = v.trim().replace(/^(\d{4}-\d{2}-\d{2}) (\d)/, '$1T$2')
  }
  if (!text) return null
  const d = parseDate(text, tz)
  if (!d) return null
  return d.dateOnly ? formatDay(d.date, tz) : formatDate(d.date, tz)
}

const PRIORITY_WORDS: Record<string, number> = { low: 10000, normal: 20000, medium: 20000, high: 30000 }

export function priorityOf(v: unknown): number | null {
  if (v === null || v === undefined) return null
  const s = String(v).trim().toLowerCase()
  if (s in PRIORITY_WORDS) return PRIORITY_WORDS[s]!
  const n = typeof v === 'number' ? v : /^[+-]?\d+(\.\d+)?$/.test(s) ? Number(s) : NaN
  if (!Number.isFinite(n)) return null
  const r = Math.round(n)
  return r >= -2147483648 && r <= 2147483647 ? r : null
}

/** hours, 0 or more; a decimal comma is read too */
export function hoursOf(v: unknown): number | null {
  if (v === null || v === undefined) return null
  const n = typeof v === 'number' ? v : /^\s*\d+([.,]\d+)?\s*$/.test(String(v)) ? Number(String(v).trim().replace(',', '.')) : NaN
  return Number.isFinite(n) && n >= 0 ? n : null
}

export function tagsOf(v: unknown): string[] {
  const s = textOf(v)
  if (!s) return []
  const out: string[] = []
  for (const raw of s.split(',')) {
    const tag = raw.trim().slice(0, TAG_MAX)
    if (tag && !out.some((x) => x.toLowerCase() === tag.toLowerCase())) out.push(tag)
  }
  return out
}

/** the parsed items of a sheet; rows without a title are skipped; 400/82 when none is left */
export function itemsOf(sheet: Sheet, tz: string): ParsedItem[] {
  // no row under the header (or not even a header): nothing to import
  if (!sheet.rows.length) throw errors.emptyFile()
  const col = columnsOf(sheet.header)
  const cell = (row: unknown[], f: Field) => (col[f] === undefined ? null : (row[col[f]!] ?? null))
  const items: ParsedItem[] = []
  for (const row of sheet.rows) {
    const title = textOf(cell(row, 'title'))?.trim()
    if (!title) continue
    const message = textOf(cell(row, 'message'))
    items.push({
      title: title.slice(0, TITLE_MAX),
      message: message === null ? null : message.slice(0, MESSAGE_MAX),
      start_date: dateOf(cell(row, 'start_date'), tz),
      end_date: dateOf(cell(row, 'end_date'), tz),
      priority: priorityOf(cell(row, 'priority')),
      time_est: hoursOf(cell(row, 'time_est')),
      time_spent: hoursOf(cell(row, 'time_spent')),
      tags: tagsOf(cell(row, 'tags')),
    })
  }
  if (!items.length) throw errors.emptyFile()
  return items
}
