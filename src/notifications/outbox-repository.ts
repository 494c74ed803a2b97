// SQL of the transactional outbox (outbox.ts, docs/notifications.md): claiming, deleting and
// setting aside events, the deletion events the deleting transaction writes, the items an
// event batch names, and the pruning of old set-aside events. No rules here.
import type { Sql } from '../platform/db/pool.js'
import { namesUser } from '../items/visibility-repository.js'

/**
 * What an outbox event carries (written as JSON by the triggers and recordDeletion): history
 * entries, or for a deletion the item's facts as they were; every field is optional.
 */
export type OutboxData = {
  entries?: unknown[]
  actorName?: string
  title?: string
  guid?: string
  category?: number
  parent?: number | null
  owner?: number
  assignee?: number | null
  participants?: (number | string)[]
  hasChildren?: boolean
  root?: boolean
  webhookViewers?: (number | string)[]
}

export type OutboxRow = { id: number; kind: 'history' | 'deleted' | 'alerts' | 'dates'; item_id: number; actor_id: number | null; data: OutboxData; attempts: number }

/** an outbox event to announce, with its item as it is now (null: deleted since) */
export type Announced = { ev: OutboxRow; item: EventItem | null }

export const OUTBOX_BATCH = 100
/** an event whose fan-out failed this often is set aside (counted in /metrics) */
export const OUTBOX_MAX_ATTEMPTS = 5

export async function claimOutbox(db: Sql, limit = OUTBOX_BATCH): Promise<OutboxRow[]> {
  const r = await db.query<OutboxRow>(
    `SELECT id, kind, item_id, actor_id, data, attempts FROM outbox_events
      WHERE attempts < $2 ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
    [limit, OUTBOX_MAX_ATTEMPTS],
  )
  return r.rows
}

export async function deleteOutbox(db: Sql, ids: number[]) {
  if (ids.length) await db.query('DELETE FROM outbox_events WHERE id = ANY($1::bigint[])', [ids])
}

export async function markOutboxFailed(db: Sql, id: number, error: string) {
  await db.query('UPDATE outbox_events SET attempts = attempts + 1, last_error = $2 WHERE id = $1', [id, error.slice(0, 2000)])
}

export async function outboxCounts(db: Sql): Promise<{ pending: number; failed: number }> {
  const r = await db.query<{ pending: number; failed: number }>(
    `SELECT count(*) FILTER (WHERE attempts < $1)::int AS pending, count(*) FILTER (WHERE attempts >= $1)::int AS failed FROM outbox_events`,
    [OUTBOX_MAX_ATTEMPTS],
  )
  return r.rows[0]!
}

/**
 * The deletion events of the items and their subtrees, written by the deleting transaction
 * before the rows go: what a notification needs (title, people) and, for webhooks, which
 * webhook owners could see each item.
 */
export async function insertDeletionEvents(db: Sql, rootIds: number[], actorId: number | null) {
  // The owners of active webhooks are read first (a handful of rows, usually none) and passed as
  // an array: a correlated subquery over `webhooks` inside the statement below gave it a cost
  // estimate in the millions on a table without statistics, past PostgreSQL's JIT threshold, and
  // each bulk deletion then spent 1-1.7 s compiling it while holding its row locks
  // (docs/reliability.md). With the array the estimate stays small whatever the statistics.
  const hooks = await db.query<{ user_id: number }>(`SELECT DISTINCT user_id FROM webhooks WHERE active`)
  const hookUsers = hooks.rows.map((r) => r.user_id)
  await db.query(
    `WITH RECURSIVE sub(id, root) AS (
       SELECT id, true FROM items WHERE id = ANY($1::bigint[])
       UNION ALL
       SELECT i.id, false FROM items i JOIN sub ON i.parent_id = sub.id WHERE NOT (i.id = ANY($1::bigint[]))
     )
     INSERT INTO outbox_events (kind, item_id, actor_id, data)
     SELECT 'deleted', i.id, $2::bigint, jsonb_build_object(
              'root', sub.root, 'guid', i.guid, 'title', i.title, 'category', i.category, 'owner', i.user_id,
              'assignee', i.assignee_id, 'participants', to_jsonb(i.participants), 'parent', i.parent_id,
              'completed', i.completed, 'priority', i.priority,
              'hasChildren', EXISTS (SELECT 1 FROM items c WHERE c.parent_id = i.id),
              'webhookViewers', CASE WHEN cardinality($3::bigint[]) = 0 THEN '[]'::jsonb ELSE COALESCE((
                SELECT jsonb_agg(w.user_id) FROM unnest($3::bigint[]) AS w(user_id)
                 WHERE EXISTS (
                   SELECT 1 FROM item_permissions p
                    WHERE p.item_id = i.id AND p.level >= 10
                      AND ${namesUser('p', 'w.user_id')})), '[]'::jsonb) END)
       FROM sub JOIN items i ON i.id = sub.id`,
    [rootIds, actorId, hookUsers],
  )
  await db.query(`SELECT pg_notify('hitask_outbox', '')`)
}

export type EventItem = {
  id: number
  guid: string
  title: string
  message: string | null
  category: number
  user_id: number
  assignee_id: number | null
  participants: number[]
  parent_id: number | null
  completed: boolean
  archived: boolean
  priority: number
  start_date: Date | null
  end_date: Date | null
  due_date: Date | null
  version: number
  time_last_update: Date
}

export async function itemsById(db: Sql, ids: number[]): Promise<Map<number, EventItem>> {
  if (!ids.length) return new Map()
  const r = await db.query<EventItem>(
    `SELECT id, guid, title, message, category, user_id, assignee_id, participants, parent_id, completed, archived, priority,
            start_date, end_date, due_date, version, time_last_update
       FROM items WHERE id = ANY($1::bigint[])`,
    [ids],
  )
  return new Map(r.rows.map((x) => [x.id, x]))
}

/** events set aside (attempts exhausted) more than `days` days ago are dropped */
export async function pruneFailedOutbox(db: Sql, days: number) {
  await db.query(`DELETE FROM outbox_events WHERE attempts >= $1 AND created_at < now() - $2 * interval '1 day'`, [OUTBOX_MAX_ATTEMPTS, days])
}
