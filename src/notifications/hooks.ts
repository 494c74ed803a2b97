// The one hook other domains call: item deletion writes its outbox events in the deleting
// transaction (the other changes reach the outbox through triggers; see outbox.ts). Kept free
// of the workers' imports so that the items domain depends on nothing else here.
import type { Sql } from '../platform/db/pool.js'
import { insertDeletionEvents } from './outbox-repository.js'

/**
 * Call it in the deleting transaction, before the rows are deleted, with the roots being
 * deleted (their subtrees are included) and who deletes them (never notified).
 */
export async function recordDeletion(db: Sql, rootIds: number[], actorId: number | null) {
  if (rootIds.length) await insertDeletionEvents(db, rootIds, actorId)
}
