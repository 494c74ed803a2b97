// While the server shuts down, a request arriving on a connection still open gets the
// contract's error envelope (503, code 100, Connection: close) rather than Fastify's own
// 503 body; requests already in flight finish (src/server.ts), their connections closed after.
import type { FastifyInstance } from 'fastify'
import { errors } from '../platform/errors.js'
import { sendError } from './error-handler.js'

export function registerClosing(app: FastifyInstance) {
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  // a response finished while closing ends its keep-alive connection, so the server's close
  // is not left waiting for an idle client to hang up
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) reply.header('connection', 'close')
    return payload
  })
  app.addHook('onRequest', async (_req, reply) => {
    if (!closing) return
    reply.header('connection', 'close')
    return sendError(reply, errors.unavailable('The server is shutting down, please retry', 1))
  })
}
