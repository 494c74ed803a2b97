// The item object of contract §8.1 as a zod schema: the one description of what render.ts
// writes, of the OpenAPI document's `Item` and of the generated client's type. Every field is
// present, null when unset. The response check of the test suite (src/http/response-check.ts)
// holds every answer to it, so a field that goes missing or changes type fails a test.
import { z } from 'zod'
import { dateOut, dayOut, idOut, type Rendered } from '../platform/responses.js'
import { LEVELS } from './access.js'
import { CATEGORIES, PROJECT_COLORS } from './input.js'

/** a permission level of §8.3 */
export const levelSchema = z.literal([...LEVELS]).meta({ description: '0 none, 10 view, 20 comment, 30 add sub-items, 40 assign, 50 complete, 60 modify, 70 share, 80 archive, 100 everything' })

export const permissionSchema = z
  .strictObject({
    principal: z.string().meta({ description: 'a user id in decimal, or a group id' }),
    level: levelSchema,
  })
  .meta({ id: 'Permission', examples: [{ principal: '1042', level: 100 }] })

export const alertSchema = z
  .strictObject({
    id: idOut(),
    timeType: z.literal([1, 2, 3, 4]).meta({ description: '1 at timeSpecified; 2 days, 3 hours, 4 minutes before the item' }),
    time: z.number().int().nullable(),
    timeSpecified: dateOut().nullable(),
    repeat: z.number().int().nullable(),
    repeatInterval: z.number().int().nullable(),
    sound: z.boolean(),
    alert: z.boolean(),
    email: z.boolean(),
    push: z.boolean(),
    notificationTime: dateOut().nullable().meta({ description: 'when the alert fires; null when the item has no date to count back from' }),
  })
  .meta({
    id: 'Alert',
    description: "One of the caller's reminders on the item (contract §8.5)",
    examples: [{ id: 77, timeType: 4, time: 15, timeSpecified: null, repeat: null, repeatInterval: null, sound: false, alert: true, email: true, push: false, notificationTime: '2024-05-20T08:45:00.000+02:00' }],
  })

export const instanceSchema = z
  .strictObject({
    task_id: idOut(),
    status: z.literal([0, 1]).meta({ description: '0 open, 1 done' }),
    start_date: dayOut().nullable(),
    start_date_time: dateOut().nullable(),
  })
  .meta({ id: 'Instance', description: 'An occurrence of a recurring item with its own state' })

export const previewSchema = z
  .strictObject({
    url: z.string().meta({ description: 'absolute URL an <img> can load without headers' }),
    size: z.number().int().min(1),
    type: z.enum(['SQUARE', 'PROPORTIONAL']).meta({ description: 'SQUARE: cropped to size × size; PROPORTIONAL: the longest edge is size' }),
  })
  .meta({ id: 'Preview', examples: [{ url: 'https://hitask.example.com/api/file/2001?preview=250&expires=1716000000&signature=abc', size: 250, type: 'PROPORTIONAL' }] })

export type Preview = Rendered<z.output<typeof previewSchema>>

const itemFields = {
  id: idOut(),
  guid: z.string(),
  user_id: idOut().meta({ description: 'the owner' }),
  title: z.string(),
  message: z.string().nullable(),
  category: z.literal([...CATEGORIES]).meta({ description: '0 project, 1 task, 2 event, 4 note, 5 file, 6 client, 7 contact' }),
  completed: z.boolean(),
  color: z.number().int().min(0).max(7),
  color_value: z.string().meta({ description: `one of ${PROJECT_COLORS.join(', ')}` }),
  parent: z.number().int().min(0).meta({ description: 'the parent item id; 0 at the top level' }),
  parentGuid: z.string().nullable(),
  short_name: z.string().nullable(),
  issue_id: z.string().nullable(),
  recurring: z.number().int().min(0).max(4),
  recurring_interval: z.number().int(),
  recurring_end_date: dateOut().nullable(),
  instances: z.array(instanceSchema).nullable(),
  start_date: dateOut().nullable(),
  end_date: dateOut().nullable(),
  due_date: dateOut().nullable(),
  is_all_day: z.boolean(),
  time_create: dateOut(),
  time_last_update: dateOut(),
  version: z.number().int().min(1).meta({ description: 'increases by one on every change; an update with a lower version answers 409/10' }),
  shared: z.boolean().meta({ description: 'the item has a principal besides its owner' }),
  starred: z.boolean().meta({ description: "the caller's own star" }),
  time_track: z.boolean(),
  time_est: z.number().meta({ description: 'hours' }),
  time_spent: z.number().min(0).meta({ description: 'hours' }),
  priority: z.number().int().meta({ description: '10000–19999 low, 20000–29999 normal, 30000 and above high' }),
  assignee: z.number().int().min(0).meta({ description: 'a user id; 0 when nobody is assigned' }),
  participants: z.array(idOut()).nullable(),
  tags: z.array(z.string()).nullable(),
  location: z.record(z.string(), z.unknown()).nullable(),
  alerts: z.array(alertSchema).nullable().meta({ description: "the caller's reminders" }),
  unread: z.literal([1, 2, 3]).nullable().meta({ description: 'for the caller: 3 new item, 2 modified or sub-item added, 1 comment added' }),
  permission: levelSchema.meta({ description: "the caller's effective level" }),
  permissions: z.array(permissionSchema),
  last_comment_id: idOut().nullable(),
  last_comment: z.string().nullable(),
  last_comment_user_id: idOut().nullable(),
  last_comment_create_datetime: dateOut().nullable(),
  file_size: z.number().int().min(0).nullable().meta({ description: 'bytes, for files (category 5)' }),
  previews: z.array(previewSchema).nullable().meta({ description: 'image previews of a file item; null for anything else' }),
  contact: z.string().nullable().meta({ description: 'a jCard JSON string (category 7)' }),
  publish_url: z.string().nullable(),
  last_transition_time: dateOut().nullable(),
  last_transition_user: idOut().nullable(),
  children: z.literal(true).nullable().meta({ description: 'true when the item has sub-items the caller can see' }),
}

