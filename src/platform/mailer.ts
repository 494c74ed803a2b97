// Emails over SMTP (nodemailer, SMTP_URL); without SMTP_URL they are written to the log,
// which is then the only way to read a link in development (contract §4).
//
// Emails are plain text; notifications add an HTML part whose every user-supplied string is
// HTML-escaped (src/notifications/mail.ts). What users typed (names, team titles,
// invitation names) reaches a subject or a text body only through `mailText` (or `inert`), which makes it inert:
// no line breaks or other control and invisible characters, no markup, nothing a mail client
// would turn into a link (contract §15; docs/security.md). The mailer removes line
// breaks from every subject once more, whatever it is given.
import nodemailer from 'nodemailer'
import type { FastifyBaseLogger } from 'fastify'

export type Mail = {
  to: string
  subject: string
  text: string
  html?: string
  /** extra header lines, e.g. List-Unsubscribe (RFC 2369/8058) */
  headers?: Record<string, string>
  /** a fixed Message-ID ("<id@host>"): a retried send is recognisable as the same message */
  messageId?: string
}

export interface Mailer {
  send(mail: Mail): Promise<void>
  close(): void
  readonly kind: 'smtp' | 'log'
}

// control characters, line and paragraph separators, zero-width and direction marks
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g
/** full stops a mail client may read as one in a host name */
const DOTS = /[.\u3002\uff0e\uff61]/

/**
 * A user's text made inert for an email: invisible and control characters (line breaks
 * included) become spaces, `<` and `>` go, `scheme://` becomes `scheme[:]//` and a dot
 * between two letters or digits becomes `[.]` (no host name, address or URL a client could
 * link), spaces are collapsed, and the text is cut at `max` characters.
 */
export function inert(value: unknown, max = 200): string {
  let s = String(value ?? '')
    .replace(INVISIBLE, ' ')
    .replace(/[<>]/g, '')
    .replace(/([a-z][a-z0-9+.-]*):\/\//gi, '$1[:]//')
  s = s.replace(new RegExp(`([\\p{L}\\p{N}_-])${DOTS.source}(?=[\\p{L}\\p{N}_-])`, 'gu'), '$1[.]')
  s = s.replace(/\s+/g, ' ').trim()
  return s.length > max ? s.slice(0, max - 1) + '…' : s
}

/** Text for an email whose every untrusted part went through `inert` (see `mailText`). */
export class MailText {
  private constructor(readonly value: string) {}
  /** our own text (a link the server built, a fixed sentence): used as it is */
  static trusted(value: string): MailText {
    return new MailText(value)
  }
}

/**
 * A template of our own words with users' values in it: mailText`${name} invited you`. The
 * literal parts are kept, every value is made inert.
 */
export function mailText(strings: TemplateStringsArray, ...values: unknown[]): MailText {
  return MailText.trusted(strings.reduce((out, part, i) => out + part + (i < values.length ? inert(values[i]) : ''), ''))
}

/** a subject is one line, whatever it was built from */
const oneLine = (s: string) => s.replace(/[\r\n\u2028\u2029]+/g, ' ')

export function createMailer(opts: { smtpUrl?: string; from: string; log: FastifyBaseLogger }): Mailer {
  if (!opts.smtpUrl) {
    return {
      kind: 'log',
      async send(mail) {
        opts.log.info({ mail: { to: mail.to, subject: oneLine(mail.subject), text: mail.text } }, 'email (SMTP_URL not set, so written here)')
      },
      close() {},
    }
  }
  const transport = nodemailer.createTransport(opts.smtpUrl)
  return {
    kind: 'smtp',
    async send(mail) {
      await transport.sendMail({ from: opts.from, ...mail, subject: oneLine(mail.subject) })
    },
    close() {
      transport.close()
    },
  }
}
