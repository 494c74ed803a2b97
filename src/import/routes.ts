// Import (contract §11): the web client calls exactly `import/upload` and `import/` under
// /api/v5/ (a trailing slash is the same route).
import type { RouteModule } from '../http/route.js'
import { fileTooLarge } from '../files/service.js'
import { importParams } from './input.js'
import { importItems, parseUpload } from './service.js'
import { importedItemsSchema, parsedItemListSchema } from './schemas.js'

const register: RouteModule = (route, deps) => {
  route({
    method: 'POST',
    url: '/import/upload',
    files: { maxBytes: (d) => d.config.FILE_MAX_BYTES, tooLarge: fileTooLarge },
    summary: 'Read a CSV or XLSX file (multipart `file`) into the items it holds; nothing is created',
    tags: ['import'],
    errors: [4, 7, 25, 81, 82, 83],
    response: parsedItemListSchema,
    handler: ({ user, files }) => parseUpload(deps, user, files),
  })

  route({
    method: 'POST',
    url: '/import',
    params: importParams(deps.config.IMPORT_MAX_ROWS),
    summary: "Create the reviewed items (a JSON array) as the caller's tasks, all or nothing",
    tags: ['import'],
    errors: [4, 5, 6, 7, 20, 25, 46, 82],
    response: importedItemsSchema,
    handler: ({ p, user }) => importItems(deps, user, p.items),
  })
}
export default register
