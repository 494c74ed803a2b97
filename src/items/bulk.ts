// Operations on lists of items (contract §8.2 `/item/deletemultiple`, `/item/archivemultiple`):
// the items the caller may not touch, or cannot see, are skipped without an error; the rest
// change in one transaction, set-based: one statement per step whatever the number of items
// (levels, the row locks, the outbox events, the files, the delete or the archive, the
// history), the locks taken first in one statement in id order (items/repository.ts
// lockTrees), so overlapping lists wait for each other briefly and never deadlock.
import type { Deps } from '../deps.js'
import type { SessionUser } from '../users/sessions.js'
import type { Sql } from '../platform/db/pool.js'
import { archiveTrees } from '../archive/service.js'
import { Level, levelsOn } from './access.js'
import { deleteItemTrees } from './delete.js'
import { lockTrees } from './repository.js'

/** the ids on which the caller has at least `level` */
async function allowed(tx: Sql, user: SessionUser, ids: number[], level: number) {
  const levels = await levelsOn(tx, user, ids)
  return ids.filter((id) => (levels.get(id) ?? 0) >= level)
}

/** `POST /item/deletemultiple`: level 100 on each (archived items too: emptying the archive) */
export async function deleteMultiple(deps: Deps, user: SessionUser, ids: number[]) {
  await deps.db.tx(async (tx) => {
    const mine = await allowed(tx, user, ids, Level.ALL)
    if (!mine.length) return
    await deleteItemTrees(deps, tx, await lockTrees(tx, mine, { skipArchived: false }), user.id)
  })
}

/** `POST /item/archivemultiple`: level 80 on each; already archived ones are skipped */
export async function archiveMultiple(deps: Deps, user: SessionUser, ids: number[]) {
  await deps.db.tx(async (tx) => {
    const candidates = await allowed(tx, user, ids, Level.ARCHIVE)
    if (!candidates.length) return
    await archiveTrees(tx, user, await lockTrees(tx, candidates, { skipArchived: true }))
  })
}
