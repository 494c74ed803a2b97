// Groups of the caller's team (contract §6).
import { z } from 'zod'
import type { RouteModule } from '../http/route.js'
import { id, nullable, opt, text } from '../platform/fields.js'
import { createGroup, deleteGroup, listGroups, setGroupMember, updateGroup } from './service.js'
import { ok } from '../platform/responses.js'
import { groupSchema } from './schemas.js'

const groupId = () => text(100)
const fields = { code: nullable(z.string().max(50)), color: nullable(z.string().max(50)) }

const register: RouteModule = (route, deps) => {
  route({
    method: 'GET',
    url: '/group',
    summary: "The groups of the caller's team with their members",
    tags: ['group'],
    errors: [7],
    response: z.array(groupSchema),
    handler: ({ user }) => listGroups(deps, user.id),
  })

  route({
    method: 'POST',
    url: '/group',
    params: z.object({ name: text(255), ...fields }),
    summary: 'Create a group (administrators)',
    tags: ['group'],
    errors: [3, 4, 7, 25],
    response: groupSchema,
    handler: ({ p, user }) => createGroup(deps, user.id, { name: p.name.trim(), code: p.code, color: p.color }),
  })

  route({
    method: 'PUT',
    url: '/group',
    params: z.object({ id: groupId(), name: opt(z.string().trim().min(1).max(255)), ...fields }),
    summary: 'Rename or recolour a group (administrators)',
    tags: ['group'],
    errors: [1, 3, 4, 7, 17, 25],
    response: groupSchema,
    handler: ({ p, user }) => updateGroup(deps, user.id, p.id, { name: p.name, code: p.code, color: p.color }),
  })

  route({
    method: 'DELETE',
    url: '/group',
    params: z.object({ id: groupId() }),
    summary: 'Delete a group (not its members); its members lose what it was shared with',
    tags: ['group'],
    errors: [1, 3, 4, 7, 17],
    response: ok,
    handler: async ({ p, user }) => {
      await deleteGroup(deps, user.id, p.id)
    },
  })

  for (const [method, member] of [['POST', true], ['DELETE', false]] as const) {
    route({
      method,
      url: ['/group/:groupId/contact/:id', '/group/:groupId/contact'],
      params: z.object({ groupId: groupId(), id: id() }),
      summary: member ? 'Add a team member to a group (administrators)' : 'Remove a member from a group (administrators)',
      tags: ['group'],
      errors: [1, 3, 4, 5, 7, 17],
      response: groupSchema,
      handler: ({ p, user }) => setGroupMember(deps, user.id, p.groupId, p.id, member),
    })
  }
}
export default register
