// PUT /item, step 1: the item's own fields (contract §8.1, §8.3). Only a field sent with a
// value other than the stored one is a change; each change needs its level and most write
// a history entry. Nothing is read or written here: the changes are collected for update.ts.
import type { SessionUser } from '../users/sessions.js'
import { errors } from '../platform/errors.js'
import { formatDay, parseDate } from '../platform/dates.js'
import type { HistoryEntry } from '../comments/history.js'
import { Level } from './access.js'
import { Category, type ItemInput } from './input.js'
import { contactText, dateField, historyDate, locationValue, sameDate, shortNameKey, storedInstances, type StoredInstance } from './item-fields.js'
import type { ItemRow } from './repository.js'

/** what an update changes: the columns to write, the history entries, the level they need */
export class ItemChanges {
  /** column → new value (column names are this code's, never the input's) */
  readonly columns = new Map<string, unknown>()
  readonly history: HistoryEntry[] = []
  /** the highest level any change needs */
  need = 0

  want(level: number) {
    this.need = Math.max(this.need, level)
  }

  change(column: string, value: unknown, level: number, history?: HistoryEntry) {
    this.columns.set(column, value)
    this.want(level)
    if (history) this.history.push(history)
  }
}

export type FieldOutcome = {
  /** the category after the update */
  category: number
  /** cascade=1 with `completed`: the value to set on every descendant */
  completeSubtree: boolean | null
}

/** Collects the changes of the item's own fields, completion included, into `changes`. */
export function fieldChanges(item: ItemRow, input: ItemInput, user: SessionUser, changes: ItemChanges): FieldOutcome {
  const tz = user.timeZone
  const change = changes.change.bind(changes)
  const str = (property: string, value: unknown): HistoryEntry => ({ property, type: 'STRING', value: String(value) })
  const int = (property: string, value: number): HistoryEntry => ({ property, type: 'INTEGER', value: String(value) })

  if (input.title !== undefined) {
    if (!input.title.trim()) throw errors.mandatory('title')
    if (input.title !== item.title) change('title', input.title, Level.MODIFY, { property: 'title', type: 'STRING', value: input.title })
  }
  if (input.message !== undefined && input.message !== item.message) change('message', input.message, Level.MODIFY, { property: 'message', type: 'STRING', value: input.message })
  let category = item.category
  if (input.category !== undefined && input.category !== item.category) {
    category = input.category
    change('category', category, Level.MODIFY)
  }
  if (input.color !== undefined && input.color !== item.color) change('color', input.color, Level.MODIFY)
  if (input.color_value !== undefined && input.color_value !== item.color_value) change('color_value', input.color_value, Level.MODIFY)
  if (input.priority !== undefined && input.priority !== item.priority) change('priority', input.priority, Level.MODIFY, int('priority', input.priority))
  if (input.recurring !== undefined && input.recurring !== item.recurring) change('recurring', input.recurring, Level.MODIFY, int('recurring', input.recurring))
  if (input.recurring_interval !== undefined && input.recurring_interval !== item.recurring_interval) {
    change('recurring_interval', input.recurring_interval, Level.MODIFY, int('recurring_interval', input.recurring_interval))
  }
  for (const key of ['start_date', 'end_date', 'due_date', 'recurring_end_date'] as const) {
    const d = dateField(input, key, tz)
    if (d !== undefined && !sameDate(d, item[key])) {
      change(key, d, Level.MODIFY, key === 'recurring_end_date' ? undefined : { property: key, type: 'DATE', value: historyDate(d) })
    }
  }
  if (input.is_all_day !== undefined && input.is_all_day !== item.is_all_day) change('is_all_day', input.is_all_day, Level.MODIFY)
  if (input.time_track !== undefined && input.time_track !== item.time_track) change('time_track', input.time_track, Level.MODIFY, { property: 'time_track', type: 'BOOLEAN', value: String(input.time_track) })
  if (input.time_est !== undefined && input.time_est !== item.time_est) change('time_est', input.time_est, Level.MODIFY, str('time_est', input.time_est))
  if (input.time_spent !== undefined && input.time_spent !== item.time_spent) change('time_spent', input.time_spent, Level.COMPLETE, str('time_spent', input.time_spent))
  const location = locationValue(input.location)
  if (location !== undefined && JSON.stringify(location) !== JSON.stringify(item.location ?? null)) change('location', location === null ? null : JSON.stringify(location), Level.MODIFY)
  const contact = contactText(input.contact)
  if (contact !== undefined && contact !== item.contact) change('contact', contact, Level.MODIFY)
  if (input.short_name !== undefined && (input.short_name ?? null) !== item.short_name) {
    if (input.short_name && category !== Category.PROJECT) throw errors.invalidData('short_name', 'short names are for projects only')
    change('short_name', input.short_name, Level.MODIFY)
    changes.columns.set('short_name_key', input.short_name ? shortNameKey(item.user_id, item.business_id, input.short_name) : null)
  }
  return { category, completeSubtree: completionChanges(item, input, user, changes) }
}

/**
 * Completion: of one occurrence (a recurring item with instance_date_time) or of the item.
 * Returns the value cascade=1 sets on the descendants, else null.
 */
function completionChanges(item: ItemRow, input: ItemInput, user: SessionUser, changes: ItemChanges): boolean | null {
  const tz = user.timeZone
  const { columns } = changes
  if (input.instances !== undefined) {
    const stored = input.instances ? storedInstances(input.instances, tz) : []
    if (JSON.stringify(stored) !== JSON.stringify(item.instances ?? [])) changes.change('instances', JSON.stringify(stored), Level.COMPLETE)
  }
  if (input.completed === undefined) return null
  const completedEntry: HistoryEntry = { property: 'completed', type: 'BOOLEAN', value: String(input.completed) }
  if (input.instance_date_time !== undefined && ((columns.get('recurring') as number | undefined) ?? item.recurring) > 0) {
    const d = parseDate(input.instance_date_time, tz)
    if (!d) throw errors.invalidFormat('instance_date_time')
    const current = (columns.has('instances') ? JSON.parse(columns.get('instances') as string) : (item.instances ?? [])) as StoredInstance[]
    const day = formatDay(d.date, tz)
    const status = input.completed ? 1 : 0
    const before = current.find((x) => x.start_date === day)
    if (!before || before.status !== status) {
      const others = current.filter((x) => x.start_date !== day)
      const next = [...others, { status, start_date: day, start_date_time: d.date.toISOString() }].sort((a, b) => (a.start_date < b.start_date ? -1 : 1))
      changes.change('instances', JSON.stringify(next), Level.COMPLETE, completedEntry)
    }
    return null
  }
  if (input.completed !== item.completed) {
    changes.change('completed', input.completed, Level.COMPLETE, completedEntry)
    columns.set('last_transition_time', new Date())
    columns.set('last_transition_user', user.id)
    return input.cascade ? input.completed : null
  }
  if (input.cascade) {
    changes.want(Level.COMPLETE)
    return input.completed
  }
  return null
}
