// GET|POST /user/preferences: old format under /api/v1…v6, new format unversioned (§3.1).
import type { RouteModule } from '../http/route.js'
import { getPreferences, preferencesInput, setPreferences } from './preferences.js'
import { preferencesSchema } from './schemas.js'

const register: RouteModule = (route, deps) => {
  route({
    method: 'GET',
    url: '/user/preferences',
    summary: 'All preferences with their defaults (format by API version)',
    tags: ['user'],
    errors: [7],
    response: preferencesSchema,
    handler: ({ user, version }) => getPreferences(deps, user.id, version === null ? 'new' : 'old'),
  })
  route({
    method: 'POST',
    url: '/user/preferences',
    summary: 'Set key/value pairs; all or nothing',
    tags: ['user'],
    params: preferencesInput,
    errors: [7, 102],
    response: preferencesSchema,
    handler: ({ p, user, version }) => setPreferences(deps, user.id, p, version === null ? 'new' : 'old'),
  })
}
export default register
