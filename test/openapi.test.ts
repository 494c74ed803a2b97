// The OpenAPI document is built from the route declarations: every route registered in the
// app appears with its parameters and the error codes it declares; Swagger UI is served from
// the npm package.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import Fastify, { type RouteOptions } from 'fastify'
import { z } from 'zod'
import { createTestApp, type TestApp } from './helpers/app.js'
import { registerOpenApi } from '../src/http/openapi.js'
import { defineRoutes } from '../src/http/route.js'
import { bool, fail, id, int, jsonish, list, nullable, num, opt, text } from '../src/platform/fields.js'
import { errors, statusForCode } from '../src/platform/errors.js'
import { registerErrorHandling } from '../src/http/error-handler.js'
import { registerParams } from '../src/http/params.js'
import { isRawAnswer } from '../src/platform/responses.js'
import { compileErrors, validate } from '@readme/openapi-parser'
import ical from 'node-ical'

let t: TestApp
const routes: RouteOptions[] = []
let doc: any

beforeAll(async () => {
  t = await createTestApp({ smtp: false, onRoute: (r) => void routes.push(r) })
  const r = await t.call('GET', '/api/openapi.json')
  expect(r.statusCode).toBe(200)
  doc = r.json()
})
afterAll(() => t?.close())

/** `/api/group/:groupId/contact/:id` → `/api/group/{groupId}/contact/{id}` */
const openapiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}').replace(/\*$/, '{*}')

/** the codes an operation documents, by HTTP status */
function documentedCodes(op: any): Map<number, number[]> {
  const out = new Map<number, number[]>()
  for (const [status, resp] of Object.entries<any>(op.responses)) {
    const schema = resp.content?.['application/json']?.schema
    const codes = schema?.properties?.response_status?.enum
    if (Number(status) >= 400 && Array.isArray(codes)) out.set(Number(status), codes)
  }
  return out
}

describe('GET /api/openapi.json', () => {
  it('is an OpenAPI 3.1 document', () => {
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.info.title).toBe('Hitask API')
    expect(Object.keys(doc.paths).length).toBeGreaterThan(10)
  })

  it('lists every declared route, each method, with the error codes it declares', () => {
    // routes declared through route() carry config.auth; HEAD twins of GETs are Fastify's own
    const declared = routes.filter((r) => (r.config as any)?.auth && r.method !== 'HEAD')
    expect(declared.length).toBeGreaterThan(10)
    const missing: string[] = []
    for (const r of declared) {
      const methods = Array.isArray(r.method) ? r.method : [r.method]
      for (const m of methods) {
        const op = doc.paths[openapiPath(r.url)]?.[m.toLowerCase()]
        if (!op) {
          missing.push(`${m} ${r.url}`)
          continue
        }
        const documented = documentedCodes(op)
        for (const code of ((r.config as any).codes ?? []) as number[]) {
          const status = code === 20 ? 507 : statusForCode(code)
          if (!documented.get(status)?.includes(code)) missing.push(`${m} ${r.url}: code ${code} (HTTP ${status})`)
        }
        // a signed-in route can always answer 401/7, any route 500/100
        if ((r.config as any).auth === 'session' && !documented.get(401)?.includes(7)) missing.push(`${m} ${r.url}: 401/7`)
        if (!documented.get(500)?.includes(100)) missing.push(`${m} ${r.url}: 500/100`)
      }
    }
    expect(missing).toEqual([])
  })

  it('documents the metrics endpoint and the error envelope shape', () => {
    expect(doc.paths['/metrics'].get).toBeTruthy()
    const err = doc.paths['/api/user'].get.responses['401']
    expect(err.content['application/json'].schema).toMatchObject({
      type: 'object',
      required: ['error_message', 'response_status'],
      properties: { error_message: { type: 'string' }, response_status: { type: 'integer', enum: [7] } },
    })
    expect(err.description).toContain('SESSION_NOT_FOUND')
  })

  it('GET parameters are query parameters, POST parameters a form or JSON body', () => {
    const auth = doc.paths['/api/user/authenticate']
    const names = auth.get.parameters.filter((p: any) => p.in === 'query').map((p: any) => p.name)
    expect(names).toEqual(expect.arrayContaining(['login', 'password', 'api_key']))
    expect(auth.get.parameters.find((p: any) => p.name === 'login').required).toBe(true)
    expect(auth.get.parameters.find((p: any) => p.name === 'api_key').required).toBeFalsy()

    const signup = doc.paths['/api/user/signup'].post
    expect(signup.requestBody.required).toBe(false)
    for (const type of ['application/x-www-form-urlencoded', 'application/json', 'multipart/form-data']) {
      const schema = signup.requestBody.content[type].schema
      expect(schema.properties.login).toMatchObject({ type: 'string' })
      expect(schema.required).toEqual(expect.arrayContaining(['login', 'email', 'password']))
    }
    expect(signup.parameters ?? []).toEqual([])
  })

  it('marks signed-in routes with the three ways of sending the session', () => {
    expect(doc.components.securitySchemes.sessionHeader).toMatchObject({ type: 'apiKey', in: 'header', name: 'x-hi-session' })
    expect(doc.paths['/api/user'].get.security).toEqual([{ sessionHeader: [] }, { sessionParam: [] }, { sessionCookie: [] }])
    expect(doc.paths['/api/user/signup'].post.security).toBeUndefined()
  })
})

