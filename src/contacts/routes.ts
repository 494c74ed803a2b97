// Contacts (contract §7).
import { z } from 'zod'
import type { RouteModule } from '../http/route.js'
import { errors } from '../platform/errors.js'
import { bool, id, opt, singleLine, text } from '../platform/fields.js'
import { approveContact, inviteContact, listContacts, removeContact, requestContact, searchUsers } from './service.js'
import { inviteContactToTeam } from '../teams/invitations.js'
import { removeMember } from '../teams/service.js'
import { ok } from '../platform/responses.js'
import { contactListSchema, contactSchema } from './schemas.js'

const byId = z.object({ id: id() })

const register: RouteModule = (route, deps) => {
  route({
    method: 'GET',
    url: '/contact',
    params: z.object({ includeSelf: opt(bool()), includeself: opt(bool()) }),
    summary: 'My contacts, team mates and invitations to my team; includeSelf=1 adds me',
    tags: ['contact'],
    errors: [7],
    response: contactListSchema,
    handler: ({ p, user }) => listContacts(deps, user.id, !!(p.includeSelf ?? p.includeself)),
  })

  route({
    method: 'POST',
    url: '/contact',
    params: z.object({ id: opt(id()), login: opt(z.string().max(320)), email: opt(z.string().max(320)) }),
    summary: 'Ask a user to connect (by id, login or email)',
    tags: ['contact'],
    errors: [1, 7, 14, 15, 104],
    response: contactSchema,
    handler: ({ p, user }) => {
      if (p.id === undefined && p.login === undefined && p.email === undefined) throw errors.oneOfMandatory(['id', 'login', 'email'])
      return requestContact(deps, user.id, p) // the first given of id, login, email names the user
    },
  })

  route({
    method: 'DELETE',
    url: '/contact',
    params: byId,
    summary: 'Remove a contact (on both sides)',
    tags: ['contact'],
    errors: [1, 4, 5, 7],
    response: ok,
    handler: async ({ p, user }) => {
      await removeContact(deps, user.id, p.id)
    },
  })

  route({
    method: 'GET',
    url: '/contact/search',
    params: z.object({ query: opt(z.string().max(320)) }),
    summary: 'Users whose name or login starts with the query (2+ characters) or whose email equals it; 50 at most',
    tags: ['contact'],
    errors: [7],
    response: contactListSchema,
    handler: ({ p, user }) => searchUsers(deps, user.id, p.query ?? ''),
  })

  route({
    method: 'GET',
    // changes state: refused as a cross-site request through the cookie (§15)
    changes: true,
    url: '/contact/invite',
    params: z.object({ email: text(320), name: opt(singleLine('name', 100)) }),
    summary: 'Invite someone to sign up by email; an existing user gets a contact request',
    tags: ['contact'],
    errors: [4, 5, 7, 14, 15, 67],
    response: z.union([contactSchema, ok]).meta({ description: 'An existing user: the contact request made (as POST /contact); an unknown address: {"response_status":0} (an email was sent)' }),
    handler: async ({ p, user }) => (await inviteContact(deps, user.id, p.email, p.name)) ?? { response_status: 0 },
  })

  route({
    method: 'GET',
    // changes state: refused as a cross-site request through the cookie (§15)
    changes: true,
    url: '/contact/approve',
    params: byId,
    summary: 'Accept a contact request (FROM becomes BOTH)',
    tags: ['contact'],
    errors: [1, 4, 5, 7],
    response: contactSchema,
    handler: ({ p, user }) => approveContact(deps, user.id, p.id),
  })

  route({
    method: 'GET',
    // changes state: refused as a cross-site request through the cookie (§15)
    changes: true,
    url: '/contact/addtobusiness',
    params: byId,
    summary: 'Invite a contact into my team (as POST /team/member)',
    tags: ['contact'],
    errors: [1, 3, 4, 5, 7, 12, 16, 33, 67, 79],
    response: ok,
    handler: async ({ p, user }) => {
      await inviteContactToTeam(deps, user.id, p.id)
    },
  })

  route({
    method: 'GET',
    // changes state: refused as a cross-site request through the cookie (§15)
    changes: true,
    url: '/contact/removefrombusiness',
    params: byId,
    summary: 'Remove a member or invitation from my team (as DELETE /team/member)',
    tags: ['contact'],
    errors: [1, 3, 4, 5, 7, 33],
    response: ok,
    handler: async ({ p, user }) => {
      await removeMember(deps, user.id, p.id)
    },
  })
}
export default register
