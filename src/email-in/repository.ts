// SQL of email-in (service.ts): which team an inbox names, who a sender's mail belongs to, the
// team's free storage, and the once-per-Message-ID claims (inbound_messages). No rules here.
import type { Sql } from '../platform/db/pool.js'

const MB = 1024 * 1024

/** the team whose inbox the local part names */
export async function teamOfInbox(db: Sql, localPart: string): Promise<number | null> {
  const r = await db.query<{ id: number }>('SELECT id FROM businesses WHERE email_inbox = $1', [localPart.toLowerCase()])
  return r.rows[0]?.id ?? null
}

export type SenderMember = { id: number; business_level: number | null; tz: string | null }

/**
 * The team member the sender's address belongs to, with their time_zone preference (JSON
 * text): the member whose confirmed email it is, else the first member (lowest id) who has it
 * as an accepted contact (status BOTH); null: nobody.
 */
export async function memberForSender(db: Sql, businessId: number, sender: string): Promise<SenderMember | null> {
  const r = await db.query<SenderMember>(
    `SELECT m.id, m.business_level,
            (SELECT p.value FROM user_preferences p WHERE p.user_id = m.id AND p.key = 'time_zone') AS tz
       FROM (
         SELECT u.id, 0 AS rank FROM users u WHERE u.business_id = $1 AND lower(u.email_confirmed) = lower($2)
         UNION ALL
         SELECT c.user_id, 1 FROM contacts c
           JOIN users o ON o.id = c.contact_id AND lower(o.email_confirmed) = lower($2)
           JOIN users mm ON mm.id = c.user_id AND mm.business_id = $1
          WHERE c.status = 'BOTH'
       ) found JOIN users m ON m.id = found.id
      ORDER BY found.rank, m.id LIMIT 1`,
    [businessId, sender],
  )
  return r.rows[0] ?? null
}

/** the team's storage quota left, bytes (0 for an unknown team) */
export async function freeStorage(db: Sql, businessId: number): Promise<number> {
  const r = await db.query<{ free: number }>(`SELECT (storage_quota::bigint * ${MB} - storage_used)::float8 AS free FROM businesses WHERE id = $1`, [businessId])
  return r.rows[0]?.free ?? 0
}

/** claims the message for the team; false when it is claimed already (a second delivery waits for the first's transaction) */
export async function claimMessage(db: Sql, businessId: number, messageKey: string): Promise<boolean> {
  const r = await db.query('INSERT INTO inbound_messages (business_id, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [businessId, messageKey])
  return r.rowCount > 0
}

/** the task the claimed message made */
export async function setMessageItem(db: Sql, businessId: number, messageKey: string, itemId: number) {
  await db.query('UPDATE inbound_messages SET item_id = $3 WHERE business_id = $1 AND message_id = $2', [businessId, messageKey, itemId])
}

/** gives a claim up (its task failed), so that a retry of the message can succeed */
export async function releaseMessage(db: Sql, businessId: number, messageKey: string) {
  await db.query('DELETE FROM inbound_messages WHERE business_id = $1 AND message_id = $2', [businessId, messageKey])
}
