// The envelope of every failure: non-2xx status and {"error_message", "response_status"}
// (contract §1, §10). Errors come from the registry (src/platform/errors.ts); Fastify's own
// client errors are mapped to it here; anything else is a 500/100 with the request id logged,
// or a 503 when the database is unreachable or saturated.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ApiError, errors, isDatabaseUnavailable } from '../platform/errors.js'

export function sendError(reply: FastifyReply, err: ApiError) {
  if (err.headers) reply.headers(err.headers)
  return reply.code(err.status).type('application/json; charset=utf-8').send({ error_message: err.message, response_status: err.code })
}
/** Maps every failure to the envelope; unknown errors become 500/100 with the request id logged. */
export function registerErrorHandling(app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError | ApiError | Error, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof ApiError) return sendError(reply, error)
    const fe = error as FastifyError
    // Fastify's own client errors: body too large, bad content type, malformed body.
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || fe.code === 'FST_REQ_FILE_TOO_LARGE' || fe.code === 'FST_FILES_LIMIT' || fe.code === 'FST_PARTS_LIMIT' || fe.code === 'FST_FIELDS_LIMIT') {
      return sendError(reply, errors.tooLarge('request body', request.server.initialConfig.bodyLimit ?? 0))
    }
    if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return sendError(reply, errors.invalidFormat('request body'))
    if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      return sendError(reply, errors.invalidJsonBody())
    }
    if (fe.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' || fe.code === 'FST_INVALID_MULTIPART_CONTENT_TYPE') {
      return sendError(reply, errors.invalidFormat('request body'))
    }
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return sendError(reply, errors.invalidFormat('request'))
    }
    if (isDatabaseUnavailable(error)) {
      request.log.error({ err: error, reqId: request.id }, 'database unavailable')
      return sendError(reply, errors.unavailable())
    }
    request.log.error({ err: error, reqId: request.id }, 'unhandled error')
    return sendError(reply, errors.internal(String(request.id)))
  })
  app.setNotFoundHandler((request, reply) => sendError(reply, errors.notFound(`Method ${request.method} ${request.url.split('?')[0]}`)))
}
