// The HI_SESSION cookie every sign-in sets (contract §2): password, sign-up and external.
import type { FastifyReply, FastifyRequest } from 'fastify'

export const SESSION_COOKIE = 'HI_SESSION'

export function setSessionCookie(req: FastifyRequest, reply: FastifyReply, sessionId: string, maxAgeDays: number) {
  reply.setCookie(SESSION_COOKIE, sessionId, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: req.protocol === 'https',
    maxAge: maxAgeDays * 86_400,
  })
}
