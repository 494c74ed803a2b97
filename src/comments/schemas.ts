// A comment and an item's history entries (contract §8.2 `/item/comment`, `/item/history`),
// as service.ts writes them.
import { z } from 'zod'
import { dateOut, idOut } from '../platform/responses.js'

export const commentSchema = z
  .strictObject({
    id: idOut(),
    item_id: idOut(),
    user_id: idOut(),
    user_name: z.string(),
    message: z.string(),
    time_create: dateOut(),
  })
  .meta({
    id: 'Comment',
    examples: [{ id: 310, item_id: 2001, user_id: 1043, user_name: 'Max Manager', message: 'Looks great, go ahead with the visual design.', time_create: '2024-05-15T16:20:03.004+02:00' }],
  })
export type CommentView = z.output<typeof commentSchema>

export const HISTORY_TYPES = ['VOID', 'STRING', 'INTEGER', 'DATE', 'BOOLEAN'] as const

export const historyEntrySchema = z
  .strictObject({
    id: idOut().meta({ description: 'for a comment entry, the comment id (what DELETE /item/comment takes)' }),
    property_name: z.string().meta({ description: 'created, title, message, priority, completed, …, comment, comment_deleted' }),
    property_type: z.enum(HISTORY_TYPES),
    value: z.string().nullable().optional().meta({ description: 'the new value as text; absent for VOID entries; null for a deleted comment' }),
    time: dateOut(),
    user_id: idOut(),
    user_name: z.string(),
    comment_id: idOut().optional().meta({ description: 'on comment entries' }),
  })
  .meta({
    id: 'HistoryEntry',
    examples: [{ id: 310, property_name: 'comment', property_type: 'STRING', value: 'Looks great, go ahead with the visual design.', time: '2024-05-15T16:20:03.004+02:00', user_id: 1043, user_name: 'Max Manager', comment_id: 310 }],
  })
export type HistoryView = z.output<typeof historyEntrySchema>
