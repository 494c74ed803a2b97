// SQL of Web Push subscriptions (push.ts). No rules here.
import type { Sql } from '../platform/db/pool.js'

export type PushSubscriptionRow = { id: number; user_id: number; endpoint: string; p256dh: string; auth: string }

export async function pushSubscriptionsOf(db: Sql, userIds: number[]): Promise<PushSubscriptionRow[]> {
  if (!userIds.length) return []
  const r = await db.query<PushSubscriptionRow>('SELECT id, user_id, endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = ANY($1::bigint[]) ORDER BY id', [userIds])
  return r.rows
}

export async function pushSubscriptionById(db: Sql, id: number): Promise<PushSubscriptionRow | undefined> {
  const r = await db.query<PushSubscriptionRow>('SELECT id, user_id, endpoint, p256dh, auth FROM push_subscriptions WHERE id = $1', [id])
  return r.rows[0]
}

/** stores a subscription for the user (an endpoint another user had moves to this one) */
export async function upsertPushSubscription(db: Sql, userId: number, s: { endpoint: string; p256dh: string; auth: string }) {
  await db.query(
    `INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth) VALUES ($1, $2, $3, $4)
     ON CONFLICT (endpoint) DO UPDATE SET user_id = EXCLUDED.user_id, p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth`,
    [userId, s.endpoint, s.p256dh, s.auth],
  )
}

export async function countPushSubscriptions(db: Sql, userId: number): Promise<number> {
  const r = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM push_subscriptions WHERE user_id = $1', [userId])
  return r.rows[0]!.n
}

export async function deletePushSubscription(db: Sql, userId: number, endpoint: string): Promise<boolean> {
  const r = await db.query('DELETE FROM push_subscriptions WHERE user_id = $1 AND endpoint = $2', [userId, endpoint])
  return r.rowCount > 0
}

export async function deletePushSubscriptionById(db: Sql, id: number) {
  await db.query('DELETE FROM push_subscriptions WHERE id = $1', [id])
}

/** the endpoint is already one of the user's subscriptions */
export async function hasPushSubscription(db: Sql, userId: number, endpoint: string): Promise<boolean> {
  const r = await db.query('SELECT 1 FROM push_subscriptions WHERE endpoint = $1 AND user_id = $2', [endpoint, userId])
  return r.rowCount > 0
}
