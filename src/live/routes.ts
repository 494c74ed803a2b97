// GET /item/live: Server-Sent Events telling a signed-in client when to fetch the delta
// (contract §14; the protocol and its guarantees: docs/sync.md "The live channel").
// Registering this module starts the instance's LISTEN connection; closing the app closes
// every stream first, so a shutdown is not held up by open streams.
import type { RouteModule } from '../http/route.js'
import { liveHub } from './hub.js'
import { liveAnswer } from './schemas.js'

const register: RouteModule = async (route, deps, app) => {
  const hub = liveHub(deps)
  app.addHook('preClose', async () => {
    await hub.stop()
  })
  await hub.start()

  route({
    method: 'GET',
    url: '/item/live',
    summary:
      'Server-Sent Events: `change` {"cursor": N} within 1 s of any commit that changes something for the caller (then GET /item/delta/{cursor}); a comment line every 25 s; closed when the session ends',
    tags: ['item'],
    errors: [7, 100],
    response: liveAnswer,
    handler: async ({ user, reply }) => {
      // writes the head itself; the CORS and rate-limit headers set so far go with it
      hub.open(user, reply.raw, reply.getHeaders())
      reply.hijack()
    },
  })
}
export default register
