// The export's columns (contract §11): exactly the columns the import reads, named so its
// case-insensitive match takes them (title; description; start; end; priority; time estimate;
// time spent; tags), with values in forms the import parses back to the same item:
//   dates     the caller's time zone, `YYYY-MM-DDTHH:mm:ss.SSS±HH:MM` (contract §1 "dates in"),
//             or `YYYY-MM-DD` for all-day items (the import reads a date-only value as all-day)
//   end       end_date, else due_date (the import has one end/due column)
//   priority  the number (10000–19999 low, 20000–29999 normal, ≥ 30000 high): exact, where a
//             word would round it
//   times     hours as numbers; tags comma-separated
import { formatDate, formatDay } from '../platform/dates.js'
import type { ExportRow } from './repository.js'

export type ExportOptions = { includeDescription: boolean; includeArchived: boolean; tz: string }

export const HEADERS = {
  title: 'Title',
  description: 'Description',
  start: 'Start',
  end: 'End',
  priority: 'Priority',
  timeEst: 'Time estimate',
  timeSpent: 'Time spent',
  tags: 'Tags',
} as const

export function headerRow(o: ExportOptions): string[] {
  const h: string[] = [HEADERS.title]
  if (o.includeDescription) h.push(HEADERS.description)
  h.push(HEADERS.start, HEADERS.end, HEADERS.priority, HEADERS.timeEst, HEADERS.timeSpent, HEADERS.tags)
  return h
}

function dateText(d: Date | null, allDay: boolean, tz: string): string {
  if (!d) return ''
  return allDay ? formatDay(d, tz) : (formatDate(d, tz) ?? '')
}

/** one item's cells, in headerRow's order; numbers stay numbers (XLSX writes them as numbers) */
export function exportCells(row: ExportRow, tags: string[], o: ExportOptions): (string | number)[] {
  const cells: (string | number)[] = [row.title]
  if (o.includeDescription) cells.push(row.message ?? '')
  cells.push(
    dateText(row.start_date, row.is_all_day, o.tz),
    dateText(row.end_date ?? row.due_date, row.is_all_day, o.tz),
    row.priority,
    Number(row.time_est),
    Number(row.time_spent),
    tags.join(','),
  )
  return cells
}
