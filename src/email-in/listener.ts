// The email-in SMTP listener (smtp-server + mailparser) on INBOUND_SMTP_PORT. Decisions are
// answered in the SMTP dialogue, so the sending server bounces a refused message:
//   RCPT TO  not @INBOUND_MAIL_DOMAIN       → 550 5.7.1 (no relaying)
//            an unknown inbox               → 550 5.1.1
//            a sender the team does not know → 550 5.7.1
//   DATA     over INBOUND_MAX_BYTES          → 552 5.3.4
//            a From: header of someone else  → 550 5.7.1
//            a quota exceeded                → 552 5.2.2
//            the database unavailable        → 451 4.3.0 (the sender retries)
// No AUTH and no STARTTLS: put it behind the MX (or a TLS proxy) that faces the internet.
import { SMTPServer, type SMTPServerSession, type SMTPServerDataStream, type SMTPServerAddress } from 'smtp-server'
import { simpleParser } from 'mailparser'
import type { AddressInfo } from 'node:net'
import type { Deps } from '../deps.js'
import { createTask, messageKey, ownerForSender, SmtpRefusal, type Owner } from './service.js'
import { teamOfInbox } from './repository.js'

export type EmailIn = { port: number; close(): Promise<void> }

const MAX_RECIPIENTS = 10

type Accepted = { address: string; businessId: number; owner: Owner }
type Session = SMTPServerSession & { hitask?: Accepted[] }

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code })
}

export async function startEmailIn(deps: Deps): Promise<EmailIn> {
  const log = deps.log.child({ part: 'email-in' })
  const domain = deps.config.INBOUND_MAIL_DOMAIN
  const server = new SMTPServer({
    name: domain ?? 'hitask',
    banner: 'Hitask email-in',
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    size: deps.config.INBOUND_MAX_BYTES,
    logger: false,
    socketTimeout: 60_000,
    closeTimeout: 5_000,
    onMailFrom(_address: SMTPServerAddress, session: Session, cb: (err?: Error | null) => void) {
      session.hitask = []
      cb()
    },
    onRcptTo(address: SMTPServerAddress, session: Session, cb: (err?: Error | null) => void) {
      void (async () => {
        const to = address.address.toLowerCase()
        const at = to.lastIndexOf('@')
        const local = to.slice(0, at)
        if (!domain || at < 1 || to.slice(at + 1) !== domain) return cb(smtpError(550, '5.7.1 Relaying denied'))
        if ((session.hitask?.length ?? 0) >= MAX_RECIPIENTS) return cb(smtpError(452, '4.5.3 Too many recipients'))
        const businessId = await teamOfInbox(deps.db, local)
        if (businessId === null) return cb(smtpError(550, '5.1.1 No such inbox'))
        const sender = session.envelope.mailFrom ? session.envelope.mailFrom.address : ''
        const owner = sender ? await ownerForSender(deps.db, businessId, sender) : null
        if (!owner) {
          log.info({ businessId }, 'email-in: sender refused')
          return cb(smtpError(550, '5.7.1 Sender not allowed to post to this inbox'))
        }
        ;(session.hitask ??= []).push({ address: to, businessId, owner })
        cb()
      })().catch((e) => {
        log.warn({ err: e }, 'email-in: recipient check failed')
        cb(smtpError(451, '4.3.0 Temporary failure, try again later'))
      })
    },
    onData(stream: SMTPServerDataStream, session: Session, cb: (err?: Error | null, message?: string) => void) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('error', (e) => cb(e))
      stream.on('end', () => {
        void (async () => {
          if (stream.sizeExceeded) throw new SmtpRefusal(552, '5.3.4 Message too big')
          const raw = Buffer.concat(chunks)
          const parsed = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true })
          const sender = session.envelope.mailFrom ? session.envelope.mailFrom.address.toLowerCase() : ''
          const headerFrom = parsed.from?.value?.[0]?.address?.toLowerCase()
          const accepted = session.hitask ?? []
          // the header's sender must be allowed too (a member forwarding someone else's mail is)
          if (headerFrom && headerFrom !== sender) {
            for (const a of accepted) {
              if (!(await ownerForSender(deps.db, a.businessId, headerFrom))) throw new SmtpRefusal(550, '5.7.1 Sender not allowed to post to this inbox')
            }
          }
          const key = messageKey(parsed, raw)
          const created: number[] = []
          for (const a of accepted) {
            const id = await createTask(deps, a.owner, parsed, key)
            if (id !== null) created.push(id)
            log.info({ businessId: a.businessId, ownerId: a.owner.id, itemId: id, duplicate: id === null }, 'email-in: message accepted')
          }
          cb(null, created.length ? `OK: task ${created.join(', ')}` : 'OK: already received')
        })().catch((e) => {
          if (e instanceof SmtpRefusal) return cb(smtpError(e.responseCode, e.message))
          log.error({ err: e }, 'email-in: message failed')
          cb(smtpError(451, '4.3.0 Temporary failure, try again later'))
        })
      })
    },
  })
  server.on('error', (e) => log.warn({ err: e }, 'email-in: SMTP server error'))
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject)
    server.listen(deps.config.INBOUND_SMTP_PORT, deps.config.INBOUND_SMTP_HOST, () => resolve())
  })
  const port = (server.server.address() as AddressInfo).port
  log.info({ port, domain: domain ?? null }, 'email-in listening')
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
