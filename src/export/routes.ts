// GET /export/csv and GET /export/xlsx (contract §11): a download of the caller's visible
// items with the columns the import reads. Rules: ./service.ts; columns: ./format.ts.
import { z } from 'zod'
import type { RouteModule } from '../http/route.js'
import { bool, opt } from '../platform/fields.js'
import { exportItems, type ExportFormat } from './service.js'
import { csvAnswer, downloadHeaders, xlsxAnswer } from './schemas.js'

const params = z.object({
  includeDescription: opt(bool()),
  includeArchived: opt(bool()),
})

const register: RouteModule = (route, deps) => {
  for (const format of ['csv', 'xlsx'] as ExportFormat[]) {
    route({
      method: 'GET',
      url: `/export/${format}`,
      params,
      summary: `The caller's visible items as ${format.toUpperCase()} with the columns the import reads (Title, [Description], Start, End, Priority, Time estimate, Time spent, Tags); streamed`,
      tags: ['import'],
      errors: [5, 7],
      response: format === 'csv' ? csvAnswer : xlsxAnswer,
      responseHeaders: downloadHeaders,
      handler: async ({ p, user, reply }) => {
        const file = await exportItems(deps, user, format, { includeDescription: p.includeDescription ?? false, includeArchived: p.includeArchived ?? false })
        reply
          .header('Content-Type', file.contentType)
          .header('Content-Disposition', `attachment; filename="${file.filename}"`)
          .header('Cache-Control', 'private, no-store')
          .header('X-Content-Type-Options', 'nosniff')
        return reply.send(file.stream)
      },
    })
  }
}
export default register
