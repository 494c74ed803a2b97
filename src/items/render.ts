// The item object of contract §8.1, for one caller. Rendering N items costs one batch of
// queries (permissions, tags, the caller's state, the caller's alerts, files, which have
// sub-items the caller sees), never a query per item.
//
// Exported for other modules (stable): renderItems(deps, user, rows, opts?) where rows are
// ItemRow (repository.ts: items columns + the caller's `level` + `parent_guid`);
// renderItem(deps, user, idOrGuid, opts?): one item read for the caller (404/1 when invisible,
// unless opts.invisible: the answer to a write that removed the caller's own access).
import type { Deps } from '../deps.js'
import type { SessionUser } from '../users/sessions.js'
import type { Sql } from '../platform/db/pool.js'
import { formatDate } from '../platform/dates.js'
import { tagNamesOfItems } from '../tags/repository.js'
import { signedPreviewUrl } from '../files/signed-urls.js'
import { callerPrincipals, Level, requireItem } from './access.js'
import { renderAlert } from './alerts.js'
import { fileFactsOf, parentsWithVisibleChildren, permissionRowsOfBatch, type FileFacts, type ItemRow } from './repository.js'
import { alertsOf, userStatesOf, type AlertRow } from './user-state-repository.js'
import type { ItemView } from './schemas.js'

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

/** `previews` (§8.1): null unless the file is a picture; each preview with its signed URL.
 *  Previews made before the SQUARE and PROPORTIONAL sizes (no `type`) are not listed. */
function renderPreviews(deps: Deps, file: FileFacts, now: number) {
  if (!Array.isArray(file.previews)) return null
  return (file.previews as { size?: unknown; type?: unknown }[])
    .filter((p) => typeof p?.type === 'string' && typeof p.size === 'number')
    .map((p) => ({ url: signedPreviewUrl(deps, file.item_id, file.id, p.type as string, p.size as number, now), size: p.size as number, type: p.type as string }))
}

export type { ItemView }

/**
 * Renders `rows` for the caller: one query per kind of extra for the whole batch.
 * `opts.db`: the executor (a transaction: its lookups then run one after the other, as
 * statements on one connection are serialized anyway); `opts.principals`: the caller's
 * principals when already read (a list rendered batch by batch reads them once).
 */
export async function renderItems(deps: Deps, user: SessionUser, rows: ItemRow[], opts: { db?: Sql; principals?: string[] } = {}): Promise<ItemView[]> {
  if (!rows.length) return []
  const db = opts.db ?? deps.db
  const ids = rows.map((r) => r.id)
  const tz = user.timeZone
  const principalsOf = async () => opts.principals ?? (await callerPrincipals(db, user))
  // `children`: which of these items have sub-items the caller sees (one query per batch)
  const lookups = [
    () => permissionRowsOfBatch(db, ids),
    () => tagNamesOfItems(db, ids),
    () => userStatesOf(db, user.id, ids),
    () => alertsOf(db, user.id, ids),
    () => fileFactsOf(db, ids),
    async () => parentsWithVisibleChildren(db, await principalsOf(), ids),
  ] as const
  type Results = [
    Awaited<ReturnType<(typeof lookups)[0]>>,
    Awaited<ReturnType<(typeof lookups)[1]>>,
    Awaited<ReturnType<(typeof lookups)[2]>>,
    Awaited<ReturnType<(typeof lookups)[3]>>,
    Awaited<ReturnType<(typeof lookups)[4]>>,
    Awaited<ReturnType<(typeof lookups)[5]>>,
  ]
  let results: Results
  if (opts.db && opts.db !== deps.db) {
    // one connection (a transaction): one statement after the other
    const out: unknown[] = []
    for (const f of lookups) out.push(await f())
    results = out as Results
  } else results = (await Promise.all(lookups.map((f) => f()))) as unknown as Results
  const [perms, tags, states, alerts, files, parents] = results
  const permsBy = new Map<number, { principal: string; level: number }[]>()
  for (const p of perms) {
    const l = permsBy.get(p.item_id)
    const g = { principal: p.principal, level: p.level }
    if (l) l.push(g)
    else permsBy.set(p.item_id, [g])
  }
  const stateBy = new Map(states.map((s) => [s.item_id, s]))
  const alertsBy = new Map<number, AlertRow[]>()
  for (const a of alerts) {
    const l = alertsBy.get(a.item_id)
    if (l) l.push(a)
    else alertsBy.set(a.item_id, [a])
  }
  const now = Date.now()
  const fileBy = new Map(files.map((f) => [f.item_id, { size: f.size, previews: renderPreviews(deps, f, now) }]))
  return rows.map((i) => renderOne(i, tz, permsBy.get(i.id) ?? [], tags.get(i.id) ?? null, stateBy.get(i.id), alertsBy.get(i.id), fileBy.get(i.id), parents.has(i.id)))
}

/** one item from its parts (exported for POST /item, which has them in hand: create.ts) */
export function renderOne(
  i: ItemRow,
  tz: string,
  permissions: { principal: string; level: number }[],
  tags: string[] | null,
  state: { starred: boolean; unread: number } | undefined,
  alerts: AlertRow[] | undefined,
  file: { size: number; previews: ReturnType<typeof renderPreviews> } | undefined,
  hasChildren: boolean,
): ItemView {
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
    location: (i.location ?? null) as Record<string, unknown> | null,
    alerts: alerts ? alerts.map((a) => renderAlert(a, i, tz)) : null,
    unread: state?.unread ? state.unread : null,
    permission: i.level,
    permissions,
    last_comment_id: i.last_comment_id,
    last_comment: i.last_comment,
    last_comment_user_id: i.last_comment_user_id,
    last_comment_create_datetime: formatDate(i.last_comment_at, tz),
    file_size: file ? file.size : null,
    previews: file ? file.previews : null,
    contact: i.contact,
    publish_url: i.publish_url,
    last_transition_time: formatDate(i.last_transition_time, tz),
    last_transition_user: i.last_transition_user,
    children: hasChildren ? true : null,
  }
}

/** one item as the caller sees it now (the answer of a create, update, restore or upload) */
export async function renderItem(deps: Deps, user: SessionUser, idOrGuid: unknown, opts: { invisible?: boolean } = {}) {
  const item = await requireItem(deps.db, user, idOrGuid, opts.invisible ? Level.NONE : Level.VIEW, { invisible: opts.invisible })
  return (await renderItems(deps, user, [item]))[0]!
}
