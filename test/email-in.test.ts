// Email-in (contract §12): a real SMTP client (nodemailer) sends to the listener; mail from a
// member's confirmed email or a member's contact becomes a task with its attachments as files;
// other senders and unknown inboxes are refused with a 5xx in the SMTP dialogue; one
// Message-ID makes one task; quotas apply. The inbox shows in /business and /list/business.
import nodemailer from 'nodemailer'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from './helpers/app.js'
import { makeTeam, type TestUser } from './helpers/teams.js'
import { confirmEmail } from './helpers/notify.js'

const DOMAIN = 'in.hitask.test'
let t: TestApp
let team: Awaited<ReturnType<typeof makeTeam>>
let member: TestUser
let inbox: string

beforeAll(async () => {
  t = await createTestApp({ env: { INBOUND_SMTP_PORT: '0', INBOUND_SMTP_HOST: '127.0.0.1', INBOUND_MAIL_DOMAIN: DOMAIN } })
  team = await makeTeam(t, 1)
  member = team.members[0]!
  for (const u of [team.owner, member]) await confirmEmail(t, u.id)
  inbox = (await t.call('GET', '/api/business', { session: team.owner.session })).json().emailInbox
})
afterAll(async () => {
  await t?.close()
})

function send(mail: nodemailer.SendMailOptions) {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.app.notifications!.emailIn!.port, secure: false, ignoreTLS: true })
  return transport.sendMail(mail).finally(() => transport.close())
}

async function itemsOf(u: TestUser): Promise<any[]> {
  return (await t.call('GET', '/api/item', { session: u.session })).json()
}

describe('the team inbox address', () => {
  it('is <random>@INBOUND_MAIL_DOMAIN in /business and /list/business, different per team', async () => {
    expect(inbox).toMatch(new RegExp(`^t[0-9a-f]{24}@${DOMAIN.replace(/\./g, '\\.')}$`))
    const list = (await t.call('GET', '/api/list/business', { session: member.session })).json()
    expect(JSON.stringify(list)).toContain(`"emailInbox":"${inbox}"`)
    const other = await makeTeam(t)
    const second = (await t.call('GET', '/api/business', { session: other.owner.session })).json().emailInbox
    expect(second).toMatch(new RegExp(`@${DOMAIN.replace(/\./g, '\\.')}$`))
    expect(second).not.toBe(inbox)
  })
})