describe('the answers in the document', () => {
  it('passes a standard OpenAPI 3.1 validator (@readme/openapi-parser)', async () => {
    const result = await validate(structuredClone(doc))
    expect(result.valid ? [] : compileErrors(result)).toEqual([])
    expect(result.warnings).toEqual([])
  })

  it('every declared route declares its answer (only the refused-version catch-all never succeeds)', () => {
    const declared = routes.filter((r) => (r.config as any)?.auth && r.method !== 'HEAD')
    const without = declared.filter((r) => !(r.config as any).answer && !r.url.includes('__unsupported_version__')).map((r) => `${r.method} ${r.url}`)
    expect(without).toEqual([])
  })

  it('each JSON answer is in the document with its schema and an example that the schema accepts', () => {
    const problems: string[] = []
    for (const r of routes.filter((x) => (x.config as any)?.answer && x.method !== 'HEAD')) {
      const answer = (r.config as any).answer
      const op = doc.paths[openapiPath(r.url)]?.[String(r.method).toLowerCase()]
      const ok = op?.responses?.['200']
      if (isRawAnswer(answer)) {
        const media = ok?.content?.[answer.contentType]
        if (!media) problems.push(`${r.method} ${r.url}: no ${answer.contentType} answer`)
        // a text answer shows an example in /docs; bytes (files, pictures, workbooks) cannot
        else if (answer.text && (typeof media.example !== 'string' || !media.example)) problems.push(`${r.method} ${r.url}: no example of its ${answer.contentType} answer`)
        if (answer.contentType.includes(';') || answer.contentType !== answer.contentType.toLowerCase()) problems.push(`${r.method} ${r.url}: ${answer.contentType} is not a bare media type`)
        continue
      }
      const media = ok?.content?.['application/json']
      if (!media?.schema || media.example === undefined) {
        problems.push(`${r.method} ${r.url}: no schema or example`)
        continue
      }
      const parsed = (answer as z.ZodType).safeParse(media.example)
      if (!parsed.success) problems.push(`${r.method} ${r.url}: example rejected: ${parsed.error.message.slice(0, 300)}`)
    }
    expect(problems).toEqual([])
  })

  it('names the shapes as components the client gets one type each of', () => {
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['Item', 'ChangedItem', 'UnchangedItem', 'User', 'SignIn', 'Contact', 'Business', 'BusinessList', 'Group', 'Tag', 'Comment', 'HistoryEntry', 'FileUrl', 'Preferences', 'ApiKey', 'Ok']),
    )
    const item = doc.components.schemas.Item
    // contract §8.1: every field present (required), null when unset
    expect(item.required).toEqual(expect.arrayContaining(['children', 'previews', 'permissions', 'alerts', 'parentGuid']))
    expect(item.required.length).toBe(Object.keys(item.properties).length)
    expect(item.properties.children).toMatchObject({ anyOf: [{ type: 'boolean', const: true }, { type: 'null' }] })
    expect(item.properties.previews.anyOf[0].items).toEqual({ $ref: '#/components/schemas/Preview' })
    expect(doc.paths['/api/item'].get.responses['200'].content['application/json'].schema).toEqual({ type: 'array', items: { $ref: '#/components/schemas/Item' } })
    expect(doc.paths['/api/item'].get.responses['200'].headers['X-Cursor']).toBeTruthy()
    expect(doc.paths['/api/item/{id}'].get.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Item' })
    // an error answer shows its envelope with an example message
    expect(doc.paths['/api/item/{id}'].get.responses['404'].content['application/json'].example).toEqual({ error_message: 'Item not found', response_status: 1 })
  })
})

