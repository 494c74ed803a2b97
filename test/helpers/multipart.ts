// Multipart requests as a browser sends them: the body is built by the platform's FormData
// (through a Request, to get its bytes and boundary) and sent with app.inject.
import type { LightMyRequestResponse } from 'fastify'
import type { TestApp } from './app.js'

export type FilePart = { field: string; name: string; data: Buffer; type?: string }

export async function multipartBody(fields: Record<string, string | number>, files: FilePart[]): Promise<{ body: Buffer; contentType: string }> {
  const fd = new FormData()
  for (const [k, v] of Object.entries(fields)) fd.append(k, String(v))
  for (const f of files) fd.append(f.field, new Blob([new Uint8Array(f.data)], { type: f.type ?? 'application/octet-stream' }), f.name)
  const req = new Request('http://localhost/', { method: 'POST', body: fd })
  return { body: Buffer.from(await req.arrayBuffer()), contentType: req.headers.get('content-type')! }
}

/** POSTs a multipart form; `session` goes in the x-hi-session header */
export async function postMultipart(
  t: TestApp,
  url: string,
  o: { session?: string; fields?: Record<string, string | number>; files?: FilePart[] },
): Promise<LightMyRequestResponse> {
  const { body, contentType } = await multipartBody(o.fields ?? {}, o.files ?? [])
  const headers: Record<string, string> = { 'content-type': contentType }
  if (o.session) headers['x-hi-session'] = o.session
  return t.app.inject({ method: 'POST', url, headers, payload: body })
}
