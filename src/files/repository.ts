// Every query of the files domain (docs/files.md): files rows, the deleted_blobs queue
// (removed rows' blobs, queued by the files_accounting trigger, and uploads' intents), and
// the storage counters a file is charged to. Each function takes the executor first: the
// database (autocommit) or the caller's transaction. No rules here.
import type { Sql } from '../platform/db/pool.js'

export type PreviewType = 'SQUARE' | 'PROPORTIONAL'
/** a stored preview; `type` is absent on those made before the sizes of contract §8.1 (64 and 256 px PNGs) */
export type Preview = { size: number; type?: PreviewType; storage_key: string; content_type: string; width: number; height: number }
export type FileRow = { id: number; item_id: number; storage_key: string; content_type: string; size: number; name: string; previews: Preview[] | null }
/** a files row with the counter it is charged to */
export type ChargedFileRow = FileRow & { owner_id: number; business_id: number | null }
export type NewFile = Omit<ChargedFileRow, 'id'>

const FILE_COLUMNS = 'id, item_id, storage_key, content_type, size, name, previews'
const MB = 1024 * 1024

// ── files rows ──────────────────────────────────────────────────────────────────────────

/** inserts a files row; the files_accounting trigger charges its size in the same transaction */
export async function insertFile(db: Sql, f: NewFile): Promise<void> {
  await db.query(
    `INSERT INTO files (item_id, storage_key, content_type, size, name, owner_id, business_id, previews)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)`,
    [f.item_id, f.storage_key, f.content_type, f.size, f.name, f.owner_id, f.business_id, f.previews ? JSON.stringify(f.previews) : null],
  )
}

export async function fileOfItem(db: Sql, itemId: number): Promise<FileRow | undefined> {
  const r = await db.query<FileRow>(`SELECT ${FILE_COLUMNS} FROM files WHERE item_id = $1`, [itemId])
  return r.rows[0]
}

/** the file of a non-archived item (what a signed link may still download) */
export async function fileOfActiveItem(db: Sql, itemId: number): Promise<FileRow | undefined> {
  const r = await db.query<FileRow>(
    `SELECT f.id, f.item_id, f.storage_key, f.content_type, f.size, f.name, f.previews
       FROM files f JOIN items i ON i.id = f.item_id WHERE f.item_id = $1 AND NOT i.archived`,
    [itemId],
  )
  return r.rows[0]
}

export async function filesOfItems(db: Sql, itemIds: number[]): Promise<ChargedFileRow[]> {
  const r = await db.query<ChargedFileRow>(`SELECT ${FILE_COLUMNS}, owner_id, business_id FROM files WHERE item_id = ANY($1::bigint[])`, [itemIds])
  return r.rows
}

/** the owner of the item with this guid, if any (an upload's guid retry) */
export async function itemOwnerOfGuid(db: Sql, guid: string): Promise<{ id: number; user_id: number } | undefined> {
  const r = await db.query<{ id: number; user_id: number }>('SELECT id, user_id FROM items WHERE guid = $1', [guid])
  return r.rows[0]
}

// ── storage counters ────────────────────────────────────────────────────────────────────
// `lock` takes the counter's row lock (FOR UPDATE) until the transaction ends: the
// files_accounting trigger moves the same row, so uploads charged to one counter run one
// after the other from the quota check to their commit.

/** a team's quota and usage, bytes; undefined when there is no such team */
export async function teamStorage(db: Sql, businessId: number, lock: boolean): Promise<{ quota: number; used: number } | undefined> {
  const r = await db.query<{ quota: number; used: number }>(
    `SELECT storage_quota::bigint * ${MB} AS quota, storage_used AS used FROM businesses WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
    [businessId],
  )
  return r.rows[0]
}

/** a user's stored bytes (0 when there is no such user) */
export async function userStorageUsed(db: Sql, userId: number, lock: boolean): Promise<number> {
  const r = await db.query<{ used: number }>(`SELECT storage_used AS used FROM users WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [userId])
  return r.rows[0]?.used ?? 0
}

