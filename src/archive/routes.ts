// The archive (contract §8.2): archive an item with its subtree, list the archive, restore,
// restore a copy.
import type { RouteModule } from '../http/route.js'
import { itemRefOf, itemRefParams } from '../platform/fields.js'
import { archiveItem, listArchive, restoreCopy, restoreItem } from './service.js'
import { parseItemLimits } from '../items/limits.js'
import { ok } from '../platform/responses.js'
import { jsonArrayAnswer } from '../http/json-stream.js'
import { itemListSchema, itemSchema } from '../items/schemas.js'


const register: RouteModule = (route, deps) => {
  // a malformed ITEM_LIMITS stops the server at start, not at the first restore
  parseItemLimits(deps.config.ITEM_LIMITS)

  route({
    method: 'POST',
    url: '/item/archive',
    params: itemRefParams,
    summary: 'Archive an item with its subtree (level 80); 404 when already archived',
    tags: ['archive'],
    errors: [1, 3, 5, 7, 104],
    response: ok,
    handler: async ({ p, user }) => {
      await archiveItem(deps, user, itemRefOf(p))
    },
  })
  route({
    method: 'GET',
    url: '/archive',
    summary: 'Archived items the caller can see',
    tags: ['archive'],
    errors: [7],
    response: itemListSchema,
    // written batch by batch as the rows are read (docs/performance.md)
    handler: async ({ user, reply }) => jsonArrayAnswer(reply, await listArchive(deps, user)),
  })
  route({
    method: 'GET',
    // changes state: refused as a cross-site request through the cookie (§15)
    changes: true,
    url: '/archive/restore',
    params: itemRefParams,
    summary: 'Restore an archived item with its subtree (level 80) → the item; 507/20 over the item limit',
    tags: ['archive'],
    errors: [1, 3, 5, 7, 20, 104],
    response: itemSchema,
    handler: ({ p, user }) => restoreItem(deps, user, itemRefOf(p)),
  })
  route({
    method: 'GET',
    // changes state: refused as a cross-site request through the cookie (§15)
    changes: true,
    url: '/archive/restorecopy',
    params: itemRefParams,
    summary: 'Restore a copy (new ids and guids) of an archived item and its subtree → the copy',
    tags: ['archive'],
    errors: [1, 3, 5, 7, 20, 104],
    response: itemSchema,
    handler: ({ p, user }) => restoreCopy(deps, user, itemRefOf(p)),
  })
}
export default register
