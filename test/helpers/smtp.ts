// A real SMTP server on a free local port; the mails it receives are kept for the test.
import { SMTPServer } from 'smtp-server'

export type ReceivedMail = { to: string[]; raw: string; subject: string; text: string }

export async function startSmtp() {
  const mails: ReceivedMail[] = []
  const waiters: Array<() => void> = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, cb) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8')
        const subject = /^Subject: (.*)$/im.exec(raw)?.[1]?.trim() ?? ''
        // undo quoted-printable soft breaks and escapes so links can be read back, only when
        // the mail is quoted-printable (in a 7bit mail, "token=07AB…" is the token itself)
        const qp = /^Content-Transfer-Encoding:\s*quoted-printable/im.test(raw)
        const text = qp ? raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))) : raw
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw, subject, text })
        waiters.splice(0).forEach((w) => w())
        cb()
      })
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.server.address() as { port: number }).port
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    /** the next mail to `to` (waits up to 30 s: a hang detector, not a speed check) */
    async waitFor(to: string, since = 0): Promise<ReceivedMail> {
      const deadline = Date.now() + 30_000
      for (;;) {
        const m = mails.slice(since).find((x) => x.to.includes(to))
        if (m) return m
        if (Date.now() > deadline) throw new Error(`no mail to ${to}`)
        await new Promise<void>((r) => {
          waiters.push(r)
          setTimeout(r, 200)
        })
      }
    },
    tokenIn(mail: ReceivedMail): string {
      const m = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail.text)
      if (!m) throw new Error('no token link in mail')
      return m[1]!
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}