/** files whose previews were made before their types existed (an entry without `type`), by id after `afterId` */
export async function filesWithOldPreviews(db: Sql, afterId: number, limit: number): Promise<{ id: number; item_id: number; storage_key: string; previews: unknown }[]> {
  const r = await db.query<{ id: number; item_id: number; storage_key: string; previews: unknown }>(
    `SELECT id, item_id, storage_key, previews FROM files
      WHERE id > $1 AND jsonb_typeof(previews) = 'array'
        AND EXISTS (SELECT 1 FROM jsonb_array_elements(previews) e WHERE NOT (e ? 'type'))
      ORDER BY id LIMIT $2`,
    [afterId, limit],
  )
  return r.rows
}

/** sets the files row's previews when they are still `expected` → whether they were */
export async function replacePreviews(db: Sql, fileId: number, expected: unknown, previews: Preview[] | null): Promise<boolean> {
  const r = await db.query('UPDATE files SET previews = $3::jsonb WHERE id = $1 AND previews = $2::jsonb', [fileId, JSON.stringify(expected), previews ? JSON.stringify(previews) : null])
  return (r.rowCount ?? 0) > 0
}

// ── the deleted_blobs queue ─────────────────────────────────────────────────────────────
// A queue row holds either a removed files row's key (queued by the trigger) or, prefixed
// with UPLOAD_MARK, the key of a blob about to be stored whose files row is not committed
// yet (an upload's or a copy's intent). The transaction that adds the files row deletes the
// intent; an intent left behind means nothing points at that blob.

const UPLOAD_MARK = 'upload:'

export async function queueUploadIntent(db: Sql, keys: string[]): Promise<void> {
  await db.query(`INSERT INTO deleted_blobs (key) SELECT $1 || k FROM unnest($2::text[]) AS k ON CONFLICT DO NOTHING`, [UPLOAD_MARK, keys])
}

/** queues blobs nothing points at any more (as the trigger does for a removed row's) */
export async function queueRemovedBlobs(db: Sql, keys: string[]): Promise<void> {
  if (!keys.length) return
  await db.query('INSERT INTO deleted_blobs (key) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING', [keys])
}

export async function clearUploadIntent(db: Sql, keys: string[]): Promise<void> {
  await db.query('DELETE FROM deleted_blobs WHERE key = ANY($1::text[])', [keys.map((k) => UPLOAD_MARK + k)])
}

/** a queue row and the blob it stands for */
export type QueuedBlob = { queueKey: string; blobKey: string }

const queued = (queueKey: string): QueuedBlob => ({
  queueKey,
  blobKey: queueKey.startsWith(UPLOAD_MARK) ? queueKey.slice(UPLOAD_MARK.length) : queueKey,
})

/** which of these blobs are queued: a removed row's, or an intent never cleared */
export async function queuedAmong(db: Sql, blobKeys: string[]): Promise<QueuedBlob[]> {
  if (!blobKeys.length) return []
  const r = await db.query<{ key: string }>('SELECT key FROM deleted_blobs WHERE key = ANY($1::text[])', [[...blobKeys, ...blobKeys.map((k) => UPLOAD_MARK + k)]])
  return r.rows.map((x) => queued(x.key))
}

/**
 * Locks up to `batch` queue rows no other sweeper holds (SKIP LOCKED), oldest first: removed
 * rows' blobs, and intents older than `intentGraceMs` (younger ones may be an upload still
 * running, on this instance or another).
 */
export async function claimQueuedBlobs(db: Sql, batch: number, intentGraceMs: number): Promise<QueuedBlob[]> {
  const r = await db.query<{ key: string }>(
    `SELECT key FROM deleted_blobs
      WHERE NOT starts_with(key, $2) OR created_at < now() - make_interval(secs => $3 / 1000.0)
      ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
    [batch, UPLOAD_MARK, intentGraceMs],
  )
  return r.rows.map((x) => queued(x.key))
}

export async function dequeue(db: Sql, queueKeys: string[]): Promise<void> {
  if (!queueKeys.length) return
  await db.query('DELETE FROM deleted_blobs WHERE key = ANY($1::text[])', [queueKeys])
}
