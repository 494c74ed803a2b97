// Benchmark (not a test): writing the item list as JSON with JSON.stringify, as the server
// does, or with a serializer compiled from the response schema (fast-json-stringify, what
// Fastify does with a route's response schema when it is allowed to). Measured
//   - for the whole list of 10,000 items (GET /api/item as one answer), and
//   - per item, 10,000 times, joined with commas: how issue 15's streamed list writes it
//     (one `stringifyItem(view)` per row).
// The items are those of the API (every §8.1 field, checked against itemSchema) with the mix
// of an account: dates, tags, stars, permissions, a few alerts, files with previews, nulls.
// The compiled serializers are checked to write exactly what JSON.stringify writes.
// Usage: npx tsx bench/serialization.ts   (BENCH_ITEMS=10000, BENCH_ROUNDS=15)
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import fastJson from 'fast-json-stringify'
import { itemExample, itemListSchema, itemSchema, type ItemView } from '../src/items/schemas.js'

const N = Number(process.env.BENCH_ITEMS ?? 10_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15)

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 23) + '+00:00'

function items(n: number): ItemView[] {
  const t0 = Date.UTC(2024, 4, 1)
  const out: ItemView[] = []
  for (let i = 1; i <= n; i++) {
    const project = i % 100 === 1
    const file = i % 50 === 7
    out.push({
      ...itemExample,
      id: 10_000 + i,
      guid: `0b0c6a52-2f1d-4c1e-9d7a-${String(i).padStart(12, '0')}`,
      user_id: 1000 + (i % 3),
      title: project ? `Project ${i}` : `Task ${i}: some words about it`,
      message: i % 3 === 0 ? null : 'Some description text for the task, with a little more to it.',
      category: project ? 0 : file ? 5 : 1,
      completed: i % 4 === 0,
      parent: project ? 0 : 10_000 + i - (i % 100) + 1,
      parentGuid: project ? null : '8d0b7e4e-2a43-4f7c-9c56-0e1d2c3b4a59',
      short_name: project ? `P${i}` : null,
      issue_id: project ? String(i) : `P${i - (i % 100) + 1}-${i % 100}`,
      start_date: i % 2 ? iso(t0 + i * 3_600_000) : null,
      end_date: null,
      due_date: i % 2 ? iso(t0 + i * 86_400_000) : null,
      time_create: iso(t0 + i * 1000),
      time_last_update: iso(t0 + i * 2000),
      version: 1 + (i % 5),
      shared: true,
      starred: i % 11 === 0,
      priority: 20_000 + (i % 100),
      assignee: i % 5 === 0 ? 1002 : 0,
      participants: i % 9 === 0 ? [1001, 1002] : null,
      tags: i % 7 === 0 ? ['home', 'work'] : null,
      alerts:
        i % 97 === 0
          ? [{ id: i, timeType: 4, time: 15, timeSpecified: null, repeat: null, repeatInterval: null, sound: false, alert: true, email: true, push: false, notificationTime: iso(t0 + i * 86_400_000 - 900_000) }]
          : null,
      unread: i % 13 === 0 ? 2 : null,
      permission: i % 2 ? 50 : 60,
      permissions: [
        { principal: '1000', level: 100 },
        { principal: i % 2 ? '1042' : '5d1c8a8e-0b7a-4c3e-9a51-6f0e2d1c3b4a', level: i % 2 ? 50 : 60 },
      ],
      last_comment_id: i % 6 === 0 ? 500 + i : null,
      last_comment: i % 6 === 0 ? 'Looks good to me.' : null,
      last_comment_user_id: i % 6 === 0 ? 1001 : null,
      last_comment_create_datetime: i % 6 === 0 ? iso(t0 + i * 5000) : null,
      file_size: file ? 123_456 : null,
      previews: file
        ? [30, 60, 125, 250].map((size) => ({ url: `https://hitask.example.com/api/file/${10_000 + i}?preview=${size}&expires=1716000000&signature=abcdefghijklmnop`, size, type: 'PROPORTIONAL' }))
        : null,
      children: project ? true : null,
    })
  }
  return out
}

/** the JSON Schema the OpenAPI document has for a schema, self-contained (named shapes under $defs) */
function jsonSchemaOf(schema: z.ZodType): object {
  return z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' })
}

