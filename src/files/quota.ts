// Storage quotas (docs/files.md "Quota"): a file is charged to the uploader's team
// (businesses.storage_quota MB) or, without one, to the uploader (USER_STORAGE_QUOTA_MB).
// Only the file's bytes count, never its previews.
import type { Deps } from '../deps.js'
import { errors } from '../platform/errors.js'
import type { Sql } from '../platform/db/pool.js'
import { teamStorage, userStorageUsed } from './repository.js'

const MB = 1024 * 1024

/** the counter a file is charged to (recorded on its files row, credited from there) */
export type Payer = { ownerId: number; businessId: number | null }

/**
 * Throws 507/20 when `size` more bytes would take the payer past its quota. With `lock`, the
 * counter's row stays locked until the transaction ends, so a concurrent charge to the same
 * counter waits here and then sees this one's bytes: call it first in the transaction that
 * inserts the files row. Without `lock` it is an early check that stores nothing.
 */
export async function checkQuota(deps: Deps, db: Sql, payer: Payer, size: number, opts: { lock: boolean }) {
  if (payer.businessId !== null) {
    const team = await teamStorage(db, payer.businessId, opts.lock)
    if (team) {
      if (team.used + size > team.quota) throw errors.limitExceeded('Storage')
      return
    }
  }
  const used = await userStorageUsed(db, payer.ownerId, opts.lock)
  if (used + size > deps.config.USER_STORAGE_QUOTA_MB * MB) throw errors.limitExceeded('Storage')
}
