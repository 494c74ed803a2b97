// What the export answers (contract §11, docs/calendar-and-export.md): a download, CSV or
// XLSX, with the columns the import reads (format.ts writes them). Not JSON: the route
// declarations name the content type (the answer adds `; charset=utf-8` to CSV).
import { rawAnswer } from '../platform/responses.js'
import { HEADERS } from './format.js'

export const CSV_TYPE = 'text/csv'
export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'

const columns = Object.values(HEADERS).join(', ')

export const csvAnswer = rawAnswer(CSV_TYPE, `The items as CSV (UTF-8, comma-separated, CRLF): a header row (${columns}; Description only with includeDescription), one row per item`, {
  text: true,
  example: [
    'Title,Description,Start,End,Priority,Time estimate,Time spent,Tags',
    'Design the home page,Three variants,2024-05-13T09:00:00.000+02:00,2024-05-20T09:00:00.000+02:00,30000,6,1.5,design',
    'Team offsite,,2024-06-03,2024-06-04,20000,0,0,"team,travel"',
    '',
  ].join('\r\n'),
})

export const xlsxAnswer = rawAnswer(XLSX_TYPE, `The items as an XLSX workbook: one sheet "Items", a header row (${columns}; Description only with includeDescription), one row per item; numbers as numbers, dates as text`)

/** the headers of both downloads, for the OpenAPI document */
export const downloadHeaders = { 'Content-Disposition': 'attachment; filename="hitask-export-<YYYY-MM-DD>.<csv|xlsx>"' }
