// The web client's item requests, replayed byte for byte (API v5, session in the query,
// url-encoded bodies labelled application/json), and the keys it reads back: preset
// reminders and editing an item that has one (§8.1 round trip, §8.5), the owner in a
// permission list (§8.3), sub-items and `children` (§8.1), comments deleted by the id of
// their history entry (§8.2).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, formEncode, type TestApp } from '../helpers/app.js'
import { makeTeam, type TestUser } from '../helpers/teams.js'
import { DATE_OUT, webClient, type WebClient } from './web-client.js'

let t: TestApp
let u: TestUser
let c: WebClient
beforeAll(async () => {
  t = await createTestApp({ smtp: true })
  u = await t.signup()
  c = webClient(t, u.session)
})
afterAll(async () => t?.close())

const ALERT_KEYS = ['alert', 'email', 'id', 'notificationTime', 'push', 'repeat', 'repeatInterval', 'sound', 'time', 'timeSpecified', 'timeType']

async function historyRows(itemId: number) {
  return (await t.db.query('SELECT count(*)::int AS n FROM item_history WHERE item_id = $1', [itemId])).rows[0].n as number
}

describe('reminders (§8.5)', () => {
  it('accepts a preset reminder: alerts=[{"timeType":4,"time":15,"timeSpecified":null}]', async () => {
    // "15 minutes before", as the client's preset menu sends it
    const r = await c.post(
      'item',
      'title=Dentist&category=2&start_date=2018-06-01T09%3A00%3A00.000%2B00%3A00&end_date=2018-06-01T10%3A00%3A00.000%2B00%3A00' +
        '&alerts=%5B%7B%22timeType%22%3A4%2C%22time%22%3A15%2C%22timeSpecified%22%3Anull%7D%5D',
    )
    expect(r.statusCode, r.body).toBe(200)
    const [a] = r.json().alerts
    expect(Object.keys(a).sort()).toEqual(ALERT_KEYS)
    expect(a).toMatchObject({ id: expect.any(Number), timeType: 4, time: 15, timeSpecified: null, repeat: null, repeatInterval: null, sound: false, alert: false, email: false, push: false })
    expect(a.notificationTime).toBe('2018-06-01T08:45:00.000+00:00')
  })

  it('takes back the server’s own alert with "repeat":null,"repeatInterval":null,… and changes nothing', async () => {
    const made = await c.post('item', { title: 'Report', category: 1, due_date: '2018-06-04T17:00:00.000+00:00', alerts: [{ timeType: 3, time: 2, timeSpecified: null }] })
    expect(made.statusCode, made.body).toBe(200)
    const item = made.json()
    const history = await historyRows(item.id)
    const state = (await t.db.query('SELECT changed_at FROM item_user_state WHERE item_id = $1', [item.id])).rows
    // the edit dialog sends the whole item back with its alerts as the server rendered them
    const body = formEncode({ id: item.id, title: item.title, version: item.version, alerts: item.alerts, due_date: item.due_date })
    expect(body).toContain(encodeURIComponent('"repeat":null,"repeatInterval":null'))
    const r = await c.put('item', body)
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json().version).toBe(item.version)
    expect(r.json().alerts).toEqual(item.alerts)
    expect(await historyRows(item.id)).toBe(history)
    expect((await t.db.query('SELECT changed_at FROM item_user_state WHERE item_id = $1', [item.id])).rows).toEqual(state)
    // changing one field of that alert updates it in place (same id)
    const moved = await c.put('item', formEncode({ id: item.id, alerts: [{ ...item.alerts[0], time: 3 }] }))
    expect(moved.statusCode, moved.body).toBe(200)
    expect(moved.json().alerts).toEqual([{ ...item.alerts[0], time: 3, notificationTime: '2018-06-04T14:00:00.000+00:00' }])
  })

  it('still answers 400/4 for a relative reminder without its time, and 400/6 for an unknown timeType', async () => {
    const missing = await c.post('item', formEncode({ title: 'x', alerts: [{ timeType: 4, time: null, timeSpecified: null }] }))
    expect([missing.statusCode, missing.json().response_status]).toEqual([400, 4])
    const fixed = await c.post('item', formEncode({ title: 'x', alerts: [{ timeType: 1, time: null, timeSpecified: null }] }))
    expect([fixed.statusCode, fixed.json().response_status]).toEqual([400, 4])
    const bad = await c.post('item', formEncode({ title: 'x', alerts: [{ timeType: 9, time: 1 }] }))
    expect([bad.statusCode, bad.json().response_status]).toEqual([400, 6])
  })
})

