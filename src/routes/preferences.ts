// GET|POST /user/preferences: old format under /api/v1…v6, new format unversioned (§3.1).
import type { RouteModule } from '../app.js'
import { getPreferences, preferencesInput, setPreferences } from '../services/preferences.js'

const register: RouteModule = (route, deps) => {
  route({
    method: 'GET',
    url: '/user/preferences',
    summary: 'All preferences with their defaults (format by API version)',
    tags: ['user'],
    errors: [7],
    handler: ({ user, version }) => getPreferences(deps, user.id, version === null ? 'new' : 'old'),
  })
  route({
    method: 'POST',
    url: '/user/preferences',
    summary: 'Set key/value pairs; all or nothing',
    tags: ['user'],
    params: preferencesInput,
    errors: [7, 102],
    handler: async ({ p, user, version }) => {
      await setPreferences(deps, user.id, p)
      return getPreferences(deps, user.id, version === null ? 'new' : 'old')
    },
  })
}
export default register
