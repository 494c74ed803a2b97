// Emails over SMTP (nodemailer, SMTP_URL); without SMTP_URL they are written to the log,
// which is then the only way to read a link in development (contract §4).
import nodemailer from 'nodemailer'
import type { FastifyBaseLogger } from 'fastify'

export type Mail = { to: string; subject: string; text: string; html?: string }

export interface Mailer {
  send(mail: Mail): Promise<void>
  close(): void
  readonly kind: 'smtp' | 'log'
}

export function createMailer(opts: { smtpUrl?: string; from: string; log: FastifyBaseLogger }): Mailer {
  if (!opts.smtpUrl) {
    return {
      kind: 'log',
      async send(mail) {
        opts.log.info({ mail: { to: mail.to, subject: mail.subject, text: mail.text } }, 'email (SMTP_URL not set, so written here)')
      },
      close() {},
    }
  }
  const transport = nodemailer.createTransport(opts.smtpUrl)
  return {
    kind: 'smtp',
    async send(mail) {
      await transport.sendMail({ from: opts.from, ...mail })
    },
    close() {
      transport.close()
    },
  }
}