describe('the owner in a permission list (§8.3)', () => {
  it('answers 400/76 for an update that leaves the owner out or lowers them, and changes nothing', async () => {
    const team = await makeTeam(t, 1)
    const owner = webClient(t, team.owner.session)
    const mate = String(team.members[0]!.id)
    const item = (await owner.post('item', { title: 'shared', permissions: [{ principal: String(team.owner.id), level: 100 }, { principal: mate, level: 60 }] })).json()
    const before = await t.db.query('SELECT principal, level FROM item_permissions WHERE item_id = $1 ORDER BY principal', [item.id])
    const left = await owner.put(`item/${item.id}`, { permissions: [{ principal: mate, level: 60 }] })
    expect([left.statusCode, left.json().response_status]).toEqual([400, 76])
    const lowered = await owner.put(`item/${item.id}`, { permissions: [{ principal: String(team.owner.id), level: 80 }, { principal: mate, level: 60 }] })
    expect([lowered.statusCode, lowered.json().response_status]).toEqual([400, 76])
    expect((await t.db.query('SELECT principal, level FROM item_permissions WHERE item_id = $1 ORDER BY principal', [item.id])).rows).toEqual(before.rows)
    // what the client sends: the owner at 100 next to the others
    const ok = await owner.put(`item/${item.id}`, { permissions: [{ principal: String(team.owner.id), level: 100 }, { principal: mate, level: 80 }] })
    expect(ok.statusCode, ok.body).toBe(200)
    expect(ok.json().permissions).toContainEqual({ principal: mate, level: 80 })
    // on create, a list without the owner still gets the owner added at 100
    const created = await owner.post('item', { title: 'new', permissions: [{ principal: mate, level: 20 }] })
    expect(created.statusCode, created.body).toBe(200)
    expect(created.json().permissions).toContainEqual({ principal: String(team.owner.id), level: 100 })
  })
})

describe('children (§8.1)', () => {
  it('is true when the item has sub-items the caller can see, else null, in every list', async () => {
    const team = await makeTeam(t, 1)
    const owner = webClient(t, team.owner.session)
    const mateId = team.members[0]!.id
    const mate = webClient(t, team.members[0]!.session)
    const grants = (lv: number) => [{ principal: String(team.owner.id), level: 100 }, { principal: String(mateId), level: lv }]
    const project = (await owner.post('item', { title: 'project', category: 0, permissions: grants(60) })).json()
    const leaf = (await owner.post('item', { title: 'leaf', category: 0 })).json()
    expect(project.children).toBeNull()
    // a cursor taken once the margin has passed: the project is no longer "changed" after it
    await new Promise((r) => setTimeout(r, t.config.DELTA_MARGIN_MS + 50))
    const mateCursor = (await mate.get('item')).headers['x-cursor'] as string
    expect(((await mate.get(`item/delta/${mateCursor}`)).json() as any[]).find((x) => x.id === project.id)).toEqual({ id: project.id, changed: false })
    const sub = (await owner.post('item', { title: 'sub', parent: project.id })).json()
    // the mate's delta carries the parent again: its children changed
    const mateDelta = (await mate.get(`item/delta/${mateCursor}`)).json() as any[]
    expect(mateDelta.find((x) => x.id === project.id)).toMatchObject({ changed: true, children: true })
    // a sub-item only the owner sees: true for the owner, null for the mate
    const secret = (await owner.post('item', { title: 'secret', category: 0 })).json()
    await owner.post('item', { title: 'private child', parent: secret.id })
    const list = (await owner.get('item')).json() as any[]
    const byId = new Map(list.map((x) => [x.id, x]))
    expect(byId.get(project.id).children).toBe(true)
    expect(byId.get(secret.id).children).toBe(true)
    expect(byId.get(leaf.id).children).toBeNull()
    expect(byId.get(sub.id).children).toBeNull()
    expect((await owner.get(`item/${project.id}`)).json().children).toBe(true)
    const mates = new Map(((await mate.get('item')).json() as any[]).map((x) => [x.id, x]))
    expect(mates.get(project.id).children).toBe(true)
    expect(mates.has(secret.id)).toBe(false)
    // delta and since carry it too
    const delta = ((await owner.get('item/delta/0')).json() as any[]).find((x) => x.id === project.id)
    expect(delta).toMatchObject({ changed: true, children: true })
    // archived sub-items are not seen in the list: no children, and the parent shows as changed
    await new Promise((r) => setTimeout(r, t.config.DELTA_MARGIN_MS + 50))
    const before = (await mate.get('item')).headers['x-cursor'] as string
    const unchanged = ((await mate.get(`item/delta/${before}`)).json() as any[]).find((x) => x.id === project.id)
    expect(unchanged).toEqual({ id: project.id, changed: false })
    const arch = await owner.post('item/archive', { id: sub.id })
    expect(arch.statusCode, arch.body).toBe(200)
    expect((await owner.get(`item/${project.id}`)).json().children).toBeNull()
    expect(((await mate.get(`item/delta/${before}`)).json() as any[]).find((x) => x.id === project.id)).toMatchObject({ changed: true, children: null })
  })
})