describe('answers that are not JSON', () => {
  const okOf = (path: string, method = 'get') => doc.paths[path][method].responses['200']

  it('declare their content type, an example of the text ones, their headers and a 304 where there is one', () => {
    const csv = okOf('/api/export/csv').content
    expect(Object.keys(csv)).toEqual(['text/csv'])
    expect(csv['text/csv'].schema).toEqual({ type: 'string' })
    expect(csv['text/csv'].example.split('\r\n')[0]).toBe('Title,Description,Start,End,Priority,Time estimate,Time spent,Tags')
    expect(okOf('/api/export/csv').headers['Content-Disposition']).toBeTruthy()
    const xlsx = okOf('/api/export/xlsx').content
    expect(Object.keys(xlsx)).toEqual(['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'])
    expect(Object.values<any>(xlsx)[0].schema).toEqual({ type: 'string', format: 'binary' })

    const feed = doc.paths['/api/calendar/{file}'].get.responses
    expect(feed['200'].content['text/calendar'].example).toMatch(/^BEGIN:VCALENDAR\r\n[\s\S]*END:VCALENDAR\r\n$/)
    // the example is a calendar a standard parser reads: one event and one to-do
    const parsed = Object.values<any>(ical.sync.parseICS(feed['200'].content['text/calendar'].example))
    expect(parsed.filter((c) => c.type === 'VEVENT' || c.type === 'VTODO').map((c) => [c.type, c.summary])).toEqual([
      ['VEVENT', 'Design review'],
      ['VTODO', 'Send the invoices'],
    ])
    expect(feed['200'].headers.ETag).toBeTruthy()
    expect(feed['304'].description).toMatch(/If-None-Match/)
    expect(feed['304'].content).toBeUndefined()

    const live = okOf('/api/item/live').content
    expect(Object.keys(live)).toEqual(['text/event-stream'])
    expect(live['text/event-stream'].example).toContain('event: change\ndata: {"cursor":')

    for (const method of ['get', 'post']) expect(Object.keys(okOf('/api/unsubscribe', method).content)).toEqual(['text/html'])
    // the JSON answers of the same domains are named shapes
    expect(okOf('/api/user/calendar').content['application/json'].schema).toEqual({ $ref: '#/components/schemas/CalendarAddress' })
    expect(okOf('/api/import/upload', 'post').content['application/json'].schema).toEqual({ type: 'array', items: { $ref: '#/components/schemas/ParsedItem' } })
    expect(okOf('/api/import', 'post').content['application/json'].schema).toEqual({ type: 'array', items: { $ref: '#/components/schemas/Item' } })
    expect(okOf('/api/webhook').content['application/json'].schema).toEqual({ type: 'array', items: { $ref: '#/components/schemas/Webhook' } })
    expect(okOf('/api/webhook', 'post').content['application/json'].schema).toEqual({ $ref: '#/components/schemas/WebhookCreated' })
    expect(okOf('/api/user/push/key').content['application/json'].schema).toEqual({ $ref: '#/components/schemas/PushKey' })
    expect(okOf('/api/user/authenticateExternal').content['application/json'].schema).toEqual({ $ref: '#/components/schemas/SignIn' })
    expect(okOf('/api/user/external').content['application/json'].schema).toEqual({ type: 'array', items: { $ref: '#/components/schemas/ExternalAccount' } })
  })

  it('are sent with the content type their route declares', async () => {
    const u = await t.signup()
    const created = await t.call('POST', '/api/item', { session: u.session, form: { title: 'dated', category: '2', start_date: '2030-01-02T10:00:00Z' } })
    expect(created.statusCode).toBe(200)
    const declared = (path: string) => Object.keys(okOf(path).content)[0]
    const media = (r: { headers: Record<string, unknown> }) => String(r.headers['content-type']).split(';')[0]
    for (const path of ['/api/export/csv', '/api/export/xlsx']) {
      const r = await t.call('GET', path, { session: u.session })
      expect(r.statusCode).toBe(200)
      expect(media(r)).toBe(declared(path))
    }
    const address = (await t.call('GET', '/api/user/calendar', { session: u.session })).json().url as string
    const feed = await t.call('GET', new URL(address).pathname)
    expect(feed.statusCode).toBe(200)
    expect(media(feed)).toBe(declared('/api/calendar/{file}'))
    const again = await t.call('GET', new URL(address).pathname, { headers: { 'if-none-match': String(feed.headers.etag) } })
    expect(again.statusCode).toBe(304)
  })
})

