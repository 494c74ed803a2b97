// Comments and item history (contract §8.2 /item/comment, /item/history).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, errorOf, type TestApp } from './helpers/app.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ smtp: false })
})
afterAll(async () => {
  await t?.close()
})

async function item(session: string, body: Record<string, unknown>) {
  const r = await t.call('POST', '/api/item', { session, body })
  expect(r.statusCode).toBe(200)
  return r.json()
}

async function history(session: string, id: number | string) {
  const r = await t.call('GET', '/api/item/history', { session, query: { id } })
  expect(r.statusCode).toBe(200)
  return r.json() as Array<Record<string, unknown>>
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{2}:\d{2}$/

describe('POST /item/comment', () => {
  it('adds a comment: the comment object, last_comment* on the item, a comment history entry', async () => {
    const owner = await t.signup()
    const it1 = await item(owner.session, { title: 'Discuss' })
    const r = await t.call('POST', '/api/item/comment', { session: owner.session, form: { id: it1.id, message: 'First!' } })
    expect(r.statusCode).toBe(200)
    const c = r.json()
    expect(c).toEqual({ id: expect.any(Number), item_id: it1.id, user_id: owner.id, user_name: `First${owner.login} Last`, message: 'First!', time_create: expect.stringMatching(ISO) })
    const got = (await t.call('GET', `/api/item/${it1.id}`, { session: owner.session })).json()
    expect(got).toMatchObject({ last_comment_id: c.id, last_comment: 'First!', last_comment_user_id: owner.id, last_comment_create_datetime: c.time_create })
    const h = await history(owner.session, it1.id)
    const entry = h.find((e) => e.property_name === 'comment')
    expect(entry).toEqual({ id: expect.any(Number), property_name: 'comment', property_type: 'STRING', value: 'First!', time: expect.stringMatching(ISO), user_id: owner.id, user_name: `First${owner.login} Last`, comment_id: c.id })
  })

  it('accepts the item guid, and needs level 20 (403/3), a visible item (404/1) and a message (400/4, ≤ 10000 → 400/25)', async () => {
    const owner = await t.signup()
    const viewer = await t.signup()
    const commenter = await t.signup()
    const stranger = await t.signup()
    const x = await item(owner.session, {
      title: 'Shared',
      permissions: [
        { principal: viewer.id, level: 10 },
        { principal: commenter.id, level: 20 },
      ],
    })
    expect(errorOf(await t.call('POST', '/api/item/comment', { session: viewer.session, form: { id: x.id, message: 'hi' } }))).toEqual({ status: 403, code: 3 })
    expect(errorOf(await t.call('POST', '/api/item/comment', { session: stranger.session, form: { id: x.id, message: 'hi' } }))).toEqual({ status: 404, code: 1 })
    expect((await t.call('POST', '/api/item/comment', { session: commenter.session, form: { id: x.guid, message: 'by guid' } })).statusCode).toBe(200)
    expect(errorOf(await t.call('POST', '/api/item/comment', { session: owner.session, form: { id: x.id } }))).toEqual({ status: 400, code: 4 })
    expect(errorOf(await t.call('POST', '/api/item/comment', { session: owner.session, form: { id: x.id, message: 'x'.repeat(10001) } }))).toEqual({ status: 400, code: 25 })
    expect((await t.call('POST', '/api/item/comment', { session: owner.session, form: { id: x.id, message: 'x'.repeat(10000) } })).statusCode).toBe(200)
    expect(errorOf(await t.call('POST', '/api/item/comment', { session: owner.session, form: { id: 99999999, message: 'hi' } }))).toEqual({ status: 404, code: 1 })
  })

  it('marks the item unread (1) for the other owner, assignee and participants, and changed in their delta feed', async () => {
    const owner = await t.signup()
    const assignee = await t.signup()
    const participant = await t.signup()
    const x = await item(owner.session, { title: 'Team task', assignee: assignee.id, participants: [participant.id] })
    // a second item the assignee sees, not commented on: the control of the delta check
    const y = await item(owner.session, { title: 'Quiet task', assignee: assignee.id })
    for (const u of [assignee, participant]) await t.call('GET', `/api/item/read/${x.id}`, { session: u.session })
    await t.call('GET', `/api/item/read/${y.id}`, { session: assignee.session })
    // the delta cursor lags by a safety margin: let the writes above fall behind it
    await new Promise((r) => setTimeout(r, t.config.DELTA_MARGIN_MS + 50))
    const cursor = (await t.call('GET', '/api/item', { session: assignee.session })).headers['x-cursor'] as string
    expect(cursor).toMatch(/^\d+$/)
    const c = await t.call('POST', '/api/item/comment', { session: participant.session, form: { id: x.id, message: 'done?' } })
    expect(c.statusCode).toBe(200)
    const unreadOf = async (s: string) => (await t.call('GET', `/api/item/${x.id}`, { session: s })).json().unread
    expect(await unreadOf(owner.session)).toBe(1)
    expect(await unreadOf(assignee.session)).toBe(1)
    // the commenter's own state is untouched (read above)
    expect(await unreadOf(participant.session)).toBeFalsy()
    const delta = await t.call('GET', `/api/item/delta/${cursor}`, { session: assignee.session })
    expect(delta.statusCode).toBe(200)
    expect(delta.json().find((e: { id: number }) => e.id === y.id)).toEqual({ id: y.id, changed: false })
    const mine = delta.json().find((e: { id: number }) => e.id === x.id)
    expect(mine).toMatchObject({ id: x.id, changed: true, last_comment: 'done?' })
  })
})

describe('DELETE /item/comment', () => {
  it('lets the author delete: response_status 0, a comment_deleted entry, last_comment* back to the previous comment', async () => {
    const owner = await t.signup()
    const x = await item(owner.session, { title: 'x' })
    const c1 = (await t.call('POST', '/api/item/comment', { session: owner.session, form: { id: x.id, message: 'one' } })).json()
    const c2 = (await t.call('POST', '/api/item/comment', { session: owner.session, form: { id: x.id, message: 'two' } })).json()
    const r = await t.call('DELETE', '/api/item/comment', { session: owner.session, query: { id: c2.id, itemId: x.id } })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toEqual({ response_status: 0 })
    const got = (await t.call('GET', `/api/item/${x.id}`, { session: owner.session })).json()
    expect(got).toMatchObject({ last_comment_id: c1.id, last_comment: 'one' })
    const h = await history(owner.session, x.id)
    const del = h.find((e) => e.property_name === 'comment_deleted')
    expect(del).toMatchObject({ property_type: 'VOID', comment_id: c2.id, user_id: owner.id })
    expect(del).not.toHaveProperty('value')
    // the deleted text is gone from the history too
    expect(h.find((e) => e.comment_id === c2.id && e.property_name === 'comment')).toMatchObject({ value: null })
    // deleting the last one clears last_comment*
    expect((await t.call('DELETE', '/api/item/comment', { session: owner.session, query: { id: c1.id } })).statusCode).toBe(200)
    expect((await t.call('GET', `/api/item/${x.id}`, { session: owner.session })).json()).toMatchObject({ last_comment_id: null, last_comment: null, last_comment_user_id: null, last_comment_create_datetime: null })
    // already deleted
    expect(errorOf(await t.call('DELETE', '/api/item/comment', { session: owner.session, query: { id: c1.id } }))).toEqual({ status: 404, code: 1 })
  })

  it("refuses another user's comment below level 100 (403/3); level 100 may delete any", async () => {
    const owner = await t.signup()
    const editor = await t.signup()
    const x = await item(owner.session, { title: 'x', permissions: [{ principal: editor.id, level: 60 }] })
    const byOwner = (await t.call('POST', '/api/item/comment', { session: owner.session, form: { id: x.id, message: "owner's" } })).json()
    const byEditor = (await t.call('POST', '/api/item/comment', { session: editor.session, form: { id: x.id, message: "editor's" } })).json()
    expect(errorOf(await t.call('DELETE', '/api/item/comment', { session: editor.session, query: { id: byOwner.id } }))).toEqual({ status: 403, code: 3 })
    expect((await t.call('DELETE', '/api/item/comment', { session: owner.session, query: { id: byEditor.id } })).statusCode).toBe(200)
    const stranger = await t.signup()
    expect(errorOf(await t.call('DELETE', '/api/item/comment', { session: stranger.session, query: { id: byOwner.id } }))).toEqual({ status: 404, code: 1 })
    // a comment id with the wrong item id
    const other = await item(owner.session, { title: 'other' })
    expect(errorOf(await t.call('DELETE', '/api/item/comment', { session: owner.session, query: { id: byOwner.id, itemId: other.id } }))).toEqual({ status: 404, code: 1 })
    expect(errorOf(await t.call('DELETE', '/api/item/comment', { session: owner.session, query: { id: 'abc' } }))).toEqual({ status: 400, code: 5 })
  })
})

describe('GET /item/history', () => {
  it('lists field changes and comments oldest first, in the shape of §8.2', async () => {
    const owner = await t.signup()
    const x = await item(owner.session, { title: 'Before' })
    expect((await t.call('PUT', `/api/item/${x.id}`, { session: owner.session, body: { title: 'After' } })).statusCode).toBe(200)
    await t.call('POST', '/api/item/comment', { session: owner.session, form: { id: x.id, message: 'noted' } })
    const h = await history(owner.session, x.id)
    const names = h.map((e) => e.property_name)
    expect(names[0]).toBe('created')
    expect(names.indexOf('title')).toBeGreaterThan(0)
    expect(names.indexOf('comment')).toBeGreaterThan(names.indexOf('title'))
    const ids = h.map((e) => e.id as number)
    expect([...ids].sort((a, b) => a - b)).toEqual(ids)
    expect(h.find((e) => e.property_name === 'title')).toMatchObject({ property_type: 'STRING', value: 'After', user_id: owner.id })
    expect(h[0]).not.toHaveProperty('value')
    for (const e of h) expect(e.time).toMatch(ISO)
  })

  it('renders times in the caller time zone and answers 404/1 for an invisible item, 400/4 without id', async () => {
    const owner = await t.signup()
    await t.call('POST', '/api/user/preferences', { session: owner.session, form: { time_zone: 'Asia/Tokyo' } })
    const x = await item(owner.session, { title: 'x' })
    const h = await history(owner.session, x.id)
    expect(h[0]!.time).toMatch(/\+09:00$/)
    const stranger = await t.signup()
    expect(errorOf(await t.call('GET', '/api/item/history', { session: stranger.session, query: { id: x.id } }))).toEqual({ status: 404, code: 1 })
    expect(errorOf(await t.call('GET', '/api/item/history', { session: owner.session }))).toEqual({ status: 400, code: 4 })
  })
})