describe('mail to the inbox', () => {
  it("from a member's confirmed email: a task owned by that member, subject → title, text → message, attachments → files under it", async () => {
    const info = await send({
      from: member.email,
      to: inbox,
      subject: 'Invoice from ACME',
      text: 'Please pay by Friday.\nThanks',
      messageId: '<invoice-1@mail.example>',
      attachments: [
        { filename: 'invoice.txt', content: 'total: 42 EUR', contentType: 'text/plain' },
        { filename: 'logo.png', content: Buffer.from('89504e470d0a1a0a', 'hex'), contentType: 'image/png' },
      ],
    })
    expect(info.accepted).toEqual([inbox])
    const items = await itemsOf(member)
    const task = items.find((i) => i.title === 'Invoice from ACME')
    expect(task).toMatchObject({ category: 1, user_id: member.id, message: 'Please pay by Friday.\nThanks' })
    const files = items.filter((i) => i.parent === task.id)
    expect(files.map((f) => [f.category, f.title]).sort()).toEqual([
      [5, 'invoice.txt'],
      [5, 'logo.png'],
    ])
    const f = files.find((x) => x.title === 'invoice.txt')
    const bytes = await t.call('GET', `/api/file/${f.id}`, { session: member.session })
    expect(bytes.body).toBe('total: 42 EUR')
    const history = (await t.call('GET', '/api/item/history', { session: member.session, query: { id: task.id } })).json()
    expect(history.filter((h: any) => h.property_name === 'file').map((h: any) => h.value).sort()).toEqual(['invoice.txt', 'logo.png'])
  })

  it('the same Message-ID again (a retried delivery) creates nothing more', async () => {
    const mail = { from: member.email, to: inbox, subject: 'Once only', text: 'x', messageId: '<once@mail.example>' }
    await send(mail)
    await send(mail)
    await Promise.all([send(mail), send(mail)])
    expect((await itemsOf(member)).filter((i) => i.title === 'Once only').length).toBe(1)
  })

  it("from an address a member has as a contact: the task is that member's", async () => {
    const outsider = await t.signup()
    await confirmEmail(t, outsider.id)
    expect((await t.call('POST', '/api/contact', { session: member.session, form: { id: outsider.id } })).statusCode).toBe(200)
    // a request not yet accepted is not a contact
    await expect(send({ from: outsider.email, to: inbox, subject: 'Too early', text: 'x' })).rejects.toMatchObject({ responseCode: 550 })
    expect((await t.call('GET', '/api/contact/approve', { session: outsider.session, query: { id: member.id } })).statusCode).toBe(200)
    await send({ from: outsider.email, to: inbox, subject: 'From a client', text: 'hello' })
    expect((await itemsOf(member)).find((i) => i.title === 'From a client')).toMatchObject({ user_id: member.id })
  })

  it('other senders, unconfirmed emails, unknown inboxes and other domains are refused with 550 in the dialogue', async () => {
    const stranger = await t.signup()
    await confirmEmail(t, stranger.id)
    const unconfirmed = await makeTeam(t)
    const cases: Array<[nodemailer.SendMailOptions, RegExp]> = [
      [{ from: stranger.email, to: inbox }, /5\.7\.1/],
      [{ from: 'nobody@elsewhere.example', to: inbox }, /5\.7\.1/],
      [{ from: member.email, to: `tdoesnotexist000000000000@${DOMAIN}` }, /5\.1\.1/],
      [{ from: member.email, to: `someone@example.com` }, /5\.7\.1 Relaying denied/],
      // a member of another team whose email is not confirmed, to that team's own inbox
      [{ from: unconfirmed.owner.email, to: (await t.call('GET', '/api/business', { session: unconfirmed.owner.session })).json().emailInbox }, /5\.7\.1/],
    ]
    for (const [mail, why] of cases) {
      const e = await send({ ...mail, subject: 'Refused', text: 'x' }).then(
        () => null,
        (err) => err,
      )
      expect(e, JSON.stringify(mail)).toMatchObject({ responseCode: 550, command: 'RCPT TO' })
      expect(String(e.response)).toMatch(why)
    }
    expect((await itemsOf(member)).filter((i) => i.title === 'Refused')).toEqual([])
  })

  it('a From: header of someone the team does not know is refused (550), even from an allowed envelope', async () => {
    const e = await send({ envelope: { from: member.email, to: inbox }, from: 'ceo@bank.example', to: inbox, subject: 'Spoofed', text: 'x' }).catch((err) => err)
    expect(e).toMatchObject({ responseCode: 550 })
    expect((await itemsOf(member)).filter((i) => i.title === 'Spoofed')).toEqual([])
  })

  it('quotas apply: attachments over the team storage quota → 552 and nothing created', async () => {
    const q = await makeTeam(t)
    await confirmEmail(t, q.owner.id)
    const qInbox = (await t.call('GET', '/api/business', { session: q.owner.session })).json().emailInbox
    await t.db.query('UPDATE businesses SET storage_quota = 0 WHERE id = $1', [q.businessId])
    const e = await send({ from: q.owner.email, to: qInbox, subject: 'Too big', text: 'x', attachments: [{ filename: 'a.bin', content: Buffer.alloc(2048) }] }).catch((err) => err)
    expect(e).toMatchObject({ responseCode: 552 })
    expect((await itemsOf(q.owner)).filter((i) => i.title === 'Too big')).toEqual([])
    // without attachments the same sender is fine
    await send({ from: q.owner.email, to: qInbox, subject: 'Small', text: 'x' })
    expect((await itemsOf(q.owner)).filter((i) => i.title === 'Small').length).toBe(1)
  })

  it('a message without a subject or text still makes a task; control characters are dropped', async () => {
    await send({ from: member.email, to: inbox, text: '' })
    expect((await itemsOf(member)).find((i) => i.title === '(no subject)')).toBeTruthy()
    await send({ from: member.email, to: inbox, subject: 'Bell\u0007 and tab\there', text: 'body' })
    expect((await itemsOf(member)).find((i) => i.title === 'Bell and tab here')).toBeTruthy()
  })
})
