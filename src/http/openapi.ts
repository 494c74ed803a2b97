// The OpenAPI 3.1 document, built from the same route declarations (src/http/route.ts) and
// zod schemas that validate requests and describe answers (src/<domain>/schemas.ts), so a new
// route is documented by being declared: its parameters, its answer with an example, the
// codes it can answer (src/http/codes.ts). Served at /api/openapi.json; Swagger UI (assets
// from the npm package) at /docs. docs/api-schemas.md has the decisions.
import fs from 'node:fs'
import type { FastifyContextConfig, FastifyInstance, RouteOptions } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { Code, errors } from '../platform/errors.js'
import { errorEnvelope, isRawAnswer } from '../platform/responses.js'
import { codesByStatus } from './codes.js'
import { exampleOf } from './examples.js'

export const OPENAPI_PATH = '/api/openapi.json'
export const DOCS_PATH = '/docs'

const codeNames = new Map<number, string>(Object.entries(Code).map(([name, code]) => [code, name]))

/** an example message of each code, from the error registry */
const exampleMessages = new Map<number, string>(
  [
    errors.notFound(),
    errors.noPermissions(),
    errors.mandatory('title'),
    errors.invalidFormat('due_date'),
    errors.invalidData('category 3'),
    errors.sessionNotFound(),
    errors.invalidApiKey(),
    errors.apiVersion(6),
    errors.staleObject('2024-05-15T16:20:03.004+02:00'),
    errors.licenceOveruse(),
    errors.contactSelf(),
    errors.contactExists(),
    errors.alreadyInTeam('dana@example.com'),
    errors.notAllowed('Delete'),
    errors.emailNotConfirmed(),
    errors.limitExceeded('Items'),
    errors.loginTaken(),
    errors.emailRegistered(),
    errors.tooLarge('title', 255),
    errors.notInTeam(),
    errors.badCrop(),
    errors.passwordMismatch(),
    errors.domainName(),
    errors.badEmail(),
    errors.badLogin(),
    errors.badName(),
    errors.apiKeyExists(),
    errors.invitationUsed(),
    errors.invalidJsonBody(),
    errors.recurringInterval(1, 999),
    errors.externalProvider(),
    errors.externalAccount(),
    errors.externalInvitationEmail(),
    errors.externalLinkedElsewhere('Google'),
    errors.externalTypeLinked(),
    errors.tooManyRequests({}),
    errors.notOnParent('1043'),
    errors.removedFromParent('1043'),
    errors.noAccessForRole(1043, 'assignee'),
    errors.ownerLevel('1042'),
    errors.belowParent('1043', 50, 60),
    errors.keepsPeople('assignee', 1043),
    errors.alreadyInvited('dana@example.com'),
    errors.shortNameUsed(),
    errors.unparsableFile(),
    errors.emptyFile(),
    errors.fileFormat(),
    errors.internal('3f0c2a7e-5b1d-4c8e-9a6f-2d4b8e1c7a90'),
    errors.preferences(),
    errors.oneOfMandatory(['id', 'guid']),
  ].map((e) => [e.code, e.message]),
)

/** the JSON Schema of the envelope (from the zod schema of src/platform/responses.ts), its code narrowed to `codes` */
function envelopeSchema(codes: number[]) {
  // the shape itself, not the named component (that would be a $ref)
  const base = z.toJSONSchema(z.strictObject(errorEnvelope.shape), { io: 'output' }) as { properties: Record<string, object>; required: string[] }
  return {
    type: 'object',
    required: base.required,
    properties: { ...base.properties, response_status: { type: 'integer', enum: codes } },
    additionalProperties: false,
  }
}

