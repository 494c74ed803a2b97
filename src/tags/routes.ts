// Tags (contract §9). HTTP only: the rules are in service.ts.
import { z } from 'zod'
import type { RouteModule } from '../http/route.js'
import { id, text } from '../platform/fields.js'
import { addTag, deleteTag, listTags, renameTag } from './service.js'
import { ok } from '../platform/responses.js'
import { tagSchema } from './schemas.js'

const tagName = () => text(100)

const register: RouteModule = (route, deps) => {
  route({
    method: 'GET',
    url: '/tag',
    summary: 'Tags on the items the caller can see; shared when on a shared item',
    tags: ['tag'],
    errors: [7],
    response: z.array(tagSchema),
    handler: ({ user }) => listTags(deps, user),
  })

  route({
    method: 'POST',
    url: '/tag',
    params: z.object({ name: tagName(), item_id: text(64) }),
    summary: 'Add a tag to an item (level 60 on the item)',
    tags: ['tag'],
    errors: [1, 3, 4, 5, 7, 25],
    response: tagSchema,
    handler: ({ p, user }) => addTag(deps, user, p.item_id, p.name),
  })

  route({
    method: 'PUT',
    url: '/tag/:id',
    params: z.object({ id: id(), name: tagName() }),
    summary: 'Rename a tag on every item the caller can see (all of them need level 60)',
    tags: ['tag'],
    errors: [1, 3, 4, 5, 7, 25],
    response: tagSchema,
    handler: ({ p, user }) => renameTag(deps, user, p.id, p.name),
  })

  route({
    method: 'DELETE',
    url: '/tag/:id',
    params: z.object({ id: id() }),
    summary: 'Remove a tag from every item the caller can see (all of them need level 60)',
    tags: ['tag'],
    errors: [1, 3, 5, 7],
    response: ok,
    handler: async ({ p, user }) => {
      await deleteTag(deps, user, p.id)
    },
  })
}
export default register
