// Per-user preferences (contract §3.1): every documented key has a default; values are typed
// by key; unknown keys are kept as given. Stored as JSON text per key.
// Old format (/api/v1…v6): every value a string, arrays as JSON text. New format
// (unversioned): the three permission arrays as arrays, the rest strings.
import { z } from 'zod'
import type { Deps } from '../deps.js'
import type { Sql } from '../platform/db/pool.js'
import { errors } from '../platform/errors.js'
import { fail, jsonish } from '../platform/fields.js'
import { isValidTimeZone } from '../platform/dates.js'
import { preferenceOf, preferencesOf, upsertPreferences } from './preference-repository.js'

// Each key's type is a zod schema whose output is the stored value (JSON text); the schema of
// POST /user/preferences (`preferencesInput`) applies them and answers 102 for any failure.
type Spec = { value: z.ZodType<string>; def: string | unknown[] }

const LEVELS = new Set([0, 10, 20, 30, 40, 50, 60, 70, 80, 100])
/** parameters that are never preferences */
const RESERVED = new Set(['session_id', 'api_key', '_body'])
const MAX_KEY = 128
const MAX_VALUE = 10_000
const scalarText = (v: unknown) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v)
const asStored = (text: string) => JSON.stringify(text)

const boolValue = z.preprocess(
  scalarText,
  z.string().trim().toLowerCase().pipe(z.enum(['true', 'false', '1', '0'])).transform((v) => asStored(v === 'true' || v === '1' ? 'true' : 'false')),
)
const intValue = (check: (n: number) => boolean = () => true) =>
  z.preprocess(
    scalarText,
    z
      .string()
      .trim()
      .regex(/^-?\d{1,15}$/)
      .transform(Number)
      .refine(check)
      .transform((n) => asStored(String(n))),
  )
const stringValue = (check: (v: string) => boolean) => z.preprocess(scalarText, z.string().trim().refine(check).transform(asStored))
const levelValue = z.preprocess((v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v), z.number().refine((n) => LEVELS.has(n)))
const principalValue = z.union([z.number().int().positive(), z.string().regex(/^[A-Za-z0-9_-]{1,64}$/)])
/** [{principal, level}], as JSON or JSON text ('' clears the list) */
const permissionsValue = z.preprocess((v) => (typeof v === 'string' && !v.trim() ? [] : v), jsonish(z.array(z.object({ principal: principalValue, level: levelValue })).max(1000)).transform((list) =>
  JSON.stringify(list.map(({ principal, level }) => ({ principal, level }))),
))
/** a key the server does not know (client UI state): kept as given */
const unknownValue = z
  .unknown()
  .transform((v) => JSON.stringify(v ?? null))
  .refine((text) => text.length <= MAX_VALUE)

const b = (def: boolean): Spec => ({ value: boolValue, def: String(def) })
const i = (def: number, check?: (n: number) => boolean): Spec => ({ value: intValue(check), def: String(def) })
const s = (def: string, check: (v: string) => boolean = () => true): Spec => ({ value: stringValue(check), def })
const perms: Spec = { value: permissionsValue, def: [] }

