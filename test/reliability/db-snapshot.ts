// A fingerprint of everything a request could have written, to prove a refused request wrote
// nothing. Session bookkeeping (last_used_at, last_seen_at) is left out: every authenticated
// request touches it by design.
import type { Sql } from '../../src/platform/db/pool.js'

export async function dbFingerprint(pool: Sql): Promise<string> {
  const tables = await pool.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name NOT IN ('_prisma_migrations', 'sessions')
      ORDER BY table_name`,
  )
  const parts: string[] = []
  for (const { table_name } of tables.rows) {
    const cols = await pool.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 AND column_name NOT IN ('last_seen_at') ORDER BY ordinal_position`,
      [table_name],
    )
    const list = cols.rows.map((c) => `"${c.column_name}"`).join(', ')
    const r = await pool.query<{ h: string | null; n: number }>(
      `SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h, count(*)::int AS n FROM (SELECT ${list} FROM "${table_name}") x`,
    )
    parts.push(`${table_name}:${r.rows[0]!.n}:${r.rows[0]!.h}`)
  }
  return parts.join('\n')
}
