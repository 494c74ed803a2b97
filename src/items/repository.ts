// Items rows and what hangs off them per item: the subtree, issue ids, the delta markers,
// each user's unread/starred state and alerts. SQL only (docs/architecture.md): the rules are
// in create.ts, update.ts, delete.ts, delta.ts and access.ts. Every function takes the
// executor first: deps.db for a read outside a transaction, else the transaction.
import crypto from 'node:crypto'
import type { Sql } from '../platform/db/pool.js'
import type { ItemsRow } from '../generated/db-rows.js'

/** the item columns every reader selects (alias i); their types come from the schema (src/generated/db-rows.ts) */
const ITEM_COLUMN_NAMES = [
  'id', 'guid', 'user_id', 'business_id', 'title', 'message', 'category', 'completed', 'color',
  'color_value', 'parent_id', 'short_name', 'issue_id', 'recurring', 'recurring_interval', 'recurring_end_date',
  'instances', 'start_date', 'end_date', 'due_date', 'is_all_day', 'time_create', 'time_last_update', 'version',
  'time_track', 'time_est', 'time_spent', 'priority', 'assignee_id', 'participants', 'location', 'contact',
  'last_comment_id', 'last_comment', 'last_comment_user_id', 'last_comment_at', 'publish_url',
  'last_transition_time', 'last_transition_user', 'archived',
] as const satisfies readonly (keyof ItemsRow)[]
const ITEM_COLUMNS = ITEM_COLUMN_NAMES.map((c) => `i.${c}`).join(', ')

/** an item as readers see it: its columns, the caller's effective level and the parent's guid */
export type ItemRow = Pick<ItemsRow, (typeof ITEM_COLUMN_NAMES)[number]> & {
  /** the caller's effective level */
  level: number
  parent_guid: string | null
}

/** an item named by id or by guid */
export type ItemRef = { id: number } | { guid: string }

const refWhere = (ref: ItemRef, param: string) => ('id' in ref ? `i.id = ${param}` : `i.guid = ${param}`)
const refValue = (ref: ItemRef) => ('id' in ref ? ref.id : ref.guid)

// ---- reads of rows with the caller's level ----

/** one item with the level of `principals` on it (0 when invisible); FOR UPDATE with `lock` */
export async function itemWithLevel(db: Sql, principals: string[], ref: ItemRef, lock = false): Promise<ItemRow | undefined> {
  const r = await db.query<ItemRow>(
    `SELECT ${ITEM_COLUMNS}, pi.guid AS parent_guid,
            COALESCE((SELECT max(level) FROM item_permissions p WHERE p.item_id = i.id AND p.principal = ANY($1::text[])), 0)::int AS level
       FROM items i LEFT JOIN items pi ON pi.id = i.parent_id
      WHERE ${refWhere(ref, '$2')}${lock ? ' FOR UPDATE OF i' : ''}`,
    [principals, refValue(ref)],
  )
  return r.rows[0]
}

/** the visible-items subquery for principals `param`: (item_id, level); `itemsParam` (bigint[])
 *  restricts it to those items, `range` ([low, high] bigint params) to item ids in that range:
 *  an index range per principal instead of all the caller's rows */
export const visibleSql = (param: string, itemsParam?: string, range?: [string, string]) =>
  `(SELECT item_id, max(level)::int AS level FROM item_permissions WHERE principal = ANY(${param}::text[])${itemsParam ? ` AND item_id = ANY(${itemsParam}::bigint[])` : ''}${range ? ` AND item_id BETWEEN ${range[0]}::bigint AND ${range[1]}::bigint` : ''} GROUP BY item_id)`

/** rows of the items visible to principals $1 that match `where` (alias i); `only`: the
 *  bigint[] param of the items wanted, `range`: the params of their lowest and highest id */
