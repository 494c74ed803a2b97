// The preferences notifications obey (contract §3.1, §12), read for many users at once with
// their documented defaults. Turning one off (the unsubscribe link) goes through the
// preferences module, so it is stored exactly as POST /user/preferences stores it.
import type { Deps } from '../deps.js'
import type { Sql } from '../platform/db/pool.js'
import { PREFERENCES, preferencesInput, setPreferences } from '../users/preferences.js'
import { findUserById } from '../users/repository.js'
import { storedPreferences } from './repository.js'

/** the kinds of change notification, as in notify_email_item_<kind> / notify_app_item_<kind> */
export const CHANGE_KINDS = ['comment', 'assigned', 'participant', 'completed', 'modify', 'priority', 'tags', 'attachment', 'deleted'] as const
export type ChangeKind = (typeof CHANGE_KINDS)[number]

export const emailKeyOf = (kind: ChangeKind | 'reminder') => `notify_email_item_${kind}`
export const appKeyOf = (kind: ChangeKind) => `notify_app_item_${kind}`
export const SUMMARY_KEYS = [1, 2, 3, 4, 5, 6, 7].map((d) => `daily_summary_email_${d}`)

function parsed(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const asBool = (v: unknown) => v === true || v === 'true' || v === '1'

export type PrefReader = {
  bool(userId: number, key: string): boolean
  timeZone(userId: number): string
}

/** the values of `keys` (and time_zone) for the users, defaults filled in */
export async function readPreferences(db: Sql, userIds: number[], keys: string[]): Promise<PrefReader> {
  const rows = await storedPreferences(db, [...new Set(userIds)], [...new Set([...keys, 'time_zone'])])
  const byUser = new Map<number, Map<string, unknown>>()
  for (const r of rows) {
    let m = byUser.get(r.user_id)
    if (!m) byUser.set(r.user_id, (m = new Map()))
    m.set(r.key, parsed(r.value))
  }
  const valueOf = (userId: number, key: string) => {
    const m = byUser.get(userId)
    return m && m.has(key) ? m.get(key) : PREFERENCES[key]?.def
  }
  return {
    bool: (userId, key) => asBool(valueOf(userId, key)),
    timeZone: (userId) => {
      const v = valueOf(userId, 'time_zone')
      return typeof v === 'string' && v ? v : 'UTC'
    },
  }
}

/** turns the preferences off (the one-click unsubscribe) */
export async function turnOff(deps: Deps, userId: number, keys: string[]) {
  const known = keys.filter((k) => k in PREFERENCES)
  if (!known.length) return
  // an account deleted since the email was sent: nothing left to turn off
  if (!(await findUserById(deps.db, userId))) return
  const pairs = preferencesInput.parse(Object.fromEntries(known.map((k) => [k, 'false'])))
  await setPreferences(deps, userId, pairs, 'new')
}
