// The wire form of an item on create and update (contract §1, §8.1, §8.5), as one zod
// schema for POST and PUT. Dates stay text here: they are read in the caller's time zone by
// the service (src/platform/dates.ts). Every field is optional; "present" means "change it".
import { z } from 'zod'
import { bool, fail, int, jsonish, list, nullable, num, opt } from '../platform/fields.js'
import { errors } from '../platform/errors.js'
import { LEVELS } from './access.js'

export const CATEGORIES = [0, 1, 2, 4, 5, 6, 7] as const
export const Category = { PROJECT: 0, TASK: 1, EVENT: 2, NOTE: 4, FILE: 5, CLIENT: 6, CONTACT: 7 } as const
export const PROJECT_COLORS = ['#5e93c3', '#fc2f6a', '#fd9426', '#fecb2e', '#55ce2e', '#cb77df', '#a18460']
export const TITLE_MAX = 255
export const MESSAGE_MAX = 10000

const levelSet = new Set<number>(LEVELS)

/** an integer that fits the int4 columns (priority, alert times), else 400/5 */
const int32 = () => int().pipe(z.number().min(-2147483648, { error: 'format' }).max(2147483647, { error: 'format' }))

/** a level of the list (0…100), else 400/6 */
const level = () =>
  int().superRefine((v, ctx) => {
    if (!levelSet.has(v)) fail(ctx, errors.invalidData(`level ${v}`))
  })

/** a user id (number or numeric string) or a group id; normalised to its text form */
export const principal = () =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    const s = String(v).trim()
    if (/^\d{1,15}$/.test(s) && Number(s) > 0) return String(Number(s))
    if (/^[0-9a-fA-F-]{8,64}$/.test(s) && /[a-fA-F-]/.test(s)) return s.toLowerCase()
    fail(ctx, errors.invalidData(`principal ${s.slice(0, 64)}`))
    return z.NEVER
  })

export type Grant = { principal: string; level: number }

/** `[{principal, level}]` or the legacy map `{"<principal>": level}`, as JSON or JSON text */
const grantList = z.array(z.object({ principal: principal(), level: level() }))
const grantMap = z.record(z.string(), level()).transform((m, ctx) => {
  const out: Grant[] = []
  for (const [k, lv] of Object.entries(m)) {
    const r = principal().safeParse(k)
    if (!r.success) {
      fail(ctx, errors.invalidData(`principal ${k.slice(0, 64)}`))
      return z.NEVER
    }
    out.push({ principal: r.data, level: lv })
  }
  return out
})

/** `[{principal, level}]` or the legacy map `{"<principal>": level}`, as JSON or JSON text.
 *  The form is chosen first so an entry's own code (6 for a bad level or principal) survives. */
export const permissionsField = () =>
  jsonish(
    z.unknown().transform((v, ctx): Grant[] => {
      const r = Array.isArray(v) ? grantList.safeParse(v) : v && typeof v === 'object' ? grantMap.safeParse(v) : null
      if (r?.success) return r.data
      const issue = r?.error.issues[0] as { params?: { code?: number }; message?: string } | undefined
      if (issue?.params?.code !== undefined) fail(ctx, errors.withCode(issue.params.code, issue.message ?? 'permissions is not valid'))
      else fail(ctx, errors.invalidFormat('permissions'))
      return z.NEVER
    }),
  )

const alertEntry = z.object({
  id: opt(int()),
  timeType: int(),
  time: opt(int32()),
  timeSpecified: opt(z.string()),
  repeat: opt(int32()),
  repeatInterval: opt(int32()),
  sound: opt(bool()),
  alert: opt(bool()),
  email: opt(bool()),
  push: opt(bool()),
})
export type AlertInput = z.infer<typeof alertEntry>

const instanceEntry = z.object({
  task_id: opt(int()),
  status: opt(int().pipe(z.number().min(0).max(1))),
  start_date: opt(z.string()),
  start_date_time: opt(z.string()),
})
export type InstanceInput = z.infer<typeof instanceEntry>

