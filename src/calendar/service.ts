// The private calendar feed (contract §11, docs/calendar-and-export.md).
//
// Address: PUBLIC_URL/api/calendar/<token>.ics, token = HMAC-SHA256(server secret,
// "calendar:<user id>:<nonce>") in base64url (256 bits). Only sha256(token) and the random
// nonce are stored: a database leak gives no working address, and GET /user/calendar can show
// the same address again. Reset draws a new nonce; the old address then names nothing (404).
//
// Cost: a feed is rendered in batches (EXPORT_BATCH_SIZE rows) into one body whose sha256 is
// the ETag. Each instance remembers, per feed, the ETag it last served, the owner's principals
// and the live hub's mark taken before that render read anything; a poll with that ETag is
// answered 304 WITHOUT A QUERY as long as the instance's LISTEN connection has not dropped and
// no notification named one of the owner's principals since the mark: every change that can
// alter the feed is announced there (an item or its permissions, the owner's alerts and groups:
// docs/sync.md; the address and the owner's time zone: the "v" notifications). Otherwise the
// owner is read again and the feed rendered; an unchanged body still answers 304.
import crypto from 'node:crypto'
import { ICalCalendar } from 'ical-generator'
import type { Deps } from '../deps.js'
import type { SessionUser } from '../users/sessions.js'
import { errors } from '../platform/errors.js'
import { isValidTimeZone, storedTimeZone } from '../platform/dates.js'
import { randomToken, sha256 } from '../platform/secrets.js'
import { etagMatches } from '../platform/responses.js'
import { liveHub, type LiveMark } from '../live/hub.js'
import { visibleItemBatches } from '../export/service.js'
import { CALENDAR_END, calendarHead, feedContext, itemComponent } from './ics.js'
import { userPrincipals } from '../items/permission-repository.js'
import { alertsOf } from '../items/user-state-repository.js'
import { ensureFeed, feedOf, ownerOfToken, setFeed, type AlarmRow, type FeedOwner } from './repository.js'

function tokenFor(deps: Deps, userId: number, nonce: string): string {
  return crypto.createHmac('sha256', deps.urlSecret).update(`calendar:${userId}:${nonce}`).digest('base64url')
}

function urlOf(deps: Deps, token: string): string {
  return `${deps.config.PUBLIC_URL.replace(/\/+$/, '')}/api/calendar/${token}.ics`
}

/** GET /user/calendar: the caller's feed address, created on the first call */
export async function calendarAddress(deps: Deps, user: SessionUser): Promise<{ url: string }> {
  let feed = await feedOf(deps.db, user.id)
  if (!feed) {
    const nonce = randomToken(16)
    feed = await ensureFeed(deps.db, user.id, nonce, sha256(tokenFor(deps, user.id, nonce)))
  }
  const token = tokenFor(deps, user.id, feed.nonce)
  // the server secret changed since the address was made: the address shown is the one that works
  if (sha256(token) !== feed.token_hash) await setFeed(deps.db, user.id, feed.nonce, sha256(token))
  return { url: urlOf(deps, token) }
}

/** POST /user/calendar/reset: a new address; the old one answers 404 from now on */
export async function resetCalendarAddress(deps: Deps, user: SessionUser): Promise<{ url: string }> {
  const nonce = randomToken(16)
  const token = tokenFor(deps, user.id, nonce)
  await setFeed(deps.db, user.id, nonce, sha256(token))
  return { url: urlOf(deps, token) }
}

// ---- the feed

type Remembered = { etag: string; mark: LiveMark; principals: string[] }

class EtagCache {
  private map = new Map<string, Remembered>()
  constructor(private readonly max: number) {}
  get(key: string): Remembered | undefined {
    const v = this.map.get(key)
    if (v) {
      this.map.delete(key)
      this.map.set(key, v)
    }
    return v
  }
  set(key: string, v: Remembered) {
    if (this.max <= 0) return
    this.map.delete(key)
    this.map.set(key, v)
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string)
  }
}

