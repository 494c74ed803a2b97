// A working session of the 2018 web client, replayed request by request in its own forms
// (API v5, api_key and session_id in the query of every request, bodies url-encoded with
// objects and arrays JSON-stringified and null written `null`, labelled application/json),
// checking every key the client reads: team members and groups, contacts, a project with a
// task, completion, star, tags, a file, its signed link, history, archive and restore, the
// delta feed, sign-out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import sharp from 'sharp'
import { createTestApp, errorOf, type TestApp } from '../helpers/app.js'
import { makeTeam } from '../helpers/teams.js'
import { DATE_OUT, ITEM_KEYS, webClient, type WebClient } from './web-client.js'

let t: TestApp
let team: Awaited<ReturnType<typeof makeTeam>>
let c: WebClient
let mate: WebClient
beforeAll(async () => {
  t = await createTestApp()
  team = await makeTeam(t, 1)
  c = webClient(t)
  mate = webClient(t, team.members[0]!.session)
})
afterAll(async () => t?.close())

const CONTACT_KEYS = ['accountType', 'businessId', 'businessLevel', 'email', 'emailConfirmed', 'firstName', 'fullName', 'id', 'isOnline', 'lastName', 'level', 'login', 'name', 'pictureHash', 'pictureSource', 'subscription']

