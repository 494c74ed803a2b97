// The team account: POST|GET /business and GET /list/business (contract §5).
import { z } from 'zod'
import type { RouteModule } from '../http/route.js'
import { text } from '../platform/fields.js'
import { businessInfo, businessList, createBusiness } from './service.js'
import { businessListSchema, businessSchema } from './schemas.js'

const register: RouteModule = (route, deps) => {
  route({
    method: 'POST',
    url: '/business',
    params: z.object({ title: text(255), domainName: text(255) }),
    summary: 'Create a team: the caller becomes its owner; an Everyone group is created',
    tags: ['team'],
    errors: [4, 7, 16, 25, 37],
    response: businessSchema,
    handler: async ({ p, user, tz }) => {
      await createBusiness(deps, user.id, { title: p.title, domainName: p.domainName })
      return businessInfo(deps, user.id, tz)
    },
  })

  route({
    method: 'GET',
    url: '/business',
    summary: "The caller's team: licences and storage",
    tags: ['team'],
    errors: [7, 33],
    response: businessSchema,
    handler: ({ user, tz }) => businessInfo(deps, user.id, tz),
  })

  route({
    method: 'GET',
    url: '/list/business',
    summary: "The caller's team with invitations sent and received (team fields null without a team)",
    tags: ['team'],
    errors: [7],
    // issue 12 answers the bare object (contract §5, amended); until then it is wrapped
    response: businessListSchema,
    handler: ({ user, tz }) => businessList(deps, user.id, tz),
  })
}
export default register
