// Names of files: what an uploaded name and content type become, how a download names
// itself, and the storage keys the server makes (never derived from the uploaded name).
import crypto from 'node:crypto'

const TITLE_MAX = 255

/** the uploaded name without any client path ("C:\\docs\\a.txt" → "a.txt"), never empty */
export function fileNameOf(raw: string): string {
  const base = raw.split(/[\\/]/).pop() ?? ''
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, '').trim()
  return (clean || 'file').slice(0, TITLE_MAX)
}

/** a safe content type: the declared one when it looks like a MIME type, else octet-stream */
export function contentTypeOf(declared: string): string {
  const t = declared.trim().toLowerCase()
  return /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,127}$/.test(t) ? t : 'application/octet-stream'
}

/** raster images a browser shows safely inline; everything else downloads */
const INLINE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp'])

export const isInline = (contentType: string) => INLINE_TYPES.has(contentType)

/** `attachment; filename="ascii"; filename*=UTF-8''…` (RFC 6266 / 5987), safe for any name */
export function contentDisposition(name: string, inline: boolean): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_')
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
  return `${inline ? 'inline' : 'attachment'}; filename="${ascii}"; filename*=UTF-8''${encoded}`
}

/** `files/<2 hex>/<uuid>` */
export function newStorageKey(): string {
  const id = crypto.randomUUID()
  return `files/${id.slice(0, 2)}/${id}`
}

/** `<key>.preview-square-60`; previews made before the sizes of contract §8.1 (no type) were `<key>.p<size>.png` */
export const previewKeyOf = (key: string, size: number, type?: string) => (type ? `${key}.preview-${type.toLowerCase()}-${size}` : `${key}.p${size}.png`)
