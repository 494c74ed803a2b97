// Avatar images by hash (contract §3), at the site root as in the docs' URLs and under /api/.
import { z } from 'zod'
import type { RouteModule } from '../http/route.js'
import { findAvatar, renderAvatarGif } from './service.js'
import { etagMatches, rawAnswer } from '../platform/responses.js'

const register: RouteModule = (route, deps) => {
  route({
    method: 'GET',
    url: ['/avatar/:name', '/api/avatar/:name'],
    root: true,
    auth: 'none',
    params: z.object({ name: z.string().max(100) }),
    summary: 'An avatar as a GIF: /avatar/{hash}.{size}.gif; public (hashes are unguessable)',
    tags: ['user'],
    errors: [1],
    response: rawAnswer('image/gif', 'The avatar, exactly size × size pixels; 304 when If-None-Match names its ETag'),
    handler: async ({ p, req, reply }) => {
      const avatar = await findAvatar(deps, p.name)
      // the image behind a hash never changes
      reply.header('Cache-Control', 'public, max-age=31536000, immutable').header('ETag', avatar.etag)
      if (etagMatches(req.headers['if-none-match'], avatar.etag)) return reply.code(304).send()
      return reply.type('image/gif').send(await renderAvatarGif(avatar))
    },
  })
}
export default register
