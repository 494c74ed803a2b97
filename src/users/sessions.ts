// API keys and sessions (contract §2). Keys and session ids are random, shown once, and
// stored as sha256. A session is bound to the API key that created it and dies after an
// idle period or at sign-out, at once on every instance (the database is the only truth).
import type { Deps } from '../deps.js'
import { errors } from '../platform/errors.js'
import { randomToken, sha256 } from '../platform/secrets.js'
import type { Sql } from '../platform/db/pool.js'
import { storedTimeZone } from '../platform/dates.js'
import {
  apiKeyExists,
  deleteApiKeyOf,
  deleteSession,
  findApiKeyOf,
  insertApiKey,
  insertSession,
  lookupSession,
  touchSession,
} from './session-repository.js'

export type SessionUser = {
  id: number
  sessionHash: string
  apiKeyHash: string
  /** the user's time_zone preference (UTC by default) */
  timeZone: string
  businessId: number | null
  businessLevel: number | null
}

/** sha256 of a valid API key (configured, or a user's), else 401/8 */
export async function checkApiKey(deps: Deps, apiKey: unknown): Promise<string> {
  if (typeof apiKey !== 'string' || !apiKey.trim()) throw errors.invalidApiKey()
  const hash = sha256(apiKey.trim())
  if (configuredKeyHashes(deps).has(hash)) return hash
  if (!(await apiKeyExists(deps.db, hash))) throw errors.invalidApiKey()
  return hash
}

const keyHashCache = new WeakMap<object, Set<string>>()
function configuredKeyHashes(deps: Deps): Set<string> {
  let set = keyHashCache.get(deps.config)
  if (!set) {
    set = new Set(deps.config.API_KEYS.map(sha256))
    keyHashCache.set(deps.config, set)
  }
  return set
}

/** a new session of the user, bound to the API key; returns its id (only its sha256 is stored) */
export async function createSession(db: Sql, userId: number, apiKeyHash: string): Promise<string> {
  const id = randomToken(24)
  await insertSession(db, sha256(id), userId, apiKeyHash)
  return id
}

/**
 * The signed-in user of a session id, or 401/7. One query: the session, its user and the
 * user's time zone. Touches last_used_at / last_seen_at at most once a minute.
 */
export async function resolveSession(deps: Deps, sessionId: string): Promise<SessionUser> {
  const idHash = sha256(sessionId)
  const idleMs = deps.config.SESSION_IDLE_DAYS * 86_400_000
  const row = await lookupSession(deps.db, idHash)
  if (!row) throw errors.sessionNotFound()
  // a session lives only as long as the API key that created it
  const keyValid = row.user_key || configuredKeyHashes(deps).has(row.api_key_hash)
  if (row.idle_ms > idleMs || !keyValid) {
    await deleteSession(deps.db, idHash)
    throw errors.sessionNotFound()
  }
  if (row.touch) await touchSession(deps.db, idHash)
  const timeZone = storedTimeZone(row.tz)
  return {
    id: Number(row.user_id),
    sessionHash: idHash,
    apiKeyHash: row.api_key_hash,
    timeZone,
    businessId: row.business_id === null ? null : Number(row.business_id),
    businessLevel: row.business_level,
  }
}

export async function endSession(deps: Deps, sessionHash: string) {
  await deleteSession(deps.db, sessionHash)
}

// ---- a user's own API key: POST|GET|DELETE /user/apikey

export async function createUserApiKey(deps: Deps, userId: number, name: string) {
  const key = randomToken(24)
  if (!(await insertApiKey(deps.db, userId, { name, keyHash: sha256(key), prefix: key.slice(0, 6) }))) throw errors.apiKeyExists()
  return { api_key: key, name }
}

export async function getUserApiKey(deps: Deps, userId: number) {
  const k = await findApiKeyOf(deps.db, userId)
  if (!k) throw errors.notFound('API key')
  return k
}

export async function deleteUserApiKey(deps: Deps, userId: number) {
  if (!(await deleteApiKeyOf(deps.db, userId))) throw errors.notFound('API key')
}
