// Multipart requests as a browser sends them (the body from src/lib/multipart.ts), sent with
// app.inject.
import type { LightMyRequestResponse } from 'fastify'
import type { TestApp } from './app.js'
import { multipartBody, type FilePart } from '../../src/platform/multipart.js'

export type { FilePart }

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
