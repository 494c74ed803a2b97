// Removing blobs nothing points at (docs/files.md "Blob removal"). A blob is deleted only
// while its key is queued in deleted_blobs: either its files row is gone (the trigger queued
// it) or it is an upload's or a copy's intent whose transaction never added the row. A blob
// whose row committed is therefore never deleted here, even after a failure whose commit is
// in doubt. Whatever a request could not remove stays queued for the sweep.
import fs from 'node:fs'
import path from 'node:path'
import type { Deps } from '../deps.js'
import { claimQueuedBlobs, dequeue, queuedAmong, type QueuedBlob } from './repository.js'

/** an intent younger than this may be an upload still running (on this instance or another) */
const INTENT_GRACE_MS = 60 * 60 * 1000
/** temporary files (multipart uploads, copies) older than this are left from a crash */
const TEMP_GRACE_MS = 60 * 60 * 1000
/** how often queued blobs are removed when no request did it already */
const SWEEP_EVERY_MS = 30_000

/** deletes the blobs; returns the queue rows of those that are gone */
async function deleteBlobs(deps: Deps, queued: QueuedBlob[]): Promise<string[]> {
  const done: string[] = []
  for (const q of queued) {
    try {
      await deps.storage.delete(q.blobKey)
      done.push(q.queueKey)
    } catch (e) {
      deps.log.warn({ err: e, key: q.blobKey }, 'could not delete a stored file; left for the sweep')
    }
  }
  return done
}

/**
 * Deletes those of `keys` (blobs and previews) that are queued, then their queue rows: the
 * blobs of deleted files, and unused uploads or copies. Call it after the transaction that
 * removed (or never added) their rows, outside any transaction; it never throws (what it
 * cannot do is left to the sweep).
 */
export async function removeBlobs(deps: Deps, keys: string[]): Promise<void> {
  if (!keys.length) return
  try {
    const queued = await queuedAmong(deps.db, keys)
    await dequeue(deps.db, await deleteBlobs(deps, queued))
  } catch (e) {
    deps.log.warn({ err: e }, 'could not remove blobs; left for the sweep')
  }
}

/**
 * Deletes every queued blob (a failed removal, a cascade from a user's removal, an upload
 * that died), then its queue row. Safe to run from several places and instances at once
 * (SKIP LOCKED); a blob that cannot be deleted stays queued for the next sweep.
 */
export async function sweepDeletedBlobs(deps: Deps, batch = 200): Promise<number> {
  let total = 0
  for (;;) {
    const n = await deps.db.tx(async (tx) => {
      const claimed = await claimQueuedBlobs(tx, batch, INTENT_GRACE_MS)
      const done = await deleteBlobs(deps, claimed)
      await dequeue(tx, done)
      return { selected: claimed.length, deleted: done.length }
    })
    total += n.deleted
    // a full batch, all deleted: there may be more; otherwise stop (failures wait for the next sweep)
    if (n.selected < batch || n.deleted < n.selected) return total
  }
}

/**
 * Removes temporary files (DATA_DIR/tmp: multipart uploads, blob copies) older than
 * TEMP_GRACE_MS: a request removes its own when it ends, so older ones were left by a process
 * that died. Run at start.
 */
export async function sweepStaleTempFiles(deps: Deps): Promise<number> {
  const dir = path.resolve(deps.config.DATA_DIR, 'tmp')
  let names: string[]
  try {
    names = await fs.promises.readdir(dir)
  } catch {
    return 0
  }
  let removed = 0
  for (const name of names) {
    const p = path.join(dir, name)
    try {
      const st = await fs.promises.stat(p)
      if (st.isFile() && Date.now() - st.mtimeMs > TEMP_GRACE_MS) {
        await fs.promises.rm(p, { force: true })
        removed++
      }
    } catch {
      /* gone meanwhile */
    }
  }
  return removed
}

/**
 * Starts the sweeps of this server: at once (blobs and temporary files a crashed process
 * left; not awaited, start is not delayed) and then queued blobs every SWEEP_EVERY_MS.
 * Returns the function that stops them.
 */
export function startSweeps(deps: Deps): () => void {
  const sweep = () => void sweepDeletedBlobs(deps).catch((e) => deps.log.warn({ err: e }, 'blob sweep failed'))
  sweep()
  void sweepStaleTempFiles(deps).catch((e) => deps.log.warn({ err: e }, 'temporary files sweep failed'))
  const timer = setInterval(sweep, SWEEP_EVERY_MS)
  timer.unref()
  return () => clearInterval(timer)
}
