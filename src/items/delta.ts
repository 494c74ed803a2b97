// Reading items for sync (contract §8.2 GET /item, /item/since, §8.4 delta) with a cursor
// that never loses an update (docs/sync.md has the argument).
//
// Every write sets items.changed_at / item_user_state.changed_at to now(), the START time
// of its transaction (trigger). Before the read, `syncPoint` takes
//   m = min(clock_timestamp(), oldest xact_start of any open client transaction in this database)
// (autovacuum and other background processes write no items, so they do not hold m back)
// and the read statement runs after it. A write the read does not see belongs to a
// transaction that was open at that moment or started later: its changed_at ≥ m. The
// returned cursor is below m (m − DELTA_MARGIN_MS − 1), so that write shows as changed in
// the next delta. Visibility is decided in SQL, one statement per list. The caller's groups
// are read after m too: a membership change they miss started at or after m, so its
// visibility_changed_at marks everything changed in the next delta.
import type { Deps } from '../deps.js'
import type { SessionUser } from '../users/sessions.js'
import { errors } from '../platform/errors.js'
import { callerPrincipals } from './access.js'
import { renderItems } from './render.js'
import { zoneTable } from '../platform/dates.js'
import { JsonText } from '../platform/json-text.js'
import { itemJsonOfBatch } from './json-repository.js'
import { deltaIds, syncPoint, visibleArchivedItemsAmong, visibleIds, visibleIdsChangedSince, visibleItemsAmong } from './repository.js'

export function cursorAfter(deps: Deps, m: number, input = 0): number {
  return Math.max(input, Math.floor(m) - deps.config.DELTA_MARGIN_MS - 1)
}

/** a cursor from the path: ms since epoch, not in the future; else 400/5 */
export function parseCursor(raw: unknown, now: number): number {
  const s = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : ''
  if (!/^\d{1,16}$/.test(s)) throw errors.invalidFormat('cursor')
  const c = Number(s)
  if (c > now + 1000) throw errors.invalidFormat('cursor')
  return c
}

/** items per batch of a streamed list: read, rendered and written together */
export const BATCH_SIZE = 1000

/** one item of a streamed list: its id and its JSON text */
type ItemText = { id: number; text: string }

/**
 * Reads the items of one batch of `ids` as JSON text, in the order of `ids`: one statement has
 * PostgreSQL write the items (json-repository.ts), and the few items that need the JavaScript
 * renderer (alerts, files, locations…) are rendered by renderItems in one short read-only
 * transaction. An item gone or no longer visible by the time its batch is read is left out,
 * as if the list had been read then. `archived`: the archived items among them (GET /archive).
 */
function batchTextLoader(deps: Deps, user: SessionUser, principals: string[], o: { archived?: boolean }) {
  const zone = zoneTable(user.timeZone)
  const rowsOf = o.archived ? visibleArchivedItemsAmong : visibleItemsAmong
  return async (chunk: number[]): Promise<ItemText[]> => {
    // a zone whose offsets cannot be tabled: every item is rendered in JavaScript
    const rows = zone.starts.length
      ? await itemJsonOfBatch(deps.db, { principals, ids: chunk, userId: user.id, zone, archived: o.archived })
      : chunk.map((id) => ({ id, json: null }))
    const text = new Map<number, string>()
    const forJs: number[] = []
    for (const r of rows) {
      if (r.json === null) forJs.push(r.id)
      else text.set(r.id, r.json)
    }
    if (forJs.length) {
      const views = await deps.db.tx(async (tx) => renderItems(deps, user, await rowsOf(tx, principals, forJs), { db: tx, principals }), { readOnly: true })
      for (const v of views) text.set(v.id, JSON.stringify(v))
    }
    const out: ItemText[] = []
    for (const id of chunk) {
      const t = text.get(id)
      if (t !== undefined) out.push({ id, text: t })
    }
    return out
  }
}

/**
 * The items among `ids` as the batches of a streamed list: each batch's texts are joined into
 * JsonText as soon as they are read, so the item strings die young; what waits to be written
 * is one copy of the batch's text (docs/performance.md).
 */
export function itemListBatches(deps: Deps, user: SessionUser, principals: string[], ids: readonly number[], o: { archived?: boolean } = {}): AsyncGenerator<JsonText> {
  const load = batchTextLoader(deps, user, principals, o)
  return ahead(ids, async (chunk) => JsonText.ofElements((await load(chunk)).map((x) => x.text)))
}

/** batches read ahead of the one being written */
const AHEAD = 1

