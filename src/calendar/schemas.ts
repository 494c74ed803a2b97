// What the calendar feed's routes answer (contract §11, docs/calendar-and-export.md): the
// private address as JSON, and the feed itself as iCalendar text (ics.ts writes it).
import { z } from 'zod'
import { rawAnswer } from '../platform/responses.js'

export const calendarAddressSchema = z
  .strictObject({
    url: z.string().meta({ description: 'the private feed address, GET /calendar/{token}.ics without a session; anyone who has it can read the calendar' }),
  })
  .meta({
    id: 'CalendarAddress',
    description: "The caller's private calendar feed address",
    examples: [{ url: 'https://hitask.example.com/api/calendar/4qH0mR8yX2vN6cT1kP9wB3eL7sJ5aD0fG2hU4iO6.ics' }],
  })

export const ICS_TYPE = 'text/calendar'

export const icsAnswer = rawAnswer(ICS_TYPE, "RFC 5545 iCalendar (UTF-8): the owner's visible, non-archived dated items, events as VEVENT, the others as VTODO", {
  text: true,
  notModified: 'Not Modified: If-None-Match names the current ETag (no body)',
  example: [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//hitask-server//calendar//EN',
    'CALSCALE:GREGORIAN',
    'METHOD:PUBLISH',
    'NAME:Hitask',
    'X-WR-CALNAME:Hitask',
    'REFRESH-INTERVAL;VALUE=DURATION:PT15M',
    'X-PUBLISHED-TTL:PT15M',
    'BEGIN:VEVENT',
    'UID:c6f1d0a2-7c1e-4a53-9d3e-1f2a3b4c5d6e@hitask',
    'SEQUENCE:4',
    'DTSTAMP:20240515T142003Z',
    'DTSTART:20240520T070000Z',
    'DTEND:20240520T080000Z',
    'SUMMARY:Design review',
    'LAST-MODIFIED:20240515T142003Z',
    'END:VEVENT',
    'BEGIN:VTODO',
    'UID:8d0b7e4e-2a43-4f7c-9c56-0e1d2c3b4a59@hitask',
    'SEQUENCE:2',
    'DTSTAMP:20240513T080241Z',
    'DUE;VALUE=DATE:20240524',
    'STATUS:NEEDS-ACTION',
    'SUMMARY:Send the invoices',
    'END:VTODO',
    'END:VCALENDAR',
    '',
  ].join('\r\n'),
})

export const feedHeaders = {
  ETag: 'a hash of the body: send it back as If-None-Match to get 304 while the feed is unchanged',
  'Cache-Control': 'private, max-age=<CALENDAR_REFRESH_SECONDS>',
}
