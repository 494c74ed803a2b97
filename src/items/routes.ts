// Items (contract §8.2): list, one, since, delta, create, update, delete, read state.
// HTTP only: the rules live in create.ts, update.ts, delete.ts, delta.ts and access.ts.
import { z } from 'zod'
import type { RouteModule } from '../http/route.js'
import { itemRefOf, itemRefParams } from '../platform/fields.js'
import { itemInput } from './input.js'
import { createItemView } from './create.js'
import { updateItemView } from './update.js'
import { deleteItem } from './delete.js'
import { markRead } from './read-state.js'
import { renderItem } from './render.js'
import { readAll, readDelta, readSince } from './delta.js'
import { ok } from '../platform/responses.js'
import { jsonArrayAnswer } from '../http/json-stream.js'
import { cursorHeader, deltaExample, deltaSchema, itemListSchema, itemSchema } from './schemas.js'

const register: RouteModule = (route, deps) => {
  route({
    method: 'GET',
    url: '/item',
    summary: 'Every non-archived item the caller can see; X-Cursor for the delta feed',
    tags: ['item'],
    response: itemListSchema,
    responseHeaders: cursorHeader,
    handler: async ({ user, reply }) => {
      // written batch by batch as the rows are read (docs/performance.md)
      const { batches, cursor } = await readAll(deps, user)
      reply.header('X-Cursor', String(cursor))
      return jsonArrayAnswer(reply, batches)
    },
  })

  route({
    method: 'GET',
    url: '/item/since/:ms',
    params: z.object({ ms: z.string() }),
    summary: 'Items changed for the caller after ms (deprecated; use /item/delta)',
    tags: ['item'],
    response: itemListSchema,
    responseHeaders: cursorHeader,
    errors: [5],
    handler: async ({ p, user, reply }) => {
      const { batches, cursor } = await readSince(deps, user, p.ms)
      reply.header('X-Cursor', String(cursor))
      return jsonArrayAnswer(reply, batches)
    },
  })

  route({
    method: 'GET',
    url: '/item/delta/:cursor',
    params: z.object({ cursor: z.string() }),
    summary: 'Every visible item: changed ones in full, the others as {id, changed:false}',
    tags: ['item'],
    response: deltaSchema,
    responseHeaders: cursorHeader,
    example: deltaExample,
    errors: [5],
    handler: async ({ p, user, reply }) => {
      const { batches, cursor } = await readDelta(deps, user, p.cursor)
      reply.header('X-Cursor', String(cursor))
      return jsonArrayAnswer(reply, batches)
    },
  })

  route({
    method: 'GET',
    // changes state: refused as a cross-site request through the cookie (§15)
    changes: true,
    url: '/item/read/:id',
    params: itemRefParams,
    summary: "Clears the caller's unread mark",
    tags: ['item'],
    response: ok,
    errors: [1, 5],
    handler: async ({ p, user }) => {
      await markRead(deps, user, itemRefOf(p))
    },
  })

  route({
    method: 'GET',
    url: '/item/:id',
    params: itemRefParams,
    summary: 'One item (404 when absent or invisible)',
    tags: ['item'],
    response: itemSchema,
    errors: [1, 5],
    handler: ({ p, user }) => renderItem(deps, user, itemRefOf(p)),
  })

  route({
    method: 'POST',
    url: '/item',
    params: itemInput,
    summary: 'Creates an item (a guid the caller already used returns that item unchanged)',
    tags: ['item'],
    response: itemSchema,
    errors: [1, 3, 4, 5, 6, 20, 25, 47, 73, 75, 76, 77, 80],
    handler: ({ p, user }) => createItemView(deps, user, p),
  })

  route({
    method: 'PUT',
    url: ['/item', '/item/:id'],
    params: itemInput,
    summary: 'Updates the fields present; the item is named by the path, or id/guid in the body',
    tags: ['item'],
    response: itemSchema,
    errors: [1, 3, 4, 5, 6, 10, 20, 25, 47, 73, 74, 75, 76, 77, 78, 80, 104],
    handler: ({ p, user }) => updateItemView(deps, user, itemRefOf(p), p),
  })

  route({
    method: 'DELETE',
    url: ['/item', '/item/:id'],
    params: itemRefParams,
    summary: 'Deletes the item, its subtree and their files (level 100)',
    tags: ['item'],
    response: ok,
    errors: [1, 3, 5, 104],
    handler: async ({ p, user }) => {
      await deleteItem(deps, user, itemRefOf(p))
    },
  })
}

export default register
