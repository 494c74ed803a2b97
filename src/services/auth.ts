// API keys and sessions (contract §2). Keys and session ids are random, shown once, and
// stored as sha256. A session is bound to the API key that created it and dies after an
// idle period or at sign-out, at once on every instance (the database is the only truth).
import type { Deps } from '../deps.js'
import { ApiError, Code, errors } from '../http/errors.js'
import { randomToken, sha256 } from '../lib/secrets.js'

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
  const row = await deps.db.prisma.apiKey.findUnique({ where: { keyHash: hash }, select: { id: true } })
  if (!row) throw errors.invalidApiKey()
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

export async function createSession(deps: Deps, userId: number, apiKeyHash: string): Promise<string> {
  const id = randomToken(24)
  await deps.db.prisma.session.create({ data: { idHash: sha256(id), userId: BigInt(userId), apiKeyHash } })
  return id
}

/**
 * The signed-in user of a session id, or 401/7. One query: the session, its user and the
 * user's time zone. Touches last_used_at / last_seen_at at most once a minute.
 */
export async function resolveSession(deps: Deps, sessionId: string): Promise<SessionUser> {
  const idHash = sha256(sessionId)
  const idleMs = deps.config.SESSION_IDLE_DAYS * 86_400_000
  const r = await deps.db.pool.query<{
    user_id: number
    api_key_hash: string
    idle_ms: number
    business_id: number | null
    business_level: number | null
    tz: string | null
    touch: boolean
    user_key: boolean
  }>(
    `SELECT s.user_id, s.api_key_hash, u.business_id, u.business_level,
            (extract(epoch FROM clock_timestamp() - s.last_used_at) * 1000)::float8 AS idle_ms,
            (s.last_used_at < clock_timestamp() - interval '1 minute'
              OR u.last_seen_at IS NULL OR u.last_seen_at < clock_timestamp() - interval '1 minute') AS touch,
            (SELECT value FROM user_preferences p WHERE p.user_id = s.user_id AND p.key = 'time_zone') AS tz,
            EXISTS (SELECT 1 FROM api_keys k WHERE k.key_hash = s.api_key_hash) AS user_key
       FROM sessions s JOIN users u ON u.id = s.user_id
      WHERE s.id_hash = $1`,
    [idHash],
  )
  const row = r.rows[0]
  if (!row) throw errors.sessionNotFound()
  // a session lives only as long as the API key that created it
  const keyValid = row.user_key || configuredKeyHashes(deps).has(row.api_key_hash)
  if (row.idle_ms > idleMs || !keyValid) {
    await deps.db.pool.query('DELETE FROM sessions WHERE id_hash = $1', [idHash])
    throw errors.sessionNotFound()
  }
  if (row.touch) {
    await deps.db.pool.query(
      `WITH s AS (UPDATE sessions SET last_used_at = clock_timestamp() WHERE id_hash = $1 RETURNING user_id)
       UPDATE users SET last_seen_at = clock_timestamp() WHERE id = (SELECT user_id FROM s)`,
      [idHash],
    )
  }
  let timeZone = 'UTC'
  if (row.tz) {
    try {
      const v = JSON.parse(row.tz)
      if (typeof v === 'string' && v) timeZone = v
    } catch {}
  }
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
  await deps.db.prisma.session.deleteMany({ where: { idHash: sessionHash } })
}

/** ends every session of the user except `keepHash` */
export async function endOtherSessions(deps: Deps, userId: number, keepHash: string | null) {
  await deps.db.prisma.session.deleteMany({ where: { userId: BigInt(userId), ...(keepHash ? { idHash: { not: keepHash } } : {}) } })
}

// ---- a user's own API key: POST|GET|DELETE /user/apikey

export async function createUserApiKey(deps: Deps, userId: number, name: string) {
  const existing = await deps.db.prisma.apiKey.findUnique({ where: { userId: BigInt(userId) } })
  if (existing) throw new ApiError(Code.API_KEY_ALREADY_EXISTS, 'You already created the API key, please delete it before creating the new')
  const key = randomToken(24)
  try {
    await deps.db.prisma.apiKey.create({ data: { userId: BigInt(userId), name, keyHash: sha256(key), prefix: key.slice(0, 6) } })
  } catch (e) {
    // a concurrent second create hits the unique user_id
    if ((e as { code?: string }).code === 'P2002') throw new ApiError(Code.API_KEY_ALREADY_EXISTS, 'You already created the API key, please delete it before creating the new')
    throw e
  }
  return { api_key: key, name }
}

export async function getUserApiKey(deps: Deps, userId: number) {
  const k = await deps.db.prisma.apiKey.findUnique({ where: { userId: BigInt(userId) } })
  if (!k) throw errors.notFound('API key')
  return { name: k.name, prefix: k.prefix, createdAt: k.createdAt }
}

export async function deleteUserApiKey(deps: Deps, userId: number) {
  const r = await deps.db.prisma.apiKey.deleteMany({ where: { userId: BigInt(userId) } })
  if (r.count === 0) throw errors.notFound('API key')
}