const visibleItemsSql = (o: { where: string; orderBy?: string; only?: string; range?: [string, string] }) =>
  `SELECT ${ITEM_COLUMNS}, pi.guid AS parent_guid, v.level
     FROM ${visibleSql('$1', o.only, o.range)} v JOIN items i ON i.id = v.item_id LEFT JOIN items pi ON pi.id = i.parent_id
    WHERE v.level > 0 AND ${o.where}${o.range ? ` AND i.id BETWEEN ${o.range[0]}::bigint AND ${o.range[1]}::bigint` : ''}
    ORDER BY ${o.orderBy ?? 'i.id'}`

/** the lowest and highest of the ids */
export function boundsOf(ids: readonly number[]): [number, number] {
  let lo = Infinity
  let hi = -Infinity
  for (const id of ids) {
    if (id < lo) lo = id
    if (id > hi) hi = id
  }
  return ids.length ? [lo, hi] : [0, 0]
}

/** every non-archived item `principals` see (GET /item) */
export async function visibleItems(db: Sql, principals: string[]): Promise<ItemRow[]> {
  return (await db.query<ItemRow>(visibleItemsSql({ where: 'NOT i.archived ' }), [principals])).rows
}

/** the non-archived items among `ids` that `principals` see */
export async function visibleItemsAmong(db: Sql, principals: string[], ids: number[]): Promise<ItemRow[]> {
  // the bounds let both the permission rows and the items be read as index ranges (a batch of
  // a long list is a run of neighbouring ids), not scanned whole for each batch
  return (await db.query<ItemRow>(visibleItemsSql({ where: 'NOT i.archived', only: '$2', range: ['$3', '$4'] }), [principals, ids, ...boundsOf(ids)])).rows
}

/** every archived item `principals` see, most recently archived first (GET /archive) */
export async function visibleArchivedItems(db: Sql, principals: string[]): Promise<ItemRow[]> {
  return (await db.query<ItemRow>(visibleItemsSql({ where: 'i.archived', orderBy: 'i.archived_at DESC, i.id' }), [principals])).rows
}

/** archived items (few) taken out of a visible set `v`, through the partial index items_archived_id_idx */
const NOT_ARCHIVED = 'NOT EXISTS (SELECT 1 FROM items a WHERE a.id = v.item_id AND a.archived)'

/**
 * The ids of the non-archived items `principals` see, ascending (GET /item reads them first,
 * then the rows batch by batch): an index-only read of item_permissions' covering index,
 * archived items taken out with an anti-join on the partial index. One row, one array.
 */
export async function visibleIds(db: Sql, principals: string[]): Promise<number[]> {
  const r = await db.query<{ ids: number[] }>(
    `SELECT COALESCE(array_agg(v.item_id ORDER BY v.item_id), '{}') AS ids FROM ${visibleSql('$1')} v WHERE v.level > 0 AND ${NOT_ARCHIVED}`,
    [principals],
  )
  return r.rows[0]!.ids
}

/** the ids of the archived items `principals` see, most recently archived first (GET /archive) */
export async function visibleArchivedIds(db: Sql, principals: string[]): Promise<number[]> {
  const r = await db.query<{ ids: number[] }>(
    `SELECT COALESCE(array_agg(i.id ORDER BY i.archived_at DESC, i.id), '{}') AS ids
       FROM ${visibleSql('$1')} v JOIN items i ON i.id = v.item_id AND i.archived WHERE v.level > 0`,
    [principals],
  )
  return r.rows[0]!.ids
}

/** the archived items among `ids` that `principals` see, in no particular order */
export async function visibleArchivedItemsAmong(db: Sql, principals: string[], ids: number[]): Promise<ItemRow[]> {
  return (await db.query<ItemRow>(visibleItemsSql({ where: 'i.archived', only: '$2', range: ['$3', '$4'] }), [principals, ids, ...boundsOf(ids)])).rows
}

