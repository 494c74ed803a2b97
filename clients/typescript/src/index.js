// @hitask/client: openapi-fetch typed by the server's OpenAPI document (src/schema.d.ts,
// generated), plus the session: the id of a sign-in is sent as the x-hi-session header of
// every later request. Types are in index.d.ts; no build step.
import createClient from 'openapi-fetch'

/** a non-2xx answer: its HTTP status and the API's envelope `{error_message, response_status}` */
export class HitaskError extends Error {
  /**
   * @param {number} status
   * @param {{ error_message?: string, response_status?: number } | undefined} body
   */
  constructor(status, body) {
    super(`HTTP ${status}: ${body?.error_message ?? 'no error message'} (code ${body?.response_status ?? 'none'})`)
    this.name = 'HitaskError'
    this.status = status
    this.code = body?.response_status ?? null
    this.body = body
  }
}

/** the X-Cursor header of GET /item, /item/since and /item/delta, as a number (null when absent) */
export function cursorOf(response) {
  const c = response.headers.get('X-Cursor')
  return c === null ? null : Number(c)
}

/** `data` of an openapi-fetch result, or throws a HitaskError */
export function unwrap(result) {
  if (result.error !== undefined || !result.response.ok) throw new HitaskError(result.response.status, result.error)
  return result.data
}

/**
 * A multipart body for the routes that take a file (POST /api/file/upload, /api/user/picture):
 * pass it as `bodySerializer`. Blobs and Files are sent as files (named by `.name`, else by
 * the field), objects as JSON text, everything else as text.
 */
export function multipart(body) {
  const form = new FormData()
  for (const [name, value] of Object.entries(body ?? {})) {
    if (value === undefined || value === null) continue
    if (value instanceof Blob) form.append(name, value, typeof value.name === 'string' ? value.name : name)
    else form.append(name, typeof value === 'object' ? JSON.stringify(value) : String(value))
  }
  return form
}

export function createHitaskClient(options = {}) {
  const { session = null, ...clientOptions } = options
  const client = createClient(clientOptions)
  let current = session
  client.use({
    onRequest({ request }) {
      if (current && !request.headers.has('x-hi-session')) request.headers.set('x-hi-session', current)
      return request
    },
  })
  // defineProperty, not Object.assign: the getter must stay a getter
  Object.defineProperty(client, 'session', { get: () => current, enumerable: true })
  return Object.assign(client, {
    setSession(id) {
      current = id
    },
    async signIn({ login, password, apiKey }) {
      const body = unwrap(await client.GET('/api/user/authenticate', { params: { query: { login, password, api_key: apiKey } } }))
      current = body.session_id
      return body
    },
    async signOut() {
      unwrap(await client.GET('/api/user/logout'))
      current = null
    },
  })
}

export default createHitaskClient
