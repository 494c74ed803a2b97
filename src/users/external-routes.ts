// Sign-in with an external account and the links to such accounts (contract §13).
import { z } from 'zod'
import type { RouteModule } from '../http/route.js'
import { setSessionCookie } from '../http/session-cookie.js'
import { opt, text } from '../platform/fields.js'
import { addLink, authenticateExternal, listLinks, removeLink } from './external.js'
import { ok } from '../platform/responses.js'
import { externalLinkListSchema, externalLinkSchema, signInSchema } from './schemas.js'

const providerId = () => text(32)
const accessToken = () => text(8192)

const register: RouteModule = (route, deps) => {
  route({
    method: ['GET', 'POST'],
    url: '/user/authenticateExternal',
    auth: 'none',
    params: z.object({ accessToken: accessToken(), refreshToken: opt(z.string().max(8192)), providerId: providerId(), invitation: opt(z.string().max(200)), api_key: opt(z.string()) }),
    summary: "Sign in (or sign up) with an OpenID Connect provider's access token: the authenticate answer",
    tags: ['user'],
    errors: [4, 6, 8, 22, 45, 49, 50, 51, 67],
    response: signInSchema,
    handler: async ({ p, req, reply }) => {
      // the refresh token is not used: the server asks the provider only at sign-in
      const r = await authenticateExternal(deps, { providerId: p.providerId, accessToken: p.accessToken, invitation: p.invitation, apiKey: p.api_key })
      setSessionCookie(req, reply, r.sessionId, deps.config.SESSION_IDLE_DAYS)
      return r.body
    },
  })

  route({
    method: 'GET',
    url: '/user/external',
    summary: "The caller's linked external accounts",
    tags: ['user'],
    errors: [7],
    response: externalLinkListSchema,
    handler: ({ user, tz }) => listLinks(deps, user, tz),
  })

  route({
    method: 'POST',
    url: '/user/external',
    params: z.object({ providerId: providerId(), accessToken: accessToken() }),
    summary: 'Link the external account an access token belongs to',
    tags: ['user'],
    errors: [4, 7, 49, 50, 56, 57],
    response: externalLinkSchema,
    handler: ({ p, user, tz }) => addLink(deps, user, p.providerId, p.accessToken, tz),
  })

  route({
    method: 'DELETE',
    url: '/user/external',
    params: z.object({ providerId: providerId() }),
    summary: "Unlink the caller's external account of a provider",
    tags: ['user'],
    errors: [1, 4, 7],
    response: ok,
    handler: async ({ p, user }) => {
      await removeLink(deps, user, p.providerId)
    },
  })
}
export default register