export const PREFERENCES: Record<string, Spec> = {
  notify_app_item_deleted: b(true),
  notify_app_item_completed: b(true),
  ttstart: s('06:00', (v) => /^([01]\d|2[0-3]):[0-5]\d$/.test(v)),
  first_day_of_week: i(1, (n) => n >= 0 && n <= 6),
  comment_order: i(1, (n) => n === 0 || n === 1),
  notify_app: b(true),
  default_new_item_use_last: b(true),
  show_confirmation_complete: b(true),
  notify_app_item_tags: b(true),
  notify_web: b(true),
  default_sharing_permission_auto: perms,
  default_new_item_sharing_permission: perms,
  show_issue_sequence_id: b(false),
  notify_web_item_participant: b(true),
  desktopNotifyState: i(0, (n) => n >= 0),
  notify_email: b(true),
  time_zone: s('UTC', isValidTimeZone),
  language: s('en', (v) => /^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/.test(v)),
  default_sharing_permission_last: perms,
  notify_web_item_attachment: b(true),
  main_assign_user: i(0, (n) => n >= 0),
  notify_app_item_comment: b(true),
  notify_email_item_tags: b(true),
  enable_time_tracking: b(false),
  notify_app_item_participant: b(true),
  default_sharing_permission: i(50, (n) => LEVELS.has(n)),
  notify_email_item_modify: b(true),
  notify_web_item_completed: b(true),
  notify_web_item_priority: b(true),
  default_shared_1: b(false),
  notify_web_item_comment: b(true),
  default_shared_0: b(true),
  time_format: i(24, (n) => n === 12 || n === 24),
  notify_email_item_reminder: b(true),
  notify_email_item_priority: b(true),
  default_assign_user: i(0, (n) => n >= 0),
  sub_task_complete_affect_parent: b(false),
  notify_email_item_attachment: b(true),
  duplicate_with_files: b(false),
  notify_email_item_participant: b(true),
  daily_summary_email_6: b(true),
  daily_summary_email_7: b(true),
  daily_summary_email_4: b(true),
  daily_summary_email_5: b(true),
  daily_summary_email_2: b(true),
  daily_summary_email_3: b(true),
  daily_summary_email_1: b(true),
  bigCalendarMode: s('month', (v) => v.length <= 32),
  daily_summary_email_: b(true),
  override_parent_permission_with_last_used: b(false),
  notify_web_item_modify: b(true),
  notify_app_item_attachment: b(true),
  notify_email_item_comment: b(true),
  notify_web_item_tags: b(true),
  notify_email_item_completed: b(true),
  date_format: s('d-m-y', (v) => v.length <= 32),
  notify_email_item_deleted: b(true),
  taskfilter: i(0),
  notify_web_item_deleted: b(true),
  notify_app_item_priority: b(true),
  notify_app_item_assigned: b(true),
  notify_web_item_assigned: b(true),
  notify_email_item_assigned: b(true),
  default_shared: b(false),
  'item.action.combobutton.last-used': s('DELETE', (v) => v.length <= 64),
  notify_app_item_modify: b(true),
}

/**
 * The parameters of POST /user/preferences as [key, stored JSON text] pairs; any key or value
 * that does not fit its type → 102, so nothing of the request is stored.
 */
export const preferencesInput = z.record(z.string(), z.unknown()).transform((input, ctx) => {
  const pairs: Array<[string, string]> = []
  for (const [key, raw] of Object.entries(input)) {
    if (RESERVED.has(key)) continue
    const r = key.length > 0 && key.length <= MAX_KEY ? (PREFERENCES[key]?.value ?? unknownValue).safeParse(raw) : null
    if (!r?.success) {
      fail(ctx, errors.preferences())
      return z.NEVER
    }
    pairs.push([key, r.data])
  }
  return pairs
})

export type PreferenceFormat = 'old' | 'new'

function render(key: string, stored: string, format: PreferenceFormat): unknown {
  const v = JSON.parse(stored)
  if (format === 'old') return typeof v === 'string' ? v : JSON.stringify(v)
  return v
}

export async function getPreferences(deps: Deps, userId: number, format: PreferenceFormat) {
  const rows = await preferencesOf(deps.db, userId)
  const out: Record<string, unknown> = {}
  for (const [k, spec] of Object.entries(PREFERENCES)) out[k] = render(k, JSON.stringify(spec.def), format)
  for (const r of rows) out[r.key] = render(r.key, r.value, format)
  return out
}

/**
 * POST /user/preferences: stores the validated pairs (see preferencesInput) all or nothing,
 * and answers every preference as GET does.
 */
export async function setPreferences(deps: Deps, userId: number, pairs: Array<[string, string]>, format: PreferenceFormat) {
  await upsertPreferences(deps.db, userId, pairs)
  return getPreferences(deps, userId, format)
}

/** one preference of a user, its default when unset (read inside the caller's transaction when given one) */
export async function preferenceValue(db: Sql, userId: number, key: string): Promise<unknown> {
  const stored = await preferenceOf(db, userId, key)
  if (stored !== null) return JSON.parse(stored)
  const spec = PREFERENCES[key]
  return spec ? spec.def : undefined
}
