// Users: sign-up, sign-in and out, API keys, profile, password, email confirmation and
// password reset (contract §2–§4).
import { z } from 'zod'
import type { RouteModule } from '../http/route.js'
import { SESSION_COOKIE, setSessionCookie } from '../http/session-cookie.js'
import { bool, opt, text } from '../platform/fields.js'
import { createUserApiKey, deleteUserApiKey, endSession, getUserApiKey } from './sessions.js'
import * as users from './service.js'
import { userView } from './view.js'
import { formatDate } from '../platform/dates.js'
import { ok } from '../platform/responses.js'
import { apiKeyCreatedSchema, apiKeySchema, signInSchema, userSchema } from './schemas.js'

const credentials = z.object({
  login: text(320),
  password: text(1024),
  api_key: opt(z.string()),
})

const signupParams = z.object({
  login: text(),
  email: text(),
  password: text(),
  firstName: opt(z.string()),
  lastName: opt(z.string()),
  firstname: opt(z.string()),
  lastname: opt(z.string()),
  api_key: opt(z.string()),
  invitation: opt(z.string().max(200)),
})

const userUpdate = z.object({
  firstname: opt(z.string()),
  lastname: opt(z.string()),
  firstName: opt(z.string()),
  lastName: opt(z.string()),
  email: opt(z.string()),
  loginId: opt(z.string()),
  loginid: opt(z.string()),
  login: opt(z.string()),
  returnInfo: opt(bool()),
  returninfo: opt(bool()),
})

const register: RouteModule = (route, deps) => {
  route({
    method: ['GET', 'POST'],
    url: '/user/authenticate',
    auth: 'none',
    params: credentials,
    summary: 'Sign in: returns a session id and sets the HI_SESSION cookie',
    tags: ['user'],
    errors: [3, 4, 8, 67],
    response: signInSchema,
    handler: async ({ p, req, reply }) => {
      const r = await users.authenticate(deps, p.login, p.password, p.api_key, req.ip)
      setSessionCookie(req, reply, r.sessionId, deps.config.SESSION_IDLE_DAYS)
      return r.body
    },
  })

  route({
    method: 'POST',
    url: '/user/signup',
    auth: 'none',
    params: signupParams,
    summary: 'Create an account and sign in; `invitation` joins a team',
    tags: ['user'],
    errors: [4, 6, 8, 21, 22, 38, 39, 40, 45],
    response: signInSchema,
    handler: async ({ p, req, reply }) => {
      const r = await users.signup(
        deps,
        { login: p.login.trim(), email: p.email.trim(), password: p.password, firstName: (p.firstName ?? p.firstname ?? '').trim(), lastName: (p.lastName ?? p.lastname ?? '').trim() },
        p.api_key,
        p.invitation,
      )
      setSessionCookie(req, reply, r.sessionId, deps.config.SESSION_IDLE_DAYS)
      return r.body
    },
  })

  route({
    method: 'GET',
    // changes state: refused as a cross-site request through the cookie (§15)
    changes: true,
    url: '/user/logout',
    summary: 'End the session, on every server instance at once',
    tags: ['user'],
    errors: [7],
    response: ok,
    handler: async ({ user, reply }) => {
      await endSession(deps, user.sessionHash)
      reply.clearCookie(SESSION_COOKIE, { path: '/' })
      return { response_status: 0 }
    },
  })

  route({
    method: 'POST',
    url: '/user/apikey',
    params: z.object({ name: text(100) }),
    summary: "Create the user's API key (shown once)",
    tags: ['user'],
    errors: [4, 7, 25, 43],
    response: apiKeyCreatedSchema,
    handler: ({ p, user }) => createUserApiKey(deps, user.id, p.name.trim()),
  })
  route({
    method: 'GET',
    url: '/user/apikey',
    summary: "The user's API key, without the key itself",
    tags: ['user'],
    errors: [1, 7],
    response: apiKeySchema,
    handler: async ({ user, tz }) => {
      const k = await getUserApiKey(deps, user.id)
      return { name: k.name, prefix: k.prefix, time_create: formatDate(k.createdAt, tz) }
    },
  })
  route({
    method: 'DELETE',
    url: '/user/apikey',
    summary: "Delete the user's API key",
    tags: ['user'],
    errors: [1, 7],
    response: ok,
    handler: async ({ user }) => {
      await deleteUserApiKey(deps, user.id)
    },
  })

  route({
    method: 'GET',
    url: '/user',
    summary: 'The signed-in user',
    tags: ['user'],
    errors: [7],
    response: userSchema,
    handler: async ({ user }) => userView(await users.getUser(deps, user.id)),
  })

  route({
    method: ['POST', 'PUT'],
    url: ['/user/update', '/user'],
    params: userUpdate,
    summary: 'Change names, email (confirmed by a link) or login',
    tags: ['user'],
    errors: [7, 21, 22, 38, 39, 40],
    response: z.union([userSchema, ok]).meta({ description: 'The user with returnInfo=true, else {"response_status":0}' }),
    handler: async ({ p, user }) => {
      const updated = await users.updateUser(deps, user.id, {
        firstName: p.firstName ?? p.firstname,
        lastName: p.lastName ?? p.lastname,
        email: p.email?.trim(),
        login: (p.loginId ?? p.loginid ?? p.login)?.trim(),
      })
      return (p.returnInfo ?? p.returninfo) ? userView(updated) : { response_status: 0 }
    },
  })

  route({
    method: 'POST',
    url: '/user/password',
    params: z.object({ old_password: text(1024), new_password: text() }),
    summary: 'Change the password; other sessions end',
    tags: ['user'],
    errors: [4, 6, 7, 36, 67],
    response: ok,
    handler: async ({ p, user, req }) => {
      await users.changePassword(deps, user.id, p.old_password, p.new_password, user.sessionHash, req.ip)
    },
  })

  route({
    method: 'GET',
    url: '/user/confirm',
    auth: 'none',
    params: z.object({ token: text(200) }),
    summary: 'Confirm an email address with the token from the confirmation email',
    tags: ['user'],
    errors: [4, 6, 22],
    response: ok,
    handler: async ({ p }) => {
      await users.confirmEmail(deps, p.token)
    },
  })

  route({
    method: 'POST',
    url: '/user/password/reset',
    auth: 'none',
    params: z.object({ email: text(320) }),
    summary: 'Email a password reset link (same answer whether the address exists or not)',
    tags: ['user'],
    errors: [4],
    response: ok,
    handler: async ({ p }) => {
      await users.requestPasswordReset(deps, p.email)
    },
  })

  route({
    method: 'POST',
    url: '/user/password/reset/confirm',
    auth: 'none',
    params: z.object({ token: text(200), new_password: text() }),
    summary: 'Set a new password with the token from the reset email',
    tags: ['user'],
    errors: [4, 6],
    response: ok,
    handler: async ({ p }) => {
      await users.confirmPasswordReset(deps, p.token, p.new_password)
    },
  })
}
export default register