describe('Swagger UI at /docs', () => {
  it('serves the page and its assets from the package, no CDN', async () => {
    const page = await t.call('GET', '/docs/')
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toContain('text/html')
    // every script and stylesheet is local
    const external = [...page.body.matchAll(/(?:src|href)="(https?:)?\/\/[^"]+"/g)].map((m) => m[0])
    expect(external).toEqual([])
    const bundle = await t.call('GET', '/docs/static/swagger-ui-bundle.js')
    expect(bundle.statusCode).toBe(200)
    expect(bundle.body.length).toBeGreaterThan(100_000)
    expect((await t.call('GET', '/docs')).statusCode).toBe(200)
    const json = await t.call('GET', '/docs/json')
    expect(json.json().openapi).toBe('3.1.0')
  })
})

describe('the document builds from the zod helpers of src/http/fields.ts', () => {
  it('documents each wire form by the type it accepts, path params once, and the success shape', async () => {
    const app = Fastify()
    registerErrorHandling(app)
    await registerOpenApi(app)
    await registerParams(app, { bodyLimit: 1 << 20, tmpDir: path.join(t.dataDir, 'tmp') })
    const route = defineRoutes(app, t.deps)
    const params = z
      .object({
        groupId: text(),
        count: int(),
        item_id: id(),
        ratio: opt(num()),
        starred: opt(bool()),
        permissions: jsonish(z.array(z.object({ principal: z.string(), level: z.number() }))),
        participants: opt(list(id())),
        title: nullable(text(255)),
        name: text(64),
      })
      .superRefine((v, ctx) => {
        if (v.count < 0) fail(ctx, errors.invalidData('count'))
      })
    route({
      method: ['GET', 'PUT'],
      url: '/probe/:groupId',
      auth: 'none',
      params,
      response: z.object({ id: z.number(), tags: z.array(z.string()), when: z.date().nullable() }),
      errors: [1, 4, 5, 6],
      handler: () => ({ id: 1, tags: [], when: null }),
    })
    await app.ready()
    const d = app.swagger() as any
    const get = d.paths['/api/probe/{groupId}'].get
    const put = d.paths['/api/probe/{groupId}'].put
    const q = Object.fromEntries(get.parameters.map((p: any) => [`${p.in}:${p.name}`, p]))
    expect(q['path:groupId']).toBeTruthy()
    expect(q['query:groupId']).toBeUndefined()
    expect(q['query:count'].schema.type).toBe('integer')
    expect(q['query:count'].required).toBe(true)
    expect(q['query:starred'].schema.type).toBe('boolean')
    expect(q['query:starred'].required).toBeFalsy()
    expect(q['query:participants'].schema).toMatchObject({ type: 'array', items: { type: 'integer' } })
    expect(q['query:permissions'].schema.items.properties.principal.type).toBe('string')
    const body = put.requestBody.content['application/json'].schema
    expect(body.properties.groupId).toBeUndefined()
    expect(body.properties.title.anyOf).toEqual(expect.arrayContaining([{ type: 'null' }]))
    expect(body.required).toEqual(expect.arrayContaining(['count', 'item_id', 'permissions', 'name']))
    expect(body.required).not.toContain('title')
    const ok = get.responses['200'].content['application/json'].schema
    expect(ok.properties).toMatchObject({ id: { type: 'number' }, tags: { type: 'array' } })
    // declared codes plus those of src/http/codes.ts: malformed input (5, 25, 46), a required
    // parameter (4), the rate limit (67), a crash (500) or an unavailable database (503)
    expect(Object.keys(get.responses).sort()).toEqual(['200', '400', '404', '429', '500', '503'])
    expect(get.responses['400'].content['application/json'].schema.properties.response_status.enum).toEqual([4, 5, 6, 25, 46])
    // the response schema documents the answer, it does not reshape it
    const r = await app.inject({ method: 'GET', url: '/api/probe/g1?count=1&item_id=2&permissions=[]&name=x&title=&extra=1' })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toEqual({ id: 1, tags: [], when: null })
    const bad = await app.inject({ method: 'PUT', url: '/api/probe/g1', payload: { count: -1, item_id: 2, permissions: [], name: 'x' } })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().response_status).toBe(6)
    await app.close()
  })
})
