// zod building blocks for what the API answers (contract §1): dates out, the empty success
// `{"response_status":0}`, the error envelope, and answers that are not JSON. Each domain
// declares its shapes with them in its `schemas.ts`; route declarations name the shape of
// their success answer (`response:`), which feeds the OpenAPI document (src/http/openapi.ts)
// and the response check of the test suite (src/http/response-check.ts).
//
// A shape named with `.meta({ id })` is a component of the OpenAPI document
// (`#/components/schemas/<id>`), so the generated client has one type per shape.
import { z } from 'zod'

/** `YYYY-MM-DDTHH:mm:ss.SSS±HH:MM` in the caller's time zone (contract §1 "dates out") */
export const DATE_OUT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$/

/** a date as the API writes it (`.nullable()` where it may be unset: the field is still present) */
export const dateOut = () =>
  z
    .string()
    .regex(DATE_OUT_PATTERN)
    .meta({ description: "YYYY-MM-DDTHH:mm:ss.SSS±HH:MM in the caller's time_zone preference (UTC without one)", examples: ['2024-05-17T09:30:00.000+02:00'] })

/** a day, `YYYY-MM-DD` */
export const dayOut = () => z.string().regex(/^\d{4}-\d{2}-\d{2}$/).meta({ examples: ['2024-05-17'] })

/** a numeric id on output: a JSON number (contract §1 "ids") */
export const idOut = () => z.number().int().min(1)

/** the answer of an operation with nothing to return */
export const ok = z.strictObject({ response_status: z.literal(0) }).meta({ id: 'Ok', description: 'The operation succeeded and has nothing to return' })

/** the envelope of every failure (contract §1 "errors", §10); `response_status` is the code */
export const errorEnvelope = z
  .strictObject({
    error_message: z.string(),
    response_status: z.number().int().min(1),
  })
  .meta({ id: 'Error', description: 'Every failure: a non-2xx status with this body; response_status is the code of hitask-docs/errors.md' })
export type ErrorEnvelope = z.infer<typeof errorEnvelope>

/**
 * The TypeScript type a renderer writes for a schema: its output with literal numbers and
 * strings widened (`level` is a number in the database, `0 | 10 | … | 100` in the schema).
 * Field presence, nullness and base types are checked by the compiler; the literal values by
 * the test suite's response check.
 */
export type Rendered<T> = T extends number
  ? number
  : T extends string
    ? string
    : T extends boolean
      ? boolean
      : T extends ReadonlyArray<infer U>
        ? Rendered<U>[]
        : T extends object
          ? { [K in keyof T]: Rendered<T[K]> }
          : T

/**
 * An answer that is not JSON: its content type (without parameters: `text/csv`, the answer may
 * add `; charset=utf-8`), what it holds, whether it is text (else bytes), an example of a text
 * answer for /docs, and, where the route answers 304 to a matching `If-None-Match`, what that
 * means.
 */
export type RawAnswer = { raw: true; contentType: string; description: string; text: boolean; example?: string; notModified?: string }
export const rawAnswer = (contentType: string, description: string, opts: { text?: boolean; example?: string; notModified?: string } = {}): RawAnswer => ({
  raw: true,
  contentType,
  description,
  text: opts.text ?? false,
  ...(opts.example !== undefined ? { example: opts.example } : {}),
  ...(opts.notModified !== undefined ? { notModified: opts.notModified } : {}),
})

/** what a route answers on success: a zod schema of its JSON, or bytes of a content type */
export type Answer = z.ZodType | RawAnswer

export function isRawAnswer(a: unknown): a is RawAnswer {
  return typeof a === 'object' && a !== null && (a as RawAnswer).raw === true
}

/** If-None-Match names this ETag (a list, weak forms and * included: RFC 9110 §13.1.2) */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false
  return header.split(',').some((x) => {
    const t = x.trim()
    return t === '*' || t === etag || t === 'W/' + etag
  })
}
