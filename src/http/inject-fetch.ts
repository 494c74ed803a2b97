// A fetch() that answers from the app in-process (Fastify's inject), so the typed client
// (clients/typescript) can drive an app without a listening socket: the seed script and the
// tests use it. Everything a client sends goes through the same parsing, hooks and
// serialization as a request over the network.
import type { FastifyInstance } from 'fastify'

export function injectFetch(app: FastifyInstance): (input: Request) => Promise<Response> {
  return async (request: Request) => {
    const url = new URL(request.url)
    const hasBody = request.method !== 'GET' && request.method !== 'HEAD'
    const payload = hasBody ? Buffer.from(await request.arrayBuffer()) : undefined
    const res = await app.inject({
      method: request.method as 'GET',
      url: url.pathname + url.search,
      headers: Object.fromEntries(request.headers),
      ...(payload && payload.length ? { payload } : {}),
    })
    const headers = new Headers()
    for (const [name, value] of Object.entries(res.headers)) {
      if (value === undefined) continue
      for (const v of Array.isArray(value) ? value : [value]) headers.append(name, String(v))
    }
    const empty = res.statusCode === 204 || res.statusCode === 304 || request.method === 'HEAD'
    return new Response(empty ? null : res.rawPayload, { status: res.statusCode, headers })
  }
}
