// The item object of contract §8.1 written as JSON text by PostgreSQL, for the long lists
// (GET /item, /item/since, the delta's changed items, GET /archive; docs/performance.md,
// "Rendered by PostgreSQL"). One statement per batch of ids: the rows, their permissions,
// tags, the caller's state and whether they have visible sub-items, each item one JSON text
// byte for byte what JSON.stringify(renderOne(…)) writes (render.ts; the property test
// test/items-json-render.test.ts holds the two together).
//
// An item whose answer needs what only the JavaScript renderer does comes back with
// `json` null, and the caller renders it with renderItems: an item with a location, with
// instances, with alerts of the caller, with a file (signed preview URLs), with a time
// estimate or time spent that is not a whole number, or with a date outside the caller's zone
// table (src/platform/dates.ts, 1970–2099).
import type { Sql } from '../platform/db/pool.js'
import { ZONE_TABLE_TO, type ZoneTable } from '../platform/dates.js'
import { boundsOf, visibleSql } from './repository.js'

/** what the caller's dates are written with: $6 change instants, $7 offsets (minutes), $8 their ±HH:MM text */
const ZONE_PARAMS = { starts: '$6::timestamptz[]', offsets: '$7::int[]', suffixes: '$8::text[]' }
const TABLE_END = `'${new Date(ZONE_TABLE_TO).toISOString()}'::timestamptz`

/** the JSON of a date column: null, or "YYYY-MM-DDTHH:mm:ss.SSS±HH:MM" in the caller's zone (formatDate) */
function dateJson(col: string): string {
  const k = `width_bucket(${col}, ${ZONE_PARAMS.starts})`
  return `CASE WHEN ${col} IS NULL THEN 'null' ELSE '"' || to_char((${col} AT TIME ZONE 'UTC') + make_interval(mins => (${ZONE_PARAMS.offsets})[${k}]), 'YYYY-MM-DD"T"HH24:MI:SS.MS') || (${ZONE_PARAMS.suffixes})[${k}] || '"' END`
}

/** a date the table cannot write (before its first change or after its end) */
const dateOutside = (col: string) => `(${col} < (${ZONE_PARAMS.starts})[1] OR ${col} >= ${TABLE_END})`

const DATE_COLUMNS = ['recurring_end_date', 'start_date', 'end_date', 'due_date', 'time_create', 'time_last_update', 'last_comment_at', 'last_transition_time']

/** a float JSON.stringify and PostgreSQL write alike only when it is a whole number of moderate size */
const notWhole = (col: string) => `NOT (${col} = trunc(${col}) AND abs(${col}) < 1e15)`
const wholeJson = (col: string) => `trunc(${col})::bigint::text`

/** nullable text and numbers */
const str = (col: string) => `COALESCE(to_json(${col})::text, 'null')`
const num = (col: string) => `COALESCE(${col}::text, 'null')`

