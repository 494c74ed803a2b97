// Per-user preferences (contract §3.1): every documented key has a default; values are typed
// by key; unknown keys are kept as given. Stored as JSON text per key.
// Old format (/api/v1…v6): every value a string, arrays as JSON text. New format
// (unversioned): the three permission arrays as arrays, the rest strings.
import type { Deps } from '../deps.js'
import { ApiError, Code } from '../http/errors.js'
import { isValidTimeZone } from '../lib/dates.js'

const NOT_VALID = () => new ApiError(Code.NOT_VALID_PREFERENCES, 'Not valid preferences')

type Kind = 'bool' | 'int' | 'string' | 'permissions'
type Spec = { kind: Kind; def: string | unknown[]; check?: (v: string) => boolean }

const LEVELS = new Set([0, 10, 20, 30, 40, 50, 60, 70, 80, 100])
const b = (def: boolean): Spec => ({ kind: 'bool', def: String(def) })
const i = (def: number, check?: (n: number) => boolean): Spec => ({ kind: 'int', def: String(def), check: check && ((v) => check(Number(v))) })
const s = (def: string, check?: (v: string) => boolean): Spec => ({ kind: 'string', def, check })
const perms: Spec = { kind: 'permissions', def: [] }

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

/** parameters that are never preferences */
const RESERVED = new Set(['session_id', 'api_key', '_body'])
const MAX_KEY = 128
const MAX_VALUE = 10_000

/** The canonical stored value (JSON text) of a key, or 102. */
function normalize(key: string, raw: unknown): string {
  const spec = PREFERENCES[key]
  if (!spec) {
    // unknown keys (UI state) are kept as given
    const text = JSON.stringify(raw ?? null)
    if (text.length > MAX_VALUE) throw NOT_VALID()
    return text
  }
  if (spec.kind === 'permissions') {
    let v = raw
    if (typeof v === 'string') {
      try {
        v = JSON.parse(v.trim() || '[]')
      } catch {
        throw NOT_VALID()
      }
    }
    if (!Array.isArray(v) || v.length > 1000) throw NOT_VALID()
    const list = v.map((e) => {
      if (!e || typeof e !== 'object') throw NOT_VALID()
      const { principal, level } = e as { principal?: unknown; level?: unknown }
      const lv = typeof level === 'string' && /^\d+$/.test(level) ? Number(level) : level
      if (typeof lv !== 'number' || !LEVELS.has(lv)) throw NOT_VALID()
      if (!(typeof principal === 'number' && Number.isInteger(principal) && principal > 0) && !(typeof principal === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(principal))) throw NOT_VALID()
      return { principal, level: lv }
    })
    return JSON.stringify(list)
  }
  let text: string
  if (typeof raw === 'string') text = raw.trim()
  else if (typeof raw === 'number' || typeof raw === 'boolean') text = String(raw)
  else throw NOT_VALID()
  if (spec.kind === 'bool') {
    const t = text.toLowerCase()
    if (t === 'true' || t === '1') text = 'true'
    else if (t === 'false' || t === '0') text = 'false'
    else throw NOT_VALID()
  } else if (spec.kind === 'int') {
    if (!/^-?\d{1,15}$/.test(text)) throw NOT_VALID()
    text = String(Number(text))
  }
  if (spec.check && !spec.check(text)) throw NOT_VALID()
  return JSON.stringify(text)
}

export type PreferenceFormat = 'old' | 'new'

function render(key: string, stored: string, format: PreferenceFormat): unknown {
  const v = JSON.parse(stored)
  if (format === 'old') return typeof v === 'string' ? v : JSON.stringify(v)
  return v
}

export async function getPreferences(deps: Deps, userId: number, format: PreferenceFormat) {
  const rows = await deps.db.prisma.userPreference.findMany({ where: { userId: BigInt(userId) } })
  const out: Record<string, unknown> = {}
  for (const [k, spec] of Object.entries(PREFERENCES)) out[k] = render(k, JSON.stringify(spec.def), format)
  for (const r of rows) out[r.key] = render(r.key, r.value, format)
  return out
}

/** Validates every pair first; stores all or nothing. */
export async function setPreferences(deps: Deps, userId: number, input: Record<string, unknown>) {
  const pairs: Array<[string, string]> = []
  for (const [k, v] of Object.entries(input)) {
    if (RESERVED.has(k)) continue
    if (!k || k.length > MAX_KEY) throw NOT_VALID()
    pairs.push([k, normalize(k, v)])
  }
  if (!pairs.length) return
  await deps.db.prisma.$transaction(
    pairs.map(([key, value]) =>
      deps.db.prisma.userPreference.upsert({
        where: { userId_key: { userId: BigInt(userId), key } },
        create: { userId: BigInt(userId), key, value },
        update: { value },
      }),
    ),
  )
}

/** the user's default_new_item_sharing_permission (used when creating items) */
export async function preferenceValue(deps: Deps, userId: number, key: string): Promise<unknown> {
  const row = await deps.db.prisma.userPreference.findUnique({ where: { userId_key: { userId: BigInt(userId), key } } })
  if (row) return JSON.parse(row.value)
  const spec = PREFERENCES[key]
  return spec ? spec.def : undefined
}
