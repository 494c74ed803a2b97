// Contract §3.1: preferences, their defaults, the two formats, typed validation.
import fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, errorOf, type TestApp } from './helpers/app.js'
import { PREFERENCES } from '../src/users/preferences.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ smtp: false })
})
afterAll(async () => t?.close())

const ARRAYS = ['default_sharing_permission_auto', 'default_new_item_sharing_permission', 'default_sharing_permission_last']

describe('defaults', () => {
  it('has every documented key, with time_zone UTC, empty permission arrays and "0" assignees', async () => {
    const u = await t.signup()
    const neu = (await t.call('GET', '/api/user/preferences', { session: u.session })).json()
    expect(Object.keys(neu).sort()).toEqual(Object.keys(PREFERENCES).sort())
    // the keys of the docs' example (hitask-docs/user.md), copied into a fixture
    const example = JSON.parse(fs.readFileSync(new URL('./fixtures/preferences-docs-example.json', import.meta.url), 'utf8')) as Record<string, string>
    const documented = Object.keys(example)
    expect(documented).toHaveLength(66)
    // every default is the docs' example value, except the contract's stated exceptions
    const exceptions = new Set(['time_zone', 'main_assign_user', 'default_assign_user', ...ARRAYS])
    for (const k of documented) if (!exceptions.has(k)) expect({ k, v: neu[k] }).toEqual({ k, v: example[k] })
    expect(Object.keys(neu).sort()).toEqual([...documented].sort())
    expect(neu).toMatchObject({ time_zone: 'UTC', main_assign_user: '0', default_assign_user: '0', first_day_of_week: '1', ttstart: '06:00', default_sharing_permission: '50', notify_app: 'true', show_issue_sequence_id: 'false', 'item.action.combobutton.last-used': 'DELETE' })
    for (const k of ARRAYS) expect(neu[k]).toEqual([])
    for (const [k, v] of Object.entries(neu)) if (!ARRAYS.includes(k)) expect(typeof v).toBe('string')
    const old = (await t.call('GET', '/api/v6/user/preferences', { session: u.session })).json()
    for (const k of ARRAYS) expect(old[k]).toBe('[]')
    for (const v of Object.values(old)) expect(typeof v).toBe('string')
  })
})

describe('setting', () => {
  it('stores pairs and answers the full map in the format of the path', async () => {
    const u = await t.signup()
    const perms = [{ principal: u.id, level: 100 }, { principal: '7', level: 60 }]
    const neu = await t.call('POST', '/api/user/preferences', { session: u.session, body: { time_zone: 'Europe/Paris', first_day_of_week: 0, notify_app: false, default_new_item_sharing_permission: perms } })
    expect(neu.statusCode).toBe(200)
    expect(neu.json()).toMatchObject({ time_zone: 'Europe/Paris', first_day_of_week: '0', notify_app: 'false', default_new_item_sharing_permission: perms })
    const old = await t.call('POST', '/api/v5/user/preferences', { session: u.session, form: { default_sharing_permission_auto: JSON.stringify(perms), notify_web: '0' } })
    expect(old.json().default_sharing_permission_auto).toBe(JSON.stringify(perms))
    expect(old.json().default_new_item_sharing_permission).toBe(JSON.stringify(perms))
    expect(old.json().notify_web).toBe('false')
    expect(Object.keys(old.json())).toHaveLength(66)
  })

  it('clears a permission list with an empty value', async () => {
    const u = await t.signup()
    await t.call('POST', '/api/user/preferences', { session: u.session, body: { default_sharing_permission_last: [{ principal: u.id, level: 100 }] } })
    const r = await t.call('POST', '/api/user/preferences', { session: u.session, form: { default_sharing_permission_last: '' } })
    expect(r.json().default_sharing_permission_last).toEqual([])
  })

  it('keeps unknown keys as given', async () => {
    const u = await t.signup()
    const r = await t.call('POST', '/api/user/preferences', { session: u.session, body: { 'ui.sidebar.width': '240', 'ui.panels': { left: true } } })
    expect(r.json()['ui.sidebar.width']).toBe('240')
    expect(r.json()['ui.panels']).toEqual({ left: true })
    const old = (await t.call('GET', '/api/v6/user/preferences', { session: u.session })).json()
    expect(old['ui.panels']).toBe('{"left":true}')
    expect(old['ui.sidebar.width']).toBe('240')
  })

  it('answers 400/102 for a value of the wrong type and stores nothing of the request', async () => {
    const u = await t.signup()
    const bad: Array<Record<string, unknown>> = [
      { time_zone: 'Mars/Olympus' },
      { first_day_of_week: '7' },
      { first_day_of_week: 'monday' },
      { notify_app: 'perhaps' },
      { time_format: '13' },
      { ttstart: '25:00' },
      { default_sharing_permission: '55' },
      { default_sharing_permission_last: '[{"principal":1,"level":55}]' },
      { default_sharing_permission_last: 'not json' },
      { default_new_item_sharing_permission: { principal: 1, level: 10 } },
    ]
    for (const body of bad) {
      const r = await t.call('POST', '/api/user/preferences', { session: u.session, body: { language: 'fr', ...body } })
      expect({ body, ...errorOf(r) }).toEqual({ body, status: 400, code: 102 })
    }
    const now = (await t.call('GET', '/api/user/preferences', { session: u.session })).json()
    expect(now.language).toBe('en')
    expect(now.time_zone).toBe('UTC')
    const rows = await t.db.query('SELECT count(*)::int AS n FROM user_preferences WHERE user_id = $1', [u.id])
    expect(rows.rows[0].n).toBe(0)
  })

  it('needs a session', async () => {
    expect(errorOf(await t.call('GET', '/api/user/preferences'))).toEqual({ status: 401, code: 7 })
    expect(errorOf(await t.call('POST', '/api/user/preferences', { form: { language: 'fr' } }))).toEqual({ status: 401, code: 7 })
  })
})
