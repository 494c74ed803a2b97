// The caller's read mark on an item (contract §8.2 GET /item/read/{id}). Who gets marked
// unread by a change is decided where the change is written (UNREAD in
// user-state-repository.ts).
import type { Deps } from '../deps.js'
import type { SessionUser } from '../users/sessions.js'
import { Level, requireItem } from './access.js'
import { clearUnread } from './user-state-repository.js'

/** GET /item/read/{id}: clears the caller's unread (level 10) */
export async function markRead(deps: Deps, user: SessionUser, ref: unknown) {
  const item = await requireItem(deps.db, user, ref, Level.VIEW)
  await clearUnread(deps.db, item.id, user.id)
}