const caches = new WeakMap<Deps, EtagCache>()
function cacheOf(deps: Deps): EtagCache {
  let c = caches.get(deps)
  if (!c) caches.set(deps, (c = new EtagCache(deps.config.CALENDAR_CACHE_ENTRIES)))
  return c
}

/** renders at a time per instance (each holds one feed's body); more wait their turn */
const RENDERS_AT_ONCE = 4
let rendering = 0
const waiting: (() => void)[] = []
async function renderSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (rendering >= RENDERS_AT_ONCE) await new Promise<void>((r) => waiting.push(r))
  else rendering++
  try {
    return await fn()
  } finally {
    const next = waiting.shift()
    if (next) next()
    else rendering--
  }
}

/** the owner's zone; one no longer known to the time-zone database: UTC */
function timeZoneOf(pref: string | null): string {
  const zone = storedTimeZone(pref)
  return isValidTimeZone(zone) ? zone : 'UTC'
}

async function render(deps: Deps, owner: FeedOwner, principals: string[], tz: string): Promise<Buffer> {
  const ctx = feedContext(tz)
  // the events' calendar: no zone of its own, so DTSTAMP and LAST-MODIFIED are UTC
  const cal = new ICalCalendar()
  const parts: string[] = [calendarHead(ctx, { name: 'Hitask', refreshSeconds: deps.config.CALENDAR_REFRESH_SECONDS })]
  for await (const b of visibleItemBatches(deps, owner.user_id, { archived: false, datedOnly: true, principals })) {
    const alerts = new Map<number, AlarmRow[]>()
    for (const a of await alertsOf(
      deps.db,
      owner.user_id,
      b.rows.map((r) => r.id),
    )) {
      const list = alerts.get(a.item_id)
      if (list) list.push(a)
      else alerts.set(a.item_id, [a])
    }
    for (const r of b.rows) {
      const c = itemComponent(r, alerts.get(r.id) ?? [], b.tags.get(r.id) ?? [], ctx, cal)
      if (c) parts.push(c)
    }
  }
  parts.push(CALENDAR_END)
  return Buffer.from(parts.join(''), 'utf8')
}

export type FeedAnswer = { status: 200; etag: string; body: Buffer } | { status: 304; etag: string }

/** GET /calendar/{token}.ics (no session): the feed, or 304 when `ifNoneMatch` names the current one; unknown → 404/1 */
export async function calendarFeed(deps: Deps, file: string, ifNoneMatch: string | undefined): Promise<FeedAnswer> {
  const m = /^([A-Za-z0-9_-]{20,128})\.ics$/.exec(file)
  if (!m) throw errors.notFound('Calendar')
  const key = sha256(m[1]!)
  const hub = liveHub(deps)
  const cache = cacheOf(deps)
  // the poll of a calendar program: nothing the feed depends on (its items, the owner's
  // groups, the address, the owner's zone) was announced since this instance served that ETag
  const known = cache.get(key)
  if (known && etagMatches(ifNoneMatch, known.etag) && !hub.changedSince(known.principals, known.mark)) {
    return { status: 304, etag: known.etag }
  }
  // taken before the first read: a change committed after it is either in what is read below
  // or announced after the mark (and then the next poll reads again)
  const mark = hub.mark()
  const owner = await ownerOfToken(deps.db, key)
  if (!owner) throw errors.notFound('Calendar')
  const tz = timeZoneOf(owner.time_zone)
  const principals = await userPrincipals(deps.db, owner.user_id)
  return renderSlot(async () => {
    const body = await render(deps, owner, principals, tz)
    const etag = `"${crypto.createHash('sha256').update(body).digest('base64url')}"`
    cache.set(key, { etag, mark, principals })
    if (etagMatches(ifNoneMatch, etag)) return { status: 304, etag }
    return { status: 200, etag, body }
  })
}
