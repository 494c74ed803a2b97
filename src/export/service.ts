// GET /export/csv and /export/xlsx (contract §11, docs/calendar-and-export.md): the caller's
// visible items (non-archived unless includeArchived) with the columns the import reads,
// streamed. Items are read in keyset batches of EXPORT_BATCH_SIZE (each batch its own short
// statements, no transaction held open while a slow client downloads: an open transaction
// would hold every delta cursor back, docs/sync.md), and the next batch is read only when the
// client has taken the previous one, so memory stays at about one batch whatever the item count.
import { once } from 'node:events'
import { PassThrough, Readable } from 'node:stream'
import ExcelJS from 'exceljs'
import { stringify } from 'csv-stringify/sync'
import type { Deps } from '../deps.js'
import type { SessionUser } from '../users/sessions.js'
import { exportCells, headerRow, type ExportOptions } from './format.js'
import { CSV_TYPE, XLSX_TYPE } from './schemas.js'
import { userPrincipals } from '../items/permission-repository.js'
import { visibleItemIdsAfter } from '../items/visibility-repository.js'
import { tagNamesOfItems } from '../tags/repository.js'
import { exportRowsByIds, type ExportRow } from './repository.js'

export type ExportFormat = 'csv' | 'xlsx'
type Batch = { rows: ExportRow[]; tags: Map<number, string[]> }

/**
 * The visible items of `userId` in id order, one batch at a time (`datedOnly`: only items with
 * a date, for the calendar feed; `principals`: the user's, when the caller has them). Each
 * batch: the next visible ids (an index range per principal), their rows, their tags.
 */
export async function* visibleItemBatches(deps: Deps, userId: number, o: { archived: boolean; datedOnly?: boolean; principals?: string[] }): AsyncGenerator<Batch> {
  const size = deps.config.EXPORT_BATCH_SIZE
  const principals = o.principals ?? (await userPrincipals(deps.db, userId))
  let after = 0
  for (;;) {
    const { ids, next } = await visibleItemIdsAfter(deps.db, principals, after, size)
    const rows = await exportRowsByIds(deps.db, ids, { archived: o.archived, datedOnly: o.datedOnly })
    const tags = await tagNamesOfItems(
      deps.db,
      rows.map((r) => r.id),
    )
    if (rows.length) yield { rows, tags }
    if (next === null) return
    after = next
  }
}

/** the batches, the first one already read (so a failing database answers an error, not a cut download) */
async function startBatches(deps: Deps, user: SessionUser, o: ExportOptions): Promise<AsyncGenerator<Batch>> {
  const it = visibleItemBatches(deps, user.id, { archived: o.includeArchived })
  const first = await it.next()
  return (async function* () {
    if (first.done) return
    yield first.value
    yield* it
  })()
}

const CSV = { record_delimiter: '\r\n' } as const

function csvStream(batches: AsyncGenerator<Batch>, o: ExportOptions): Readable {
  async function* lines() {
    yield stringify([headerRow(o)], CSV)
    for await (const b of batches) yield stringify(b.rows.map((r) => exportCells(r, b.tags.get(r.id) ?? [], o)), CSV)
  }
  // pulls the next batch only when the response has taken the previous one
  return Readable.from(lines(), { objectMode: false })
}

function xlsxStream(deps: Deps, batches: AsyncGenerator<Batch>, o: ExportOptions): Readable {
  const out = new PassThrough()
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: false, useSharedStrings: false })
  const ws = wb.addWorksheet('Items')
  void (async () => {
    try {
      ws.addRow(headerRow(o)).commit()
      for await (const b of batches) {
        for (const r of b.rows) ws.addRow(exportCells(r, b.tags.get(r.id) ?? [], o)).commit()
        // the zip writer does not push back: read the next batch only once the compressed
        // output has been taken by the client
        await new Promise((r) => setImmediate(r))
        while (out.writableNeedDrain && !out.destroyed) await once(out, 'drain')
        if (out.destroyed) {
          await batches.return(undefined)
          return
        }
      }
      ws.commit()
      await wb.commit()
    } catch (e) {
      deps.log.error({ err: e }, 'export: writing the workbook failed')
      out.destroy(e as Error)
    }
  })()
  return out
}

export async function exportItems(deps: Deps, user: SessionUser, format: ExportFormat, o: Omit<ExportOptions, 'tz'>) {
  const options: ExportOptions = { ...o, tz: user.timeZone }
  const batches = await startBatches(deps, user, options)
  const day = new Date().toISOString().slice(0, 10)
  if (format === 'csv') {
    return { stream: csvStream(batches, options), contentType: `${CSV_TYPE}; charset=utf-8`, filename: `hitask-export-${day}.csv` }
  }
  return {
    stream: xlsxStream(deps, batches, options),
    contentType: XLSX_TYPE,
    filename: `hitask-export-${day}.xlsx`,
  }
}
