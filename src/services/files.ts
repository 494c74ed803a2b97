// File items (contract §8.2 `/file/*`, docs/files.md): an upload becomes a category-5 item
// with a files row; the bytes live in the storage backend under a server-made key, image
// previews beside them. Quota counters move in the same transaction as the files row (a
// trigger on files, migration file_accounting), and removed rows queue their blobs in
// deleted_blobs, which sweepDeletedBlobs empties — whatever path deleted the row.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Readable } from 'node:stream'
import sharp from 'sharp'
import type { Deps } from '../deps.js'
import { ApiError, Code, errors } from '../http/errors.js'
import type { UploadedFile } from '../http/params.js'
import { inTransaction } from '../db/tx.js'
import type { Queryable } from './access.js'
import type { SessionUser } from './auth.js'
import { getItemForUser, Level } from './permissions.js'
import { recordHistory } from './history.js'
import { checkFileSignature, signedFileUrl } from './signed-urls.js'
import { createItem, removeBlobs } from './items.js'
import { renderItem } from './item-view.js'
import type { ItemInput } from './items-input.js'

export const FILE_CATEGORY = 5
export const PREVIEW_SIZES = [64, 256] as const
const MB = 1024 * 1024
/** images above this are stored without previews (decoding them would cost too much) */
const PREVIEW_MAX_PIXELS = 40_000_000
const TITLE_MAX = 255

export type Preview = { size: number; storage_key: string; content_type: string; width: number; height: number }
export type FileRow = { id: number; item_id: number; storage_key: string; content_type: string; size: number; name: string; previews: Preview[] | null }

export const fileTooLarge = (max: number) => errors.tooLarge('file', `${max} bytes`, 413)
const quotaExceeded = () => errors.limitExceeded('Storage')

/** the uploaded name without any client path ("C:\\docs\\a.txt" → "a.txt"), never empty */
export function fileNameOf(raw: string): string {
  const base = raw.split(/[\\/]/).pop() ?? ''
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, '').trim()
  return (clean || 'file').slice(0, TITLE_MAX)
}

/** `attachment; filename="ascii"; filename*=UTF-8''…` (RFC 6266 / 5987), safe for any name */
export function contentDisposition(name: string, inline: boolean): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_')
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
  return `${inline ? 'inline' : 'attachment'}; filename="${ascii}"; filename*=UTF-8''${encoded}`
}

/** raster images a browser shows safely inline; everything else downloads */
const INLINE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp'])

function newStorageKey(): string {
  const id = crypto.randomUUID()
  return `files/${id.slice(0, 2)}/${id}`
}

const previewKeyOf = (key: string, size: number) => `${key}.p${size}.png`

/**
 * Blobs are stored before the transaction that adds their files row (storing may take long,
 * a transaction should not). So that a crash in between leaves no orphan, their keys are
 * queued first in deleted_blobs as `upload:<key>` and that transaction removes them; the
 * sweep deletes the blobs of queue rows left behind once they are older than UPLOAD_GRACE
 * (younger ones may be an upload still running, on this instance or another).
 */
const UPLOAD_MARK = 'upload:'
const UPLOAD_GRACE = "interval '1 hour'"
/** temporary files (multipart uploads, copies) older than this are left from a crash */
const TEMP_GRACE_MS = 60 * 60 * 1000

async function queueUploadIntent(db: Queryable, keys: string[]) {
  await db.query(`INSERT INTO deleted_blobs (key) SELECT $1 || k FROM unnest($2::text[]) AS k ON CONFLICT DO NOTHING`, [UPLOAD_MARK, keys])
}

async function clearUploadIntent(db: Queryable, keys: string[]) {
  await db.query('DELETE FROM deleted_blobs WHERE key = ANY($1::text[])', [keys.map((k) => UPLOAD_MARK + k)])
}

/** a safe content type: the declared one when it looks like a MIME type, else octet-stream */
function contentTypeOf(declared: string): string {
  const t = declared.trim().toLowerCase()
  return /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,127}$/.test(t) ? t : 'application/octet-stream'
}

