// The OpenAPI 3.1 document, built from the same route declarations (src/http/route.ts) and
// zod schemas that validate requests, so a new route is documented by being declared.
// Served at /api/openapi.json; Swagger UI (assets from the npm package) at /docs.
import fs from 'node:fs'
import type { FastifyInstance, RouteOptions } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { jsonSchemaTransform } from 'fastify-type-provider-zod'
import { Code, statusForCode } from './errors.js'
import type { AuthMode } from './route.js'

export const OPENAPI_PATH = '/api/openapi.json'
export const DOCS_PATH = '/docs'

const codeNames = new Map<number, string>(Object.entries(Code).map(([name, code]) => [code, name]))

/** codes any route may answer with besides its declared ones */
function implicitCodes(auth: AuthMode | undefined, rateLimited: boolean): number[] {
  const codes: number[] = [Code.INTERNAL_ERROR]
  if (auth === 'session') codes.push(Code.SESSION_NOT_FOUND)
  if (rateLimited) codes.push(Code.CUSTOM_API_KEY_USAGE_LIMIT_EXCEEDED)
  return codes
}

/** HTTP statuses a code is sent with; 25 is 413 on file uploads, 400 elsewhere (contract §10) */
function statusesOf(code: number, acceptsFiles: boolean): number[] {
  if (code === Code.EXCEEDED_SIZE) return acceptsFiles ? [400, 413] : [400]
  if (code === Code.LIMIT_EXCEED) return [507]
  return [statusForCode(code)]
}

/** the `{error_message, response_status}` envelope of each error status a route can answer */
export function errorResponses(codes: number[], acceptsFiles: boolean): Record<string, object> {
  const byStatus = new Map<number, Set<number>>()
  for (const code of codes) {
    for (const status of statusesOf(code, acceptsFiles)) {
      if (!byStatus.has(status)) byStatus.set(status, new Set())
      byStatus.get(status)!.add(code)
    }
  }
  const out: Record<string, object> = {}
  for (const [status, set] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    const list = [...set].sort((a, b) => a - b)
    out[String(status)] = {
      description: 'Error; response_status ' + list.map((c) => `${c} (${codeNames.get(c) ?? 'code'})`).join(', '),
      type: 'object',
      required: ['error_message', 'response_status'],
      properties: {
        error_message: { type: 'string' },
        response_status: { type: 'integer', enum: list },
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
function transform(input: TransformInput) {
  const { schema, url } = jsonSchemaTransform(input) as { schema: any; url: string }
  const route = (input as unknown as { route: RouteOptions }).route
  const config = (route.config ?? {}) as { auth?: AuthMode; codes?: number[]; rateLimit?: unknown; acceptFiles?: unknown }
  if (!schema || schema.hide) return { schema, url }

  const names = pathParamNames(url)
  if (schema.querystring) schema.querystring = withoutProperties(schema.querystring, names)
  if (schema.body) schema.body = withoutProperties(schema.body, names)

  const rateLimited = config.rateLimit !== false
  const codes = [...new Set([...(config.codes ?? []), ...implicitCodes(config.auth, rateLimited)])]
  schema.response = {
    200: { description: 'Success', ...(schema.response?.[200] ?? {}) },
    ...errorResponses(codes, Boolean(config.acceptFiles)),
  }
  if (config.auth === 'session') schema.security = [{ sessionHeader: [] }, { sessionParam: [] }, { sessionCookie: [] }]
  else if (config.auth === 'optional') schema.security = [{}, { sessionHeader: [] }, { sessionParam: [] }, { sessionCookie: [] }]
  return { schema, url }
}

/** parameters may come in the query string too: a request body is never required */
function transformObject({ openapiObject }: { openapiObject: any }) {
  for (const ops of Object.values<any>(openapiObject.paths ?? {})) {
    for (const op of Object.values<any>(ops)) {
      if (op && typeof op === 'object' && op.requestBody) op.requestBody.required = false
    }
  }
  return openapiObject
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
    transform: transform as any,
    transformObject: transformObject as any,
  })
  await app.register(swaggerUi, {
    routePrefix: DOCS_PATH,
    uiConfig: { deepLinking: true },
  })
  app.get(OPENAPI_PATH, { schema: { hide: true } as any, config: { rateLimit: false } as any }, async () => app.swagger())
}
