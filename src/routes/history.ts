// An item's history with its comments, oldest first (contract §8.2 `GET /item/history`).
import { z } from 'zod'
import type { RouteModule } from '../app.js'
import { text } from '../http/fields.js'
import { itemHistory } from '../services/comments.js'

const register: RouteModule = (route, deps) => {
  route({
    method: 'GET',
    url: '/item/history',
    params: z.object({ id: text(64) }),
    summary: "An item's history and comments, oldest first (level 10)",
    tags: ['item'],
    errors: [1, 4, 5, 7],
    handler: ({ p, user, tz }) => itemHistory(deps, user, p.id, tz),
  })
}
export default register