describe('comments and their history entries (§8.2)', () => {
  it("a comment entry's id is its comment_id, and DELETE /item/comment by that id removes the comment", async () => {
    const item = (await c.post('item', { title: 'discuss' })).json()
    // history rows first, so a history row id and a comment id would differ
    await c.put('item', { id: item.id, title: 'discuss it' })
    await c.put('item', { id: item.id, priority: 30000 })
    const posted = await c.post('item/comment', 'id=' + item.id + '&message=Looks%20good%20%26%20done')
    expect(posted.statusCode, posted.body).toBe(200)
    const comment = posted.json()
    expect(Object.keys(comment).sort()).toEqual(['id', 'item_id', 'message', 'time_create', 'user_id', 'user_name'])
    expect(comment).toMatchObject({ item_id: item.id, user_id: u.id, message: 'Looks good & done' })
    expect(comment.time_create).toMatch(DATE_OUT)
    const history = (await c.get('item/history', { id: item.id })).json() as any[]
    const entry = history.find((h) => h.property_name === 'comment')
    expect(entry).toMatchObject({ id: comment.id, comment_id: comment.id, value: 'Looks good & done', user_id: u.id, property_type: 'STRING' })
    for (const h of history) expect(Object.keys(h).filter((k) => !['comment_id', 'value'].includes(k)).sort()).toEqual(['id', 'property_name', 'property_type', 'time', 'user_id', 'user_name'])
    // entry ids stay unique in the list (the client keys its store by them), oldest first
    expect(new Set(history.map((h) => h.id)).size).toBe(history.length)
    expect(history.map((h) => h.id)).toEqual([...history.map((h) => h.id)].sort((a, b) => a - b))
    // the client deletes the comment by the id of its history entry
    const del = await c.del('item/comment', formEncode({ id: entry.id, itemId: item.id }))
    expect(del.statusCode, del.body).toBe(200)
    expect(del.json()).toEqual({ response_status: 0 })
    expect((await t.db.query('SELECT count(*)::int AS n FROM comments WHERE item_id = $1', [item.id])).rows[0].n).toBe(0)
    const after = (await c.get('item/history', { id: item.id })).json() as any[]
    expect(after.find((h) => h.property_name === 'comment_deleted')).toMatchObject({ comment_id: comment.id })
    expect(new Set(after.map((h) => h.id)).size).toBe(after.length)
    expect((await c.get(`item/${item.id}`)).json()).toMatchObject({ last_comment_id: null, last_comment: null })
  })
})
