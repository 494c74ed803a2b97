// What the import answers (contract §11, docs/import.md): POST /import/upload the file's rows
// as parsed items (parsers.ts writes them), POST /import/ the created items (the §8.1 item of
// src/items/schemas.ts).
import { z } from 'zod'
import { dateOut, dayOut } from '../platform/responses.js'
import { itemListSchema } from '../items/schemas.js'

/** a date of a parsed row: a day for an all-day value, else a time in the caller's zone */
const parsedDate = () => z.union([dateOut(), dayOut()]).nullable()

export const parsedItemSchema = z
  .strictObject({
    title: z.string().min(1).max(255),
    message: z.string().max(10000).nullable(),
    start_date: parsedDate().meta({ description: "YYYY-MM-DD for a day, else YYYY-MM-DDTHH:mm:ss.SSS±HH:MM in the caller's zone; null when the cell is empty or not a date" }),
    end_date: parsedDate().meta({ description: 'from the End/Due column, as start_date' }),
    priority: z.number().int().nullable().meta({ description: 'low 10000, normal 20000, high 30000, or the number written; null when unreadable' }),
    time_est: z.number().min(0).nullable().meta({ description: 'hours' }),
    time_spent: z.number().min(0).nullable().meta({ description: 'hours' }),
    tags: z.array(z.string()),
  })
  .meta({
    id: 'ParsedItem',
    description: 'One row of an import file as the review screen shows it; POST /import/ takes a list of them back (possibly edited)',
    examples: [
      {
        title: 'Prepare the quarterly report',
        message: 'Numbers from finance first',
        start_date: '2024-06-03',
        end_date: '2024-06-07T17:00:00.000+02:00',
        priority: 30000,
        time_est: 4,
        time_spent: 1.5,
        tags: ['finance', 'q2'],
      },
    ],
  })
export type ParsedItemView = z.output<typeof parsedItemSchema>

/** POST /import/upload: the parsed rows, in file order; nothing is created */
export const parsedItemListSchema = z.array(parsedItemSchema)

/** POST /import/: the created tasks, in the order of the list */
export const importedItemsSchema = itemListSchema
