// The wire form of POST /import/ (contract §11): the reviewed list, as a JSON array body (the
// web client's) or as `items` holding the array or its JSON text (a form). Each entry is what
// POST /import/upload answered, possibly edited: `title` required; the other fields optional,
// null meaning "not set". Dates stay text: POST /item's rules read them in the caller's zone.
import { z } from 'zod'
import { errors } from '../platform/errors.js'
import { fail, int, jsonish, list, nullable, num, opt } from '../platform/fields.js'
import { MESSAGE_MAX, TITLE_MAX } from '../items/input.js'

const entry = z.object({
  title: z.unknown(),
  message: nullable(z.string().max(MESSAGE_MAX)),
  start_date: nullable(z.string().max(64)),
  end_date: nullable(z.string().max(64)),
  priority: opt(int().pipe(z.number().min(-2147483648, { error: 'format' }).max(2147483647, { error: 'format' }))),
  time_est: opt(num().pipe(z.number().min(0, { error: 'format' }))),
  time_spent: opt(num().pipe(z.number().min(0, { error: 'format' }))),
  tags: z.preprocess((v) => (v === null ? [] : v), list(z.preprocess((x) => (typeof x === 'number' ? String(x) : x), z.string().trim().min(1).max(100))).optional()),
})

/** the list with each entry's title checked (the error names the entry: items.<n>.title) */
const entries = (max: number) =>
  z.array(entry).transform((list, ctx) => {
    if (list.length > max) {
      fail(ctx, errors.tooLarge('items', max))
      return z.NEVER
    }
    const out = []
    for (const [n, e] of list.entries()) {
      const title = typeof e.title === 'number' ? String(e.title) : e.title
      if (typeof title !== 'string' || !title.trim()) {
        fail(ctx, errors.mandatory(`items.${n}.title`))
        return z.NEVER
      }
      if (title.length > TITLE_MAX) {
        fail(ctx, errors.tooLarge(`items.${n}.title`, TITLE_MAX))
        return z.NEVER
      }
      out.push({ ...e, title })
    }
    return out
  })

export type ImportEntry = z.output<ReturnType<typeof entries>>[number]

/** the entries, from a JSON array body (`_body`, src/http/params.ts) or `items`; at most `max` (else 400/25) */
export const importParams = (max: number) =>
  z.preprocess(
    (p) => {
      const m = (p ?? {}) as Record<string, unknown>
      return { items: m._body ?? m.items }
    },
    z.object({ items: jsonish(entries(max)) }),
  )