/** the `{error_message, response_status}` envelope of each error status a route can answer */
export function errorResponses(byStatus: Map<number, number[]>): Record<string, object> {
  const out: Record<string, object> = {}
  for (const [status, list] of byStatus) {
    const first = list[0]!
    out[String(status)] = {
      description: 'Error; response_status ' + list.map((c) => `${c} (${codeNames.get(c) ?? 'code'})`).join(', '),
      content: {
        'application/json': {
          schema: envelopeSchema(list),
          example: { error_message: exampleMessages.get(first) ?? `Error ${first}`, response_status: first },
        },
      },
    }
  }
  return out
}

/** names of the `:params` of a path */
function pathParamNames(url: string): string[] {
  return [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!)
}

function withoutProperties(schema: any, names: string[]) {
  if (!schema || typeof schema !== 'object' || !schema.properties || !names.length) return schema
  const properties = { ...schema.properties }
  for (const n of names) delete properties[n]
  const required = Array.isArray(schema.required) ? schema.required.filter((r: string) => !names.includes(r)) : undefined
  return { ...schema, properties, ...(required ? { required } : {}) }
}

type TransformInput = Parameters<typeof jsonSchemaTransform>[0]

/**
 * zod → JSON Schema (input side for parameters, so the `fields.ts` preprocess helpers are
 * documented by the type they accept), then the contract's additions: error responses from
 * the route's `errors` list, path parameters listed once, and the session requirement.
 */
function transform(input: TransformInput, fileFields: Map<string, string>) {
  const { schema, url } = jsonSchemaTransform(input) as { schema: any; url: string }
  const route = (input as unknown as { route: RouteOptions }).route
  const config = (route.config ?? {}) as FastifyContextConfig
  if (!schema || schema.hide) return { schema, url }
  if (config.fileField) fileFields.set(`${String(route.method).toLowerCase()} ${url}`, config.fileField)

  const names = pathParamNames(url)
  if (schema.querystring) schema.querystring = withoutProperties(schema.querystring, names)
  if (schema.body) schema.body = withoutProperties(schema.body, names)

  const facts = config.codeFacts ?? { declared: config.codes ?? [], auth: config.auth ?? 'none', rateLimited: true, requiresParams: false, acceptsFiles: false, changes: false }
  schema.response = { ...successResponse(config, schema.response?.[200]), ...errorResponses(codesByStatus(facts)) }
  if (config.auth === 'session') schema.security = [{ sessionHeader: [] }, { sessionParam: [] }, { sessionCookie: [] }]
  else if (config.auth === 'optional') schema.security = [{}, { sessionHeader: [] }, { sessionParam: [] }, { sessionCookie: [] }]
  return { schema, url }
}

/** the 200 answer: its JSON Schema (converted by jsonSchemaTransform) with an example, or bytes */
function successResponse(config: FastifyContextConfig, json: object | undefined): Record<string, object> {
  const answer = config.answer
  const headers = config.answerHeaders
    ? Object.fromEntries(Object.entries(config.answerHeaders).map(([name, description]) => [name, { type: 'string', description }]))
    : undefined
  if (!answer) return {}
  if (isRawAnswer(answer)) {
    const media = { schema: answer.text ? { type: 'string' } : { type: 'string', format: 'binary' }, ...(answer.example !== undefined ? { example: answer.example } : {}) }
    return {
      200: { description: answer.description, ...(headers ? { headers } : {}), content: { [answer.contentType]: media } },
      // type null: no body (@fastify/swagger would otherwise document a JSON one)
      ...(answer.notModified ? { 304: { type: 'null', description: answer.notModified } } : {}),
    }
  }
  const meta = z.globalRegistry.get(answer) as { description?: string } | undefined
  return {
    200: {
      description: meta?.description ?? 'Success',
      ...(headers ? { headers } : {}),
      content: { 'application/json': { schema: json ?? {}, example: config.answerExample !== undefined ? config.answerExample : exampleOf(answer) } },
    },
  }
}

/**
 * Parameters may come in the query string too: a request body is never required. A route
 * that accepts a file documents it in its multipart body only.
 */
