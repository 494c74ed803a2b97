// File items (contract §8.2): upload, a signed download link, and the download itself.
import { z } from 'zod'
import type { RouteModule } from '../http/route.js'
import { id, int, opt, text } from '../platform/fields.js'
import { fileTooLarge, fileUrl, openDownload, startSweeps, uploadFile } from './service.js'
import { rawAnswer } from '../platform/responses.js'
import { itemSchema } from '../items/schemas.js'
import { fileUrlSchema } from './schemas.js'

const itemRef = text(64)

const register: RouteModule = (route, deps, app) => {
  route({
    method: 'POST',
    url: '/file/upload',
    params: z.object({ parent_id: opt(id()), guid: opt(z.string().max(64).regex(/^[A-Za-z0-9_-]+$/, { error: 'format' })) }),
    files: { maxBytes: (d) => d.config.FILE_MAX_BYTES, tooLarge: fileTooLarge, field: 'file' },
    summary: 'Upload a file (multipart `file`) as a file item (category 5), optionally under parent_id',
    tags: ['file'],
    errors: [1, 3, 4, 5, 6, 7, 20, 25],
    response: itemSchema,
    handler: ({ p, user, files }) => uploadFile(deps, user, files, { parentId: p.parent_id, guid: p.guid }),
  })

  route({
    method: 'GET',
    url: '/file/url',
    params: z.object({ id: itemRef }),
    summary: 'A signed link that downloads the file without a session until it expires',
    tags: ['file'],
    errors: [1, 4, 5, 7],
    response: fileUrlSchema,
    handler: ({ p, user }) => fileUrl(deps, user, p.id),
  })

  route({
    method: 'GET',
    url: '/file/:id',
    auth: 'optional',
    params: z.object({
      id: itemRef,
      expires: opt(int()),
      signature: opt(z.string().max(200)),
      /** one of the previews listed in the item's `previews`: its size and type */
      preview: opt(int()),
      type: opt(z.enum(['SQUARE', 'PROPORTIONAL'])),
    }),
    summary: 'The file bytes: with a session, or with the expires and signature of a /file/url link',
    tags: ['file'],
    errors: [1, 3, 5, 7],
    response: rawAnswer('application/octet-stream', "The file's bytes with its stored Content-Type and a Content-Disposition (or a preview's PNG with ?preview=size)"),
    handler: async ({ p, user, reply }) => {
      const d = await openDownload(deps, user, p.id, { expires: p.expires, signature: p.signature }, p.preview, p.type)
      reply
        .header('Content-Type', d.contentType)
        .header('Content-Disposition', d.disposition)
        // stored bytes are never run as a page of this origin
        .header('X-Content-Type-Options', 'nosniff')
        .header('Content-Security-Policy', "default-src 'none'; sandbox")
        // a preview's URL names one unchanging picture (an <img> loads it again and again)
        .header('Cache-Control', d.preview ? 'private, max-age=86400' : 'private, no-cache')
      if (d.size !== null) reply.header('Content-Length', d.size)
      return reply.send(d.stream)
    },
  })

  // blobs nothing points at any more, and temporary files a crashed process left
  let stopSweeps: (() => void) | undefined
  app.addHook('onReady', async () => {
    stopSweeps = startSweeps(deps)
  })
  app.addHook('onClose', async () => stopSweeps?.())
}
export default register
