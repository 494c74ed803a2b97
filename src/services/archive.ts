// The archive (contract §8.2, docs/archive.md): archiving takes an item with its subtree out
// of GET /item and the delta feed (items.archived), restoring brings back exactly what that
// archiving took (the items sharing its archived_at), and restore-a-copy makes a deep copy
// with new ids and guids while the original stays archived.
import type pg from 'pg'
import type { Deps } from '../deps.js'
import { errors } from '../http/errors.js'
import { inTransaction } from '../db/tx.js'
import type { SessionUser } from './auth.js'
import { getItemForUser, Level, principalsFor, visibleItemsSql, type ItemRow } from './permissions.js'
import { historyUserName, recordHistory } from './history.js'
import { renderItem, renderItems } from './item-view.js'
import { checkItemLimit } from './item-limits.js'
import { insertFileCopies, prepareFileCopies, type PreparedCopy } from './files.js'
import { removeBlobs } from './items.js'

/**
 * Archives the given items (not yet archived) with their non-archived descendants, in the
 * caller's transaction; one `archived` history entry per given item.
 */
export async function archiveTrees(client: pg.PoolClient, user: SessionUser, rootIds: number[]) {
  if (!rootIds.length) return
  await client.query(
    `WITH RECURSIVE sub(id) AS (
       SELECT id FROM items WHERE id = ANY($1::bigint[]) AND NOT archived
       UNION SELECT i.id FROM items i JOIN sub ON i.parent_id = sub.id WHERE NOT i.archived)
     UPDATE items SET archived = true, archived_at = now() WHERE id IN (SELECT id FROM sub)`,
    [rootIds],
  )
  await recordHistory(client, rootIds, { id: user.id }, [{ property: 'archived', type: 'VOID' }])
}

/** `POST /item/archive`: level 80; 404/1 when already archived or invisible */
export async function archiveItem(deps: Deps, user: SessionUser, ref: unknown) {
  await inTransaction(deps.db.pool, async (client) => {
    const { item } = await getItemForUser(deps, user, ref, Level.ARCHIVE, { client, lock: true })
    await archiveTrees(client, user, [item.id])
  })
}

/** `GET /archive`: every archived item the caller can see, most recently archived first */
export async function listArchive(deps: Deps, user: SessionUser) {
  const principals = await principalsFor(deps, user)
  const r = await deps.db.pool.query<ItemRow>(visibleItemsSql({ where: 'i.archived', orderBy: 'i.archived_at DESC, i.id' }), [principals])
  return renderItems(deps, user, r.rows)
}

type Member = { id: number; user_id: number; parent_id: number | null; depth: number }

/**
 * The archived item (level 80) and what its archiving took with it: the descendants that
 * share its archived_at, parents before children. `parentActive`: whether the root's parent
 * is still there and not archived (else the restored item becomes top level).
 */
async function archivedTree(deps: Deps, client: pg.PoolClient, user: SessionUser, ref: unknown) {
  const { item } = await getItemForUser(deps, user, ref, Level.ARCHIVE, { client, lock: true, archived: true })
  if (!item.archived) throw errors.notFound('Archived item')
  const r = await client.query<Member>(
    `WITH RECURSIVE sub(id, user_id, parent_id, depth) AS (
       SELECT id, user_id, parent_id, 0 FROM items WHERE id = $1
       UNION ALL
       SELECT i.id, i.user_id, i.parent_id, s.depth + 1
         FROM items i JOIN sub s ON i.parent_id = s.id
        WHERE i.archived AND i.archived_at = (SELECT archived_at FROM items WHERE id = $1))
     SELECT id, user_id, parent_id, depth FROM sub ORDER BY depth, id`,
    [item.id],
  )
  let parentActive = false
  if (item.parent_id !== null) {
    const p = await client.query<{ archived: boolean }>('SELECT archived FROM items WHERE id = $1', [item.parent_id])
    parentActive = p.rows[0]?.archived === false
  }
  return { root: item, members: r.rows, parentActive }
}

function countByOwner(members: Member[]): Map<number, number> {
  const m = new Map<number, number>()
  for (const x of members) m.set(x.user_id, (m.get(x.user_id) ?? 0) + 1)
  return m
}

