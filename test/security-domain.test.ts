// Security hardening, the domain half (issue 11; contract §15, §8.3): each finding of the
// adversarial review reproduced through the API, with what the rules now say. The findings
// and the reasons are in docs/security.md.
import crypto from 'node:crypto'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_KEY, createTestApp, type TestApp } from './helpers/app.js'
import { postMultipart } from './helpers/multipart.js'
import { createItem, expectError, makeTeam, type TestUser } from './helpers/teams.js'
import type { ReceivedMail } from './helpers/smtp.js'

const MAX_CASCADE = 20
const INVITES_PER_HOUR = 3

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ env: { MAX_CASCADE_ITEMS: String(MAX_CASCADE), INVITES_PER_HOUR_PER_USER: String(INVITES_PER_HOUR), RATE_LIMIT_PER_MINUTE: '100000' } })
})
afterAll(async () => t?.close())

let n = 0
const unique = (what: string) => `${what}${process.pid}x${++n}x${crypto.randomBytes(3).toString('hex')}`

/** an item's stored list, principal → level */
async function listOf(id: number): Promise<Record<string, number>> {
  const r = await t.db.query('SELECT principal, level FROM item_permissions WHERE item_id = $1 ORDER BY principal', [id])
  return Object.fromEntries(r.rows.map((x) => [x.principal, x.level]))
}
async function rowOf(id: number) {
  return (await t.db.query('SELECT parent_id, version, changed_at FROM items WHERE id = $1', [id])).rows[0]
}
const perms = (...l: Array<[{ id: number } | string, number]>) => l.map(([p, level]) => ({ principal: typeof p === 'string' ? p : String(p.id), level }))
const put = (u: TestUser, id: number, body: Record<string, unknown>) => t.call('PUT', `/api/item/${id}`, { session: u.session, body })

