// zod building blocks for the wire forms of contract §1: numbers as strings, loose
// booleans, empty string = null, JSON values sent as JSON strings, comma-separated lists.
// A refinement can answer with any error of the registry: `fail(ctx, errors.invalidData(…))`.
import { z } from 'zod'
import { errors, type ApiError } from './errors.js'
import { tryParseClientJson } from './json.js'

/** '' on an optional field, and null on any input field, mean "not set" (contract §1, §8.1) */
const emptyToUndefined = (v: unknown) => (v === '' || v === null ? undefined : v)
/** '' on an optional field means "clear it": null */
const emptyToNull = (v: unknown) => (v === '' ? null : v)

const toInt = (v: unknown) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : v)
const intNumber = () => z.number({ error: (i) => (i.input === undefined ? undefined : 'format') }).int({ error: 'format' }).min(-(2 ** 53)).max(2 ** 53)

/** integer from a number or a numeric string */
export const int = () => z.preprocess(toInt, intNumber())

export const num = () =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v),
    z.number({ error: 'format' }).finite(),
  )

/**
 * a positive id from a number or a numeric string. One preprocess, not `int().pipe(…)`: the
 * OpenAPI document reads a pipe of a preprocess as optional (src/http/openapi.ts).
 */
export const id = () => z.preprocess(toInt, intNumber().min(1, { error: 'format' }))

const truthy = new Set(['true', '1', 'yes', 'on'])
const falsy = new Set(['false', '0', 'no', 'off'])
export const bool = () =>
  z.preprocess((v) => {
    if (typeof v === 'boolean') return v
    if (v === 1 || v === 0) return v === 1
    if (typeof v === 'string') {
      const s = v.trim().toLowerCase()
      if (truthy.has(s)) return true
      if (falsy.has(s)) return false
    }
    return v
  }, z.boolean({ error: 'format' }))

/** a JSON value, or a JSON string holding it */
export const jsonish = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => {
    if (typeof v === 'string') {
      const t = v.trim()
      if (!t) return undefined
      // bounded depth, forbidden keys dropped (src/platform/json.ts)
      const r = tryParseClientJson(t)
      return r.ok ? r.value : v
    }
    return v
  }, schema)

/** an array, a JSON string of one, or a comma-separated list */
export const list = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => {
    if (Array.isArray(v)) return v
    if (typeof v === 'number') return [v]
    if (typeof v === 'string') {
      const t = v.trim()
      if (!t) return []
      if (t.startsWith('[')) {
        const r = tryParseClientJson(t)
        return r.ok ? r.value : v
      }
      return t.split(',').map((x) => x.trim()).filter(Boolean)
    }
    return v
  }, z.array(item))

/** optional; '' and null become undefined (not sent) */
export const opt = <T extends z.ZodType>(schema: T) => z.preprocess(emptyToUndefined, schema.optional())
/** optional and clearable; '' or null becomes null */
export const nullable = <T extends z.ZodType>(schema: T) => z.preprocess(emptyToNull, schema.nullable().optional())

/** a required non-blank string (missing, null or blank → 400/4) */
export const text = (max?: number) => {
  let s = z.string({ error: (i) => (i.input === undefined ? 'mandatory' : 'format') })
  if (max !== undefined) s = s.max(max)
  return z.preprocess((v) => (typeof v === 'number' ? String(v) : v === null ? undefined : v), s)
}

// control characters and the Unicode line and paragraph separators
// eslint-disable-next-line no-control-regex
const LINE_BREAKING = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/

/**
 * a one-line free text shown to others (an invitee's name, which goes into an email): at most
 * `max` characters and no control characters or line breaks, else 400/5 (contract §15)
 */
export const singleLine = (field: string, max: number) =>
  z.string().superRefine((v, ctx) => {
    if (v.length > max || LINE_BREAKING.test(v)) fail(ctx, errors.invalidFormat(field, `at most ${max} characters on one line, without control characters`))
  })

/** attach a specific response code to a custom refinement */
export function fail(ctx: Pick<z.core.$RefinementCtx, 'addIssue'>, error: ApiError, path?: (string | number)[]) {
  ctx.addIssue({ code: 'custom', message: error.message, params: { code: error.code }, ...(path ? { path } : {}) })
}


/** an item named by `id` or `guid` (path, query or body); the form is checked by the service
 *  (permissions.parseItemRef: 400/5), so every item route answers a bad reference alike */
export const itemRefParams = z.object({ id: opt(z.union([z.number(), z.string()])), guid: opt(z.union([z.number(), z.string()])) })

/** the reference an item route acts on: `id`, else `guid`; neither → 400/104 */
export function itemRefOf(p: { id?: string | number; guid?: string | number }): string | number {
  const r = p.id === '' ? p.guid : (p.id ?? p.guid)
  if (r === undefined || r === '') throw errors.oneOfMandatory(['id', 'guid'])
  return r
}
