// The archive (contract §8.2, docs/archive.md): archiving takes an item with its subtree out
// of GET /item and the delta feed (items.archived), restoring brings back exactly what that
// archiving took (the items sharing its archived_at), and restore-a-copy makes a deep copy
// with new ids and guids while the original stays archived.
import type { Deps } from '../deps.js'
import type { SessionUser } from '../users/sessions.js'
import type { Sql, Tx } from '../platform/db/pool.js'
import { errors } from '../platform/errors.js'
import { historyUserName, recordHistory } from '../comments/history.js'
import { insertFileCopies, prepareFileCopies, type PreparedCopy } from '../files/service.js'
import { callerPrincipals, Level, requireItem } from '../items/access.js'
import { removeBlobs } from '../files/blob-cleanup.js'
import { checkItemLimit } from '../items/limits.js'
import { renderItem } from '../items/render.js'
import { itemListBatches } from '../items/delta.js'
import type { JsonText } from '../platform/json-text.js'
import { visibleArchivedIds } from '../items/repository.js'
import { archivedWith, archiveSubtrees, copyPermissionsAndTags, insertItemCopies, isActive, newItemIds, unarchive, type Member } from './repository.js'

/**
 * Archives the given items (not yet archived) with their non-archived descendants, in the
 * caller's transaction; one `archived` history entry per given item.
 */
export async function archiveTrees(tx: Sql, user: SessionUser, rootIds: number[]) {
  if (!rootIds.length) return
  await archiveSubtrees(tx, rootIds)
  await recordHistory(tx, rootIds, { id: user.id }, [{ property: 'archived', type: 'VOID' }])
}

/** `POST /item/archive`: level 80; 404/1 when already archived or invisible */
export async function archiveItem(deps: Deps, user: SessionUser, ref: unknown) {
  await deps.db.tx(async (tx) => {
    const item = await requireItem(tx, user, ref, Level.ARCHIVE, { lockTree: true })
    await archiveTrees(tx, user, [item.id])
  })
}

/**
 * `GET /archive`: every archived item the caller can see, most recently archived first, in
 * batches (the ids first, then the rows batch by batch, as GET /item)
 */
export async function listArchive(deps: Deps, user: SessionUser): Promise<AsyncIterable<JsonText>> {
  const principals = await callerPrincipals(deps.db, user)
  const ids = await visibleArchivedIds(deps.db, principals)
  return itemListBatches(deps, user, principals, ids, { archived: true })
}

/**
 * The archived item (level 80) and what its archiving took with it: the descendants that
 * share its archived_at, parents before children. `parentActive`: whether the root's parent
 * is still there and not archived (else the restored item becomes top level).
 */
async function archivedTree(tx: Tx, user: SessionUser, ref: unknown) {
  const root = await requireItem(tx, user, ref, Level.ARCHIVE, { lock: true, archived: true })
  if (!root.archived) throw errors.notFound('Archived item')
  const members = await archivedWith(tx, root.id)
  const parentActive = root.parent_id !== null && (await isActive(tx, root.parent_id))
  return { root, members, parentActive }
}

function countByOwner(members: Member[]): Map<number, number> {
  const m = new Map<number, number>()
  for (const x of members) m.set(x.user_id, (m.get(x.user_id) ?? 0) + 1)
  return m
}

/** `GET /archive/restore` → the restored item; 507/20 over an owner's item limit */
export async function restoreItem(deps: Deps, user: SessionUser, ref: unknown) {
  const id = await deps.db.tx(async (tx) => {
    const { root, members, parentActive } = await archivedTree(tx, user, ref)
    await checkItemLimit(deps, tx, countByOwner(members))
    await unarchive(tx, members.map((m) => m.id), root.id, parentActive)
    await recordHistory(tx, root.id, { id: user.id }, [{ property: 'restored', type: 'VOID' }])
    return root.id
  })
  return renderItem(deps, user, id)
}

/**
 * `GET /archive/restorecopy` → the copy of the root. A copy carries the fields, permissions,
 * tags and files (new blobs, charged to the quota) of its originals; not comments, history,
 * alerts or per-user state (docs/archive.md).
 */
export async function restoreCopy(deps: Deps, user: SessionUser, ref: unknown) {
  // blobs are copied before the transaction, so it stays short; unused copies are removed
  const { members: planned } = await deps.db.tx((tx) => archivedTree(tx, user, ref))
  const prepared: PreparedCopy[] = await prepareFileCopies(deps, planned.map((m) => m.id))
  const stored = prepared.flatMap((p) => p.keys)
  let used: string[] = []
  try {
    const done = await deps.db.tx(async (tx) => {
      const { root, members, parentActive } = await archivedTree(tx, user, ref)
      await checkItemLimit(deps, tx, countByOwner(members))
      const ids = members.map((m) => m.id)
      const newOf = await newItemIds(tx, ids)
      const copies = ids.map((o) => newOf.get(o)!)
      await insertItemCopies(tx, ids, copies, root.id, parentActive)
      await copyPermissionsAndTags(tx, ids, copies)
      const inUse = await insertFileCopies(deps, tx, prepared, newOf)
      const name = await historyUserName(tx, user.id)
      await recordHistory(tx, copies, { id: user.id, name }, [{ property: 'created', type: 'VOID' }])
      const rootCopy = newOf.get(root.id)!
      await recordHistory(tx, rootCopy, { id: user.id, name }, [{ property: 'restored', type: 'VOID' }])
      return { rootCopy, inUse }
    })
    // only now, committed, are the copied blobs in use
    used = done.inUse
    return await renderItem(deps, user, done.rootCopy)
  } finally {
    const unused = stored.filter((k) => !used.includes(k))
    if (unused.length) await removeBlobs(deps, unused)
  }
}
