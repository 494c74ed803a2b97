// SQL of webhooks (webhooks.ts): a user's subscriptions and their failure counts. No rules here.
import type { Sql } from '../platform/db/pool.js'

export type WebhookRow = { id: number; user_id: number; url: string; events: string[]; secret: string; active: boolean; consecutive_failures: number; disabled_at: Date | null; created_at: Date }

export async function activeWebhooksFor(db: Sql, events: string[]): Promise<WebhookRow[]> {
  if (!events.length) return []
  const r = await db.query<WebhookRow>('SELECT * FROM webhooks WHERE active AND events && $1::text[] ORDER BY id', [events])
  return r.rows
}

export async function webhooksOf(db: Sql, userId: number): Promise<WebhookRow[]> {
  const r = await db.query<WebhookRow>('SELECT * FROM webhooks WHERE user_id = $1 ORDER BY id', [userId])
  return r.rows
}

export async function webhookById(db: Sql, id: number): Promise<WebhookRow | undefined> {
  const r = await db.query<WebhookRow>('SELECT * FROM webhooks WHERE id = $1', [id])
  return r.rows[0]
}

export async function insertWebhook(db: Sql, w: { userId: number; url: string; events: string[]; secret: string }): Promise<WebhookRow> {
  const r = await db.query<WebhookRow>('INSERT INTO webhooks (user_id, url, events, secret) VALUES ($1, $2, $3, $4) RETURNING *', [w.userId, w.url, w.events, w.secret])
  return r.rows[0]!
}

export async function deleteWebhook(db: Sql, userId: number, id: number): Promise<boolean> {
  const r = await db.query('DELETE FROM webhooks WHERE id = $1 AND user_id = $2', [id, userId])
  return r.rowCount > 0
}

/** a failed attempt: one more in a row; `limit` in a row disables the webhook. Returns whether it is now disabled. */
export async function webhookFailed(db: Sql, id: number, limit: number): Promise<boolean> {
  const r = await db.query<{ active: boolean }>(
    `UPDATE webhooks SET consecutive_failures = consecutive_failures + 1,
            active = active AND consecutive_failures + 1 < $2,
            disabled_at = CASE WHEN active AND consecutive_failures + 1 >= $2 THEN now() ELSE disabled_at END
      WHERE id = $1 RETURNING active`,
    [id, limit],
  )
  return r.rows[0] ? !r.rows[0].active : true
}

export async function webhookSucceeded(db: Sql, id: number) {
  await db.query('UPDATE webhooks SET consecutive_failures = 0 WHERE id = $1 AND consecutive_failures <> 0', [id])
}

export async function webhookCounts(db: Sql): Promise<{ active: number; disabled: number }> {
  const r = await db.query<{ active: number; disabled: number }>(
    'SELECT count(*) FILTER (WHERE active)::int AS active, count(*) FILTER (WHERE NOT active)::int AS disabled FROM webhooks',
  )
  return r.rows[0]!
}
