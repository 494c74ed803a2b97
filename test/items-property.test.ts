// Property test of contract §8.3: random users, groups, trees and grants. After every
// random sequence of writes, what GET /item returns for each user equals what a small model
// of the rules gives, every item's stored list equals the model's, and every write got the
// status and code the rules give (refused writes change nothing in the model, and so nothing
// on the server either, since the lists are compared).
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from './helpers/app.js'
import { itemsApi, type U } from './items-helpers.js'

let t: TestApp
let api: ReturnType<typeof itemsApi>
let users: U[]
let groups: string[]

beforeAll(async () => {
  t = await createTestApp({ smtp: false })
  api = itemsApi(t)
  users = await Promise.all([t.signup(), t.signup(), t.signup(), t.signup()])
  const biz = await api.business(users[0]!.id)
  groups = [await api.group(biz, []), await api.group(biz, [])]
})
afterAll(async () => t?.close())

const LEVELS = [0, 10, 20, 30, 40, 50, 60, 70, 80, 100]
type List = Map<string, number>
type MItem = { id: number; owner: string; parent: MItem | null; list: List; alive: boolean }

const grantArb = fc.record({ p: fc.nat(5), level: fc.constantFrom(...LEVELS) })
const opArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('create' as const), actor: fc.nat(3), parent: fc.option(fc.nat(20), { nil: null }), grants: fc.option(fc.array(grantArb, { maxLength: 4 }), { nil: null }) }) },
  // withOwner: the list names the owner at 100, as the web client's always does (leaving the owner out is 400/76)
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('perm' as const), actor: fc.nat(3), target: fc.nat(20), grants: fc.array(grantArb, { maxLength: 4 }), cascade: fc.boolean(), withOwner: fc.constantFrom(true, true, true, false) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('title' as const), actor: fc.nat(3), target: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), actor: fc.nat(3), target: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('member' as const), user: fc.nat(3), group: fc.nat(1), add: fc.boolean() }) },
)