/** previews of an image file, stored beside it; none for anything sharp cannot read */
async function makePreviews(deps: Deps, key: string, tmpPath: string): Promise<Preview[]> {
  let meta: sharp.Metadata
  try {
    meta = await sharp(tmpPath).metadata()
  } catch {
    return []
  }
  if (!meta.format || meta.format === 'svg' || (meta.width ?? 0) * (meta.height ?? 0) > PREVIEW_MAX_PIXELS) return []
  const previews: Preview[] = []
  try {
    for (const size of PREVIEW_SIZES) {
      const { data, info } = await sharp(tmpPath, { pages: 1 })
        .rotate()
        .resize(size, size, { fit: 'inside', withoutEnlargement: true })
        .png()
        .toBuffer({ resolveWithObject: true })
      const previewKey = previewKeyOf(key, size)
      await deps.storage.putBuffer(previewKey, data, 'image/png')
      previews.push({ size, storage_key: previewKey, content_type: 'image/png', width: info.width, height: info.height })
    }
  } catch (e) {
    // a file that only looked like an image: keep it, without previews
    deps.log.warn({ err: e }, 'could not make previews')
    await Promise.all(previews.map((p) => deps.storage.delete(p.storage_key).catch(() => {})))
    return []
  }
  return previews
}

/** locks the counter the file is charged to and throws 507/20 when `size` more would pass the quota */
async function reserveQuota(deps: Deps, db: Queryable, payer: { ownerId: number; businessId: number | null }, size: number, lock: boolean) {
  const forUpdate = lock ? ' FOR UPDATE' : ''
  if (payer.businessId !== null) {
    const r = await db.query<{ quota: number; used: number }>(
      `SELECT storage_quota::bigint * ${MB} AS quota, storage_used AS used FROM businesses WHERE id = $1${forUpdate}`,
      [payer.businessId],
    )
    const b = r.rows[0]
    if (b && b.used + size > b.quota) throw quotaExceeded()
    if (b) return
  }
  const r = await db.query<{ used: number }>(`SELECT storage_used AS used FROM users WHERE id = $1${forUpdate}`, [payer.ownerId])
  if ((r.rows[0]?.used ?? 0) + size > deps.config.USER_STORAGE_QUOTA_MB * MB) throw quotaExceeded()
}

export type UploadInput = { parentId?: number; guid?: string }

/** `POST /file/upload` → the new file item */
export async function uploadFile(deps: Deps, user: SessionUser, files: UploadedFile[], input: UploadInput) {
  const file = files.find((f) => f.field === 'file') ?? files[0]
  if (!file) throw errors.mandatory('file')
  if (file.size > deps.config.FILE_MAX_BYTES) throw fileTooLarge(deps.config.FILE_MAX_BYTES)
  // a retried upload of a guid this caller already created answers that item (safe retry)
  if (input.guid) {
    const existing = await deps.db.pool.query<{ id: number; user_id: number }>('SELECT id, user_id FROM items WHERE guid = $1', [input.guid])
    if (existing.rows[0]?.user_id === user.id) {
      return renderItem(deps, user, existing.rows[0].id)
    }
    if (existing.rows[0]) throw errors.invalidData('guid', 'it belongs to another item')
  }
  if (input.parentId !== undefined) await getItemForUser(deps, user, input.parentId, Level.ADD)
  // charged to the uploader's team, or to the uploader without one
  const payer = { ownerId: user.id, businessId: user.businessId }
  // fail early, before storing anything; checked again under lock below
  await reserveQuota(deps, deps.db.pool, payer, file.size, false)

  const name = fileNameOf(file.filename)
  const contentType = contentTypeOf(file.mimetype)
  const key = newStorageKey()
  const planned = [key, ...PREVIEW_SIZES.map((size) => previewKeyOf(key, size))]
  await queueUploadIntent(deps.db.pool, planned)
  const previews = await makePreviews(deps, key, file.tmpPath)
  const stored = [key, ...previews.map((p) => p.storage_key)]
  try {
    await deps.storage.putFile(key, file.tmpPath, contentType)
    const created = await inTransaction(deps.db.pool, async (client) => {
      await reserveQuota(deps, client, payer, file.size, true)
      const item = await createItem(deps, user, { title: name, category: FILE_CATEGORY, guid: input.guid, parent_id: input.parentId } as ItemInput, client)
      // a concurrent upload with the same guid won: answer its item, drop these bytes
      if (item.existing) return item
      await client.query(
        `INSERT INTO files (item_id, storage_key, content_type, size, name, owner_id, business_id, previews)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)`,
        [item.id, key, contentType, file.size, name, user.id, user.businessId, previews.length ? JSON.stringify(previews) : null],
      )
      await clearUploadIntent(client, planned)
      if (input.parentId !== undefined) await recordHistory(client, input.parentId, { id: user.id }, [{ property: 'file', type: 'STRING', value: name }])
      return item
    })
    if (created.existing) await removeBlobs(deps, stored)
    return await renderItem(deps, user, created.id)
  } catch (e) {
    await Promise.all(stored.map((k) => deps.storage.delete(k).catch(() => {})))
    throw e
  }
}

