// The private calendar feed (contract §11): the address (GET /user/calendar, POST
// /user/calendar/reset) and the feed itself (GET /calendar/{token}.ics, no session). Rules:
// ./service.ts; the iCalendar text: ./ics.ts.
import { z } from 'zod'
import type { RouteModule } from '../http/route.js'
import { calendarAddress, calendarFeed, resetCalendarAddress } from './service.js'
import { calendarAddressSchema, feedHeaders, ICS_TYPE, icsAnswer } from './schemas.js'

const register: RouteModule = (route, deps) => {
  route({
    method: 'GET',
    url: '/user/calendar',
    summary: "The caller's private calendar feed address (created on the first call)",
    tags: ['user'],
    errors: [7],
    response: calendarAddressSchema,
    handler: ({ user }) => calendarAddress(deps, user),
  })

  route({
    method: 'POST',
    url: '/user/calendar/reset',
    summary: 'A new calendar feed address; the old one answers 404 from now on',
    tags: ['user'],
    errors: [7],
    response: calendarAddressSchema,
    handler: ({ user }) => resetCalendarAddress(deps, user),
  })

  route({
    method: 'GET',
    url: '/calendar/:file',
    auth: 'none',
    params: z.object({ file: z.string().max(200) }),
    summary:
      "GET /calendar/{token}.ics: the owner's visible, non-archived dated items as RFC 5545 (events VEVENT, others VTODO, RRULE, VALARM, the owner's time zone); ETag / If-None-Match → 304; no session",
    tags: ['user'],
    errors: [1],
    response: icsAnswer,
    responseHeaders: feedHeaders,
    handler: async ({ p, req, reply }) => {
      const feed = await calendarFeed(deps, p.file, req.headers['if-none-match'])
      reply
        .header('ETag', feed.etag)
        .header('Cache-Control', `private, max-age=${deps.config.CALENDAR_REFRESH_SECONDS}`)
        // the address is the secret: never indexed, never sent on as a referrer
        .header('X-Robots-Tag', 'noindex, nofollow')
        .header('Referrer-Policy', 'no-referrer')
      if (feed.status === 304) return reply.code(304).send()
      return reply.type(`${ICS_TYPE}; charset=utf-8`).header('Content-Disposition', 'inline; filename="hitask.ics"').send(feed.body)
    },
  })
}
export default register
