// The request forms of the 2018 Hitask web client (contract §1), replayed as it sends them:
// base /api/v5/, `api_key` and `session_id` in the query string of every request, bodies
// url-encoded with objects and arrays JSON-stringified first (test/helpers/wire.ts
// formEncode: null becomes the text `null`), labelled `application/json; charset=UTF-8`.
import type { LightMyRequestResponse } from 'fastify'
import { API_KEY, formEncode, type TestApp } from '../helpers/app.js'
import { multipartBody, type FilePart } from '../../src/platform/multipart.js'

export const WEB_CONTENT_TYPE = 'application/json; charset=UTF-8'

export type WebClient = ReturnType<typeof webClient>

/** a client signed in with `sessionId` (or none yet) */
export function webClient(t: TestApp, sessionId?: string) {
  const c = {
    sessionId,
    /** `/api/v5/<path>?api_key=…&session_id=…[&query]` */
    url(path: string, query: Record<string, unknown> = {}) {
      const q = formEncode({ api_key: API_KEY, ...(c.sessionId ? { session_id: c.sessionId } : {}), ...query })
      return `/api/v5/${path}?${q}`
    },
    /** GET with the parameters in the query string, as the client's GETs */
    get(path: string, query: Record<string, unknown> = {}): Promise<LightMyRequestResponse> {
      return t.app.inject({ method: 'GET', url: c.url(path, query) })
    },
    /** a body sent as the client sends it: url-encoded, labelled JSON; `raw` is sent byte for byte */
    send(method: 'POST' | 'PUT' | 'DELETE', path: string, body: Record<string, unknown> | string): Promise<LightMyRequestResponse> {
      const payload = typeof body === 'string' ? body : formEncode(body)
      return t.app.inject({ method, url: c.url(path), headers: { 'content-type': WEB_CONTENT_TYPE }, payload })
    },
    post: (path: string, body: Record<string, unknown> | string) => c.send('POST', path, body),
    put: (path: string, body: Record<string, unknown> | string) => c.send('PUT', path, body),
    del: (path: string, body: Record<string, unknown> | string) => c.send('DELETE', path, body),
    /** a JSON document as the body (the import screen posts the reviewed array this way) */
    postJson(path: string, value: unknown): Promise<LightMyRequestResponse> {
      return t.app.inject({ method: 'POST', url: c.url(path), headers: { 'content-type': WEB_CONTENT_TYPE }, payload: JSON.stringify(value) })
    },
    /** a multipart form (file uploads), the session in the query as for every request */
    async upload(path: string, files: FilePart[], fields: Record<string, string> = {}): Promise<LightMyRequestResponse> {
      const { body, contentType } = await multipartBody(fields, files)
      return t.app.inject({ method: 'POST', url: c.url(path), headers: { 'content-type': contentType }, payload: body })
    },
    /** GET /user/authenticate as the sign-in screen sends it; keeps the session */
    async signIn(login: string, password: string) {
      const r = await c.get('user/authenticate', { login, password })
      if (r.statusCode === 200) c.sessionId = r.json().session_id
      return r
    },
  }
  return c
}

/** every key of contract §8.1's item object */
export const ITEM_KEYS = [
  'id', 'guid', 'user_id', 'title', 'message', 'category', 'completed', 'color', 'color_value', 'parent', 'parentGuid',
  'short_name', 'issue_id', 'recurring', 'recurring_interval', 'recurring_end_date', 'instances', 'start_date', 'end_date',
  'due_date', 'is_all_day', 'time_create', 'time_last_update', 'version', 'shared', 'starred', 'time_track', 'time_est',
  'time_spent', 'priority', 'assignee', 'participants', 'tags', 'location', 'alerts', 'unread', 'permission', 'permissions',
  'last_comment_id', 'last_comment', 'last_comment_user_id', 'last_comment_create_datetime', 'file_size', 'previews', 'contact',
  'publish_url', 'last_transition_time', 'last_transition_user', 'children',
].sort()

/** the date form of contract §1 "dates out" */
export const DATE_OUT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$/