describe('finding 1: a move is a permission change (§8.3)', () => {
  it("the review's scenario: eve (60 on X) moving X under her project EP → 403/3, nothing moves", async () => {
    const alice = await t.signup()
    const eve = await t.signup()
    const bob = await t.signup()
    const X = await createItem(t, alice, { title: 'X', permissions: perms([eve, 60], [bob, 20]) })
    const child = await createItem(t, alice, { title: 'child', parent: X.id })
    const EP = await createItem(t, eve, { title: 'EP', category: 0 })
    const snapshot = async () => ({ x: await listOf(X.id), c: await listOf(child.id), xr: await rowOf(X.id), cr: await rowOf(child.id), ep: await listOf(EP.id) })
    const before = await snapshot()
    expect(before.x).toEqual({ [alice.id]: 100, [eve.id]: 60, [bob.id]: 20 })
    expect(before.c).toEqual(before.x)

    expectError(await t.call('PUT', `/api/item/${X.id}`, { session: eve.session, form: { parent: EP.id } }), 403, 3)
    expect(await snapshot()).toEqual(before)
    // eve is still at 60: she can neither share X nor delete it
    expectError(await put(eve, X.id, { permissions: perms([alice, 100], [eve, 60], [bob, 20], [await t.signup(), 10]) }), 403, 3)
    expectError(await t.call('DELETE', `/api/item/${X.id}`, { session: eve.session }), 403, 3)
    expect((await t.call('GET', `/api/item/${child.id}`, { session: bob.session })).json().permission).toBe(20)
  })

  it('at 70 a move may add principals up to 70; removing one, or a level above 70, needs 100', async () => {
    const alice = await t.signup()
    const eve = await t.signup()
    const carol = await t.signup()
    const dave = await t.signup()
    const AP = await createItem(t, alice, { title: 'AP', category: 0, permissions: perms([eve, 70]) })
    const AP2 = await createItem(t, alice, { title: 'AP2', category: 0, permissions: perms([eve, 70], [carol, 30]) })
    const AP3 = await createItem(t, alice, { title: 'AP3', category: 0, permissions: perms([eve, 70], [dave, 80]) })
    const X = await createItem(t, alice, { title: 'X', parent: AP.id })
    const child = await createItem(t, alice, { title: 'child', parent: X.id })

    // adds carol at 30: 70 is enough; the subtree takes the new parent's principals
    const moved = await put(eve, X.id, { parent: AP2.id })
    expect(moved.statusCode, moved.body).toBe(200)
    expect(await listOf(X.id)).toEqual({ [alice.id]: 100, [eve.id]: 70, [carol.id]: 30 })
    expect(await listOf(child.id)).toEqual({ [alice.id]: 100, [eve.id]: 70, [carol.id]: 30 })

    // back under AP would remove carol: 100 needed
    const before = { x: await listOf(X.id), c: await listOf(child.id), xr: await rowOf(X.id) }
    expectError(await put(eve, X.id, { parent: AP.id }), 403, 3)
    // under AP3 would grant dave 80 (> 70) and remove carol: 100 needed
    expectError(await put(eve, X.id, { parent: AP3.id }), 403, 3)
    expect({ x: await listOf(X.id), c: await listOf(child.id), xr: await rowOf(X.id) }).toEqual(before)

    // the owner (100) may
    const back = await put(alice, X.id, { parent: AP.id })
    expect(back.statusCode, back.body).toBe(200)
    expect(await listOf(child.id)).toEqual({ [alice.id]: 100, [eve.id]: 70 })
  })

  it("a move never raises the caller's own level; to the top level the list is kept and 60 is enough", async () => {
    const alice = await t.signup()
    const eve = await t.signup()
    const AP = await createItem(t, alice, { title: 'AP', category: 0, permissions: perms([eve, 60]) })
    const X = await createItem(t, alice, { title: 'X', parent: AP.id })
    const EP = await createItem(t, eve, { title: 'EP', category: 0, permissions: perms([alice, 100]) })
    // eve has 60 on X and 100 on EP: moving X there would give her 100 → refused
    expectError(await put(eve, X.id, { parent: EP.id }), 403, 3)
    expect((await rowOf(X.id)).parent_id).toBe(AP.id)
    // moving to the top level keeps the list: 60 is enough
    const top = await put(eve, X.id, { parent: 0 })
    expect(top.statusCode, top.body).toBe(200)
    expect(top.json()).toMatchObject({ parent: 0, permission: 60 })
  })
})

