// Liveness and readiness, outside /api, and the answer for unsupported API versions.
import type { RouteModule } from '../app.js'
import { ApiError, Code } from '../http/errors.js'
import { BAD_VERSION_PATH, MAX_API_VERSION } from '../http/version.js'

const register: RouteModule = (route, deps) => {
  route({
    method: 'GET',
    url: '/health',
    auth: 'none',
    root: true,
    rateLimit: false,
    summary: 'The process is up',
    tags: ['system'],
    handler: () => ({ status: 'ok' }),
  })
  route({
    method: 'GET',
    url: '/ready',
    auth: 'none',
    root: true,
    rateLimit: false,
    summary: 'The database answers',
    tags: ['system'],
    errors: [100],
    handler: async ({ reply }) => {
      try {
        await deps.db.pool.query('SELECT 1')
        return { status: 'ready' }
      } catch {
        reply.code(503)
        return { error_message: 'Database is not reachable', response_status: Code.INTERNAL_ERROR }
      }
    },
  })
  route({
    method: ['GET', 'POST', 'PUT', 'DELETE'],
    url: [BAD_VERSION_PATH, BAD_VERSION_PATH + '/*'],
    auth: 'none',
    summary: 'Any /api/vN/ with N above the supported version',
    tags: ['system'],
    errors: [9],
    handler: () => {
      throw new ApiError(Code.INVALID_JSON_VERSION, `API version must be ${MAX_API_VERSION} or lower`)
    },
  })
}
export default register
