// Operations on lists of items (contract §8.2 `/item/deletemultiple`, `/item/archivemultiple`):
// the items the caller may not touch, or cannot see, are skipped without an error; the rest
// change in one transaction.
import type { Deps } from '../deps.js'
import { inTransaction } from '../db/tx.js'
import { levelsOn } from './access.js'
import type { SessionUser } from './auth.js'
import { Level, principalsFor } from './permissions.js'
import { deleteItemTree, removeBlobs } from './items.js'
import { archiveTrees } from './archive.js'

/** `POST /item/deletemultiple`: level 100 on each (archived items too: emptying the archive) */
export async function deleteMultiple(deps: Deps, user: SessionUser, ids: number[]) {
  const keys = await inTransaction(deps.db.pool, async (client) => {
    const principals = await principalsFor(deps, user, client)
    const levels = await levelsOn(client, principals, ids)
    const allowed = ids.filter((id) => (levels.get(id) ?? 0) >= Level.ALL)
    if (!allowed.length) return []
    // row locks in id order: two bulk deletes never wait on each other in a cycle
    await client.query('SELECT id FROM items WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE', [allowed])
    return deleteItemTree(deps, client, allowed)
  })
  await removeBlobs(deps, keys)
}

/** `POST /item/archivemultiple`: level 80 on each; already archived ones are skipped */
export async function archiveMultiple(deps: Deps, user: SessionUser, ids: number[]) {
  await inTransaction(deps.db.pool, async (client) => {
    const principals = await principalsFor(deps, user, client)
    const levels = await levelsOn(client, principals, ids)
    const candidates = ids.filter((id) => (levels.get(id) ?? 0) >= Level.ARCHIVE)
    if (!candidates.length) return
    const r = await client.query<{ id: number }>(
      'SELECT id FROM items WHERE id = ANY($1::bigint[]) AND NOT archived ORDER BY id FOR UPDATE',
      [candidates],
    )
    await archiveTrees(client, user, r.rows.map((x) => x.id))
  })
}
