// An item's history with its comments, oldest first (contract §8.2 `GET /item/history`).
import { z } from 'zod'
import type { RouteModule } from '../http/route.js'
import { text } from '../platform/fields.js'
import { itemHistory } from './service.js'
import { historyEntrySchema } from './schemas.js'

const register: RouteModule = (route, deps) => {
  route({
    method: 'GET',
    url: '/item/history',
    params: z.object({ id: text(64) }),
    summary: "An item's history and comments, oldest first (level 10)",
    tags: ['item'],
    errors: [1, 4, 5, 7],
    response: z.array(historyEntrySchema),
    handler: ({ p, user, tz }) => itemHistory(deps, user, p.id, tz),
  })
}
export default register