describe('a working session of the web client', () => {
  it('signs in, reads the team, groups and contacts', async () => {
    const r = await c.signIn(team.owner.login, team.owner.password)
    expect(r.statusCode, r.body).toBe(200)
    expect(c.sessionId).toBeTruthy()
    const user = (await c.get('user')).json()
    expect(Object.keys(user).sort()).toEqual(['accountType', 'businessId', 'businessLevel', 'email', 'emailConfirmed', 'firstName', 'id', 'isOnline', 'lastName', 'level', 'login', 'pictureHash', 'pictureSource'])
    expect(user).toMatchObject({ id: team.owner.id, businessId: team.businessId, businessLevel: 100, accountType: 'TEAM_BUSINESS', isOnline: true })
    const groups = (await c.get('group')).json() as any[]
    expect(groups).toEqual([{ id: team.everyone, name: expect.any(String), code: 'EVERYONE', color: expect.any(String), members: expect.arrayContaining([team.owner.id, team.members[0]!.id]), type: 1 }])
    const contacts = (await c.get('contact', { includeSelf: 1 })).json() as any[]
    for (const x of contacts) expect(Object.keys(x).sort()).toEqual(CONTACT_KEYS)
    expect(contacts.map((x) => [x.id, x.subscription]).sort()).toEqual([[team.owner.id, 'SELF'], [team.members[0]!.id, 'BIS']].sort())
    const prefs = (await c.get('user/preferences')).json()
    expect(typeof prefs.time_zone).toBe('string')
  })

  let project: any
  let task: any
  it('creates a project shared with Everyone and a task in it, in the form the client posts', async () => {
    const p = await c.post('item', {
      title: 'Launch', category: 0, color_value: '#fc2f6a', short_name: 'LCH', parent: 0, message: null,
      permissions: [{ principal: String(team.owner.id), level: 100 }, { principal: team.everyone, level: 60 }],
    })
    expect(p.statusCode, p.body).toBe(200)
    project = p.json()
    expect(Object.keys(project).sort()).toEqual(ITEM_KEYS)
    expect(project).toMatchObject({ category: 0, short_name: 'LCH', shared: true, message: null, parent: 0, parentGuid: null, children: null })
    const tk = await c.post('item', {
      title: 'Write the announcement', category: 1, parent: project.id, parentGuid: project.guid, assignee: team.members[0]!.id,
      participants: [team.members[0]!.id], tags: ['launch', 'copy'], due_date: '2018-05-02T17:00:00.000+00:00', alerts: [{ timeType: 2, time: 1, timeSpecified: null }],
      time_est: 3, starred: true,
    })
    expect(tk.statusCode, tk.body).toBe(200)
    task = tk.json()
    expect(task).toMatchObject({ parent: project.id, parentGuid: project.guid, issue_id: 'LCH-1', assignee: team.members[0]!.id, participants: [team.members[0]!.id], starred: true, time_est: 3 })
    expect([...task.tags].sort()).toEqual(['copy', 'launch'])
    expect(task.alerts[0].notificationTime).toBe('2018-05-01T17:00:00.000+00:00')
    expect(task.due_date).toMatch(DATE_OUT)
    expect(task.permissions).toEqual(expect.arrayContaining([{ principal: team.everyone, level: 60 }]))
    expect((await c.get(`item/${project.id}`)).json().children).toBe(true)
    // the assignee sees it as new
    const seen = (await mate.get(`item/${task.id}`)).json()
    expect(seen).toMatchObject({ unread: 3, permission: 60, starred: false })
    expect((await mate.get(`item/read/${task.id}`)).json()).toEqual({ response_status: 0 })
    expect((await mate.get(`item/${task.id}`)).json().unread).toBeNull()
  })

  it('completes the task with the whole item sent back, tags it, and reads the history', async () => {
    const current: Record<string, unknown> = (await mate.get(`item/${task.id}`)).json()
    const done = await mate.put('item', { ...current, completed: true, time_spent: 2.5 })
    expect(done.statusCode, done.body).toBe(200)
    expect(done.json()).toMatchObject({ completed: true, time_spent: 2.5, version: task.version + 1, last_transition_user: team.members[0]!.id })
    expect(done.json().last_transition_time).toMatch(DATE_OUT)
    const tag = await c.post('tag', { name: 'shipped', item_id: task.id })
    expect(tag.statusCode, tag.body).toBe(200)
    expect(Object.keys(tag.json()).sort()).toEqual(['id', 'name', 'shared'])
    const tags = (await c.get('tag')).json() as any[]
    expect(tags.map((x) => x.name).sort()).toEqual(['copy', 'launch', 'shipped'])
    const history = (await c.get('item/history', { id: task.id })).json() as any[]
    expect(history.map((h) => h.property_name)).toEqual(expect.arrayContaining(['created', 'completed', 'time_spent', 'tag']))
    for (const h of history) expect(h.time).toMatch(DATE_OUT)
  })

  it('uploads a picture into the project, gets its signed link, sees its previews', async () => {
    const png = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#c33' } }).png().toBuffer()
    const up = await c.upload('file/upload', [{ field: 'file', name: 'mockup.png', data: png, type: 'image/png' }], { parent_id: String(project.id) })
    expect(up.statusCode, up.body).toBe(200)
    const file = up.json()
    expect(file).toMatchObject({ category: 5, title: 'mockup.png', file_size: png.length, parent: project.id })
    expect(file.previews.length).toBeGreaterThan(0)
    const link = (await c.get('file/url', { id: file.id })).json()
    expect(Object.keys(link).sort()).toEqual(['content_type', 'mime_type', 'url'])
    const u = new URL(link.url)
    const bytes = await t.app.inject({ method: 'GET', url: u.pathname + u.search })
    expect(Buffer.compare(bytes.rawPayload, png)).toBe(0)
  })

  it('archives and restores the project, follows the delta, signs out', async () => {
    const start = await c.get('item')
    const cursor = start.headers['x-cursor'] as string
    expect((await c.post('item/archive', { id: project.id })).json()).toEqual({ response_status: 0 })
    const archived = (await c.get('archive')).json() as any[]
    expect(archived.map((x) => x.id)).toContain(project.id)
    const delta = (await c.get(`item/delta/${cursor}`)).json() as any[]
    expect(delta.find((x) => x.id === project.id)).toBeUndefined()
    const restored = await c.get('archive/restore', { id: project.id })
    expect(restored.statusCode, restored.body).toBe(200)
    const after = (await c.get(`item/delta/${cursor}`)).json() as any[]
    expect(after.find((x) => x.id === project.id)).toMatchObject({ changed: true, children: true })
    expect((await c.get('user/logout')).json()).toEqual({ response_status: 0 })
    expect(errorOf(await c.get('item'))).toEqual({ status: 401, code: 7 })
  })
})