describe('§8.3 as a property', () => {
  it('GET /item and every write agree with the rules', async () => {
    let run = 0
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 4, maxLength: 14 }), async (ops) => {
        run++
        await t.db.query('DELETE FROM items; DELETE FROM group_members')
        const principal = (i: number) => (i < 4 ? String(users[i]!.id) : groups[i - 4]!)
        const members = new Map<string, Set<string>>(groups.map((g) => [g, new Set()]))
        const items: MItem[] = []
        const levelOf = (u: string, it: MItem) => {
          let lv = it.list.get(u) ?? 0
          for (const [g, m] of members) if (m.has(u)) lv = Math.max(lv, it.list.get(g) ?? 0)
          return lv
        }
        const alive = () => items.filter((i) => i.alive)
        const descendants = (x: MItem) => items.filter((i) => i.alive && i !== x && ancestors(i).includes(x))
        const ancestors = (x: MItem) => {
          const out: MItem[] = []
          for (let p = x.parent; p; p = p.parent) out.push(p)
          return out
        }
        const merged = (grants: { p: number; level: number }[]): List => {
          const m: List = new Map()
          for (const g of grants) m.set(principal(g.p), Math.max(m.get(principal(g.p)) ?? 0, g.level))
          return m
        }
        const flow = (x: MItem, exact: boolean) => {
          // descendants in creation order: parents before children
          for (const d of descendants(x)) {
            const next: List = new Map()
            for (const [p, lv] of x.list) next.set(p, exact ? lv : Math.max(lv, d.list.get(p) ?? 0))
            // each descendant's list follows its own parent, which was updated before it
            const par = d.parent!
            for (const [p, lv] of par.list) next.set(p, exact ? lv : Math.max(lv, d.list.get(p) ?? 0, next.get(p) ?? 0))
            next.set(d.owner, 100)
            d.list = next
          }
        }

        for (const op of ops) {
          if (op.kind === 'member') {
            const g = groups[op.group]!
            const u = users[op.user]!
            if (op.add) await t.db.query('INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [g, u.id])
            else await t.db.query('DELETE FROM group_members WHERE group_id = $1 AND user_id = $2', [g, u.id])
            if (op.add) members.get(g)!.add(String(u.id))
            else members.get(g)!.delete(String(u.id))
            continue
          }
          const actor = users[op.actor]!
          const me = String(actor.id)
          let expected: { status: number; code?: number }
          if (op.kind === 'create') {
            const list = alive()
            const parent = op.parent === null || !list.length ? null : list[op.parent % list.length]!
            let next: List | null = null
            if (parent && levelOf(me, parent) === 0) expected = { status: 404, code: 1 }
            else if (parent && levelOf(me, parent) < 30) expected = { status: 403, code: 3 }
            else if (op.grants) {
              const req = merged(op.grants)
              if (req.has(me) && req.get(me) !== 100) expected = { status: 400, code: 76 }
              else {
                next = new Map([...req].filter(([, lv]) => lv > 0))
                next.set(me, 100)
                if (parent) for (const [p, lv] of parent.list) if (!next.has(p)) next.set(p, lv)
                expected = { status: 200 }
                if (parent) {
                  for (const [p, lv] of next) {
                    if (p === me) continue
                    if (!parent.list.has(p)) { expected = { status: 400, code: 73 }; break }
                    if (lv < parent.list.get(p)!) { expected = { status: 400, code: 77 }; break }
                  }
                }
              }
            } else {
              next = parent ? new Map(parent.list) : new Map()
              next.set(me, 100)
              expected = { status: 200 }
            }
            const body: Record<string, unknown> = { title: `c${run}` }
            if (parent) body.parent = parent.id
            if (op.grants) body.permissions = op.grants.map((g) => ({ principal: principal(g.p), level: g.level }))
            const r = await t.call('POST', '/api/item', { session: actor.session, body })
            expect({ status: r.statusCode, code: r.json().response_status }, JSON.stringify({ op, expected })).toEqual({ status: expected.status, code: expected.code })
            if (r.statusCode === 200) items.push({ id: r.json().id, owner: me, parent, list: next!, alive: true })
            continue
          }
          const list = alive()
          if (!list.length) continue
          const x = list[op.target % list.length]!
          const lv = levelOf(me, x)
          if (op.kind === 'title') {
            expected = lv === 0 ? { status: 404, code: 1 } : lv < 60 ? { status: 403, code: 3 } : { status: 200 }
            const r = await api.put(actor, x.id, { title: `t${Math.random()}` })
            expect({ status: r.statusCode, code: r.json().response_status }).toEqual({ status: expected.status, code: expected.code })
          } else if (op.kind === 'delete') {
            expected = lv === 0 ? { status: 404, code: 1 } : lv < 100 ? { status: 403, code: 3 } : { status: 200, code: 0 }
            const r = await t.call('DELETE', `/api/item/${x.id}`, { session: actor.session })
            expect({ status: r.statusCode, code: r.json().response_status }).toEqual({ status: expected.status, code: expected.code })
            if (r.statusCode === 200) for (const d of [x, ...descendants(x)]) d.alive = false
          } else {
            const req = merged(op.grants)
            if (op.withOwner) req.set(x.owner, 100)
            let next: List | null = null
            if (lv === 0) expected = { status: 404, code: 1 }
            else if (req.get(x.owner) !== 100) expected = { status: 400, code: 76 }
            else {
              next = new Map([...req].filter(([, l]) => l > 0))
              next.set(x.owner, 100)
              let need = 0
              for (const [p, l] of next) {
                const was = x.list.get(p) ?? 0
                if (l > was) need = Math.max(need, l > 70 ? 100 : 70)
                else if (l < was) need = 100
              }
              for (const p of x.list.keys()) if (!next.has(p)) need = 100
              expected = { status: 200 }
              if (lv < need) expected = { status: 403, code: 3 }
              else if (x.parent) {
                const pl = x.parent.list
                for (const [p, l] of next) {
                  if (p === x.owner) continue
                  if (!pl.has(p)) { expected = { status: 400, code: 73 }; break }
                  if (l < pl.get(p)!) { expected = { status: 400, code: 77 }; break }
                }
                if (expected.status === 200) for (const p of pl.keys()) if (!next.has(p)) { expected = { status: 400, code: 74 }; break }
              }
              if (expected.status === 200 && op.cascade && lv < 70) expected = { status: 403, code: 3 }
            }
            const sent = [...op.grants.map((g) => ({ principal: principal(g.p), level: g.level })), ...(op.withOwner ? [{ principal: x.owner, level: 100 }] : [])]
            const r = await api.put(actor, x.id, { permissions: sent, ...(op.cascade ? { cascadeAcl: 1 } : {}) })
            expect({ status: r.statusCode, code: r.json().response_status }, JSON.stringify({ op, expected, lv, list: [...x.list] })).toEqual({ status: expected.status, code: expected.code })
            if (r.statusCode === 200) {
              x.list = next!
              flow(x, op.cascade)
            }
          }
        }

        // every stored list equals the model's
        const stored = await t.db.query<{ item_id: number; principal: string; level: number }>('SELECT item_id, principal, level FROM item_permissions')
        const byItem = new Map<number, Record<string, number>>()
        for (const s of stored.rows) byItem.set(s.item_id, { ...(byItem.get(s.item_id) ?? {}), [s.principal]: s.level })
        for (const it of alive()) expect(byItem.get(it.id), `list of ${it.id}`).toEqual(Object.fromEntries(it.list))
        expect(byItem.size).toBe(alive().length)
        // what each user sees, with their level
        for (const u of users) {
          const got = (await api.list(u)).map((i): [number, number] => [i.id, i.permission]).sort((p, q) => p[0] - q[0])
          const want = alive()
            .map((i): [number, number] => [i.id, levelOf(String(u.id), i)])
            .filter(([, l]) => l > 0)
            .sort((p, q) => p[0] - q[0])
          expect(got, `user ${u.id}`).toEqual(want)
        }
      }),
      { numRuns: Number(process.env.ITEMS_PROPERTY_RUNS ?? 25) },
    )
  })
})
