// Previews of files stored before the SQUARE and PROPORTIONAL sizes of contract §8.1
// (`npm run cli -- previews rebuild`, docs/files.md "Previews"). Until it runs, those files
// list `previews: []`: their 64 and 256 px PNGs are kept and served to a session, but not
// listed. For each such file: the blob is read to a temporary file (outside any transaction),
// the new previews are made and stored (queued as intents first, as an upload's), then one
// short transaction swaps the files row's list if it is still the one read, queues the old
// previews for removal and marks the item changed for the delta feed (no new version: the
// item did not change, only how it is shown). Several runs at once, or a run beside a
// server, are safe: a row that changed meanwhile is left as it is and its new blobs removed.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Deps } from '../deps.js'
import { touchItems } from '../items/repository.js'
import { removeBlobs } from './blob-cleanup.js'
import { makePreviews, previewKeysOf } from './previews.js'
import { clearUploadIntent, filesWithOldPreviews, queueRemovedBlobs, queueUploadIntent, replacePreviews } from './repository.js'

export type RebuildResult = { rebuilt: number; failed: number }

/** rebuilds the previews of every file whose list predates the types; `log` reports progress */
export async function rebuildPreviews(deps: Deps, opts: { batch?: number; log?: (line: string) => void } = {}): Promise<RebuildResult> {
  const result: RebuildResult = { rebuilt: 0, failed: 0 }
  let after = 0
  for (;;) {
    const rows = await filesWithOldPreviews(deps.db, after, opts.batch ?? 50)
    if (!rows.length) return result
    for (const f of rows) {
      after = f.id
      try {
        if (await rebuildOne(deps, f)) result.rebuilt++
      } catch (e) {
        result.failed++
        deps.log.warn({ err: e, fileId: f.id }, 'could not rebuild the previews of a file')
      }
    }
    opts.log?.(`${result.rebuilt} rebuilt, ${result.failed} failed so far`)
  }
}

async function rebuildOne(deps: Deps, f: { id: number; item_id: number; storage_key: string; previews: unknown }): Promise<boolean> {
  const planned = previewKeysOf(f.storage_key)
  await queueUploadIntent(deps.db, planned)
  const tmpDir = path.resolve(deps.config.DATA_DIR, 'tmp')
  await fs.promises.mkdir(tmpDir, { recursive: true })
  const tmp = path.join(tmpDir, 'previews-' + crypto.randomBytes(12).toString('hex'))
  let swapped = false
  const old = (Array.isArray(f.previews) ? f.previews : []) as { storage_key?: unknown }[]
  const oldKeys = old.map((p) => p?.storage_key).filter((k): k is string => typeof k === 'string')
  try {
    await pipeline(await deps.storage.get(f.storage_key), fs.createWriteStream(tmp))
    const previews = await makePreviews(deps, f.storage_key, tmp)
    swapped = await deps.db.tx(async (tx) => {
      if (!(await replacePreviews(tx, f.id, f.previews, previews))) return false
      await queueRemovedBlobs(tx, oldKeys)
      await clearUploadIntent(tx, planned)
      if (f.item_id !== null) await touchItems(tx, [f.item_id])
      return true
    })
    return swapped
  } finally {
    await fs.promises.rm(tmp, { force: true })
    // the old previews once swapped; the new ones when not (both only while queued)
    await removeBlobs(deps, swapped ? oldKeys : planned)
  }
}