/** `$2` cursor (ms), `$3` user: the item row, the user's state row or the user's visibility changed after it */
const CHANGED = `(i.changed_at > to_timestamp($2::float8 / 1000)
      OR EXISTS (SELECT 1 FROM item_user_state s WHERE s.item_id = i.id AND s.user_id = $3 AND s.changed_at > to_timestamp($2::float8 / 1000))
      OR (SELECT visibility_changed_at FROM users WHERE id = $3) > to_timestamp($2::float8 / 1000))`

/** the non-archived items `principals` see that changed for `userId` after `sinceMs` (GET /item/since) */
export async function visibleItemsChangedSince(db: Sql, principals: string[], sinceMs: number, userId: number): Promise<ItemRow[]> {
  return (await db.query<ItemRow>(visibleItemsSql({ where: `NOT i.archived AND ${CHANGED}` }), [principals, sinceMs, userId])).rows
}

/** the ids of the non-archived items `principals` see that changed for `userId` after `sinceMs`, ascending (GET /item/since) */
export async function visibleIdsChangedSince(db: Sql, principals: string[], sinceMs: number, userId: number): Promise<number[]> {
  const r = await db.query<{ ids: number[] }>(
    `SELECT COALESCE(array_agg(i.id ORDER BY i.id), '{}') AS ids
       FROM ${visibleSql('$1')} v JOIN items i ON i.id = v.item_id
      WHERE v.level > 0 AND NOT i.archived AND ${CHANGED}`,
    [principals, sinceMs, userId],
  )
  return r.rows[0]!.ids
}

/** the delta's read ($1 principals, $2 cursor ms, $3 user id): every visible id and whether it
 *  changed, as two sorted id arrays (one row: cheap to ship and parse). The changed set is small
 *  and found by the changed_at indexes; the visible set comes from the covering index of
 *  item_permissions, with archived items (few) taken out. */
export const DELTA_IDS_SQL = `WITH ch AS (SELECT id FROM items WHERE changed_at > to_timestamp($2::float8 / 1000)
                 UNION SELECT item_id FROM item_user_state WHERE user_id = $3 AND changed_at > to_timestamp($2::float8 / 1000))
     SELECT COALESCE(array_agg(v.item_id ORDER BY v.item_id), '{}') AS ids,
            COALESCE(array_agg(v.item_id ORDER BY v.item_id) FILTER (WHERE ch.id IS NOT NULL OR all_changed), '{}') AS changed
       FROM ${visibleSql('$1')} v LEFT JOIN ch ON ch.id = v.item_id
            CROSS JOIN (SELECT (SELECT visibility_changed_at FROM users WHERE id = $3) > to_timestamp($2::float8 / 1000) AS all_changed) vis
      WHERE v.level > 0 AND ${NOT_ARCHIVED}`

export async function deltaIds(db: Sql, principals: string[], sinceMs: number, userId: number): Promise<{ ids: number[]; changed: number[] }> {
  const r = await db.query<{ ids: number[]; changed: number[] }>(DELTA_IDS_SQL, [principals, sinceMs, userId])
  return r.rows[0]!
}

/** m (ms since epoch: the database clock, or the start of the oldest open client
 *  transaction if earlier) and the database clock; docs/sync.md */
export async function syncPoint(db: Sql): Promise<{ m: number; now: number }> {
  const r = await db.query<{ m: number; now: number }>(
    `SELECT (extract(epoch FROM LEAST(clock_timestamp(), COALESCE(
               (SELECT min(xact_start) FROM pg_stat_activity
                 WHERE datname = current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid()
                   AND backend_type = 'client backend'),
               clock_timestamp()))) * 1000)::float8 AS m,
            (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now`,
  )
  return r.rows[0]!
}

// ---- items rows: find, lock, write ----

export async function itemByGuid(db: Sql, guid: string): Promise<{ id: number; user_id: number } | undefined> {
  return (await db.query<{ id: number; user_id: number }>('SELECT id, user_id FROM items WHERE guid = $1', [guid])).rows[0]
}