/** the fields in renderOne's order: [name, SQL of its JSON] */
const FIELDS: [string, string][] = [
  ['id', 'i.id::text'],
  ['guid', 'to_json(i.guid)::text'],
  ['user_id', 'i.user_id::text'],
  ['title', 'to_json(i.title)::text'],
  ['message', str('i.message')],
  ['category', 'i.category::text'],
  ['completed', 'i.completed::text'],
  ['color', 'i.color::text'],
  ['color_value', 'to_json(i.color_value)::text'],
  ['parent', 'COALESCE(i.parent_id, 0)::text'],
  ['parentGuid', str('pi.guid')],
  ['short_name', str('i.short_name')],
  ['issue_id', str('i.issue_id')],
  ['recurring', 'i.recurring::text'],
  ['recurring_interval', 'i.recurring_interval::text'],
  ['recurring_end_date', dateJson('i.recurring_end_date')],
  ['instances', `'null'`],
  ['start_date', dateJson('i.start_date')],
  ['end_date', dateJson('i.end_date')],
  ['due_date', dateJson('i.due_date')],
  ['is_all_day', 'i.is_all_day::text'],
  ['time_create', dateJson('i.time_create')],
  ['time_last_update', dateJson('i.time_last_update')],
  ['version', 'i.version::text'],
  ['shared', 'EXISTS (SELECT 1 FROM item_permissions q WHERE q.item_id = i.id AND q.principal <> i.user_id::text)::text'],
  ['starred', 'COALESCE(s.starred, false)::text'],
  ['time_track', 'i.time_track::text'],
  ['time_est', wholeJson('i.time_est')],
  ['time_spent', wholeJson('i.time_spent')],
  ['priority', 'i.priority::text'],
  ['assignee', 'COALESCE(i.assignee_id, 0)::text'],
  ['participants', `CASE WHEN cardinality(i.participants) > 0 THEN array_to_json(i.participants)::text ELSE 'null' END`],
  [
    'tags',
    `COALESCE((SELECT array_to_json(array_agg(t.name ORDER BY t.name_key))::text FROM item_tags it JOIN tags t ON t.id = it.tag_id WHERE it.item_id = i.id), 'null')`,
  ],
  ['location', `'null'`],
  ['alerts', `'null'`],
  ['unread', `CASE WHEN s.unread <> 0 THEN s.unread::text ELSE 'null' END`],
  ['permission', 'v.level::text'],
  [
    'permissions',
    `'[' || COALESCE((SELECT string_agg('{"principal":' || to_json(q.principal)::text || ',"level":' || q.level || '}', ',' ORDER BY q.principal) FROM item_permissions q WHERE q.item_id = i.id), '') || ']'`,
  ],
  ['last_comment_id', num('i.last_comment_id')],
  ['last_comment', str('i.last_comment')],
  ['last_comment_user_id', num('i.last_comment_user_id')],
  ['last_comment_create_datetime', dateJson('i.last_comment_at')],
  ['file_size', `'null'`],
  ['previews', `'null'`],
  ['contact', str('i.contact')],
  ['publish_url', str('i.publish_url')],
  ['last_transition_time', dateJson('i.last_transition_time')],
  ['last_transition_user', num('i.last_transition_user')],
  [
    'children',
    `CASE WHEN EXISTS (SELECT 1 FROM items c WHERE c.parent_id = i.id AND NOT c.archived
                         AND EXISTS (SELECT 1 FROM item_permissions p WHERE p.item_id = c.id AND p.principal = ANY($1::text[]) AND p.level > 0))
          THEN 'true' ELSE 'null' END`,
  ],
]

const OBJECT_SQL = FIELDS.map(([k, sql], n) => `'${n ? ',' : '{'}"${k}":' || ${sql}`).join('\n  || ') + ` || '}'`

const NEEDS_JS = [
  'i.location IS NOT NULL',
  'i.instances IS NOT NULL',
  'EXISTS (SELECT 1 FROM item_alerts a WHERE a.item_id = i.id AND a.user_id = $5)',
  'EXISTS (SELECT 1 FROM files f WHERE f.item_id = i.id)',
  notWhole('i.time_est'),
  notWhole('i.time_spent'),
  ...DATE_COLUMNS.map((c) => dateOutside(`i.${c}`)),
].join(' OR ')

const batchSql = (archived: boolean) =>
  `SELECT i.id, CASE WHEN ${NEEDS_JS} THEN NULL ELSE ${OBJECT_SQL} END AS json
     FROM ${visibleSql('$1', '$2', ['$3', '$4'])} v JOIN items i ON i.id = v.item_id
     LEFT JOIN items pi ON pi.id = i.parent_id
     LEFT JOIN item_user_state s ON s.item_id = i.id AND s.user_id = $5
    WHERE v.level > 0 AND ${archived ? '' : 'NOT '}i.archived AND i.id BETWEEN $3::bigint AND $4::bigint`

const LIST_SQL = batchSql(false)
const ARCHIVE_SQL = batchSql(true)

export type ItemJson = { id: number; json: string | null }

/**
 * The JSON text of the items among `ids` (a batch: their id range is read as an index range)
 * that `principals` see, non-archived ones (or archived ones with `archived`), in no
 * particular order; `json` is null for an item the caller must render in JavaScript.
 */
export async function itemJsonOfBatch(
  db: Sql,
  q: { principals: string[]; ids: number[]; userId: number; zone: ZoneTable; archived?: boolean },
): Promise<ItemJson[]> {
  if (!q.ids.length) return []
  const [lo, hi] = boundsOf(q.ids)
  const r = await db.query<ItemJson>(
    q.archived ? ARCHIVE_SQL : LIST_SQL,
    [q.principals, q.ids, lo, hi, q.userId, q.zone.starts, q.zone.offsets, q.zone.suffixes],
    q.archived ? 'item_json_archived' : 'item_json',
  )
  return r.rows
}
