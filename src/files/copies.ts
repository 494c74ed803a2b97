// Copies of files for restore-as-a-copy (src/archive/service.ts restoreCopy): the blobs are
// copied under new keys before the transaction that adds the copies' rows (copying may take
// long, a transaction should not); that transaction inserts the rows (insertFileCopies); the
// caller removes the copies it did not use with removeBlobs after it.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Deps } from '../deps.js'
import type { Sql } from '../platform/db/pool.js'
import { newStorageKey, previewKeyOf } from './names.js'
import { checkQuota } from './quota.js'
import { removeBlobs } from './blob-cleanup.js'
import { clearUploadIntent, filesOfItems, insertFile, queueUploadIntent, type Preview } from './repository.js'

export type PreparedCopy = {
  origItemId: number
  key: string
  /** every blob stored for this copy: the file and its previews */
  keys: string[]
  /** null: not a picture */
  previews: Preview[] | null
  content_type: string
  size: number
  name: string
  owner_id: number
  business_id: number | null
}

/**
 * Copies the blobs of the files of `itemIds` under new keys, each queued first as an intent
 * (a crash leaves nothing the sweep would not remove). Outside any transaction.
 */
export async function prepareFileCopies(deps: Deps, itemIds: number[]): Promise<PreparedCopy[]> {
  if (!itemIds.length) return []
  const originals = await filesOfItems(deps.db, itemIds)
  const plans = originals.map((f) => {
    const key = newStorageKey()
    return { f, key, previewKeys: (f.previews ?? []).map((p) => previewKeyOf(key, p.size, p.type)) }
  })
  const planned = plans.flatMap((p) => [p.key, ...p.previewKeys])
  if (!planned.length) return []
  await queueUploadIntent(deps.db, planned)
  const out: PreparedCopy[] = []
  try {
    for (const { f, key, previewKeys } of plans) {
      const copy: PreparedCopy = { origItemId: f.item_id, key, keys: [], previews: f.previews ? [] : null, content_type: f.content_type, size: f.size, name: f.name, owner_id: f.owner_id, business_id: f.business_id }
      await copyBlob(deps, f.storage_key, key, f.content_type)
      copy.keys.push(key)
      for (const [i, p] of (f.previews ?? []).entries()) {
        const pk = previewKeys[i]!
        await copyBlob(deps, p.storage_key, pk, p.content_type)
        copy.keys.push(pk)
        copy.previews!.push({ ...p, storage_key: pk })
      }
      out.push(copy)
    }
  } catch (e) {
    await removeBlobs(deps, planned)
    throw e
  }
  return out
}

/**
 * Adds the files rows of prepared copies whose item was copied (`newOf`: original item →
 * copy), each charged to the quota where its original is (507/20 past it). Inside the
 * caller's transaction; returns the keys now in use.
 */
export async function insertFileCopies(deps: Deps, tx: Sql, prepared: PreparedCopy[], newOf: Map<number, number>): Promise<string[]> {
  const used: string[] = []
  for (const c of prepared) {
    const itemId = newOf.get(c.origItemId)
    if (itemId === undefined) continue
    await checkQuota(deps, tx, { ownerId: c.owner_id, businessId: c.business_id }, c.size, { lock: true })
    await insertFile(tx, { item_id: itemId, storage_key: c.key, content_type: c.content_type, size: c.size, name: c.name, owner_id: c.owner_id, business_id: c.business_id, previews: c.previews })
    used.push(...c.keys)
  }
  if (used.length) await clearUploadIntent(tx, used)
  return used
}

/** copies a blob through a temporary file, never holding it in memory */
async function copyBlob(deps: Deps, from: string, to: string, contentType: string) {
  const tmpDir = path.resolve(deps.config.DATA_DIR, 'tmp')
  await fs.promises.mkdir(tmpDir, { recursive: true })
  const tmp = path.join(tmpDir, 'copy-' + crypto.randomBytes(12).toString('hex'))
  try {
    await pipeline(await deps.storage.get(from), fs.createWriteStream(tmp))
    await deps.storage.putFile(to, tmp, contentType)
  } finally {
    await fs.promises.rm(tmp, { force: true })
  }
}