describe('finding 2: one request’s work is bounded (§15 MAX_CASCADE_ITEMS)', () => {
  async function tree(owner: TestUser, children: number) {
    const root = await createItem(t, owner, { title: 'root', category: 0 })
    const ids: number[] = [root.id]
    for (let i = 0; i < children; i++) ids.push((await createItem(t, owner, { title: `c${i}`, parent: root.id })).id)
    return { root, ids }
  }

  it('a permission change over items × principals → 400/20 before writing; within it, done', async () => {
    const owner = await t.signup()
    const others = await Promise.all([1, 2, 3, 4, 5].map(() => t.signup()))
    const { root, ids } = await tree(owner, 3) // 4 items
    const snapshot = async () => Promise.all(ids.map(async (id) => [await listOf(id), await rowOf(id)]))
    const before = await snapshot()
    // cascadeAcl: 4 items × 6 principals = 24 > 20
    const over = await put(owner, root.id, { permissions: perms([owner, 100], ...others.map((o): [TestUser, number] => [o, 30])), cascadeAcl: 1 })
    expectError(over, 400, 20)
    expect(await snapshot()).toEqual(before)
    // flow-down of five new principals: 1 × 6 on the item + 3 × 5 below = 21 > 20
    expectError(await put(owner, root.id, { permissions: perms([owner, 100], ...others.map((o): [TestUser, number] => [o, 30])) }), 400, 20)
    expect(await snapshot()).toEqual(before)

    // 4 items × 4 principals = 16: done, down the whole tree
    const ok = await put(owner, root.id, { permissions: perms([owner, 100], [others[0]!, 30], [others[1]!, 30], [others[2]!, 30]), cascadeAcl: 1 })
    expect(ok.statusCode, ok.body).toBe(200)
    for (const id of ids) expect(Object.keys(await listOf(id)).length).toBe(4)
    // one more principal flows down: 1 × 5 + 3 × 1 = 8, though 4 × 5 = 20 rows hold it
    const more = await put(owner, root.id, { permissions: perms([owner, 100], [others[0]!, 30], [others[1]!, 30], [others[2]!, 30], [others[3]!, 20]) })
    expect(more.statusCode, more.body).toBe(200)
    for (const id of ids) expect((await listOf(id))[String(others[3]!.id)]).toBe(20)
  })

  it('the cascade is set-based: as many statements for a tree of 5 items as for a tree of 2 (a statement per level, not per item × principal)', async () => {
    const owner = await t.signup()
    const others = await Promise.all([1, 2, 3].map(() => t.signup()))
    const list = perms([owner, 100], ...others.map((o): [TestUser, number] => [o, 30]))
    const statementsFor = async (children: number) => {
      const { root, ids } = await tree(owner, children)
      let n = 0
      const stop = t.db.observe(() => n++)
      try {
        const r = await put(owner, root.id, { permissions: list, cascadeAcl: 1 })
        expect(r.statusCode, r.body).toBe(200)
      } finally {
        stop()
      }
      for (const id of ids) expect(Object.keys(await listOf(id)).length).toBe(4)
      return n
    }
    const small = await statementsFor(1) // 2 items × 4 principals
    const big = await statementsFor(4) // 5 items × 4 principals = 20, the bound
    expect(big).toBe(small)
  })

  it('a move whose subtree would take more than the bound → 400/20, nothing moves', async () => {
    const owner = await t.signup()
    const others = await Promise.all([1, 2, 3, 4, 5, 6].map(() => t.signup()))
    const big = await createItem(t, owner, { title: 'big', category: 0, permissions: perms(...others.map((o): [TestUser, number] => [o, 20])) }) // 7 principals
    const X = await createItem(t, owner, { title: 'X' })
    const kids = [await createItem(t, owner, { title: 'k1', parent: X.id }), await createItem(t, owner, { title: 'k2', parent: X.id })]
    const before = [await listOf(X.id), await rowOf(X.id), ...(await Promise.all(kids.map((k) => listOf(k.id))))]
    // 3 items, 6 new principals each (plus X's own list of 7) = 7 + 2 × 6 = 19: within
    // a fourth item tips it over: 7 + 3 × 6 = 25
    await createItem(t, owner, { title: 'k3', parent: kids[0]!.id })
    expectError(await put(owner, X.id, { parent: big.id }), 400, 20)
    expect([await listOf(X.id), await rowOf(X.id), ...(await Promise.all(kids.map((k) => listOf(k.id))))]).toEqual(before)
  })
})