/**
 * Row locks, in one statement and in id order, on everything a delete or an archive of these
 * trees writes: the roots, all their descendants, and the roots' parents (the touch trigger
 * updates a parent when a child goes or is archived). Two bulk writers on overlapping or
 * nested trees then never wait on each other in a cycle: without the parents and descendants,
 * archiving a child (child, then its parent) and deleting its parent (parent, then the child
 * by cascade) deadlocked. The roots still there (and not archived, with `skipArchived`).
 */
export async function lockTrees(db: Sql, rootIds: number[], o: { skipArchived: boolean }): Promise<number[]> {
  const r = await db.query<{ id: number; archived: boolean }>(
    `WITH RECURSIVE sub(id) AS (
       SELECT id FROM items WHERE id = ANY($1::bigint[])
       UNION SELECT i.id FROM items i JOIN sub ON i.parent_id = sub.id)
     SELECT id, archived FROM items
      WHERE id IN (SELECT id FROM sub UNION SELECT parent_id FROM items WHERE id = ANY($1::bigint[]))
      ORDER BY id FOR UPDATE`,
    [rootIds],
  )
  const roots = new Set(rootIds)
  return r.rows.filter((x) => roots.has(Number(x.id)) && !(o.skipArchived && x.archived)).map((x) => Number(x.id))
}

/** descendants of the given items (not the items themselves), with their owners, parents and depths (1: a child) */
export async function subtreeOf(db: Sql, rootIds: number[]): Promise<{ ids: number[]; owners: number[]; parents: number[]; depths: number[] }> {
  if (!rootIds.length) return { ids: [], owners: [], parents: [], depths: [] }
  const r = await db.query<{ id: number; user_id: number; parent_id: number; depth: number }>(
    `WITH RECURSIVE sub(id, user_id, parent_id, depth) AS (
       SELECT id, user_id, parent_id, 1 FROM items WHERE parent_id = ANY($1::bigint[])
       UNION SELECT i.id, i.user_id, i.parent_id, s.depth + 1 FROM items i JOIN sub s ON i.parent_id = s.id)
     SELECT id, user_id, parent_id, depth FROM sub`,
    [rootIds],
  )
  return { ids: r.rows.map((x) => x.id), owners: r.rows.map((x) => x.user_id), parents: r.rows.map((x) => Number(x.parent_id)), depths: r.rows.map((x) => x.depth) }
}

/** the columns a create writes (the rest take their defaults) */
export type NewItem = {
  guid: string
  user_id: number
  business_id: number | null
  title: string
  message: string | null
  category: number
  completed: boolean
  color: number
  color_value: string
  parent_id: number | null
  short_name: string | null
  short_name_key: string | null
  issue_id: string
  recurring: number
  recurring_interval: number
  recurring_end_date: Date | null
  /** JSON text */
  instances: string | null
  start_date: Date | null
  end_date: Date | null
  due_date: Date | null
  is_all_day: boolean
  time_track: boolean
  time_est: number
  time_spent: number
  priority: number
  assignee_id: number | null
  participants: number[]
  /** JSON text */
  location: string | null
  contact: string | null
}

const statementNames = new Map<string, string>()
/** a prepared statement's name for `text`: the same text, the same name */
function statementName(prefix: string, text: string): string {
  let name = statementNames.get(text)
  if (!name) statementNames.set(text, (name = `${prefix}_${crypto.createHash('sha1').update(text).digest('hex').slice(0, 16)}`))
  return name
}

/** what the create statement writes besides the row: the full permission list (sorted by
 *  principal), the history entry's author, the unread marks */
export type CreateWrites = {
  principals: string[]
  levels: number[]
  /** the creator (history author, left out of the unread marks) */
  actorId: number
  /** the parent, whose own people get a MODIFIED mark; null at top level */
  parentId: number | null
  unreadNew: number
  unreadModified: number
}

/** the item row as readers see it (its columns and the parent's guid; the level is the caller's) */
export type CreatedRow = Omit<ItemRow, 'level'> & { perm_principals: string[]; perm_levels: number[] }

