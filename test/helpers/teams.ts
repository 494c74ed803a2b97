// Building teams as a client would (create, invite by email, accept with the emailed token)
// and reading items and deltas, for the team, group, contact and tag tests.
import { expect } from 'vitest'
import type { TestApp } from './app.js'

export type TestUser = Awaited<ReturnType<TestApp['signup']>>

let seq = 0

/** a team owned by a new user, with `members` more users who joined through emailed invitations */
export async function makeTeam(t: TestApp, members = 0): Promise<{ owner: TestUser; members: TestUser[]; everyone: string; businessId: number }> {
  const owner = await t.signup()
  const r = await t.call('POST', '/api/business', { session: owner.session, form: { title: 'Team', domainName: `t-${process.pid}-${Date.now().toString(36)}-${++seq}` } })
  expect(r.statusCode, r.body).toBe(200)
  const out: TestUser[] = []
  for (let i = 0; i < members; i++) out.push(await joinTeam(t, owner))
  const groups = (await t.call('GET', '/api/group', { session: owner.session })).json()
  const me = (await t.call('GET', '/api/user', { session: owner.session })).json()
  return { owner, members: out, everyone: groups[0].id, businessId: me.businessId }
}

/** a new user invited by `admin` who accepts with the token from the email */
export async function joinTeam(t: TestApp, admin: TestUser): Promise<TestUser> {
  const u = await t.signup()
  const since = t.smtp!.mails.length
  const inv = await t.call('POST', '/api/team/member', { session: admin.session, form: { email: u.email } })
  expect(inv.statusCode, inv.body).toBe(200)
  const token = t.smtp!.tokenIn(await t.smtp!.waitFor(u.email, since))
  const acc = await t.call('POST', '/api/team/member/accept', { session: u.session, form: { token } })
  expect(acc.statusCode, acc.body).toBe(200)
  return u
}

export async function createItem(t: TestApp, u: TestUser, body: Record<string, unknown>): Promise<any> {
  const r = await t.call('POST', '/api/item', { session: u.session, body })
  expect(r.statusCode, r.body).toBe(200)
  return r.json()
}

/** ids of GET /item, and its X-Cursor */
export async function visibleItems(t: TestApp, u: TestUser): Promise<{ ids: number[]; cursor: string; items: any[] }> {
  const r = await t.call('GET', '/api/item', { session: u.session })
  expect(r.statusCode, r.body).toBe(200)
  const items = r.json() as any[]
  return { ids: items.map((i) => i.id).sort((a, b) => a - b), cursor: String(r.headers['x-cursor']), items }
}

/** id → changed of GET /item/delta/{cursor} */
export async function delta(t: TestApp, u: TestUser, cursor: string): Promise<Map<number, boolean>> {
  const r = await t.call('GET', `/api/item/delta/${cursor}`, { session: u.session })
  expect(r.statusCode, r.body).toBe(200)
  return new Map((r.json() as any[]).map((e) => [e.id, e.changed]))
}

/** lets the clock move on, so a cursor taken now is after every earlier write (DELTA_MARGIN_MS=0) */
export const tick = () => new Promise((r) => setTimeout(r, 25))

export function expectError(r: { statusCode: number; json: () => any; body: string }, status: number, code: number) {
  expect(r.statusCode, r.body).toBe(status)
  expect(r.json().response_status).toBe(code)
  expect(typeof r.json().error_message).toBe('string')
}
