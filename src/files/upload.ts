// `POST /file/upload` (contract §8.2, docs/files.md "Upload"): the file becomes a category-5
// item with a files row; its bytes and previews go to storage under a key the server makes.
//
// Three steps, so that no transaction waits on storage and nothing is left half-written:
//   1. a short transaction: a guid retry answers its item; the parent and the quota are
//      checked (no lock: failing early stores nothing); the intent to store the blob and its
//      previews is queued (deleted_blobs `upload:<key>`)
//   2. outside any transaction: previews made, blob and previews stored
//   3. one transaction on one connection: the quota counter locked and checked again, the
//      item created, the files row inserted (the trigger charges it), the intent cleared, the
//      parent's history written, the reply read
// Concurrent uploads charged to one counter take step 3 one at a time: in this process they
// wait for their turn without holding a connection (serial-queues.ts), across processes on
// the row lock; each waits as long as one such transaction lasts. On failure, or when a
// concurrent upload with the same guid won, the blobs still queued as intents are removed
// (blob-cleanup.ts); a crash leaves the intent, which the sweep removes.
import type { Deps } from '../deps.js'
import { errors } from '../platform/errors.js'
import type { Tx } from '../platform/db/pool.js'
import type { UploadedFile } from '../platform/uploads.js'
import type { SessionUser } from '../users/sessions.js'
import { Level, requireItem } from '../items/access.js'
import { createItem } from '../items/create.js'
import { renderItems } from '../items/render.js'
import type { ItemInput } from '../items/input.js'
import { recordHistory } from '../comments/history.js'
import { contentTypeOf, fileNameOf, newStorageKey } from './names.js'
import { makePreviews, previewKeysOf } from './previews.js'
import { checkQuota, type Payer } from './quota.js'
import { removeBlobs } from './blob-cleanup.js'
import { SerialQueues } from './serial-queues.js'
import { clearUploadIntent, insertFile, itemOwnerOfGuid, queueUploadIntent, type Preview } from './repository.js'

export const FILE_CATEGORY = 5

export const fileTooLarge = (max: number) => errors.tooLarge('file', `${max} bytes`, 413)

export type UploadInput = { parentId?: number; guid?: string }

/** step 3 of the uploads charged to one counter, one at a time (per database: tests run several apps) */
const turnsOf = new WeakMap<object, SerialQueues>()

function turns(deps: Deps): SerialQueues {
  let q = turnsOf.get(deps.db)
  if (!q) turnsOf.set(deps.db, (q = new SerialQueues()))
  return q
}

const counterKey = (payer: Payer) => (payer.businessId !== null ? `team:${payer.businessId}` : `user:${payer.ownerId}`)

/** `POST /file/upload` → the new file item (or, for a retried guid, the item it made) */
export async function uploadFile(deps: Deps, user: SessionUser, files: UploadedFile[], input: UploadInput) {
  const file = files.find((f) => f.field === 'file') ?? files[0]
  if (!file) throw errors.mandatory('file')
  if (file.size > deps.config.FILE_MAX_BYTES) throw fileTooLarge(deps.config.FILE_MAX_BYTES)
  const key = newStorageKey()
  const upload: Upload = {
    file,
    input,
    key,
    planned: [key, ...previewKeysOf(key)],
    name: fileNameOf(file.filename),
    contentType: contentTypeOf(file.mimetype),
    // charged to the uploader's team, or to the uploader without one
    payer: { ownerId: user.id, businessId: user.businessId },
  }

  // 1. (see the top of this file)
  const retried = await deps.db.tx(async (tx) => {
    const earlier = input.guid ? await earlierUpload(tx, user, input.guid) : undefined
    if (earlier !== undefined) return replyOf(deps, user, tx, earlier)
    if (input.parentId !== undefined) await requireItem(tx, user, input.parentId, Level.ADD)
    await checkQuota(deps, tx, upload.payer, file.size, { lock: false })
    await queueUploadIntent(tx, upload.planned)
    return null
  })
  if (retried) return retried

  try {
    // 2.
    const previews = await makePreviews(deps, key, file.tmpPath)
    await deps.storage.putFile(key, file.tmpPath, upload.contentType)
    // 3. a turn waits at most as long as a statement may wait on the lock: then it waits there
    const maxTurnWaitMs = deps.config.DB_STATEMENT_TIMEOUT_MS
    return await turns(deps).run(counterKey(upload.payer), maxTurnWaitMs, () => deps.db.tx((tx) => commitUpload(deps, user, tx, upload, previews)))
  } catch (e) {
    // nothing committed (or, in doubt, the intent is gone and the blobs are kept)
    await removeBlobs(deps, upload.planned)
    throw e
  }
}

type Upload = { file: UploadedFile; input: UploadInput; key: string; planned: string[]; name: string; contentType: string; payer: Payer }

/** step 3: the stored upload becomes a file item; answers it as the caller sees it */
async function commitUpload(deps: Deps, user: SessionUser, tx: Tx, u: Upload, previews: Preview[] | null) {
  // first: from here to the commit, uploads charged to the same counter wait
  await checkQuota(deps, tx, u.payer, u.file.size, { lock: true })
  const itemInput = { title: u.name, category: FILE_CATEGORY, guid: u.input.guid, parent_id: u.input.parentId } as ItemInput
  const item = await createItem(deps, user, itemInput, tx)
  if (item.existing) {
    // a concurrent upload with the same guid won: answer its item, drop these bytes
    tx.afterCommit(() => removeBlobs(deps, u.planned))
    return replyOf(deps, user, tx, item.id)
  }
  const { ownerId, businessId } = u.payer
  await insertFile(tx, { item_id: item.id, storage_key: u.key, content_type: u.contentType, size: u.file.size, name: u.name, owner_id: ownerId, business_id: businessId, previews })
  await clearUploadIntent(tx, u.planned)
  if (u.input.parentId !== undefined) await recordHistory(tx, u.input.parentId, { id: user.id }, [{ property: 'file', type: 'STRING', value: u.name }])
  return replyOf(deps, user, tx, item.id)
}

/** the item an earlier upload with this guid made, when it is the caller's (a safe retry) */
async function earlierUpload(tx: Tx, user: SessionUser, guid: string): Promise<number | undefined> {
  const existing = await itemOwnerOfGuid(tx, guid)
  if (!existing) return undefined
  if (existing.user_id !== user.id) throw errors.invalidData('guid', 'it belongs to another item')
  return existing.id
}

/** the item as the caller sees it, read in the transaction */
async function replyOf(deps: Deps, user: SessionUser, tx: Tx, itemId: number) {
  const item = await requireItem(tx, user, itemId, Level.VIEW)
  return (await renderItems(deps, user, [item], { db: tx }))[0]!
}