/** the header `name` of a received mail, unfolded and with RFC 2047 words decoded */
function header(mail: ReceivedMail, name: string): string {
  const head = mail.raw.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, ' ')
  const line = head.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(name.toLowerCase() + ':'))
  if (line === undefined) throw new Error(`no ${name} header`)
  return line
    .slice(name.length + 1)
    .trim()
    .replace(/=\?utf-8\?([QB])\?([^?]*)\?=\s*/gi, (_, enc: string, data: string) =>
      enc.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8') : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'),
    )
}
/** the body of a received mail as text (quoted-printable undone, UTF-8 decoded) */
function body(mail: ReceivedMail): string {
  const raw = mail.raw.split(/\r?\n\r?\n/).slice(1).join('\n\n')
  const qp = /^Content-Transfer-Encoding:\s*quoted-printable/im.test(mail.raw)
  const b64 = /^Content-Transfer-Encoding:\s*base64/im.test(mail.raw)
  if (b64) return Buffer.from(raw.replace(/\s+/g, ''), 'base64').toString('utf8')
  if (!qp) return raw
  return Buffer.from(raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8')
}
/** what a mail client could turn into a link or markup */
function expectInert(s: string) {
  expect(s).not.toMatch(/https?:\/\/(?!hitask\.test\/)/i)
  expect(s).not.toMatch(/evil\.example/i)
  expect(s).not.toMatch(/[<>]/)
}

describe('finding 3: email injection and relay (§15)', () => {
  it('an invitation name with line breaks, control characters or over 100 characters → 400/5; no mail, nothing stored', async () => {
    const a = await t.signup()
    const actionTokens = async () => (await t.db.query("SELECT count(*)::int AS c FROM one_time_tokens WHERE purpose <> 'confirm_email'")).rows[0].c
    const invitations = async () => (await t.db.query('SELECT count(*)::int AS c FROM invitations')).rows[0].c
    const tokensBefore = await actionTokens()
    const invitationsBefore = await invitations()
    const since = t.smtp!.mails.length
    for (const name of ['Friend\nClick http://evil.example/login', 'Friend\r\nBcc: victim@example.com', 'Tab\there', 'x'.repeat(101), 'bell\u0007']) {
      const email = `${unique('inv')}@example.com`
      expectError(await t.call('GET', '/api/contact/invite', { session: a.session, query: { email, name } }), 400, 5)
    }
    const owner = (await makeTeam(t)).owner
    expectError(await t.call('POST', '/api/team/member', { session: owner.session, form: { email: `${unique('tm')}@example.com`, name: 'Jane\nhttp://evil.example' } }), 400, 5)
    expectError(await t.call('POST', '/api/team/member', { session: owner.session, form: { email: `${unique('tm')}@example.com`, name: 'y'.repeat(101) } }), 400, 5)
    await new Promise((r) => setTimeout(r, 300))
    // makeTeam's own mails (the owner's confirmation) aside, nothing was sent to the invitees
    expect(t.smtp!.mails.slice(since).filter((m) => !m.to.includes(owner.email))).toEqual([])
    expect(await actionTokens()).toBe(tokensBefore)
    expect(await invitations()).toBe(invitationsBefore)
    // 100 characters is fine
    const ok = await t.call('GET', '/api/contact/invite', { session: a.session, query: { email: `${unique('ok')}@example.com`, name: 'z'.repeat(100) } })
    expect(ok.statusCode, ok.body).toBe(200)
  })

  it('names, titles and free text reach subjects and bodies inert: no markup, no line breaks, no links', async () => {
    const inviter = await t.signup(unique('inv'), { firstName: '<img src=x onerror=alert(1)>', lastName: 'www.evil.example' })
    const email = `${unique('to')}@example.com`
    const since = t.smtp!.mails.length
    const r = await t.call('GET', '/api/contact/invite', { session: inviter.session, query: { email, name: 'Bob <b>bold</b> https://evil.example/login' } })
    expect(r.statusCode, r.body).toBe(200)
    const mail = await t.smtp!.waitFor(email, since)
    const subject = header(mail, 'Subject')
    const text = body(mail)
    expectInert(subject)
    expect(subject).toContain('img src=x')
    // the text keeps our own link and nothing else a client could follow
    const withoutOurLink = text.replace(/http:\/\/hitask\.test\/signup\?token=[A-Za-z0-9_-]+/, '')
    expect(withoutOurLink).not.toBe(text)
    expectInert(withoutOurLink)
    expect(text).toContain('Bob')

    // a team invitation: the team title and the inviter's name are from users too
    const { owner } = await makeTeam(t)
    await t.call('POST', '/api/user/update', { session: owner.session, form: { firstname: 'Eve <script>', lastname: 'evil.example' } })
    await t.db.query("UPDATE businesses SET title = $2 WHERE owner_id = $1", [owner.id, 'Team\r\nBcc: victim@example.com <a href="http://evil.example">x</a>'])
    const to = `${unique('tm')}@example.com`
    const since2 = t.smtp!.mails.length
    const inv = await t.call('POST', '/api/team/member', { session: owner.session, form: { email: to, name: 'Jane <i>Roe</i>' } })
    expect(inv.statusCode, inv.body).toBe(200)
    const m2 = await t.smtp!.waitFor(to, since2)
    expect(m2.to).toEqual([to])
    expect(m2.raw).not.toMatch(/^Bcc:/im)
    expectInert(header(m2, 'Subject'))
    expectInert(body(m2).replace(/http:\/\/hitask\.test\/invitation\?token=[A-Za-z0-9_-]+/, ''))
  })

  it(`invitation emails are limited per user (INVITES_PER_HOUR_PER_USER): over it → 429/67, no mail, nothing stored`, async () => {
    const a = await t.signup()
    for (let i = 0; i < INVITES_PER_HOUR; i++) {
      const r = await t.call('GET', '/api/contact/invite', { session: a.session, query: { email: `${unique('rl')}@example.com` } })
      expect(r.statusCode, r.body).toBe(200)
    }
    const tokens = async () => (await t.db.query("SELECT count(*)::int AS c FROM one_time_tokens WHERE purpose = 'signup_invitation' AND user_id = $1", [a.id])).rows[0].c
    expect(await tokens()).toBe(INVITES_PER_HOUR)
    const since = t.smtp!.mails.length
    const email = `${unique('over')}@example.com`
    const over = await t.call('GET', '/api/contact/invite', { session: a.session, query: { email } })
    expectError(over, 429, 67)
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0)
    expect(await tokens()).toBe(INVITES_PER_HOUR)
    // an existing user gets a contact request, no email: not limited
    const b = await t.signup()
    const req = await t.call('GET', '/api/contact/invite', { session: a.session, query: { email: b.email } })
    expect(req.statusCode, req.body).toBe(200)
    await new Promise((r) => setTimeout(r, 300))
    expect(t.smtp!.mails.slice(since).filter((m) => m.to.includes(email))).toEqual([])

    // team invitations count in the same budget
    const { owner } = await makeTeam(t)
    for (let i = 0; i < INVITES_PER_HOUR; i++) {
      const r = await t.call('POST', '/api/team/member', { session: owner.session, form: { email: `${unique('tm')}@example.com` } })
      expect(r.statusCode, r.body).toBe(200)
    }
    const pending = async () => (await t.db.query('SELECT count(*)::int AS c FROM invitations WHERE inviter_id = $1', [owner.id])).rows[0].c
    expectError(await t.call('POST', '/api/team/member', { session: owner.session, form: { email: `${unique('tm')}@example.com` } }), 429, 67)
    expect(await pending()).toBe(INVITES_PER_HOUR)
  })
})

