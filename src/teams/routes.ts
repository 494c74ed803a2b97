// Team members and invitations (contract §5). Sign-up with `invitation=<token>` is wired to
// the invitation service through signupHooks.
import { z } from 'zod'
import type { RouteModule } from '../http/route.js'
import { errors } from '../platform/errors.js'
import { id, opt, singleLine, text } from '../platform/fields.js'
import { removeMember, teamMembers } from './service.js'
import { accept, decline, invite, signupWithInvitation } from './invitations.js'
import { signupHooks } from '../users/service.js'
import { ok } from '../platform/responses.js'
import { contactListSchema } from '../contacts/schemas.js'

const inviteParams = z.object({ email: text(320), name: opt(singleLine('name', 100)) })

const register: RouteModule = (route, deps) => {
  signupHooks.invitation = signupWithInvitation

  route({
    method: 'GET',
    url: '/team',
    summary: 'Every member (BIS) and pending invitation (BIS_WAIT), contact-shaped',
    tags: ['team'],
    errors: [7, 33],
    response: contactListSchema,
    handler: ({ user }) => teamMembers(deps, user.id),
  })

  route({
    method: 'POST',
    url: '/team/member',
    params: inviteParams,
    summary: 'Invite by email (administrators); the email carries a one-time link',
    tags: ['team'],
    errors: [3, 4, 5, 7, 12, 16, 33, 67, 79],
    response: ok,
    handler: async ({ p, user }) => {
      await invite(deps, user.id, p.email, p.name, false)
    },
  })

  route({
    method: 'POST',
    url: '/team/member/resend',
    params: inviteParams,
    summary: 'Send the invitation email again (a new one-time link)',
    tags: ['team'],
    errors: [3, 4, 5, 7, 12, 16, 33, 67],
    response: ok,
    handler: async ({ p, user }) => {
      await invite(deps, user.id, p.email, p.name, true)
    },
  })

  route({
    method: 'DELETE',
    url: '/team/member',
    params: z.object({ id: id() }),
    summary: 'Remove a member or an invitation; the member loses what the team shared',
    tags: ['team'],
    errors: [1, 3, 4, 5, 7, 33],
    response: ok,
    handler: async ({ p, user }) => {
      await removeMember(deps, user.id, p.id)
    },
  })

  route({
    method: 'POST',
    url: '/team/member/accept',
    params: z.object({ token: opt(z.string().max(200)), id: opt(id()) }),
    summary: 'Join a team: the token from the invitation email, or the id of an invitation in inv_get',
    tags: ['team'],
    errors: [1, 6, 7, 16, 19, 45, 104],
    response: ok,
    handler: async ({ p, user }) => {
      if (p.token === undefined && p.id === undefined) throw errors.oneOfMandatory(['token', 'id'])
      await accept(deps, user.id, { token: p.token, id: p.id })
    },
  })

  route({
    method: 'POST',
    url: '/team/member/decline',
    params: z.object({ id: id() }),
    summary: 'Decline an invitation listed in inv_get',
    tags: ['team'],
    errors: [1, 4, 7, 19, 45],
    response: ok,
    handler: async ({ p, user }) => {
      await decline(deps, user.id, p.id)
    },
  })
}
export default register