async function fileOfItem(db: Queryable, itemId: number): Promise<FileRow> {
  const r = await db.query<FileRow>('SELECT id, item_id, storage_key, content_type, size, name, previews FROM files WHERE item_id = $1', [itemId])
  if (!r.rows[0]) throw errors.notFound('File')
  return r.rows[0]
}

/** `GET /file/url` → a link that downloads without a session until it expires */
export async function fileUrl(deps: Deps, user: SessionUser, itemRef: unknown) {
  const { item } = await getItemForUser(deps, user, itemRef, Level.VIEW)
  const f = await fileOfItem(deps.db.pool, item.id)
  return { content_type: f.content_type, mime_type: f.content_type, url: signedFileUrl(deps, item.id, f.id) }
}

export type Download = { stream: Readable; contentType: string; size: number | null; disposition: string }

/**
 * `GET /file/{id}`: with a session (level 10 on the item) or with the `expires` and
 * `signature` of a link from `GET /file/url`. `preview` picks one of the stored previews.
 */
export async function openDownload(
  deps: Deps,
  user: SessionUser | null,
  itemRef: unknown,
  signed: { expires?: number; signature?: string },
  preview?: number,
): Promise<Download> {
  let f: FileRow
  if (signed.signature !== undefined || signed.expires !== undefined) {
    if (signed.signature === undefined || signed.expires === undefined) throw errors.noPermissions('the download link is not valid')
    const ref = typeof itemRef === 'number' ? itemRef : Number(itemRef)
    if (!Number.isSafeInteger(ref) || ref < 1) throw errors.notFound('File')
    const r = await deps.db.pool.query<FileRow>(
      `SELECT f.id, f.item_id, f.storage_key, f.content_type, f.size, f.name, f.previews
         FROM files f JOIN items i ON i.id = f.item_id WHERE f.item_id = $1 AND NOT i.archived`,
      [ref],
    )
    // the same answer for a missing file and a wrong signature: nothing leaks
    if (!r.rows[0]) throw errors.noPermissions('the download link is not valid')
    f = r.rows[0]
    checkFileSignature(deps, f.item_id, f.id, signed.expires, signed.signature)
  } else {
    if (!user) throw errors.sessionNotFound()
    const { item } = await getItemForUser(deps, user, itemRef, Level.VIEW)
    f = await fileOfItem(deps.db.pool, item.id)
  }
  if (preview !== undefined) {
    const p = (f.previews ?? []).find((x) => x.size === preview)
    if (!p) throw errors.notFound('Preview')
    return { stream: await deps.storage.get(p.storage_key), contentType: p.content_type, size: null, disposition: contentDisposition(`${path.parse(f.name).name}-${p.size}.png`, true) }
  }
  let stream: Readable
  try {
    stream = await deps.storage.get(f.storage_key)
  } catch (e) {
    deps.log.error({ err: e, key: f.storage_key }, 'stored file is missing')
    throw new ApiError(Code.NOT_FOUND, 'File not found')
  }
  return { stream, contentType: f.content_type, size: f.size, disposition: contentDisposition(f.name, INLINE_TYPES.has(f.content_type)) }
}

export type PreparedCopy = {
  origItemId: number
  key: string
  /** every blob stored for this copy: the file and its previews */
  keys: string[]
  previews: Preview[]
  content_type: string
  size: number
  name: string
  owner_id: number
  business_id: number | null
}

/**
 * Copies the blobs of the files of `itemIds` under new keys (restore-a-copy), before the
 * transaction that adds their rows (insertFileCopies): copying may take long, a
 * transaction should not.
 */
export async function prepareFileCopies(deps: Deps, itemIds: number[]): Promise<PreparedCopy[]> {
  if (!itemIds.length) return []
  const r = await deps.db.pool.query<FileRow & { owner_id: number; business_id: number | null }>(
    'SELECT id, item_id, storage_key, content_type, size, name, previews, owner_id, business_id FROM files WHERE item_id = ANY($1::bigint[])',
    [itemIds],
  )
  const out: PreparedCopy[] = []
  try {
    for (const f of r.rows) {
      const key = newStorageKey()
      await queueUploadIntent(deps.db.pool, [key, ...(f.previews ?? []).map((p) => previewKeyOf(key, p.size))])
      const copy: PreparedCopy = { origItemId: f.item_id, key, keys: [], previews: [], content_type: f.content_type, size: f.size, name: f.name, owner_id: f.owner_id, business_id: f.business_id }
      out.push(copy)
      await copyBlob(deps, f.storage_key, key, f.content_type)
      copy.keys.push(key)
      for (const p of f.previews ?? []) {
        const pk = previewKeyOf(key, p.size)
        await copyBlob(deps, p.storage_key, pk, p.content_type)
        copy.keys.push(pk)
        copy.previews.push({ ...p, storage_key: pk })
      }
    }
  } catch (e) {
    await removeBlobs(deps, out.flatMap((c) => c.keys))
    throw e
  }
  return out
}

