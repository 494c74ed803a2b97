// SQL of team invitations (contract §5). An invitation is pending (0), accepted (1), declined
// (2) or revoked (3); its id comes from the users' id sequence (docs/teams.md). The rules are
// in src/teams/invitations.ts. (Pending invitations shown as contacts, which need the contact
// columns of users, are read in src/contacts/repository.ts.)
import type { Sql } from '../platform/db/pool.js'

export const InvitationStatus = { PENDING: 0, ACCEPTED: 1, DECLINED: 2, REVOKED: 3 } as const

/** the team's pending invitation to this address (email_key), locked FOR UPDATE */
export async function lockPendingInvitation(db: Sql, businessId: number, emailKey: string): Promise<{ id: number; name: string | null } | null> {
  const r = await db.query<{ id: number; name: string | null }>(
    'SELECT id, name FROM invitations WHERE business_id = $1 AND email_key = $2 AND status = 0 FOR UPDATE',
    [businessId, emailKey],
  )
  return r.rows[0] ?? null
}

export async function insertInvitation(db: Sql, inv: { businessId: number; email: string; name: string | null; inviterId: number }): Promise<number> {
  // ids from the users' sequence: a BIS_WAIT entry's id never equals a member's (docs/teams.md)
  const r = await db.query<{ id: number }>(
    `INSERT INTO invitations (id, business_id, email, email_key, name, inviter_id, status)
     VALUES (nextval(pg_get_serial_sequence('users', 'id')), $1, $2, $3, $4, $5, 0) RETURNING id`,
    [inv.businessId, inv.email, inv.email.toLowerCase(), inv.name, inv.inviterId],
  )
  return r.rows[0]!.id
}

export async function setInvitationName(db: Sql, invitationId: number, name: string) {
  await db.query('UPDATE invitations SET name = $2 WHERE id = $1', [invitationId, name])
}

export async function setInvitationStatus(db: Sql, invitationId: number, status: number) {
  await db.query('UPDATE invitations SET status = $2 WHERE id = $1', [invitationId, status])
}

/** the team an invitation is to (read without a lock: the team row is locked first) */
export async function invitationTeam(db: Sql, invitationId: number): Promise<number | null> {
  const r = await db.query<{ business_id: number }>('SELECT business_id FROM invitations WHERE id = $1', [invitationId])
  return r.rows[0]?.business_id ?? null
}

/** the invitation's status, the row locked FOR UPDATE */
export async function lockInvitationStatus(db: Sql, invitationId: number): Promise<number | null> {
  const r = await db.query<{ status: number }>('SELECT status FROM invitations WHERE id = $1 FOR UPDATE', [invitationId])
  return r.rows[0]?.status ?? null
}

/**
 * An invitation to the address of this user's account, with whether that account's email is
 * confirmed; null when the invitation is to another address (or does not exist).
 */
export async function invitationToUser(db: Sql, invitationId: number, userId: number): Promise<{ status: number; confirmed: boolean } | null> {
  const r = await db.query<{ status: number; confirmed: boolean }>(
    `SELECT i.status, (u.email_confirmed IS NOT NULL AND lower(u.email_confirmed) = u.email_key) AS confirmed
       FROM invitations i JOIN users u ON u.email_key = i.email_key
      WHERE i.id = $1 AND u.id = $2`,
    [invitationId, userId],
  )
  return r.rows[0] ?? null
}

/**
 * Revokes the team's pending invitation with this id, or the one to the address of the user
 * with this id; whether one was revoked.
 */
export async function revokePendingInvitation(db: Sql, businessId: number, id: number): Promise<boolean> {
  const r = await db.query(
    `UPDATE invitations SET status = 3
      WHERE business_id = $1 AND status = 0
        AND (id = $2 OR email_key = (SELECT email_key FROM users WHERE id = $2))
      RETURNING id`,
    [businessId, id],
  )
  return r.rows.length > 0
}

/** a sign-up invitation token (team or contact) by its hash: is it usable, and its invitation's status */
export async function invitationToken(
  db: Sql,
  tokenHash: string,
): Promise<{ purpose: 'team_invitation' | 'signup_invitation'; usable: boolean; status: number | null } | null> {
  const r = await db.query<{ purpose: 'team_invitation' | 'signup_invitation'; usable: boolean; status: number | null }>(
    `SELECT t.purpose, (t.used_at IS NULL AND t.expires_at > now()) AS usable, i.status
       FROM one_time_tokens t LEFT JOIN invitations i ON i.id = t.invitation_id
      WHERE t.token_hash = $1 AND t.purpose IN ('team_invitation', 'signup_invitation')`,
    [tokenHash],
  )
  return r.rows[0] ?? null
}

// ---- GET /list/business ----

/** the inviter's (users iu) display name, as historyUserName: the full name, else the login */
const INVITER_NAME = `COALESCE(NULLIF(btrim(iu.first_name || ' ' || iu.last_name), ''), iu.login)`

export type ReceivedInvitation = { id: number; businessId: number; title: string; inviterName: string }

/** pending invitations to this address (email_key) from teams other than `exceptBusinessId` */
export async function invitationsReceived(db: Sql, emailKey: string, exceptBusinessId: number | null): Promise<ReceivedInvitation[]> {
  const r = await db.query<ReceivedInvitation>(
    `SELECT i.id, i.business_id AS "businessId", b.title, ${INVITER_NAME} AS "inviterName"
       FROM invitations i JOIN businesses b ON b.id = i.business_id JOIN users iu ON iu.id = i.inviter_id
      WHERE i.email_key = $1 AND i.status = 0 AND i.business_id IS DISTINCT FROM $2
      ORDER BY i.id`,
    [emailKey, exceptBusinessId],
  )
  return r.rows
}

export type SentInvitation = {
  id: number
  /** the account registered with the invited address, if any, and its names */
  userId: number | null
  firstName: string | null
  lastName: string | null
  /** the name given at invitation */
  name: string | null
  status: number
  inviterName: string
}

/** the team's pending and declined invitations */
export async function invitationsSent(db: Sql, businessId: number): Promise<SentInvitation[]> {
  const r = await db.query<SentInvitation>(
    `SELECT i.id, u.id AS "userId", i.name, u.first_name AS "firstName", u.last_name AS "lastName", i.status,
            ${INVITER_NAME} AS "inviterName"
       FROM invitations i JOIN users iu ON iu.id = i.inviter_id
       LEFT JOIN users u ON u.email_key = i.email_key
      WHERE i.business_id = $1 AND i.status IN (0, 2)
      ORDER BY i.id`,
    [businessId],
  )
  return r.rows
}
