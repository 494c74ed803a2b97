// File items (contract §8.2): upload, a signed download link, and the download itself.
import { z } from 'zod'
import type { RouteModule } from '../app.js'
import { id, int, opt, text } from '../http/fields.js'
import { fileTooLarge, fileUrl, openDownload, sweepDeletedBlobs, sweepStaleTempFiles, uploadFile } from '../services/files.js'

const itemRef = text(64)
/** how often queued blobs of deleted files are removed when no request did it already */
const SWEEP_EVERY_MS = 30_000

const register: RouteModule = (route, deps, app) => {
  route({
    method: 'POST',
    url: '/file/upload',
    params: z.object({ parent_id: opt(id()), guid: opt(z.string().max(64).regex(/^[A-Za-z0-9_-]+$/, { error: 'format' })) }),
    files: { maxBytes: (d) => d.config.FILE_MAX_BYTES, tooLarge: fileTooLarge },
    summary: 'Upload a file (multipart `file`) as a file item (category 5), optionally under parent_id',
    tags: ['file'],
    errors: [1, 3, 4, 5, 6, 7, 20, 25],
    handler: ({ p, user, files }) => uploadFile(deps, user, files, { parentId: p.parent_id, guid: p.guid }),
  })

  route({
    method: 'GET',
    url: '/file/url',
    params: z.object({ id: itemRef }),
    summary: 'A signed link that downloads the file without a session until it expires',
    tags: ['file'],
    errors: [1, 4, 5, 7],
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
      /** one of the previews listed in the item's `previews` */
      preview: opt(int()),
    }),
    summary: 'The file bytes: with a session, or with the expires and signature of a /file/url link',
    tags: ['file'],
    errors: [1, 3, 5, 7],
    handler: async ({ p, user, reply }) => {
      const d = await openDownload(deps, user, p.id, { expires: p.expires, signature: p.signature }, p.preview)
      reply
        .header('Content-Type', d.contentType)
        .header('Content-Disposition', d.disposition)
        // stored bytes are never run as a page of this origin
        .header('X-Content-Type-Options', 'nosniff')
        .header('Content-Security-Policy', "default-src 'none'; sandbox")
        .header('Cache-Control', 'private, no-cache')
      if (d.size !== null) reply.header('Content-Length', d.size)
      return reply.send(d.stream)
    },
  })

  const sweep = () => sweepDeletedBlobs(deps).catch((e) => deps.log.warn({ err: e }, 'blob sweep failed'))
  let timer: NodeJS.Timeout | undefined
  app.addHook('onReady', async () => {
    // at start too: blobs and temporary files a crashed process left (not awaited: start is not delayed)
    void sweep()
    void sweepStaleTempFiles(deps).catch((e) => deps.log.warn({ err: e }, 'temporary files sweep failed'))
    timer = setInterval(sweep, SWEEP_EVERY_MS)
    timer.unref()
  })
  app.addHook('onClose', async () => clearInterval(timer))
}
export default register
