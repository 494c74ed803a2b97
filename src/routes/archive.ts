// The archive (contract §8.2): archive an item with its subtree, list the archive, restore,
// restore a copy.
import type { RouteModule } from '../app.js'
import { itemRefOf, itemRefParams } from '../http/fields.js'
import { archiveItem, listArchive, restoreCopy, restoreItem } from '../services/archive.js'
import { parseItemLimits } from '../services/item-limits.js'


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
    handler: ({ user }) => listArchive(deps, user),
  })
  route({
    method: 'GET',
    url: '/archive/restore',
    params: itemRefParams,
    summary: 'Restore an archived item with its subtree (level 80) → the item; 507/20 over the item limit',
    tags: ['archive'],
    errors: [1, 3, 5, 7, 20, 104],
    handler: ({ p, user }) => restoreItem(deps, user, itemRefOf(p)),
  })
  route({
    method: 'GET',
    url: '/archive/restorecopy',
    params: itemRefParams,
    summary: 'Restore a copy (new ids and guids) of an archived item and its subtree → the copy',
    tags: ['archive'],
    errors: [1, 3, 5, 7, 20, 104],
    handler: ({ p, user }) => restoreCopy(deps, user, itemRefOf(p)),
  })
}
export default register
