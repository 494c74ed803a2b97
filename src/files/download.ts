// Downloads (docs/files.md "Downloads"): `GET /file/{id}` with a session or with a signed
// link from `GET /file/url` (signed-urls.ts), the file itself or one of its previews.
import path from 'node:path'
import type { Readable } from 'node:stream'
import type { Deps } from '../deps.js'
import { errors } from '../platform/errors.js'
import type { SessionUser } from '../users/sessions.js'
import { Level, requireItem } from '../items/access.js'
import { checkFileSignature, checkPreviewSignature, signedFileUrl } from './signed-urls.js'
import { contentDisposition, isInline } from './names.js'
import { fileOfActiveItem, fileOfItem, type FileRow } from './repository.js'

/** the file of an item the caller may see (level 10); 404/1 when there is none */
async function visibleFile(deps: Deps, user: SessionUser, itemRef: unknown): Promise<FileRow> {
  const item = await requireItem(deps.db, user, itemRef, Level.VIEW)
  const f = await fileOfItem(deps.db, item.id)
  if (!f) throw errors.notFound('File')
  return f
}

/** the file a signed link points at (the file's link, or one preview's); 403/3 for anything wrong with the link or the file */
async function signedFile(deps: Deps, itemRef: unknown, expires: number, signature: string, preview?: { size: number; type: string }): Promise<FileRow> {
  const ref = typeof itemRef === 'number' ? itemRef : Number(itemRef)
  if (!Number.isSafeInteger(ref) || ref < 1) throw errors.notFound('File')
  const f = await fileOfActiveItem(deps.db, ref)
  // the same answer for a missing file and a wrong signature: nothing leaks
  if (!f) throw errors.noPermissions('the download link is not valid')
  if (preview) checkPreviewSignature(deps, f.item_id, f.id, preview.type, preview.size, expires, signature)
  else checkFileSignature(deps, f.item_id, f.id, expires, signature)
  return f
}

/** `GET /file/url` → a link that downloads without a session until it expires */
export async function fileUrl(deps: Deps, user: SessionUser, itemRef: unknown) {
  const f = await visibleFile(deps, user, itemRef)
  return { content_type: f.content_type, mime_type: f.content_type, url: signedFileUrl(deps, f.item_id, f.id) }
}

export type Download = { stream: Readable; contentType: string; size: number | null; disposition: string; preview: boolean }

/**
 * `GET /file/{id}`: with a session (level 10 on the item) or with the `expires` and
 * `signature` of a link from `GET /file/url`. `preview` (a size) and `previewType` (SQUARE,
 * or PROPORTIONAL when absent) pick one of the stored previews; its signed link is the `url`
 * of the item's `previews` entry.
 */
export async function openDownload(
  deps: Deps,
  user: SessionUser | null,
  itemRef: unknown,
  signed: { expires?: number; signature?: string },
  preview?: number,
  previewType?: string,
): Promise<Download> {
  let f: FileRow
  const wanted = preview === undefined ? undefined : { size: preview, type: previewType ?? 'PROPORTIONAL' }
  if (signed.signature !== undefined || signed.expires !== undefined) {
    if (signed.signature === undefined || signed.expires === undefined) throw errors.noPermissions('the download link is not valid')
    f = await signedFile(deps, itemRef, signed.expires, signed.signature, wanted)
  } else {
    if (!user) throw errors.sessionNotFound()
    f = await visibleFile(deps, user, itemRef)
  }
  if (wanted) {
    // previews made before the types existed (64 and 256 px) are proportional ones
    const p = (f.previews ?? []).find((x) => x.size === wanted.size && (x.type ?? 'PROPORTIONAL') === wanted.type)
    if (!p) throw errors.notFound('Preview')
    const ext = p.content_type === 'image/jpeg' ? 'jpg' : 'png'
    const name = `${path.parse(f.name).name}-${p.type ? p.type.toLowerCase() + '-' : ''}${p.size}.${ext}`
    let stream: Readable
    try {
      stream = await deps.storage.get(p.storage_key)
    } catch (e) {
      deps.log.error({ err: e, key: p.storage_key }, 'stored preview is missing')
      throw errors.notFound('Preview')
    }
    return { stream, contentType: p.content_type, size: null, disposition: contentDisposition(name, true), preview: true }
  }
  let stream: Readable
  try {
    stream = await deps.storage.get(f.storage_key)
  } catch (e) {
    deps.log.error({ err: e, key: f.storage_key }, 'stored file is missing')
    throw errors.notFound('File')
  }
  return { stream, contentType: f.content_type, size: f.size, disposition: contentDisposition(f.name, isInline(f.content_type)), preview: false }
}