/** `GET /archive/restore` → the restored item; 507/20 over an owner's item limit */
export async function restoreItem(deps: Deps, user: SessionUser, ref: unknown) {
  const id = await inTransaction(deps.db.pool, async (client) => {
    const { root, members, parentActive } = await archivedTree(deps, client, user, ref)
    await checkItemLimit(deps, client, countByOwner(members))
    await client.query(
      `UPDATE items SET archived = false, archived_at = NULL,
              parent_id = CASE WHEN id = $2 AND NOT $3 THEN NULL ELSE parent_id END
        WHERE id = ANY($1::bigint[])`,
      [members.map((m) => m.id), root.id, parentActive],
    )
    await recordHistory(client, root.id, { id: user.id }, [{ property: 'restored', type: 'VOID' }])
    return root.id
  })
  return renderItem(deps, user, id)
}

// Columns a copy takes from its original; the rest are new (id, guid, times, version) or
// cleared (short_name: unique per team; issue_id, last_comment*: they belong to the original).
const COPIED = `user_id, business_id, title, message, category, completed, color, color_value, recurring, recurring_interval,
  recurring_end_date, instances, start_date, end_date, due_date, is_all_day, time_track, time_est, time_spent, priority,
  assignee_id, participants, location, contact, last_transition_time, last_transition_user`

/**
 * `GET /archive/restorecopy` → the copy of the root. A copy carries the fields, permissions,
 * tags and files (new blobs, charged to the quota) of its originals; not comments, history,
 * alerts or per-user state (docs/archive.md).
 */
export async function restoreCopy(deps: Deps, user: SessionUser, ref: unknown) {
  // blobs are copied before the transaction, so it stays short; unused copies are removed
  const prepared: PreparedCopy[] = await (async () => {
    const c = await deps.db.pool.connect()
    try {
      const { members } = await archivedTree(deps, c as pg.PoolClient, user, ref)
      return prepareFileCopies(deps, members.map((m) => m.id))
    } finally {
      c.release()
    }
  })()
  const stored = prepared.flatMap((p) => p.keys)
  let used: string[] = []
  try {
    const done = await inTransaction(deps.db.pool, async (client) => {
      const { root, members, parentActive } = await archivedTree(deps, client, user, ref)
      await checkItemLimit(deps, client, countByOwner(members))
      const ids = members.map((m) => m.id)
      // new ids first, so a copy's parent can point at its parent's copy in one statement
      const map = await client.query<{ o: number; n: number }>(
        `SELECT o, nextval(pg_get_serial_sequence('items', 'id')) AS n FROM unnest($1::bigint[]) WITH ORDINALITY AS x(o, k) ORDER BY k`,
        [ids],
      )
      const newOf = new Map(map.rows.map((r) => [r.o, r.n]))
      await client.query(
        `INSERT INTO items (id, guid, parent_id, archived, ${COPIED})
         SELECT m.n, gen_random_uuid()::text,
                CASE WHEN i.id = $3 THEN (CASE WHEN $4 THEN i.parent_id ELSE NULL END)
                     ELSE (SELECT m2.n FROM unnest($1::bigint[], $2::bigint[]) AS m2(o, n) WHERE m2.o = i.parent_id) END,
                false, ${COPIED.split(',').map((c) => 'i.' + c.trim()).join(', ')}
           FROM unnest($1::bigint[], $2::bigint[]) AS m(o, n) JOIN items i ON i.id = m.o`,
        [ids, ids.map((o) => newOf.get(o)), root.id, parentActive],
      )
      const pairs = [ids, ids.map((o) => newOf.get(o))]
      await client.query(
        `INSERT INTO item_permissions (item_id, principal, level)
         SELECT m.n, p.principal, p.level FROM unnest($1::bigint[], $2::bigint[]) AS m(o, n) JOIN item_permissions p ON p.item_id = m.o`,
        pairs,
      )
      await client.query(
        `INSERT INTO item_tags (item_id, tag_id)
         SELECT m.n, t.tag_id FROM unnest($1::bigint[], $2::bigint[]) AS m(o, n) JOIN item_tags t ON t.item_id = m.o`,
        pairs,
      )
      const inUse = await insertFileCopies(deps, client, prepared, newOf)
      const name = await historyUserName(client, user.id)
      await recordHistory(client, pairs[1] as number[], { id: user.id, name }, [{ property: 'created', type: 'VOID' }])
      const rootCopy = newOf.get(root.id)!
      await recordHistory(client, rootCopy, { id: user.id, name }, [{ property: 'restored', type: 'VOID' }])
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
