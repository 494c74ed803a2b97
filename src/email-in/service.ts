// Email-in (contract §12): mail to a team's inbox from the confirmed email of a team member,
// or from an address a member has as a contact (an accepted contact, BOTH), becomes a task
// owned by that member: subject → title, plain text → message, attachments → file items under
// it. Quotas apply (storage, item limit, FILE_MAX_BYTES). One Message-ID makes one task, at
// most, per team.
//
// The items and files domains do the creating (createItem, uploadFile), so every rule of
// POST /item and POST /file/upload holds; the two calls are in `createTask` below.
import fs from 'node:fs'
import path from 'node:path'
import crypto from 'node:crypto'
import type { ParsedMail } from 'mailparser'
import type { Deps } from '../deps.js'
import type { Sql } from '../platform/db/pool.js'
import { ApiError, Code } from '../platform/errors.js'
import type { SessionUser } from '../users/sessions.js'
import { MESSAGE_MAX, TITLE_MAX, type ItemInput } from '../items/input.js'
import { createItem } from '../items/create.js'
import { deleteItem } from '../items/delete.js'
import { uploadFile } from '../files/service.js'
import { claimMessage, freeStorage, memberForSender, releaseMessage, setMessageItem } from './repository.js'
import { storedTimeZone } from '../platform/dates.js'


/** an SMTP refusal: the listener answers it in the dialogue */
export class SmtpRefusal extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message)
  }
}

export type Owner = { id: number; businessId: number; businessLevel: number | null; timeZone: string }

/**
 * The member a sender's mail belongs to: the member whose confirmed email it is, else the
 * first member (lowest id) who has it as an accepted contact; null: not allowed.
 */
export async function ownerForSender(db: Sql, businessId: number, sender: string): Promise<Owner | null> {
  const row = await memberForSender(db, businessId, sender)
  if (!row) return null
  return { id: row.id, businessId, businessLevel: row.business_level, timeZone: storedTimeZone(row.tz) }
}

// eslint-disable-next-line no-control-regex
const stripControls = (s: string) => s.replace(/\u0000/g, '').replace(/[\u0001-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '')

function titleOf(subject: string | undefined): string {
  const t = stripControls(subject ?? '').replace(/\s+/g, ' ').trim()
  if (!t) return '(no subject)'
  return t.length > TITLE_MAX ? t.slice(0, TITLE_MAX - 1) + '…' : t
}

function messageOf(text: string | undefined): string | null {
  const t = stripControls((text ?? '').replace(/\r\n?/g, '\n')).trim()
  if (!t) return null
  return t.length > MESSAGE_MAX ? t.slice(0, MESSAGE_MAX - 1) + '…' : t
}

/** Message-ID, or a digest of the message when it has none */
export function messageKey(parsed: ParsedMail, raw: Buffer): string {
  const id = parsed.messageId?.trim()
  if (id) return id.slice(0, 500)
  return 'sha256:' + crypto.createHash('sha256').update(raw).digest('hex')
}

/** attachments the sender attached (not images the HTML body embeds) */
export function attachmentsOf(parsed: ParsedMail) {
  return parsed.attachments.filter((a) => !a.related || a.contentDisposition === 'attachment')
}

function quotaRefusal(e: unknown): SmtpRefusal | null {
  if (e instanceof ApiError && (e.code === Code.LIMIT_EXCEED || e.code === Code.EXCEEDED_SIZE)) return new SmtpRefusal(552, `5.2.2 ${e.message}`)
  return null
}

/**
 * Creates the task (and its files) for one accepted recipient. Returns the item id, or null
 * when this Message-ID already made a task in this team. Quota refusals are SmtpRefusal 552.
 */
export async function createTask(deps: Deps, owner: Owner, parsed: ParsedMail, key: string): Promise<number | null> {
  const files = attachmentsOf(parsed)
  const total = files.reduce((s, a) => s + a.size, 0)
  const big = files.find((a) => a.size > deps.config.FILE_MAX_BYTES)
  if (big) throw new SmtpRefusal(552, `5.3.4 attachment over ${deps.config.FILE_MAX_BYTES} bytes`)
  if (total > 0 && total > (await freeStorage(deps.db, owner.businessId))) throw new SmtpRefusal(552, '5.2.2 the team storage quota is exceeded')

  const user: SessionUser = { id: owner.id, sessionHash: '', apiKeyHash: '', timeZone: owner.timeZone, businessId: owner.businessId, businessLevel: owner.businessLevel }
  let itemId: number
  try {
    const created = await deps.db.tx(async (tx) => {
      // the claim commits with the task: a second delivery of the message waits, then finds it
      if (!(await claimMessage(tx, owner.businessId, key))) return null
      const item = await createItem(deps, user, { title: titleOf(parsed.subject), message: messageOf(parsed.text), category: 1 } as ItemInput, tx)
      await setMessageItem(tx, owner.businessId, key, item.id)
      return item.id
    })
    if (created === null) return null
    itemId = created
  } catch (e) {
    throw quotaRefusal(e) ?? e
  }

  if (files.length) {
    const base = path.resolve(deps.config.DATA_DIR, 'tmp')
    fs.mkdirSync(base, { recursive: true })
    const dir = fs.mkdtempSync(path.join(base, 'mail-'))
    try {
      for (const [n, a] of files.entries()) {
        const tmpPath = path.join(dir, String(n))
        fs.writeFileSync(tmpPath, a.content)
        await uploadFile(deps, user, [{ field: 'file', filename: a.filename || `attachment-${n + 1}`, mimetype: a.contentType || 'application/octet-stream', size: a.size, tmpPath }], { parentId: itemId })
      }
    } catch (e) {
      // all or nothing: the task goes, and so does the claim, so that a retry can succeed
      await deleteItem(deps, user, itemId).catch(() => {})
      await releaseMessage(deps.db, owner.businessId, key).catch(() => {})
      throw quotaRefusal(e) ?? e
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }
  return itemId
}
