// Authorization as a property: random users in and out of a team, random groups, items with
// random grants, and random requests on every item, file, comment, tag, group and team route.
// Each request must succeed exactly when the contract's rules (§6, §8.3, §9) allow it, fail
// with the contract's code otherwise, never return anything outside the caller's rights, and a
// refused request must change nothing in the database. The cross-site rule (§15) as a
// property too: random requests carrying only the HI_SESSION cookie (or the session_id
// parameter) with random Sec-Fetch-Site and Origin headers are refused exactly when the rule
// says so, and a refused one writes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { createItem, joinTeam, makeTeam, type TestUser } from '../helpers/teams.js'
import { postMultipart } from '../helpers/multipart.js'
import { dbFingerprint } from './db-snapshot.js'
import { report, scale } from './scale.js'

const LEVELS = [0, 10, 20, 30, 40, 50, 60, 70, 80, 100]
/** the app's CORS_ORIGINS; its PUBLIC_URL is http://hitask.test (test/helpers/app.ts) */
const LISTED_ORIGIN = 'https://app.example.com'
let t: TestApp
let users: TestUser[] = []
const groups: string[] = []
let everyone = ''

/** the caller's level on every item, read from the stored lists (the property the rest checks against) */
type World = {
  level: (user: number, item: number) => number
  items: Array<{ id: number; parent: number | null; owner: number; archived: boolean; category: number; completed: boolean }>
  businessLevel: Map<number, number | null>
  comments: Array<{ id: number; item: number; author: number }>
  /** an item's stored list, and the principals a user acts as (for the move rule) */
  list: (item: number) => Map<string, number>
  principals: (user: number) => string[]
}

async function world(): Promise<World> {
  const q = t.db
  const items = (await q.query('SELECT id, parent_id, user_id, archived, category, completed FROM items ORDER BY id')).rows.map((r) => ({ id: Number(r.id), parent: r.parent_id === null ? null : Number(r.parent_id), owner: Number(r.user_id), archived: r.archived, category: r.category, completed: r.completed }))
  const perms = (await q.query('SELECT item_id, principal, level FROM item_permissions')).rows
  const members = (await q.query('SELECT group_id, user_id FROM group_members')).rows
  const groupsOf = new Map<number, Set<string>>()
  for (const m of members) {
    const s = groupsOf.get(Number(m.user_id)) ?? new Set<string>()
    s.add(m.group_id)
    groupsOf.set(Number(m.user_id), s)
  }
  const byItem = new Map<number, Array<{ principal: string; level: number }>>()
  for (const p of perms) {
    const l = byItem.get(Number(p.item_id)) ?? []
    l.push({ principal: p.principal, level: p.level })
    byItem.set(Number(p.item_id), l)
  }
  const businessLevel = new Map<number, number | null>((await q.query('SELECT id, business_level FROM users')).rows.map((r) => [Number(r.id), r.business_level]))
  const comments = (await q.query('SELECT id, item_id, user_id FROM comments')).rows.map((r) => ({ id: Number(r.id), item: Number(r.item_id), author: Number(r.user_id) }))
  return {
    items,
    businessLevel,
    comments,
    list: (item) => new Map((byItem.get(item) ?? []).map((p) => [p.principal, p.level])),
    principals: (user) => [String(user), ...(groupsOf.get(user) ?? [])],
    level: (user, item) => {
      const mine = new Set([String(user), ...(groupsOf.get(user) ?? [])])
      return Math.max(0, ...(byItem.get(item) ?? []).filter((p) => mine.has(p.principal)).map((p) => p.level))
    },
  }
}