/**
 * POST /item's writes in ONE statement (docs/performance.md "Creating items"): the issue number
 * (the project's \`<SHORT>-<n>\` at the root of the parent's tree, else the owner's sequence),
 * the items row, its permission rows, the 'created' history entry (author's display name, else
 * their id; the history trigger writes the outbox event) and the unread marks (the new item's
 * assignee and participants: NEW; the parent's owner, assignee and participants: MODIFIED;
 * never the creator). The counter row is locked by this statement, so held only until the
 * commit. Returns the row as written with its permission list sorted by principal.
 */
export async function insertCreatedItem(db: Sql, row: Omit<NewItem, 'issue_id'>, w: CreateWrites): Promise<CreatedRow> {
  const cols = Object.keys(row) as (keyof typeof row)[]
  const values: unknown[] = cols.map((c) => row[c])
  const param = (c: keyof typeof row) => `$${cols.indexOf(c) + 1}`
  const add = (v: unknown) => `$${values.push(v)}`
  const [principals, levels, actor, unreadNew] = [add(w.principals), add(w.levels), add(w.actorId), add(w.unreadNew)]
  const owner = `${param('user_id')}::bigint`
  // a top-level item (the usual case) gets a statement without the parent's parts: it is
  // planned on every call, and the recursive part costs planning time even when it finds nothing
  let parentParts = ''
  let issue = 'SELECT issue FROM seq'
  let seqWhere = ''
  let parentUnread = ''
  let parentGuid = 'NULL::text'
  if (w.parentId !== null) {
    const [parent, unreadModified] = [add(w.parentId), add(w.unreadModified)]
    parentParts = `up(id, parent_id, depth) AS (
       SELECT id, parent_id, 0 FROM items WHERE id = ${parent}::bigint
       UNION ALL SELECT i.id, i.parent_id, up.depth + 1 FROM items i JOIN up ON i.id = up.parent_id WHERE up.depth < 1000),
     root AS (SELECT id FROM up ORDER BY depth DESC LIMIT 1),
     proj AS (UPDATE items pr SET issue_counter = issue_counter + 1
                FROM root WHERE pr.id = root.id AND pr.category = 0 AND pr.short_name IS NOT NULL
              RETURNING pr.short_name || '-' || pr.issue_counter AS issue),`
    issue = 'SELECT issue FROM proj UNION ALL SELECT issue FROM seq LIMIT 1'
    seqWhere = ' AND NOT EXISTS (SELECT 1 FROM proj)'
    parentUnread = `
                UNION ALL
                SELECT DISTINCT pi.id, u, ${unreadModified}::int FROM items pi, unnest(array_append(array_append(pi.participants, pi.user_id), pi.assignee_id)) AS u
                 WHERE pi.id = ${parent}::bigint AND u IS NOT NULL AND u <> ${actor}::bigint`
    parentGuid = `(SELECT guid FROM items WHERE id = ${parent}::bigint)`
  }
  const text = `WITH RECURSIVE ${parentParts}
     seq AS (UPDATE users SET issue_seq = issue_seq + 1 WHERE id = ${owner}${seqWhere} RETURNING issue_seq::text AS issue),
     i AS (INSERT INTO items (${cols.join(', ')}, issue_id, last_transition_time, last_transition_user)
           SELECT ${cols.map(param).join(', ')}, (${issue}),
                  CASE WHEN ${param('completed')} THEN now() END, CASE WHEN ${param('completed')} THEN ${owner} END
           RETURNING ${ITEM_COLUMN_NAMES.join(', ')}),
     perms AS (INSERT INTO item_permissions (item_id, principal, level)
               SELECT i.id, x.p, x.l FROM i, unnest(${principals}::text[], ${levels}::int[]) AS x(p, l)
               RETURNING principal, level),
     hist AS (INSERT INTO item_history (item_id, user_id, user_name, property_name, property_type, value, comment_id)
              SELECT i.id, ${actor}::bigint,
                     COALESCE((SELECT COALESCE(NULLIF(btrim(first_name || ' ' || last_name), ''), login) FROM users WHERE id = ${actor}::bigint), ${actor}::text),
                     'created', 'VOID', NULL, NULL FROM i),
     unread AS (INSERT INTO item_user_state (item_id, user_id, unread)
                SELECT DISTINCT i.id, u, ${unreadNew}::int FROM i, unnest(array_append(array_append(i.participants, i.user_id), i.assignee_id)) AS u
                 WHERE u IS NOT NULL AND u <> ${actor}::bigint${parentUnread}
                ON CONFLICT (item_id, user_id) DO UPDATE SET unread = GREATEST(item_user_state.unread, EXCLUDED.unread)
                 WHERE item_user_state.unread < EXCLUDED.unread)
     SELECT ${ITEM_COLUMN_NAMES.map((c) => `i.${c}`).join(', ')}, ${parentGuid} AS parent_guid,
            (SELECT array_agg(principal ORDER BY principal) FROM perms) AS perm_principals,
            (SELECT array_agg(level ORDER BY principal) FROM perms) AS perm_levels
       FROM i`
  // a prepared statement: planning this one costs more than running it (~0.6 ms of the
  // backend's CPU per create, measured); one name per text (two variants, fixed column list)
  const r = await db.query<CreatedRow>(text, values, statementName('items_create', text))
  return r.rows[0]!
}