function transformObject(input: { openapiObject: any }, fileFields: Map<string, string>) {
  // the shapes named with .meta({ id }) (src/<domain>/schemas.ts) become components
  const openapiObject = withoutUnusedComponents(jsonSchemaTransformObject(input as any) as any)
  for (const [path, ops] of Object.entries<any>(openapiObject.paths ?? {})) {
    for (const [method, op] of Object.entries<any>(ops)) {
      if (!op || typeof op !== 'object') continue
      const field = fileFields.get(`${method} ${path.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1')}`)
      if (field) {
        op.requestBody ??= { content: { 'multipart/form-data': { schema: { type: 'object', properties: {} } } } }
        // a file comes in a multipart body only (the media objects of the three body types are one shared object)
        const media = op.requestBody.content['multipart/form-data']
        const schema = media.schema ?? { type: 'object', properties: {} }
        op.requestBody.content = {
          'multipart/form-data': {
            ...media,
            schema: {
              ...schema,
              properties: { ...schema.properties, [field]: { type: 'string', format: 'binary', description: 'the file' } },
              required: [...(schema.required ?? []), field],
            },
          },
        }
      }
      if (op.requestBody) op.requestBody.required = false
    }
  }
  return openapiObject
}

/** drops the components nothing refers to (the input twins the zod registry makes of every named shape) */
function withoutUnusedComponents(doc: any) {
  const schemas: Record<string, unknown> = doc.components?.schemas ?? {}
  const used = new Set<string>()
  const visit = (v: unknown) => {
    if (Array.isArray(v)) return v.forEach(visit)
    if (!v || typeof v !== 'object') return
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string' && x.startsWith('#/components/schemas/')) {
        const name = x.slice('#/components/schemas/'.length)
        if (!used.has(name)) {
          used.add(name)
          visit(schemas[name])
        }
      } else visit(x)
    }
  }
  visit(doc.paths)
  doc.components.schemas = Object.fromEntries(Object.entries(schemas).filter(([name]) => used.has(name)).sort(([a], [b]) => a.localeCompare(b)))
  return doc
}

const description = `The Hitask task-management API.

Every method is served under \`/api/\` and identically under \`/api/v1/\` … \`/api/v6/\`.
Parameters form one merged map from the path, the query string and the body; a body may be
\`application/x-www-form-urlencoded\`, \`application/json\` or \`multipart/form-data\`, and the
parameters of a POST/PUT/DELETE may equally be sent in the query string. Numbers may be sent
as strings, booleans as \`true/false/1/0\`, structured values as JSON strings.

Success answers the resource itself; operations with nothing to return answer
\`{"response_status":0}\`. Errors answer a non-2xx status and
\`{"error_message": "...", "response_status": N}\`; the codes each method can answer are
listed under its responses.

The session id (from \`/user/authenticate\` or \`/user/signup\`) is read from the
\`x-hi-session\` header, the \`session_id\` parameter, or the \`HI_SESSION\` cookie.`

const packageVersion: string = (() => {
  try {
    return JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version ?? '0.0.0'
  } catch {
    return '0.0.0'
  }
})()

export async function registerOpenApi(app: FastifyInstance) {
  /** `<method> <url>` → the multipart field of the file it accepts */
  const fileFields = new Map<string, string>()
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Hitask API', version: packageVersion, description },
      components: {
        securitySchemes: {
          sessionHeader: { type: 'apiKey', in: 'header', name: 'x-hi-session' },
          sessionParam: { type: 'apiKey', in: 'query', name: 'session_id' },
          sessionCookie: { type: 'apiKey', in: 'cookie', name: 'HI_SESSION' },
        },
      },
    },
    transform: ((input: TransformInput) => transform(input, fileFields)) as any,
    transformObject: ((input: { openapiObject: any }) => transformObject(input, fileFields)) as any,
  })
  await app.register(swaggerUi, {
    routePrefix: DOCS_PATH,
    uiConfig: { deepLinking: true },
  })
  app.get(OPENAPI_PATH, { schema: { hide: true } as any, config: { rateLimit: false } as any }, async () => app.swagger())
}