beforeAll(async () => {
  t = await createTestApp({ env: { RATE_LIMIT_PER_MINUTE: '100000000', DELTA_MARGIN_MS: '0', CORS_ORIGINS: LISTED_ORIGIN } })
  const team = await makeTeam(t, 2)
  everyone = team.everyone
  const admin = await joinTeam(t, team.owner)
  await t.db.query('UPDATE users SET business_level = 10 WHERE id = $1', [admin.id])
  const outsider = await t.signup()
  users = [team.owner, ...team.members, admin, outsider]
  for (const name of ['Design', 'Sales']) {
    const g = await t.call('POST', '/api/group', { session: team.owner.session, form: { name } })
    expect(g.statusCode, g.body).toBe(200)
    groups.push(g.json().id)
  }
  await t.call('POST', `/api/group/${groups[0]}/contact/${team.members[0]!.id}`, { session: team.owner.session })
  await t.call('POST', `/api/group/${groups[1]}/contact/${team.members[1]!.id}`, { session: team.owner.session })
  // items: each user owns a project with sub-tasks, shared at random levels
  const principals = () => [...users.map((u) => String(u.id)), everyone, ...groups]
  let seed = 7
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n)
  for (const u of users) {
    const grants = principals()
      .filter((p) => p !== String(u.id) && rnd(3) === 0)
      .filter((p) => u !== outsider || /^\d+$/.test(p))
      .map((principal) => ({ principal, level: LEVELS[1 + rnd(LEVELS.length - 1)]! }))
    const project = await createItem(t, u, { title: `project of ${u.login}`, category: 0, permissions: JSON.stringify([{ principal: u.id, level: 100 }, ...grants]) })
    for (let i = 0; i < 2; i++) {
      const task = await createItem(t, u, { title: `task ${i}`, category: 1, parent: project.id })
      await createItem(t, u, { title: `sub ${i}`, category: 1, parent: task.id })
    }
    const f = await postMultipart(t, '/api/file/upload', { session: u.session, fields: { parent_id: project.id }, files: [{ field: 'file', name: `${u.login}.txt`, data: Buffer.from(u.login) }] })
    expect(f.statusCode, f.body).toBe(200)
    await createItem(t, u, { title: `private note of ${u.login}`, category: 4 })
  }
}, 300_000)
afterAll(async () => t?.close())

type Expect = { ok: true } | { status: number; code: number }
const OK: Expect = { ok: true }
const err = (status: number, code: number): Expect => ({ status, code })
/** an item route needing `need`: 404/1 when invisible, 403/3 when visible but too low */
const byLevel = (level: number, need: number): Expect => (level >= need ? OK : level >= 10 ? err(403, 3) : err(404, 1))

type Op = { kind: number; user: number; item: number; other: number; level: number; text: string }

