// While the server shuts down, a request arriving on a connection still open gets the
// contract's error envelope (503, code 100, Connection: close) rather than Fastify's own
// 503 body; requests already in flight are not affected and finish (src/server.ts).
import type { FastifyInstance } from 'fastify'
import { ApiError, Code, sendError } from './errors.js'

export function registerClosing(app: FastifyInstance) {
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onRequest', async (_req, reply) => {
    if (!closing) return
    reply.header('connection', 'close')
    return sendError(reply, new ApiError(Code.INTERNAL_ERROR, 'The server is shutting down, please retry', 503, { 'Retry-After': '1' }))
  })
}
