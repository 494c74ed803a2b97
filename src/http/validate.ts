// Turns the first zod issue into the contract's error: missing → 4 "<field> is mandatory",
// over a maximum length → 25 "Maximum size for <field> is <n>", a refinement's own code,
// anything else → 5 "Invalid data format of <field>".
import type { z } from 'zod'
import { ApiError, errors } from '../platform/errors.js'

export function zodToApiError(error: z.ZodError): ApiError {
  const issue = error.issues[0]!
  const field = issue.path.length ? issue.path.map(String).join('.') : 'request'
  const top = String(issue.path[0] ?? field)
  const custom = (issue as { params?: { code?: number } }).params?.code
  if (custom !== undefined) return errors.withCode(custom, issue.message)
  if (issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined) {
    return errors.mandatory(top)
  }
  if (issue.message === 'mandatory') return errors.mandatory(top)
  if (issue.code === 'too_big' && (issue as { origin?: string }).origin === 'string') {
    return errors.tooLarge(top, String((issue as { maximum?: number | bigint }).maximum))
  }
  return errors.invalidFormat(field)
}

export function parseWith<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  // reportInput: tells "missing" (400/4) from "wrong" (400/5)
  const r = schema.safeParse(input, { reportInput: true })
  if (!r.success) throw zodToApiError(r.error)
  return r.data
}
