// The demo data (src/seed.ts) is made through the API; it is what a client then sees.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { API_KEY, createTestApp, type TestApp } from './helpers/app.js'
import { DEMO_PASSWORD, seed, type ReadMail } from '../src/seed.js'

let t: TestApp
/** the demo users' mail, from the test SMTP server */
const readMail: ReadMail = async (to, subject) => {
  for (let since = 0; ; ) {
    const m = await t.smtp!.waitFor(to, since)
    if (subject.test(m.subject)) return m.text
    since = t.smtp!.mails.indexOf(m) + 1
  }
}
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t?.close())

const signIn = async (login: string) => {
  const r = await t.call('GET', '/api/user/authenticate', { query: { login, password: DEMO_PASSWORD, api_key: API_KEY } })
  expect(r.statusCode).toBe(200)
  return r.json().session_id as string
}

describe('npm run seed', { timeout: 120_000 }, () => {
  it('creates a team with members, groups, projects, tasks with sub-tasks, comments and a file', async () => {
    expect(await seed(t.app, API_KEY, readMail)).toBe(true)
    const owner = await signIn('demo-owner')
    const team = await t.call('GET', '/api/team', { session: owner })
    expect(team.statusCode).toBe(200)
    expect(team.json().filter((m: any) => m.subscription === 'BIS').map((m: any) => m.login).sort()).toEqual(['demo-designer', 'demo-developer', 'demo-manager', 'demo-owner'])
    const groups = (await t.call('GET', '/api/group', { session: owner })).json()
    expect(groups.map((g: any) => g.name).sort()).toEqual(['Design', 'Engineering', 'Everyone'])

    const designer = await signIn('demo-designer')
    const items = (await t.call('GET', '/api/item', { session: designer })).json() as any[]
    const projects = items.filter((i) => i.category === 0)
    expect(projects.map((p) => p.title).sort()).toEqual(['Customer onboarding', 'Website relaunch'])
    const home = items.find((i) => i.title === 'Design the home page')
    expect(home.parent).toBe(projects.find((p) => p.title === 'Website relaunch').id)
    expect(items.filter((i) => i.parent === home.id).map((i) => i.title).sort()).toEqual(['Review with the team', 'Visual design', 'Wireframes', 'wireframes.txt'])
    const file = items.find((i) => i.category === 5)
    expect(file.title).toBe('wireframes.txt')
    expect(home.last_comment).toBe('Looks great, go ahead with the visual design.')
  })

  it('a second run changes nothing', async () => {
    const before = await t.db.query('SELECT (SELECT count(*) FROM users) AS u, (SELECT count(*) FROM items) AS i')
    expect(await seed(t.app, API_KEY, readMail)).toBe(false)
    const after = await t.db.query('SELECT (SELECT count(*) FROM users) AS u, (SELECT count(*) FROM items) AS i')
    expect(after.rows).toEqual(before.rows)
  })
})