describe('finding 4: concurrent picture changes', () => {
  it('30 parallel POST /user/picture: all answered, one avatar left, replaced ones no longer served', async () => {
    const u = await t.signup()
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 200, g: 30, b: 30 } } }).png().toBuffer()
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => postMultipart(t, '/api/user/picture', { session: u.session, files: [{ field: 'picture', name: 'me.png', data: png, type: 'image/png' }] })),
    )
    expect(answers.map((r) => r.statusCode)).toEqual(answers.map(() => 200))
    const hashes = answers.map((r) => r.json().hash as string)
    const current = (await t.call('GET', '/api/user', { session: u.session })).json().pictureHash
    expect(hashes).toContain(current)
    const rows = (await t.db.query('SELECT hash FROM avatars WHERE user_id = $1', [u.id])).rows
    expect(rows.map((r) => r.hash)).toEqual([current])
    expect((await t.call('GET', `/avatar/${current}.32.gif`)).statusCode).toBe(200)
    for (const h of hashes.filter((h) => h !== current)) expect((await t.call('GET', `/avatar/${h}.32.gif`)).statusCode).toBe(404)
  })

  it('an avatar row that is not the user’s current picture is not served', async () => {
    const u = await t.signup()
    const current = (await t.call('GET', '/api/user', { session: u.session })).json().pictureHash
    // a row left behind (by the old race, or by anything else): only the current hash is served
    const img = (await t.db.query('SELECT image FROM avatars WHERE hash = $1', [current])).rows[0].image
    const stale = crypto.randomUUID()
    await t.db.query('INSERT INTO avatars (hash, user_id, source, image) VALUES ($1, $2, 2, $3)', [stale, u.id, img])
    expect((await t.call('GET', `/avatar/${stale}.32.gif`)).statusCode).toBe(404)
    expect((await t.call('GET', `/avatar/${current}.32.gif`)).statusCode).toBe(200)
  })
})

