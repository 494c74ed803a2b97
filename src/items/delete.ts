// Deleting items (contract §8.2 DELETE /item, docs/items.md): an item goes with its subtree;
// comments, history, permissions and files rows go by cascade (the files trigger keeps the
// quotas right and queues the blobs in deleted_blobs). The blobs themselves are deleted only
// once the transaction has committed (tx.afterCommit): a rolled-back delete keeps its files.
//
// Other modules call deleteItemTrees(deps, tx, itemIds) inside their own transaction; blobs are
// removed by the files domain (src/files/blob-cleanup.ts), which deletes only queued keys.
import type { Deps } from '../deps.js'
import type { SessionUser } from '../users/sessions.js'
import type { Tx } from '../platform/db/pool.js'
import { Level, requireItem } from './access.js'
import { deleteItems, filesUnder } from './repository.js'
import { removeBlobs } from '../files/blob-cleanup.js'
import { recordDeletion } from '../notifications/hooks.js'

/** DELETE /item/{id}: level 100 */
export async function deleteItem(deps: Deps, user: SessionUser, ref: unknown) {
  await deps.db.tx(async (tx) => {
    const item = await requireItem(tx, user, ref, Level.ALL, { lockTree: true })
    await deleteItemTrees(deps, tx, [item.id], user.id)
  })
}

/** Deletes the items with their subtrees in `tx`; their files' blobs are removed after it commits. */
export async function deleteItemTrees(deps: Deps, tx: Tx, itemIds: number[], actorId: number | null = null) {
  if (!itemIds.length) return
  // the deletion events (notifications, webhooks) commit with the deletion
  await recordDeletion(tx, itemIds, actorId)
  const files = await filesUnder(tx, itemIds)
  await deleteItems(tx, itemIds)
  const keys: string[] = []
  for (const f of files) {
    keys.push(f.storage_key)
    if (Array.isArray(f.previews)) for (const p of f.previews as { storage_key?: unknown }[]) if (typeof p?.storage_key === 'string') keys.push(p.storage_key)
  }
  if (keys.length) tx.afterCommit(() => removeBlobs(deps, keys))
}
