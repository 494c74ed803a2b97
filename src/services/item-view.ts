// The item object of contract §8.1, for one caller. Rendering N items costs one batch of
// queries (permissions, tags, the caller's state, the caller's alerts, files), never a query
// per item.
//
// Exported for other modules (stable): renderItems(deps, user, rows, opts?) where rows are
// ItemRow (src/services/permissions.ts: items columns + the caller's `level` + `parent_guid`);
// renderItem(deps, user, idOrGuid, opts?): one item read for the caller (404/1 when invisible,
// unless opts.invisible: the answer to a write that removed the caller's own access).
import type { Deps } from '../deps.js'
import type { SessionUser } from './auth.js'
import type { Queryable } from './access.js'
import { getItemForUser, Level, type ItemRow } from './permissions.js'
import { formatDate } from '../lib/dates.js'
import { renderAlert, type AlertRow } from './alerts.js'
import { tagsOfItems } from './tags-on-items.js'

type StoredInstance = { status: number; start_date: string | null; start_date_time: string | null }

function renderInstances(item: ItemRow, tz: string) {
  const list = Array.isArray(item.instances) ? (item.instances as StoredInstance[]) : []
  if (!list.length) return null
  return list.map((x) => ({
    task_id: item.id,
    status: x.status,
    start_date: x.start_date,
    start_date_time: x.start_date_time ? formatDate(new Date(x.start_date_time), tz) : null,
  }))
}

type FileRow = { item_id: number; size: number; content_type: string; previews: unknown }

function renderPreviews(previews: unknown) {
  if (!Array.isArray(previews) || !previews.length) return null
  // storage keys stay inside the server
  return previews.map((p: Record<string, unknown>) => {
    const { storage_key: _k, ...rest } = p ?? {}
    return rest
  })
}

export async function renderItems(deps: Deps, user: SessionUser, rows: ItemRow[], opts: { db?: Queryable } = {}) {
  if (!rows.length) return []
  const db = opts.db ?? deps.db.pool
  const ids = rows.map((r) => r.id)
  const tz = user.timeZone
  const [perms, tags, states, alerts, files] = await Promise.all([
    db.query<{ item_id: number; principal: string; level: number }>(
      'SELECT item_id, principal, level FROM item_permissions WHERE item_id = ANY($1::bigint[]) ORDER BY item_id, principal',
      [ids],
    ),
    tagsOfItems(db, ids),
    db.query<{ item_id: number; starred: boolean; unread: number }>(
      'SELECT item_id, starred, unread FROM item_user_state WHERE user_id = $1 AND item_id = ANY($2::bigint[])',
      [user.id, ids],
    ),
    db.query<AlertRow>(
      `SELECT id, item_id, time_type, time, time_specified, repeat, repeat_interval, sound, alert, email, push
         FROM item_alerts WHERE user_id = $1 AND item_id = ANY($2::bigint[]) ORDER BY id`,
      [user.id, ids],
    ),
    db.query<FileRow>('SELECT item_id, size, content_type, previews FROM files WHERE item_id = ANY($1::bigint[])', [ids]),
  ])
  const permsBy = new Map<number, { principal: string; level: number }[]>()
  for (const p of perms.rows) {
    const l = permsBy.get(p.item_id)
    const g = { principal: p.principal, level: p.level }
    if (l) l.push(g)
    else permsBy.set(p.item_id, [g])
  }
  const stateBy = new Map(states.rows.map((s) => [s.item_id, s]))
  const alertsBy = new Map<number, AlertRow[]>()
  for (const a of alerts.rows) {
    const l = alertsBy.get(a.item_id)
    if (l) l.push(a)
    else alertsBy.set(a.item_id, [a])
  }
  const fileBy = new Map(files.rows.map((f) => [f.item_id, f]))
  return rows.map((i) => renderOne(i, tz, permsBy.get(i.id) ?? [], tags.get(i.id) ?? null, stateBy.get(i.id), alertsBy.get(i.id), fileBy.get(i.id)))
}

function renderOne(
  i: ItemRow,
  tz: string,
  permissions: { principal: string; level: number }[],
  tags: string[] | null,
  state: { starred: boolean; unread: number } | undefined,
  alerts: AlertRow[] | undefined,
  file: FileRow | undefined,
) {
  const owner = String(i.user_id)
  return {
    id: i.id,
    guid: i.guid,
    user_id: i.user_id,
    title: i.title,
    message: i.message,
    category: i.category,
    completed: i.completed,
    color: i.color,
    color_value: i.color_value,
    parent: i.parent_id ?? 0,
    parentGuid: i.parent_guid,
    short_name: i.short_name,
    issue_id: i.issue_id,
    recurring: i.recurring,
    recurring_interval: i.recurring_interval,
    recurring_end_date: formatDate(i.recurring_end_date, tz),
    instances: renderInstances(i, tz),
    start_date: formatDate(i.start_date, tz),
    end_date: formatDate(i.end_date, tz),
    due_date: formatDate(i.due_date, tz),
    is_all_day: i.is_all_day,
    time_create: formatDate(i.time_create, tz),
    time_last_update: formatDate(i.time_last_update, tz),
    version: i.version,
    shared: permissions.some((p) => p.principal !== owner),
    starred: state?.starred ?? false,
    time_track: i.time_track,
    time_est: i.time_est,
    time_spent: i.time_spent,
    priority: i.priority,
    assignee: i.assignee_id ?? 0,
    participants: i.participants.length ? i.participants : null,
    tags,
    location: i.location ?? null,
    alerts: alerts ? alerts.map((a) => renderAlert(a, i, tz)) : null,
    unread: state?.unread ? state.unread : null,
    permission: i.level,
    permissions,
    last_comment_id: i.last_comment_id,
    last_comment: i.last_comment,
    last_comment_user_id: i.last_comment_user_id,
    last_comment_create_datetime: formatDate(i.last_comment_at, tz),
    file_size: file ? file.size : null,
    previews: file ? renderPreviews(file.previews) : null,
    contact: i.contact,
    publish_url: i.publish_url,
    last_transition_time: formatDate(i.last_transition_time, tz),
    last_transition_user: i.last_transition_user,
  }
}

/** one item as the caller sees it now (the answer of a create, update, restore or upload) */
export async function renderItem(deps: Deps, user: SessionUser, idOrGuid: unknown, opts: { invisible?: boolean } = {}) {
  const { item } = await getItemForUser(deps, user, idOrGuid, opts.invisible ? Level.NONE : Level.VIEW, { invisible: opts.invisible })
  return (await renderItems(deps, user, [item]))[0]!
}
