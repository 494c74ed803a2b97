// What GET /item/live answers (contract §14, docs/sync.md "The live channel"): a
// Server-Sent Events stream (hub.ts writes it), not JSON.
import { rawAnswer } from '../platform/responses.js'

export const EVENT_STREAM_TYPE = 'text/event-stream'

export const liveAnswer = rawAnswer(
  EVENT_STREAM_TYPE,
  'Server-Sent Events (UTF-8), open until the session ends: `event: ready` first, then `event: change` with `data: {"cursor": N}` within 1 s of a commit that changes something for the caller (then GET /item/delta/{cursor}), a comment line every 25 s, and `event: closed` with `data: {"reason": …}` before the server closes the stream',
  { text: true, example: ['retry: 3000', 'event: ready', 'data: {}', '', 'event: change', 'data: {"cursor":1716000000123}', '', ': keep-alive', '', ''].join('\n') },
)
