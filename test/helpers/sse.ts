// A Server-Sent Events client for tests: opens GET /api/item/live on a listening app and
// collects the events (and comment lines) as they arrive.
import http from 'node:http'

export type SseEvent = { event: string; data: string; at: number }

export type SseClient = {
  status: number
  headers: http.IncomingHttpHeaders
  events: SseEvent[]
  comments: number
  ended: boolean
  /** resolves with the first event (after `from`) matching `pred`, or rejects after `ms` */
  next(pred?: (e: SseEvent) => boolean, ms?: number, from?: number): Promise<SseEvent>
  /** resolves when the server ends the stream */
  closed(ms?: number): Promise<void>
  close(): void
  body: string
}

export function openSse(baseUrl: string, session: string, path = '/api/item/live'): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = http.get(baseUrl + path, { headers: { 'x-hi-session': session, accept: 'text/event-stream' }, agent: false })
    req.on('error', reject)
    req.on('response', (res) => {
      const waiters = new Set<() => void>()
      const c: SseClient = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        events: [],
        comments: 0,
        ended: false,
        body: '',
        next(pred = () => true, ms = 10_000, from = 0) {
          return new Promise((ok, fail) => {
            const look = () => {
              const hit = c.events.slice(from).find(pred)
              if (hit) {
                cleanup()
                ok(hit)
                return true
              }
              if (c.ended) {
                cleanup()
                fail(new Error('stream ended'))
                return true
              }
              return false
            }
            const timer = setTimeout(() => {
              cleanup()
              fail(new Error(`no matching event within ${ms} ms (have: ${JSON.stringify(c.events)})`))
            }, ms)
            const w = () => void look()
            const cleanup = () => {
              clearTimeout(timer)
              waiters.delete(w)
            }
            if (!look()) waiters.add(w)
          })
        },
        closed(ms = 10_000) {
          return new Promise((ok, fail) => {
            if (c.ended) return ok()
            const timer = setTimeout(() => fail(new Error('stream still open')), ms)
            res.on('close', () => {
              clearTimeout(timer)
              ok()
            })
          })
        },
        close() {
          req.destroy()
        },
      }
      let buf = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        c.body += chunk
        buf += chunk
        let i: number
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i)
          buf = buf.slice(i + 2)
          let event = 'message'
          const data: string[] = []
          let isComment = false
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) isComment = true
            else if (line.startsWith('event:')) event = line.slice(6).trim()
            else if (line.startsWith('data:')) data.push(line.slice(5).trim())
          }
          if (isComment && !data.length) c.comments++
          else if (data.length) c.events.push({ event, data: data.join('\n'), at: performance.now() })
        }
        for (const w of [...waiters]) w()
      })
      const end = () => {
        c.ended = true
        for (const w of [...waiters]) w()
      }
      res.on('end', end)
      res.on('close', end)
      resolve(c)
    })
  })
}