/**
 * Adds the files rows of prepared copies whose item was copied (`newOf`: original item →
 * copy), each charged to the quota where its original is (507/20 past it). Inside the
 * caller's transaction; returns the keys now in use.
 */
export async function insertFileCopies(deps: Deps, client: Queryable, prepared: PreparedCopy[], newOf: Map<number, number>): Promise<string[]> {
  const used: string[] = []
  for (const c of prepared) {
    const itemId = newOf.get(c.origItemId)
    if (itemId === undefined) continue
    await reserveQuota(deps, client, { ownerId: c.owner_id, businessId: c.business_id }, c.size, true)
    await client.query(
      `INSERT INTO files (item_id, storage_key, content_type, size, name, owner_id, business_id, previews)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)`,
      [itemId, c.key, c.content_type, c.size, c.name, c.owner_id, c.business_id, c.previews.length ? JSON.stringify(c.previews) : null],
    )
    await clearUploadIntent(client, c.keys)
    used.push(...c.keys)
  }
  return used
}

/** copies a blob through a temporary file, never holding it in memory */
async function copyBlob(deps: Deps, from: string, to: string, contentType: string) {
  const tmpDir = path.resolve(deps.config.DATA_DIR, 'tmp')
  await fs.promises.mkdir(tmpDir, { recursive: true })
  const tmp = path.join(tmpDir, 'copy-' + crypto.randomBytes(12).toString('hex'))
  try {
    await pipeline(await deps.storage.get(from), fs.createWriteStream(tmp))
    await deps.storage.putFile(to, tmp, contentType)
  } finally {
    await fs.promises.rm(tmp, { force: true })
  }
}

/**
 * Deletes the blobs whose files rows are gone (queued by the files trigger), then their
 * queue rows. Safe to run from several places and instances at once (SKIP LOCKED); a blob
 * that cannot be deleted stays queued for the next sweep.
 */
export async function sweepDeletedBlobs(deps: Deps, batch = 200): Promise<number> {
  let total = 0
  for (;;) {
    const n = await inTransaction(deps.db.pool, async (client) => {
      const r = await client.query<{ key: string }>(
        `SELECT key FROM deleted_blobs WHERE key NOT LIKE '${UPLOAD_MARK}%' OR created_at < now() - ${UPLOAD_GRACE}
          ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [batch],
      )
      const done: string[] = []
      for (const { key } of r.rows) {
        try {
          await deps.storage.delete(key.startsWith(UPLOAD_MARK) ? key.slice(UPLOAD_MARK.length) : key)
          done.push(key)
        } catch (e) {
          deps.log.warn({ err: e, key }, 'could not delete a stored file; will retry')
        }
      }
      if (done.length) await client.query('DELETE FROM deleted_blobs WHERE key = ANY($1::text[])', [done])
      return { selected: r.rows.length, deleted: done.length }
    })
    total += n.deleted
    // a full batch, all deleted: there may be more; otherwise stop (failures wait for the next sweep)
    if (n.selected < batch || n.deleted < n.selected) return total
  }
}

/**
 * Removes temporary files (DATA_DIR/tmp: multipart uploads, blob copies) older than
 * TEMP_GRACE_MS: a request removes its own when it ends, so older ones were left by a process
 * that died. Run at start.
 */
export async function sweepStaleTempFiles(deps: Deps): Promise<number> {
  const dir = path.resolve(deps.config.DATA_DIR, 'tmp')
  let names: string[]
  try {
    names = await fs.promises.readdir(dir)
  } catch {
    return 0
  }
  let removed = 0
  for (const name of names) {
    const p = path.join(dir, name)
    try {
      const st = await fs.promises.stat(p)
      if (st.isFile() && Date.now() - st.mtimeMs > TEMP_GRACE_MS) {
        await fs.promises.rm(p, { force: true })
        removed++
      }
    } catch {
      /* gone meanwhile */
    }
  }
  return removed
}
