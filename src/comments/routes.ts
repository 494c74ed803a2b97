// Comments on items (contract §8.2 `POST|DELETE /item/comment`).
import { z } from 'zod'
import type { RouteModule } from '../http/route.js'
import { id, opt, text } from '../platform/fields.js'
import { addComment, COMMENT_MAX, deleteComment } from './service.js'
import { ok } from '../platform/responses.js'
import { commentSchema } from './schemas.js'

const register: RouteModule = (route, deps) => {
  route({
    method: 'POST',
    url: '/item/comment',
    params: z.object({ id: text(64), message: text(COMMENT_MAX) }),
    summary: 'Add a comment to an item (level 20) → the comment',
    tags: ['item'],
    errors: [1, 3, 4, 5, 7, 25],
    response: commentSchema,
    handler: ({ p, user, tz }) => addComment(deps, user, p.id, p.message, tz),
  })
  route({
    method: 'DELETE',
    url: '/item/comment',
    params: z.object({ id: id(), itemId: opt(id()), item_id: opt(id()) }),
    summary: 'Delete a comment (its author, or level 100 on the item)',
    tags: ['item'],
    errors: [1, 3, 4, 5, 7],
    response: ok,
    handler: async ({ p, user }) => {
      await deleteComment(deps, user, p.id, p.itemId ?? p.item_id)
    },
  })
}
export default register