/** a numeric id, 0 allowed (0 = none) */
const idOrZero = () => int().pipe(z.number().int().min(0, { error: 'format' }))

export const itemInput = z
  .object({
    id: opt(z.union([z.number(), z.string()]).transform(String)),
    guid: opt(z.string().max(64).regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, { error: 'format' })),
    title: opt(z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string().max(TITLE_MAX))),
    message: nullable(z.string().max(MESSAGE_MAX)),
    category: opt(
      int().superRefine((v, ctx) => {
        if (!(CATEGORIES as readonly number[]).includes(v)) fail(ctx, errors.invalidData(`category ${v}`))
      }),
    ),
    completed: opt(bool()),
    color: opt(
      int().superRefine((v, ctx) => {
        if (v < 0 || v > 7) fail(ctx, errors.invalidData(`color ${v}`))
      }),
    ),
    color_value: opt(
      z.string().transform((v, ctx) => {
        const c = v.trim().toLowerCase()
        if (!PROJECT_COLORS.includes(c)) fail(ctx, errors.invalidData(`color_value ${v.slice(0, 16)}`))
        return c
      }),
    ),
    parent: opt(idOrZero()),
    parent_id: opt(idOrZero()),
    parentGuid: nullable(z.string().max(64)),
    short_name: nullable(z.string().max(8).regex(/^[A-Za-z0-9]+$/, { error: 'format' })),
    recurring: opt(
      int().superRefine((v, ctx) => {
        if (v < 0 || v > 4) fail(ctx, errors.invalidData(`recurring ${v}`))
      }),
    ),
    recurring_interval: opt(
      int().superRefine((v, ctx) => {
        if (v < 1 || v > 999)
          fail(ctx, errors.recurringInterval(1, 999))
      }),
    ),
    recurring_end_date: nullable(z.string()),
    instances: opt(jsonish(z.array(instanceEntry).nullable())),
    instance_date_time: opt(z.string()),
    start_date: nullable(z.string()),
    end_date: nullable(z.string()),
    due_date: nullable(z.string()),
    is_all_day: opt(bool()),
    time_track: opt(bool()),
    time_est: opt(num().pipe(z.number().min(0, { error: 'format' }))),
    time_spent: opt(
      num().superRefine((v, ctx) => {
        if (v < 0) fail(ctx, errors.invalidData('time_spent', ': it must be 0 or more'))
      }),
    ),
    priority: opt(int32()),
    assignee: opt(idOrZero()),
    assigneeId: opt(idOrZero()),
    participants: z.preprocess((v) => (v === null ? [] : v), list(int().pipe(z.number().int().min(1, { error: 'format' }))).optional()),
    tags: z.preprocess((v) => (v === null ? [] : v), list(z.preprocess((x) => (typeof x === 'number' ? String(x) : x), z.string().trim().min(1).max(100))).optional()),
    location: opt(jsonish(z.record(z.string(), z.unknown()).nullable())),
    contact: nullable(z.union([z.string(), z.array(z.unknown())])),
    alerts: opt(jsonish(z.array(alertEntry).nullable())),
    permissions: opt(permissionsField()),
    starred: opt(bool()),
    version: opt(int()),
    cascade: opt(bool()),
    cascadeAcl: opt(bool()),
  })
  .passthrough()
  // PostgreSQL text cannot hold NUL: refuse it as a format error instead of failing on write
  .superRefine((o, ctx) => {
    for (const [k, v] of Object.entries(o)) {
      if (v === undefined || v === null) continue
      const hasNul = typeof v === 'string' ? v.includes('\0') : JSON.stringify(v).includes('\\u0000')
      if (hasNul) fail(ctx, errors.invalidFormat(k))
    }
  })

export type ItemInput = z.infer<typeof itemInput>
