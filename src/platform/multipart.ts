// A multipart/form-data body as a browser sends it, built by the platform's FormData (through
// a Request, to get its bytes and boundary). For requests injected into the app: the seed
// (src/seed.ts) and the tests (test/helpers/multipart.ts).

export type FilePart = { field: string; name: string; data: Buffer; type?: string }

export async function multipartBody(fields: Record<string, string | number>, files: FilePart[]): Promise<{ body: Buffer; contentType: string }> {
  const fd = new FormData()
  for (const [k, v] of Object.entries(fields)) fd.append(k, String(v))
  for (const f of files) fd.append(f.field, new Blob([new Uint8Array(f.data)], { type: f.type ?? 'application/octet-stream' }), f.name)
  const req = new Request('http://localhost/', { method: 'POST', body: fd })
  return { body: Buffer.from(await req.arrayBuffer()), contentType: req.headers.get('content-type')! }
}