describe('finding 5: password reset links (§15)', () => {
  async function resetLink(u: TestUser): Promise<string> {
    const since = t.smtp!.mails.length
    await t.call('POST', '/api/user/password/reset', { form: { email: u.email } })
    return t.smtp!.tokenIn(await waitForSubject(u.email, /reset/i, since))
  }
  async function waitForSubject(to: string, subject: RegExp, since: number) {
    for (let i = 0; i < 50; i++) {
      const m = t.smtp!.mails.slice(since).find((x) => x.to.includes(to) && subject.test(x.subject))
      if (m) return m
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error('no mail')
  }
  const confirm = (token: string, password: string) => t.call('POST', '/api/user/password/reset/confirm', { form: { token, new_password: password } })

  it('a new link invalidates older ones', async () => {
    const u = await t.signup()
    const first = await resetLink(u)
    const second = await resetLink(u)
    expectError(await confirm(first, 'first-link-1'), 400, 6)
    expect((await confirm(second, 'second-link-1')).statusCode).toBe(200)
    expectError(await confirm(first, 'first-link-2'), 400, 6)
    expect((await t.call('GET', '/api/user/authenticate', { query: { login: u.login, password: 'second-link-1', api_key: API_KEY } })).statusCode).toBe(200)
  })

  it('a password change invalidates every outstanding link', async () => {
    const u = await t.signup()
    const link = await resetLink(u)
    const r = await t.call('POST', '/api/user/password', { session: u.session, form: { old_password: u.password, new_password: 'changed-pass-1' } })
    expect(r.statusCode, r.body).toBe(200)
    expectError(await confirm(link, 'attacker-pass-1'), 400, 6)
    expect((await t.call('GET', '/api/user/authenticate', { query: { login: u.login, password: 'changed-pass-1', api_key: API_KEY } })).statusCode).toBe(200)
  })

  it('a confirmed change of email invalidates links sent to the old address', async () => {
    const u = await t.signup()
    const link = await resetLink(u)
    const newEmail = `${unique('moved')}@example.com`
    const since = t.smtp!.mails.length
    await t.call('POST', '/api/user/update', { session: u.session, form: { email: newEmail } })
    const c = await t.call('GET', '/api/user/confirm', { query: { token: t.smtp!.tokenIn(await t.smtp!.waitFor(newEmail, since)) } })
    expect(c.statusCode, c.body).toBe(200)
    expectError(await confirm(link, 'attacker-pass-1'), 400, 6)
  })
})

describe('finding 6: only a confirmed address counts (§15)', () => {
  async function confirmFirstEmail(u: TestUser) {
    const r = await t.call('GET', '/api/user/confirm', { query: { token: t.smtp!.tokenIn(await t.smtp!.waitFor(u.email)) } })
    expect(r.statusCode, r.body).toBe(200)
  }

  it("eve changing her email to an invited address sees no invitation, cannot sign in with it, and its owner can sign up", async () => {
    const { owner } = await makeTeam(t)
    const victim = `${unique('victim')}@example.com`
    const inv = await t.call('POST', '/api/team/member', { session: owner.session, form: { email: victim } })
    expect(inv.statusCode, inv.body).toBe(200)
    const invitationId = (await t.call('GET', '/api/list/business', { session: owner.session })).json().inv_sent[0].id

    const eve = await t.signup()
    await confirmFirstEmail(eve)
    const since = t.smtp!.mails.length
    const up = await t.call('POST', '/api/user/update', { session: eve.session, form: { email: victim, returnInfo: 'true' } })
    expect(up.statusCode, up.body).toBe(200)
    // what she sees of herself: the pending address, and the old one as confirmed
    expect(up.json()).toMatchObject({ email: victim, emailConfirmed: eve.email })
    expect((await t.call('GET', '/api/user', { session: eve.session })).json()).toMatchObject({ email: victim, emailConfirmed: eve.email })
    // the link went to the new address
    const eveLink = t.smtp!.tokenIn(await t.smtp!.waitFor(victim, since))

    expect((await t.call('GET', '/api/list/business', { session: eve.session })).json().inv_get).toEqual([])
    expectError(await t.call('POST', '/api/team/member/accept', { session: eve.session, form: { id: invitationId } }), 404, 1)
    expectError(await t.call('GET', '/api/user/authenticate', { query: { login: victim, password: eve.password, api_key: API_KEY } }), 403, 3)
    expect((await t.call('GET', '/api/user/authenticate', { query: { login: eve.email, password: eve.password, api_key: API_KEY } })).statusCode).toBe(200)
    // a reset asked for the pending address goes nowhere
    const before = t.smtp!.mails.length
    await t.call('POST', '/api/user/password/reset', { form: { email: victim } })
    // the contact search by the exact address does not find eve
    const stranger = await t.signup()
    expect((await t.call('GET', '/api/contact/search', { session: stranger.session, query: { query: victim } })).json()).toEqual([])

    // the address's real owner signs up and sees the invitation
    const login = unique('real')
    const s = await t.call('POST', '/api/user/signup', { form: { login, email: victim, password: 'password123', api_key: API_KEY } })
    expect(s.statusCode, s.body).toBe(200)
    const real = { id: s.json().id, session: s.json().session_id as string }
    expect((await t.call('GET', '/api/list/business', { session: real.session })).json().inv_get.map((i: { id: number }) => i.id)).toEqual([invitationId])
    await new Promise((r) => setTimeout(r, 200))
    expect(t.smtp!.mails.slice(before).filter((m) => m.to.includes(victim) && /reset/i.test(m.subject))).toEqual([])

    // eve's link, used now, cannot take the address: 400/22, and nothing changed
    expectError(await t.call('GET', '/api/user/confirm', { query: { token: eveLink } }), 400, 22)
    expect((await t.call('GET', '/api/user', { session: real.session })).json()).toMatchObject({ email: victim })
    expect((await t.call('GET', '/api/user/authenticate', { query: { login: victim, password: 'password123', api_key: API_KEY } })).json().id).toBe(real.id)
    expect((await t.call('GET', '/api/user/authenticate', { query: { login: eve.email, password: eve.password, api_key: API_KEY } })).json().id).toBe(eve.id)
  })

  it('a pending address blocks nobody; the confirmed change takes effect for sign-in and uniqueness', async () => {
    const eve = await t.signup()
    const bob = await t.signup()
    const target = `${unique('target')}@example.com`
    const since = t.smtp!.mails.length
    expect((await t.call('POST', '/api/user/update', { session: eve.session, form: { email: target } })).statusCode).toBe(200)
    const eveLink = t.smtp!.tokenIn(await t.smtp!.waitFor(target, since))
    // bob may ask for the same address while eve's change is pending
    const since2 = t.smtp!.mails.length
    expect((await t.call('POST', '/api/user/update', { session: bob.session, form: { email: target } })).statusCode).toBe(200)
    const bobLink = t.smtp!.tokenIn(await t.smtp!.waitFor(target, since2))
    // the first to confirm gets it
    expect((await t.call('GET', '/api/user/confirm', { query: { token: eveLink } })).statusCode).toBe(200)
    expect((await t.call('GET', '/api/user', { session: eve.session })).json()).toMatchObject({ email: target, emailConfirmed: target })
    const signin = await t.call('GET', '/api/user/authenticate', { query: { login: target, password: eve.password, api_key: API_KEY } })
    expect(signin.json()).toMatchObject({ id: eve.id, email: target, email_confirmed: true })
    expectError(await t.call('GET', '/api/user/authenticate', { query: { login: eve.email, password: eve.password, api_key: API_KEY } }), 403, 3)
    // now it is taken
    expectError(await t.call('GET', '/api/user/confirm', { query: { token: bobLink } }), 400, 22)
    expectError(await t.call('POST', '/api/user/update', { session: bob.session, form: { email: target.toUpperCase() } }), 400, 22)
    expectError(await t.call('POST', '/api/user/signup', { form: { login: unique('late'), email: target, password: 'password123', api_key: API_KEY } }), 400, 22)
    // bob keeps his own address
    expect((await t.call('GET', '/api/user/authenticate', { query: { login: bob.email, password: bob.password, api_key: API_KEY } })).json().id).toBe(bob.id)
  })

  it('changing back to the address in effect drops the pending one (its link confirms nothing)', async () => {
    const eve = await t.signup()
    const pending = `${unique('pend')}@example.com`
    const since = t.smtp!.mails.length
    await t.call('POST', '/api/user/update', { session: eve.session, form: { email: pending } })
    const link = t.smtp!.tokenIn(await t.smtp!.waitFor(pending, since))
    const back = await t.call('POST', '/api/user/update', { session: eve.session, form: { email: eve.email, returnInfo: 'true' } })
    expect(back.json()).toMatchObject({ email: eve.email })
    expectError(await t.call('GET', '/api/user/confirm', { query: { token: link } }), 400, 6)
    expect((await t.call('GET', '/api/user', { session: eve.session })).json()).toMatchObject({ email: eve.email })
  })
})

describe('finding 7: contact search shows strangers only a name and a picture', () => {
  it('strangers: no team, level, presence or account type; connected: all of it', async () => {
    const { owner: boss, members } = await makeTeam(t, 1)
    const target = members[0]!
    await t.db.query('UPDATE users SET last_seen_at = now() WHERE id = $1', [target.id])
    const me = await t.signup()
    const r = await t.call('GET', '/api/contact/search', { session: me.session, query: { query: target.login } })
    expect(r.statusCode).toBe(200)
    const [hit] = r.json()
    const u = (await t.call('GET', '/api/user', { session: target.session })).json()
    expect(hit).toEqual({
      id: target.id,
      login: target.login,
      firstName: u.firstName,
      lastName: u.lastName,
      name: `${u.firstName} ${u.lastName}`,
      fullName: `${u.firstName} ${u.lastName}`,
      email: null,
      emailConfirmed: null,
      accountType: null,
      level: 0,
      businessId: null,
      businessLevel: null,
      isOnline: false,
      pictureHash: u.pictureHash,
      pictureSource: u.pictureSource,
      subscription: null,
    })
    // a pending request is no connection either
    const asked = await t.call('POST', '/api/contact', { session: me.session, form: { id: target.id } })
    expect(asked.json()).toMatchObject({ subscription: 'TO', businessId: null, isOnline: false })
    const approve = await t.call('GET', '/api/contact/approve', { session: target.session, query: { id: me.id } })
    expect(approve.statusCode, approve.body).toBe(200)
    await t.db.query('UPDATE users SET last_seen_at = now() WHERE id = $1', [target.id])
    const [connected] = (await t.call('GET', '/api/contact/search', { session: me.session, query: { query: target.login } })).json()
    expect(connected).toMatchObject({ subscription: 'BOTH', businessId: u.businessId, businessLevel: 1, isOnline: true, accountType: 'TEAM_BUSINESS', email: target.email })
    // team mates see each other in full
    const [mate] = (await t.call('GET', '/api/contact/search', { session: boss.session, query: { query: target.login } })).json()
    expect(mate).toMatchObject({ subscription: 'BIS', businessId: u.businessId })
  })
})