/** sets the columns (names from the caller's code, never from input), a new version and time_last_update */
export async function updateItemColumns(db: Sql, itemId: number, set: Map<string, unknown>) {
  const cols = [...set.keys()]
  const assignments = cols.map((c, n) => `${c} = $${n + 2}`)
  await db.query(`UPDATE items SET ${[...assignments, 'version = version + 1', 'time_last_update = now()'].join(', ')} WHERE id = $1`, [itemId, ...cols.map((c) => set.get(c))])
}

/** sets `completed` on those of the items that differ (new version, transition by `userId`) → their ids */
export async function setCompleted(db: Sql, itemIds: number[], completed: boolean, userId: number): Promise<number[]> {
  const r = await db.query<{ id: number }>(
    `UPDATE items SET completed = $2, version = version + 1, time_last_update = now(), last_transition_time = now(), last_transition_user = $3
      WHERE id = ANY($1::bigint[]) AND completed <> $2 RETURNING id`,
    [itemIds, completed, userId],
  )
  return r.rows.map((x) => x.id)
}

/** a new version for items whose related rows changed (the update trigger moves changed_at) */
export async function bumpVersions(db: Sql, itemIds: number[]) {
  await db.query('UPDATE items SET version = version + 1, time_last_update = now() WHERE id = ANY($1::bigint[])', [itemIds])
}

/**
 * Marks items as changed for the delta feed (a trigger sets changed_at = now()), e.g. after a
 * comment or a permission change that edits no column of the item row.
 */
export async function touchItems(db: Sql, itemIds: number[]) {
  if (!itemIds.length) return
  await db.query('UPDATE items SET changed_at = now() WHERE id = ANY($1::bigint[])', [itemIds])
}

/**
 * Marks that what these users can see changed without any item changing (group or team
 * membership): their next delta treats every visible item as changed.
 */
export async function touchVisibility(db: Sql, userIds: number[]) {
  if (!userIds.length) return
  await db.query('UPDATE users SET visibility_changed_at = now() WHERE id = ANY($1::bigint[])', [userIds])
}

/** the files rows (storage key, previews) of the items and all their descendants */
export async function filesUnder(db: Sql, itemIds: number[]): Promise<{ storage_key: string; previews: unknown }[]> {
  const r = await db.query<{ storage_key: string; previews: unknown }>(
    `WITH RECURSIVE sub(id) AS (SELECT id FROM items WHERE id = ANY($1::bigint[])
       UNION SELECT i.id FROM items i JOIN sub ON i.parent_id = sub.id)
     SELECT f.storage_key, f.previews FROM files f JOIN sub ON f.item_id = sub.id`,
    [itemIds],
  )
  return r.rows
}

