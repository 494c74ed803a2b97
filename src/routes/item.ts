// Items (contract §8.2): list, one, since, delta, create, update, delete, read state.
// HTTP only: rules live in src/services/items.ts, permissions.ts and delta.ts.
import { z } from 'zod'
import type { RouteModule } from '../app.js'
import { itemRefOf, itemRefParams } from '../http/fields.js'
import { itemInput } from '../services/items-input.js'
import { createItem, deleteItem, markRead, updateItem } from '../services/items.js'
import { renderItem, renderItems } from '../services/item-view.js'
import { readAll, readDelta, readSince } from '../services/delta.js'


const register: RouteModule = (route, deps) => {
  route({
    method: 'GET',
    url: '/item',
    summary: 'Every non-archived item the caller can see; X-Cursor for the delta feed',
    tags: ['item'],
    handler: async ({ user, reply }) => {
      const { rows, cursor } = await readAll(deps, user)
      reply.header('X-Cursor', String(cursor))
      return renderItems(deps, user, rows)
    },
  })

  route({
    method: 'GET',
    url: '/item/since/:ms',
    params: z.object({ ms: z.string() }),
    summary: 'Items changed for the caller after ms (deprecated; use /item/delta)',
    tags: ['item'],
    errors: [5],
    handler: async ({ p, user, reply }) => {
      const { rows, cursor } = await readSince(deps, user, p.ms)
      reply.header('X-Cursor', String(cursor))
      return renderItems(deps, user, rows)
    },
  })

  route({
    method: 'GET',
    url: '/item/delta/:cursor',
    params: z.object({ cursor: z.string() }),
    summary: 'Every visible item: changed ones in full, the others as {id, changed:false}',
    tags: ['item'],
    errors: [5],
    handler: async ({ p, user, reply }) => {
      const { entries, changedRows, cursor } = await readDelta(deps, user, p.cursor)
      const full = new Map((await renderItems(deps, user, changedRows)).map((x) => [x.id, x]))
      reply.header('X-Cursor', String(cursor))
      return entries.map((e) => (e.changed ? { ...full.get(e.id)!, changed: true } : { id: e.id, changed: false }))
    },
  })

  route({
    method: 'GET',
    url: '/item/read/:id',
    params: itemRefParams,
    summary: "Clears the caller's unread mark",
    tags: ['item'],
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
    errors: [1, 5],
    handler: async ({ p, user }) => {
      return renderItem(deps, user, itemRefOf(p))
    },
  })

  route({
    method: 'POST',
    url: '/item',
    params: itemInput,
    summary: 'Creates an item (a guid the caller already used returns that item unchanged)',
    tags: ['item'],
    errors: [1, 3, 4, 5, 6, 25, 47, 73, 75, 76, 77, 80],
    handler: async ({ p, user }) => {
      const { id } = await createItem(deps, user, p)
      return renderItem(deps, user, id)
    },
  })

  route({
    method: 'PUT',
    url: ['/item', '/item/:id'],
    params: itemInput,
    summary: 'Updates the fields present; the item is named by the path, or id/guid in the body',
    tags: ['item'],
    errors: [1, 3, 4, 5, 6, 10, 25, 47, 73, 74, 75, 76, 77, 78, 80, 104],
    handler: async ({ p, user }) => {
      const id = await updateItem(deps, user, itemRefOf(p), p)
      // answered even when the change removed the caller's own access (permission 0)
      return renderItem(deps, user, id, { invisible: true })
    },
  })

  route({
    method: 'DELETE',
    url: ['/item', '/item/:id'],
    params: itemRefParams,
    summary: 'Deletes the item, its subtree and their files (level 100)',
    tags: ['item'],
    errors: [1, 3, 5, 104],
    handler: async ({ p, user }) => {
      await deleteItem(deps, user, itemRefOf(p))
    },
  })
}

export default register
