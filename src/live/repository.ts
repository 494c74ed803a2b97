// SQL of the live channel (contract §14, docs/sync.md "The live channel"). Every function
// takes the executor first (deps.db: the hub reads outside any transaction).
//
// Who a change reaches is the delta's visibility rule read backwards. The delta asks "which
// items can the principals of U see" (U's id as text plus U's group ids:
// items/permission-repository.ts userPrincipals). The NOTIFY triggers already give the
// principals on the changed items' permission lists, so the only SQL left here is "which of
// the connected users are members of these groups" (userPrincipals inverted, batched for all
// connected users). The sync point the hub checks its LISTEN connection with is the delta's
// own (items/repository.ts syncPoint).
import type { Sql } from '../platform/db/pool.js'

/** (group, user) pairs for the users among `userIds` who are members of one of `groupIds`; one query */
export async function groupMembersAmong(db: Sql, groupIds: string[], userIds: number[]): Promise<{ group_id: string; user_id: number }[]> {
  if (!groupIds.length || !userIds.length) return []
  const r = await db.query<{ group_id: string; user_id: number }>(
    'SELECT group_id, user_id FROM group_members WHERE group_id = ANY($1::text[]) AND user_id = ANY($2::bigint[])',
    [groupIds, userIds],
  )
  return r.rows.map((x) => ({ group_id: x.group_id, user_id: Number(x.user_id) }))
}

/** those of `hashes` that still name a session (sessions.id_hash); one query */
export async function existingSessions(db: Sql, hashes: string[]): Promise<Set<string>> {
  if (!hashes.length) return new Set()
  const r = await db.query<{ id_hash: string }>('SELECT id_hash FROM sessions WHERE id_hash = ANY($1::text[])', [hashes])
  return new Set(r.rows.map((x) => x.id_hash))
}