/** a fast-json-stringify serializer compiled from a response schema (bench/items.ts BENCH_SERIALIZER=schema) */
export function schemaStringifier(schema: z.ZodType, opts: { tuned?: boolean } = {}): (data: unknown) => string {
  const json = jsonSchemaOf(schema)
  return fastJson((opts.tuned ? tuned(json) : json) as never) as (data: unknown) => string
}

/**
 * The schema tuned for fast-json-stringify, its best case: `anyOf: [X, {type: 'null'}]` written
 * as `type: [X.type, 'null']` (fast-json-stringify tells those apart by a typeof check, an
 * anyOf by running a validator per branch), and no `pattern`/`const`/`enum` (it does not check
 * them anyway).
 */
function tuned(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(tuned)
  if (!s || typeof s !== 'object') return s
  const o = Object.fromEntries(
    Object.entries(s)
      .filter(([k]) => !['pattern', 'const', 'enum'].includes(k))
      .map(([k, v]) => [k, tuned(v)]),
  ) as Record<string, unknown>
  const any = o.anyOf as Record<string, unknown>[] | undefined
  if (Array.isArray(any) && any.length === 2 && any.some((x) => x.type === 'null')) {
    const other = any.find((x) => x.type !== 'null')!
    if (typeof other.type === 'string') {
      const { anyOf: _a, ...rest } = o
      return { ...rest, ...other, type: [other.type, 'null'] }
    }
  }
  return o
}

function time(label: string, fn: () => string, expected: string) {
  const got = fn()
  if (got !== expected) {
    let i = 0
    while (i < got.length && got[i] === expected[i]) i++
    throw new Error(`${label}: output differs from JSON.stringify at ${i}: …${got.slice(i - 40, i + 40)}… vs …${expected.slice(i - 40, i + 40)}…`)
  }
  const ms: number[] = []
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now()
    fn()
    ms.push(performance.now() - t)
  }
  ms.sort((a, b) => a - b)
  return { label, median: ms[Math.floor(ms.length / 2)]!, best: ms[0]!, bytes: got.length }
}

function main() {
  const list = items(N)
  for (const it of list) itemSchema.parse(it)
  const expected = JSON.stringify(list)

  const listSchema = jsonSchemaOf(itemListSchema)
  const itemJson = jsonSchemaOf(itemSchema)
  const fjsList = fastJson(listSchema as never)
  const fjsItem = fastJson(itemJson as never)
  const fjsListFlat = fastJson(tuned(listSchema) as never)
  const fjsItemFlat = fastJson(tuned(itemJson) as never)
  const perItem = (f: (x: unknown) => string) => () => {
    let s = '['
    for (let i = 0; i < list.length; i++) s += (i ? ',' : '') + f(list[i])
    return s + ']'
  }

  // warm-up: every path runs before any is timed
  for (let i = 0; i < 3; i++) {
    JSON.stringify(list)
    fjsList(list)
    fjsListFlat(list)
    perItem(JSON.stringify)()
    perItem(fjsItem)()
    perItem(fjsItemFlat)()
  }
  const results = [
    time('whole list: JSON.stringify', () => JSON.stringify(list), expected),
    time('whole list: fast-json-stringify (the document’s schema)', () => fjsList(list), expected),
    time('whole list: fast-json-stringify (schema tuned for it)', () => fjsListFlat(list), expected),
    time('per item: JSON.stringify', perItem(JSON.stringify), expected),
    time('per item: fast-json-stringify (the document’s schema)', perItem(fjsItem), expected),
    time('per item: fast-json-stringify (schema tuned for it)', perItem(fjsItemFlat), expected),
  ]
  console.log(`${N} items, ${(expected.length / 1e6).toFixed(1)} MB of JSON; ${ROUNDS} rounds; node ${process.version}; ${os.cpus().length} CPUs; load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`)
  console.log('serializer                                                   median ms   best ms   vs JSON.stringify')
  const base = results[0]!.median
  const perBase = results[3]!.median
  for (const r of results) {
    const ref = r.label.startsWith('per item') ? perBase : base
    console.log(`${r.label.padEnd(60)} ${r.median.toFixed(1).padStart(9)} ${r.best.toFixed(1).padStart(9)} ${(r.median / ref).toFixed(2).padStart(10)}x`)
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main()
