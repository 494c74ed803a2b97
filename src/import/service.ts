// Import (contract §11, docs/import.md): POST /import/upload reads a CSV or XLSX file into the
// list the web client's import screen shows (nothing is written); POST /import/ creates the
// reviewed list as the caller's tasks with the rules of POST /item, all or nothing.
import type { Deps } from '../deps.js'
import type { SessionUser } from '../users/sessions.js'
import type { UploadedFile } from '../platform/uploads.js'
import { errors } from '../platform/errors.js'
import { callerPrincipals } from '../items/access.js'
import { createItem } from '../items/create.js'
import { Category, type ItemInput } from '../items/input.js'
import { checkItemLimit } from '../items/limits.js'
import { renderItems, type ItemView } from '../items/render.js'
import { visibleItemsAmong } from '../items/repository.js'
import { formatOf, itemsOf, readSheet, type ParsedItem } from './parsers.js'
import type { ImportEntry } from './input.js'

const limitsOf = (deps: Deps) => ({ maxRows: deps.config.IMPORT_MAX_ROWS, maxUnpackedBytes: deps.config.IMPORT_MAX_UNPACKED_BYTES })

/** POST /import/upload: the file's rows as parsed items, dates in the caller's zone; nothing is created */
export async function parseUpload(deps: Deps, user: SessionUser, files: UploadedFile[]): Promise<ParsedItem[]> {
  const file = files.find((f) => f.field === 'file') ?? files[0]
  if (!file) throw errors.mandatory('file')
  const format = formatOf(file)
  return itemsOf(await readSheet(format, file.tmpPath, limitsOf(deps)), user.timeZone)
}

/**
 * POST /import/: the entries become tasks of the caller, in order, in one transaction: the
 * item limit for all of them is checked first (507/20), then each is created by the rules of
 * POST /item; any refusal creates none. → the created items.
 */
export async function importItems(deps: Deps, user: SessionUser, entries: ImportEntry[]): Promise<ItemView[]> {
  if (!entries.length) throw errors.emptyFile()
  return deps.db.tx(async (tx) => {
    await checkItemLimit(deps, tx, new Map([[user.id, entries.length]]))
    const ids: number[] = []
    for (const e of entries) {
      const input: ItemInput = {
        title: e.title,
        category: Category.TASK,
        ...(e.message != null ? { message: e.message } : {}),
        ...(e.start_date != null ? { start_date: e.start_date } : {}),
        ...(e.end_date != null ? { end_date: e.end_date } : {}),
        ...(e.priority != null ? { priority: e.priority } : {}),
        ...(e.time_est != null ? { time_est: e.time_est } : {}),
        ...(e.time_spent != null ? { time_spent: e.time_spent } : {}),
        ...(e.tags?.length ? { tags: e.tags } : {}),
      }
      ids.push((await createItem(deps, user, input, tx, { limitChecked: true })).id)
    }
    const rows = await visibleItemsAmong(tx, await callerPrincipals(tx, user), ids)
    const byId = new Map((await renderItems(deps, user, rows, { db: tx })).map((x) => [x.id, x]))
    return ids.map((id) => byId.get(id)!)
  })
}