describe('authorization', () => {
  it('allows exactly what the rules allow and leaks nothing', async () => {
    const steps = scale(250, 2500)
    const ops = fc.sample(
      fc.record({ kind: fc.nat(16), user: fc.nat(users.length - 1), item: fc.nat(10_000), other: fc.nat(10_000), level: fc.constantFrom(10, 20, 30, 40, 50, 60, 70), text: fc.string({ minLength: 1, maxLength: 12 }).map((s) => s.replace(/[^\w ]/g, 'x') || 'x') }),
      { numRuns: steps, seed: 20261129 },
    ) as Op[]
    const mismatches: string[] = []
    const leaks: string[] = []
    let allowed = 0
    let refused = 0
    const unchanged: string[] = []
    for (const op of ops) {
      const w = await world()
      const fingerprint = await dbFingerprint(t.db)
      const u = users[op.user]!
      const live = w.items.filter((i) => !i.archived)
      // mostly existing items; sometimes one that does not exist
      const item = op.item % 17 === 0 ? { id: 999_999, parent: null, owner: 0, archived: false, category: 1, completed: false } : live[op.item % live.length]!
      const L = item.id === 999_999 ? 0 : w.level(u.id, item.id)
      const isAdmin = (w.businessLevel.get(u.id) ?? 0) >= 10 && u !== users[users.length - 1]
      let expectation: Expect
      let res
      let label: string
      switch (op.kind) {
        case 0: {
          label = `GET /item/${item.id}`
          expectation = byLevel(L, 10)
          res = await t.call('GET', `/api/item/${item.id}`, { session: u.session })
          if (res.statusCode === 200 && res.json().permission !== L) mismatches.push(`${label}: permission ${res.json().permission}, rules say ${L}`)
          break
        }
        case 1:
          label = `PUT /item/${item.id} title`
          expectation = byLevel(L, 60)
          res = await t.call('PUT', `/api/item/${item.id}`, { session: u.session, form: { title: op.text } })
          break
        case 2:
          label = `PUT /item/${item.id} completed`
          // only changed fields need their level: completing a completed item changes nothing
          expectation = byLevel(L, item.completed ? 10 : 50)
          res = await t.call('PUT', `/api/item/${item.id}`, { session: u.session, form: { completed: 'true' } })
          break
        case 3: {
          label = `POST /item under ${item.id}`
          expectation = byLevel(L, 30)
          res = await t.call('POST', '/api/item', { session: u.session, form: { title: op.text, parent: item.id } })
          break
        }
        case 4:
          label = `POST /item/comment on ${item.id}`
          expectation = byLevel(L, 20)
          res = await t.call('POST', '/api/item/comment', { session: u.session, form: { id: item.id, message: op.text } })
          break
        case 5: {
          const c = w.comments.length ? w.comments[op.other % w.comments.length]! : null
          if (!c) continue
          const cl = w.level(u.id, c.item)
          label = `DELETE /item/comment ${c.id}`
          expectation = cl < 10 ? err(404, 1) : c.author === u.id || cl >= 100 ? OK : err(403, 3)
          res = await t.call('DELETE', '/api/item/comment', { session: u.session, form: { id: c.id, itemId: c.item } })
          break
        }
        case 6:
          label = `GET /item/history ${item.id}`
          expectation = byLevel(L, 10)
          res = await t.call('GET', '/api/item/history', { session: u.session, query: { id: item.id } })
          break
        case 7:
          label = `POST /tag on ${item.id}`
          expectation = byLevel(L, 60)
          res = await t.call('POST', '/api/tag', { session: u.session, form: { name: op.text, item_id: item.id } })
          break
        case 8: {
          // sharing a top-level item with a principal not yet on it, at ≤ 70
          if (item.parent !== null || item.id === 999_999) continue
          const candidates = [...users.map((x) => String(x.id)), ...groups]
          const res0 = await t.db.query('SELECT principal, level FROM item_permissions WHERE item_id = $1', [item.id])
          const on = new Set(res0.rows.map((r) => r.principal))
          const fresh = candidates.filter((p) => !on.has(p))
          if (!fresh.length) continue
          const principal = fresh[op.other % fresh.length]!
          const ownerIsOutsider = item.owner === users[users.length - 1]!.id
          // a group of the team on the item of a user outside the team is not a principal they can use
          if (ownerIsOutsider && !/^\d+$/.test(principal)) continue
          label = `PUT /item/${item.id} permissions + ${principal}@${op.level}`
          expectation = byLevel(L, 70)
          const list = [...res0.rows.map((r) => ({ principal: r.principal, level: r.level })), { principal, level: op.level }]
          res = await t.call('PUT', `/api/item/${item.id}`, { session: u.session, form: { permissions: JSON.stringify(list) } })
          break
        }
        case 9: {
          label = `POST /item/archive ${item.id}`
          expectation = byLevel(L, 80)
          res = await t.call('POST', '/api/item/archive', { session: u.session, form: { id: item.id } })
          if (res.statusCode === 200) {
            const back = await t.call('GET', '/api/archive/restore', { session: u.session, query: { id: item.id } })
            if (back.statusCode !== 200) mismatches.push(`restore of ${item.id} by its archiver: ${back.statusCode} ${back.body}`)
          }
          break
        }
        case 10: {
          const files = live.filter((i) => i.category === 5)
          const f = files[op.other % files.length]!
          label = `GET /file/url ${f.id}`
          expectation = byLevel(w.level(u.id, f.id), 10)
          res = await t.call('GET', '/api/file/url', { session: u.session, query: { id: f.id } })
          const bytes = await t.call('GET', `/api/file/${f.id}`, { session: u.session })
          if ((bytes.statusCode === 200) !== w.level(u.id, f.id) >= 10) mismatches.push(`GET /file/${f.id}: ${bytes.statusCode} with level ${w.level(u.id, f.id)}`)
          break
        }
        case 11: {
          label = `POST /group by ${u.id}`
          expectation = isAdmin ? OK : err(403, 3)
          res = await t.call('POST', '/api/group', { session: u.session, form: { name: op.text } })
          if (res.statusCode === 200) await t.call('DELETE', '/api/group', { session: u.session, form: { id: res.json().id } })
          break
        }
        case 12: {
          const g = groups[op.other % groups.length]!
          const member = users[op.other % (users.length - 1)]!
          const isIn = (await t.db.query('SELECT 1 FROM group_members WHERE group_id = $1 AND user_id = $2', [g, member.id])).rowCount
          const method = isIn ? 'DELETE' : 'POST'
          label = `${method} /group/${g}/contact/${member.id} by ${u.id}`
          expectation = isAdmin ? OK : err(403, 3)
          res = await t.call(method, `/api/group/${g}/contact/${member.id}`, { session: u.session })
          break
        }
        case 13: {
          label = `POST /team/member by ${u.id}`
          const outsiderCaller = u === users[users.length - 1]
          expectation = isAdmin ? OK : outsiderCaller ? err(400, 33) : err(403, 3)
          res = await t.call('POST', '/api/team/member', { session: u.session, form: { email: `invitee-${op.other}-${op.text.replace(/\W/g, '')}@example.com` } })
          // licences may run out: that is the rules allowing it and the licence count refusing
          if (isAdmin && res.statusCode === 400 && res.json().response_status === 12) expectation = err(400, 12)
          if (isAdmin && res.statusCode === 412 && res.json().response_status === 79) expectation = err(412, 79)
          break
        }
        case 14:
          label = `DELETE /item/${item.id}`
          expectation = byLevel(L, 100)
          // delete rarely, so the world does not empty out
          if (op.other % 4 !== 0) continue
          res = await t.call('DELETE', `/api/item/${item.id}`, { session: u.session })
          break
        case 16: {
          // a move under another item (§8.3): 60 on the item, 30 on the new parent, never under
          // itself or a descendant; the subtree conforms to the new parent's list, a permission
          // change by the caller: it needs the levels that change needs and never raises them
          if (item.id === 999_999 || item.category === 0) continue
          const targets = live.filter((i) => i.id !== item.parent)
          const to = targets[op.other % targets.length]!
          const below = new Set<number>([item.id])
          for (let grew = true; grew; ) {
            grew = false
            for (const i of w.items) {
              if (i.parent === null || !below.has(i.parent) || below.has(i.id)) continue
              below.add(i.id)
              grew = true
            }
          }
          const TL = w.level(u.id, to.id)
          label = `PUT /item/${item.id} parent=${to.id} (level ${TL} there)`
          if (L < 10 || TL < 10) expectation = err(404, 1)
          else if (below.has(to.id)) expectation = err(400, 6)
          else if (TL < 30 || L < 60) expectation = err(403, 3)
          else {
            const current = w.list(item.id)
            const conformed = new Map<string, number>()
            for (const [p, lv] of w.list(to.id)) conformed.set(p, Math.max(lv, current.get(p) ?? 0))
            conformed.set(String(item.owner), 100)
            let need = 0
            for (const [p, lv] of conformed) {
              const was = current.get(p) ?? 0
              if (lv > was) need = Math.max(need, lv > 70 ? 100 : 70)
              else if (lv < was) need = 100
            }
            for (const p of current.keys()) if (!conformed.has(p)) need = 100
            const after = Math.max(0, ...w.principals(u.id).map((p) => conformed.get(p) ?? 0))
            expectation = L < need || after > L ? err(403, 3) : OK
          }
          res = await t.call('PUT', `/api/item/${item.id}`, { session: u.session, form: { parent: to.id } })
          break
        }
        default: {
          // lists: exactly the visible items, and tags only from them
          label = `lists of ${u.id}`
          expectation = OK
          const want = live.filter((i) => w.level(u.id, i.id) >= 10).map((i) => i.id).sort((a, b) => a - b)
          res = await t.call('GET', '/api/item', { session: u.session })
          const got = (res.json() as any[]).map((i) => i.id).sort((a: number, b: number) => a - b)
          if (JSON.stringify(got) !== JSON.stringify(want)) leaks.push(`GET /item for ${u.id}: got ${got} want ${want}`)
          const d = await t.call('GET', '/api/item/delta/0', { session: u.session })
          const dids = (d.json() as any[]).map((i) => i.id).sort((a: number, b: number) => a - b)
          if (JSON.stringify(dids) !== JSON.stringify(want)) leaks.push(`delta/0 for ${u.id}: got ${dids} want ${want}`)
          const tags = (await t.call('GET', '/api/tag', { session: u.session })).json() as Array<{ name: string }>
          const allowedTags = new Set(
            (await t.db.query('SELECT DISTINCT tg.name_key FROM item_tags it JOIN tags tg ON tg.id = it.tag_id WHERE it.item_id = ANY($1::bigint[])', [want])).rows.map((r) => r.name_key),
          )
          for (const tag of tags) if (!allowedTags.has(tag.name.toLowerCase())) leaks.push(`GET /tag for ${u.id}: ${tag.name} is on no item they see`)
        }
      }
      if ('ok' in expectation) {
        if (res.statusCode !== 200) mismatches.push(`${label} by ${u.id} (level ${L}): expected 200, got ${res.statusCode} ${res.body.slice(0, 160)}`)
        else allowed++
      } else {
        const code = res.headers['content-type']?.toString().includes('json') ? res.json().response_status : undefined
        if (res.statusCode !== expectation.status || code !== expectation.code) mismatches.push(`${label} by ${u.id} (level ${L}): expected ${expectation.status}/${expectation.code}, got ${res.statusCode}/${code}`)
        else refused++
        if (res.statusCode >= 400 && (await dbFingerprint(t.db)) !== fingerprint) unchanged.push(`${label} by ${u.id} was refused but changed the database`)
      }
    }
    report('authorization', { requests: allowed + refused, allowed, refused, mismatches: mismatches.length, leaks: leaks.length, refusedButWrote: unchanged.length })
    expect(leaks).toEqual([])
    expect(unchanged).toEqual([])
    expect(mismatches).toEqual([])
  })

  it('refuses cookie-only requests that change something from another site, exactly as the rule says, and they write nothing', async () => {
    const steps = scale(150, 1500)
    const SITES = [undefined, 'cross-site', 'same-site', 'same-origin', 'none', 'Cross-Site']
    const ORIGINS = [undefined, 'http://hitask.test', LISTED_ORIGIN, 'https://evil.example.com', 'null', 'http://hitask.test:8080', 'https://app.example.com.evil.com']
    const ops = fc.sample(
      fc.record({ kind: fc.nat(8), user: fc.nat(users.length - 1), pick: fc.nat(10_000), site: fc.nat(SITES.length - 1), origin: fc.nat(ORIGINS.length - 1), param: fc.nat(3) }),
      { numRuns: steps, seed: 20261130 },
    )
    const trusted = new Set(['http://hitask.test', LISTED_ORIGIN])
    const mismatches: string[] = []
    const wrote: string[] = []
    let refused = 0
    let passed = 0
    for (const op of ops) {
      const u = users[op.user]!
      const own = (await t.db.query('SELECT id, archived FROM items WHERE user_id = $1 ORDER BY id', [u.id])).rows.map((r) => ({ id: Number(r.id), archived: r.archived as boolean }))
      const live = own.filter((i) => !i.archived)
      if (!live.length) await createItem(t, u, { title: 'refill', category: 1 })
      const item = live.length ? live[op.pick % live.length]!.id : (await t.db.query('SELECT max(id) AS id FROM items WHERE user_id = $1', [u.id])).rows[0].id
      let archived = own.filter((i) => i.archived).map((i) => i.id)
      if (op.kind === 6 && !archived.length) {
        const a = await createItem(t, u, { title: 'to restore', category: 1 })
        const r = await t.call('POST', '/api/item/archive', { session: u.session, form: { id: a.id } })
        if (r.statusCode !== 200) mismatches.push(`archiving ${a.id}: ${r.statusCode}`)
        archived = [a.id]
      }
      // what the request is: [method, url, params, changes]
      const [method, url, params, changes]: [string, string, Record<string, unknown>, boolean] = [
        ['POST', '/api/item', { title: 'cs' }, true],
        ['PUT', `/api/item/${item}`, { title: 'cs renamed' }, true],
        ['GET', `/api/item/${item}`, {}, false],
        ['GET', '/api/item', {}, false],
        ['POST', '/api/item/comment', { id: item, message: 'cs' }, true],
        ['GET', `/api/item/read/${item}`, {}, true],
        ['GET', '/api/archive/restore', { id: archived[op.pick % Math.max(1, archived.length)] }, true],
        ['POST', '/api/tag', { name: 'cs', item_id: item }, true],
        ['GET', '/api/tag', {}, false],
      ][op.kind] as [string, string, Record<string, unknown>, boolean]
      const site = SITES[op.site]
      const origin = ORIGINS[op.origin]
      // one request in four carries the session itself (the 2018 web client's session_id), never refused
      const cookieOnly = op.param !== 0
      const headers: Record<string, string> = { cookie: `HI_SESSION=${u.session}` }
      if (site !== undefined) headers['sec-fetch-site'] = site
      if (origin !== undefined) headers.origin = origin
      const crossSite = site !== undefined ? !['same-origin', 'none'].includes(site.toLowerCase()) : origin !== undefined && !trusted.has(origin)
      const expectRefusal = cookieOnly && changes && crossSite
      const all = cookieOnly ? params : { ...params, session_id: u.session }
      const label = `${method} ${url} site=${site} origin=${origin} ${cookieOnly ? 'cookie' : 'session_id'}`
      const fingerprint = await dbFingerprint(t.db)
      const res = method === 'GET' ? await t.call(method, url, { query: all, headers }) : await t.call(method, url, { form: all, headers })
      if (expectRefusal) {
        const code = res.statusCode === 403 ? res.json().response_status : undefined
        if (res.statusCode !== 403 || code !== 3) mismatches.push(`${label}: expected 403/3, got ${res.statusCode} ${res.body.slice(0, 120)}`)
        else refused++
        if ((await dbFingerprint(t.db)) !== fingerprint) wrote.push(`${label} was refused but changed the database`)
      } else {
        // the caller's own things: allowed
        if (res.statusCode !== 200) mismatches.push(`${label}: expected 200, got ${res.statusCode} ${res.body.slice(0, 120)}`)
        else passed++
      }
    }
    report('cross-site', { requests: refused + passed, refused, passed, mismatches: mismatches.length, refusedButWrote: wrote.length })
    expect(wrote).toEqual([])
    expect(mismatches).toEqual([])
    expect(refused).toBeGreaterThan(0)
    expect(passed).toBeGreaterThan(0)
  })
})
