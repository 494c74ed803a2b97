// Delete or archive many items at once (contract §8.2): `id=1,2,3`.
import { z } from 'zod'
import type { RouteModule } from '../http/route.js'
import { errors } from '../platform/errors.js'
import { fail } from '../platform/fields.js'
import { archiveMultiple, deleteMultiple } from './bulk.js'
import { ok } from '../platform/responses.js'

const MAX_IDS = 1000

/** `1,2,3`, a JSON array, or a single number; anything else is 400/5 */
const idList = z.preprocess(
  (v) => {
    if (typeof v === 'number') return [v]
    if (Array.isArray(v)) return v
    if (typeof v !== 'string') return v
    const t = v.trim()
    if (t.startsWith('[')) {
      try {
        return JSON.parse(t)
      } catch {
        return v
      }
    }
    return t.split(',').map((x) => x.trim())
  },
  z
    .array(z.union([z.number().int().min(1), z.string().regex(/^\d{1,15}$/).transform(Number)]), { error: (i) => (i.input === undefined ? undefined : 'format') })
    .min(1, { error: 'format' })
    .superRefine((ids, ctx) => {
      if (ids.length > MAX_IDS) fail(ctx, errors.tooLarge('id', MAX_IDS))
    })
    .transform((ids) => [...new Set(ids.map(Number))]),
)

const params = z.object({ id: idList })

const register: RouteModule = (route, deps) => {
  route({
    method: 'POST',
    url: '/item/deletemultiple',
    params,
    summary: 'Delete items with their subtrees; items the caller may not delete (level 100) are skipped',
    tags: ['item'],
    errors: [4, 5, 7, 25],
    response: ok,
    handler: async ({ p, user }) => {
      await deleteMultiple(deps, user, p.id)
    },
  })
  route({
    method: 'POST',
    url: '/item/archivemultiple',
    params,
    summary: 'Archive items with their subtrees; items the caller may not archive (level 80) are skipped',
    tags: ['item'],
    errors: [4, 5, 7, 25],
    response: ok,
    handler: async ({ p, user }) => {
      await archiveMultiple(deps, user, p.id)
    },
  })
}
export default register