export const itemExample = {
  id: 2001,
  guid: 'c6f1d0a2-7c1e-4a53-9d3e-1f2a3b4c5d6e',
  user_id: 1042,
  title: 'Design the home page',
  message: 'Three variants, then a review with the team.',
  category: 1,
  completed: false,
  color: 0,
  color_value: '#5e93c3',
  parent: 2000,
  parentGuid: '8d0b7e4e-2a43-4f7c-9c56-0e1d2c3b4a59',
  short_name: null,
  issue_id: 'WEB-3',
  recurring: 0,
  recurring_interval: 1,
  recurring_end_date: null,
  instances: null,
  start_date: null,
  end_date: null,
  due_date: '2024-05-20T09:00:00.000+02:00',
  is_all_day: false,
  time_create: '2024-05-13T10:02:41.518+02:00',
  time_last_update: '2024-05-15T16:20:03.004+02:00',
  version: 4,
  shared: true,
  starred: false,
  time_track: false,
  time_est: 6,
  time_spent: 1.5,
  priority: 30000,
  assignee: 1043,
  participants: [1044],
  tags: ['design'],
  location: null,
  alerts: null,
  unread: null,
  permission: 100,
  permissions: [
    { principal: '1042', level: 100 },
    { principal: 'g-7f3a', level: 60 },
  ],
  last_comment_id: 310,
  last_comment: 'Looks great, go ahead with the visual design.',
  last_comment_user_id: 1043,
  last_comment_create_datetime: '2024-05-15T16:20:03.004+02:00',
  file_size: null,
  previews: null,
  contact: null,
  publish_url: null,
  last_transition_time: null,
  last_transition_user: null,
  children: true,
} satisfies z.input<z.ZodObject<typeof itemFields>>

export const itemSchema = z.strictObject(itemFields).meta({
  id: 'Item',
  description: 'An item as the caller sees it (contract §8.1): every field present, null when unset',
  examples: [itemExample],
})
/** what render.ts writes for one item */
export type ItemView = Rendered<z.output<typeof itemSchema>>

/** a delta entry of an item that changed for the caller: the item in full */
export const changedItemSchema = z.strictObject({ ...itemFields, changed: z.literal(true) }).meta({
  id: 'ChangedItem',
  description: 'An item that changed for the caller after the cursor, in full',
  examples: [{ ...itemExample, changed: true }],
})
export const unchangedItemSchema = z.strictObject({ id: idOut(), changed: z.literal(false) }).meta({
  id: 'UnchangedItem',
  description: 'A visible item that did not change for the caller after the cursor',
  examples: [{ id: 2002, changed: false }],
})
/** GET /item/delta/{cursor}: every visible item, changed ones in full (contract §8.4) */
export const deltaSchema = z.array(z.discriminatedUnion('changed', [changedItemSchema, unchangedItemSchema]))
export type DeltaEntry = Rendered<z.output<typeof changedItemSchema>> | Rendered<z.output<typeof unchangedItemSchema>>

export const itemListSchema = z.array(itemSchema)

/** the X-Cursor header of the item lists (contract §8.4) */
export const cursorHeader = { 'X-Cursor': 'the cursor for GET /item/delta/{cursor}: milliseconds since the epoch' }

/** the example of GET /item/delta/{cursor} in /docs: one changed item, one unchanged */
export const deltaExample = [{ ...itemExample, changed: true }, { id: 2002, changed: false }]