/** deletes the items; their subtrees, comments, history, permissions and files rows go by cascade */
export async function deleteItems(db: Sql, itemIds: number[]) {
  await db.query('DELETE FROM items WHERE id = ANY($1::bigint[])', [itemIds])
}

/** the files trigger queued deleted rows' blobs in deleted_blobs: these keys are gone now */
export type FileFacts = { id: number; item_id: number; size: number; content_type: string; previews: unknown }

/** the files row facts an item answer shows, for a batch of items */
export async function fileFactsOf(db: Sql, itemIds: number[]): Promise<FileFacts[]> {
  return (await db.query<FileFacts>('SELECT id, item_id, size, content_type, previews FROM files WHERE item_id = ANY($1::bigint[])', [itemIds])).rows
}

/** which of the items have a non-archived sub-item that `principals` see (`children`, §8.1); one statement for the batch.
 *  Driven by the batch's ids (the LIMIT keeps it a probe of the parent_id index per id, stopping
 *  at the first visible child): the planner otherwise scans all items for a batch of 1,000 ids */
export async function parentsWithVisibleChildren(db: Sql, principals: string[], itemIds: number[]): Promise<Set<number>> {
  const r = await db.query<{ parent_id: number }>(
    `SELECT x.id AS parent_id FROM unnest($2::bigint[]) x(id)
      CROSS JOIN LATERAL (SELECT 1 FROM items c
                           WHERE c.parent_id = x.id AND NOT c.archived
                             AND EXISTS (SELECT 1 FROM item_permissions p WHERE p.item_id = c.id AND p.principal = ANY($1::text[]) AND p.level > 0)
                           LIMIT 1) k`,
    [principals, itemIds],
  )
  return new Set(r.rows.map((x) => x.parent_id))
}

/** the permission rows of a batch of items, by item and principal: an index probe per item (the
 *  OFFSET keeps the planner from turning it into a scan of the whole table, which it prefers for
 *  1,000 ids and which grows with the database) */
export async function permissionRowsOfBatch(db: Sql, itemIds: number[]): Promise<{ item_id: number; principal: string; level: number }[]> {
  const r = await db.query<{ item_id: number; principal: string; level: number }>(
    `SELECT p.item_id, p.principal, p.level FROM unnest($1::bigint[]) x(id)
      CROSS JOIN LATERAL (SELECT item_id, principal, level FROM item_permissions q WHERE q.item_id = x.id OFFSET 0) p
      ORDER BY p.item_id, p.principal`,
    [itemIds],
  )
  return r.rows
}

// ---- accounts, as items see them ----

/** which of the user ids exist */
export async function existingUsers(db: Sql, ids: number[]): Promise<Set<number>> {
  const r = await db.query<{ id: number }>('SELECT id FROM users WHERE id = ANY($1::bigint[])', [ids])
  return new Set(r.rows.map((x) => x.id))
}

/** the owners' account levels, their users rows locked in id order (item limit checks of one account run one after the other) */
export async function lockAccountLevels(db: Sql, ownerIds: number[]): Promise<{ id: number; account_level: number }[]> {
  return (await db.query<{ id: number; account_level: number }>('SELECT id, account_level FROM users WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE', [ownerIds])).rows
}

/** how many non-archived items each owner has */
export async function activeItemCounts(db: Sql, ownerIds: number[]): Promise<Map<number, number>> {
  const r = await db.query<{ user_id: number; n: number }>('SELECT user_id, count(*)::int AS n FROM items WHERE user_id = ANY($1::bigint[]) AND NOT archived GROUP BY user_id', [ownerIds])
  return new Map(r.rows.map((c) => [c.user_id, c.n]))
}