/**
 * load(chunk) for each chunk of `ids`: while one batch is consumed, the next AHEAD are being
 * read, and no more (each holds a batch of text until it is written).
 */
async function* ahead<T>(ids: readonly number[], load: (chunk: number[]) => Promise<T>): AsyncGenerator<T> {
  let pos = 0
  const queue: Promise<T>[] = []
  /** starts reads until `n` are in the queue (or the ids are all read) */
  const fill = (n: number) => {
    while (queue.length < n && pos < ids.length) {
      const p = load(ids.slice(pos, pos + BATCH_SIZE))
      // a read ahead that fails while the batch before it is still being written must not be
      // an unhandled rejection (which ends the process): its error surfaces when it is awaited
      p.catch(() => {})
      queue.push(p)
      pos += BATCH_SIZE
    }
  }
  try {
    for (;;) {
      fill(1)
      const current = queue.shift()
      if (!current) break
      fill(AHEAD)
      yield await current
    }
  } finally {
    // the consumer went away (a client that disconnected): the reads already started finish
    // on their own and their results, or errors (handled since fill), are dropped
    queue.length = 0
  }
}

export type ItemStream = { cursor: number; batches: AsyncIterable<JsonText> }

/** GET /item: every non-archived item the caller can see, streamed in batches */
export async function readAll(deps: Deps, user: SessionUser): Promise<ItemStream> {
  const { m } = await syncPoint(deps.db)
  const principals = await callerPrincipals(deps.db, user)
  const ids = await visibleIds(deps.db, principals)
  return { batches: itemListBatches(deps, user, principals, ids), cursor: cursorAfter(deps, m) }
}

/** GET /item/since/{ms}: the visible items changed for the caller after `since` */
export async function readSince(deps: Deps, user: SessionUser, rawSince: unknown): Promise<ItemStream> {
  const { m, now } = await syncPoint(deps.db)
  const principals = await callerPrincipals(deps.db, user)
  const since = parseCursor(rawSince, now)
  const ids = await visibleIdsChangedSince(deps.db, principals, since, user.id)
  return { batches: itemListBatches(deps, user, principals, ids), cursor: cursorAfter(deps, m, since) }
}

/**
 * GET /item/delta/{cursor}: every visible item: changed ones in full (with "changed": true
 * after their fields), the others as {"id": N, "changed": false}. The stubs come from one
 * index-only read of the visible ids (two sorted id arrays: all, changed); only the changed
 * items are read and rendered, batch by batch.
 */
export async function readDelta(deps: Deps, user: SessionUser, rawCursor: unknown): Promise<ItemStream> {
  const { m, now } = await syncPoint(deps.db)
  const principals = await callerPrincipals(deps.db, user)
  const since = parseCursor(rawCursor, now)
  const { ids, changed } = await deltaIds(deps.db, principals, since, user.id)
  return { batches: deltaBatches(deps, user, principals, ids, changed), cursor: cursorAfter(deps, m, since) }
}

/** stubs per written batch of the delta (the changed items in it come in full) */
const DELTA_CHUNK = 4 * BATCH_SIZE

async function* deltaBatches(deps: Deps, user: SessionUser, principals: string[], ids: number[], changed: number[]): AsyncGenerator<JsonText> {
  const isChanged = new Set(changed)
  const load = batchTextLoader(deps, user, principals, {})
  // the changed items, rendered BATCH_SIZE at a time as the answer reaches them (both lists
  // are sorted): a few changes cost one read and render, whatever the account's size
  let loaded = new Map<number, string>()
  let loadedUpTo = -Infinity
  let next = 0
  const fullOf = async (id: number) => {
    if (id > loadedUpTo) {
      while (next < changed.length && changed[next]! < id) next++
      const slice = changed.slice(next, next + BATCH_SIZE)
      next += slice.length
      loadedUpTo = slice[slice.length - 1] ?? Infinity
      loaded = new Map()
      // a changed item deleted or hidden since the id read is left out, as deleted items are
      for (const x of await load(slice)) loaded.set(x.id, x.text)
    }
    return loaded.get(id)
  }
  for (let pos = 0; pos < ids.length; pos += DELTA_CHUNK) {
    const out: string[] = []
    for (const id of ids.slice(pos, pos + DELTA_CHUNK)) {
      if (!isChanged.has(id)) out.push(`{"id":${id},"changed":false}`)
      else {
        const text = await fullOf(id)
        // the item's fields, then "changed": true (what JSON.stringify({ ...view, changed: true }) writes)
        if (text !== undefined) out.push(text.slice(0, -1) + ',"changed":true}')
      }
    }
    yield JsonText.ofElements(out)
  }
}
