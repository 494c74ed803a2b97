// The pure parts of notifications: address classes, the guarded connection, occurrences of
// recurring items, inert text, unsubscribe tokens.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { isPrivateAddress, post, checkEndpoint } from '../src/notifications/endpoints.js'
import { nextFiring, type ItemTiming } from '../src/notifications/recurrence.js'
import { composeMail, inert, oneLine, readUnsubscribeToken, unsubscribeToken } from '../src/notifications/mail.js'
import { jobIdFor } from '../src/notifications/jobs.js'

describe('private addresses', () => {
  it('classifies loopback, private, link-local, CGNAT, reserved and mapped addresses as not public', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.0.1', '169.254.169.254', '100.64.1.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fd00::1', '::ffff:10.0.0.1', '::ffff:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:ffff:a00:1', 'not an ip']) {
      expect(isPrivateAddress(a), a).toBe(true)
    }
    for (const a of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '::ffff:808:808']) expect(isPrivateAddress(a), a).toBe(false)
  })

  it('a connection to a name or literal that is private is refused at connect time too (DNS re-pointing)', async () => {
    let hits = 0
    const server = http.createServer((_q, s) => {
      hits++
      s.end()
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    const port = (server.address() as AddressInfo).port
    try {
      await expect(post(new URL(`http://localhost:${port}/`), '{}', {}, { timeoutMs: 2000, allowPrivate: false })).rejects.toThrow(/private/)
      await expect(post(new URL(`http://127.0.0.1:${port}/`), '{}', {}, { timeoutMs: 2000, allowPrivate: false })).rejects.toThrow(/private/)
      expect(hits).toBe(0)
      expect(await post(new URL(`http://localhost:${port}/`), '{}', {}, { timeoutMs: 2000, allowPrivate: true })).toBe(200)
      expect(hits).toBe(1)
      await expect(checkEndpoint(`http://localhost:${port}/`, false)).rejects.toThrow(/private|loopback/)
    } finally {
      server.close()
    }
  })
})

describe('occurrences', () => {
  const item = (o: Partial<ItemTiming>): ItemTiming => ({
    category: 1, start_date: null, end_date: null, due_date: null, recurring: 0, recurring_interval: 1, recurring_end_date: null, instances: null, completed: false, archived: false, ...o,
  })
  const d = (s: string) => new Date(s)

  it('a specified time fires once; relative times count back from due, else end, else start (start for events)', () => {
    const after = d('2030-01-01T00:00:00Z')
    expect(nextFiring({ time_type: 1, time: null, time_specified: d('2030-01-02T10:00:00Z') }, item({}), 'UTC', after)).toEqual({ at: d('2030-01-02T10:00:00Z'), occurrence: null })
    expect(nextFiring({ time_type: 1, time: null, time_specified: d('2029-12-31T10:00:00Z') }, item({}), 'UTC', after)).toBeNull()
    const dates = { start_date: d('2030-01-05T09:00:00Z'), end_date: d('2030-01-06T09:00:00Z'), due_date: d('2030-01-07T09:00:00Z') }
    expect(nextFiring({ time_type: 3, time: 2, time_specified: null }, item(dates), 'UTC', after)!.at).toEqual(d('2030-01-07T07:00:00Z'))
    expect(nextFiring({ time_type: 2, time: 1, time_specified: null }, item({ ...dates, category: 2 }), 'UTC', after)!.at).toEqual(d('2030-01-04T09:00:00Z'))
    expect(nextFiring({ time_type: 4, time: 15, time_specified: null }, item({ end_date: dates.end_date }), 'UTC', after)!.at).toEqual(d('2030-01-06T08:45:00Z'))
    expect(nextFiring({ time_type: 4, time: 15, time_specified: null }, item({}), 'UTC', after)).toBeNull()
    expect(nextFiring({ time_type: 4, time: 15, time_specified: null }, item({ ...dates, completed: true }), 'UTC', after)).toBeNull()
    expect(nextFiring({ time_type: 4, time: 15, time_specified: null }, item({ ...dates, archived: true }), 'UTC', after)).toBeNull()
  })

  it('daily occurrences keep their local time across a daylight-saving change, skip done instances and stop after the end date', () => {
    // 09:00 in Paris: 08:00Z in winter, 07:00Z in summer (DST starts 2030-03-31)
    const it1 = item({ due_date: d('2030-03-29T08:00:00Z'), recurring: 1, recurring_interval: 1, recurring_end_date: d('2030-04-02T00:00:00+02:00'), instances: [{ status: 1, start_date: '2030-03-31' }] })
    const alert = { time_type: 4, time: 0, time_specified: null }
    const seen: string[] = []
    let after = d('2030-03-29T00:00:00Z')
    for (;;) {
      const f = nextFiring(alert, it1, 'Europe/Paris', after)
      if (!f) break
      seen.push(`${f.occurrence} ${f.at.toISOString()}`)
      after = f.at
    }
    expect(seen).toEqual(['2030-03-29 2030-03-29T08:00:00.000Z', '2030-03-30 2030-03-30T08:00:00.000Z', '2030-04-01 2030-04-01T07:00:00.000Z', '2030-04-02 2030-04-02T07:00:00.000Z'])
  })

  it('monthly on the 31st clamps to the month end; yearly and weekly intervals; a far "after" is reached without walking every occurrence', () => {
    const monthly = item({ due_date: d('2030-01-31T12:00:00Z'), recurring: 3, recurring_interval: 1 })
    const a = { time_type: 4, time: 0, time_specified: null }
    expect(nextFiring(a, monthly, 'UTC', d('2030-02-01T00:00:00Z'))!.at).toEqual(d('2030-02-28T12:00:00Z'))
    expect(nextFiring(a, monthly, 'UTC', d('2030-03-01T00:00:00Z'))!.at).toEqual(d('2030-03-31T12:00:00Z'))
    const weekly = item({ due_date: d('2030-01-07T12:00:00Z'), recurring: 2, recurring_interval: 2 })
    expect(nextFiring(a, weekly, 'UTC', d('2030-01-08T00:00:00Z'))!.at).toEqual(d('2030-01-21T12:00:00Z'))
    const daily = item({ due_date: d('2000-01-01T06:00:00Z'), recurring: 1, recurring_interval: 1 })
    expect(nextFiring(a, daily, 'UTC', d('2040-06-15T07:00:00Z'))!.at).toEqual(d('2040-06-16T06:00:00Z'))
    const yearly = item({ due_date: d('2028-02-29T06:00:00Z'), recurring: 4, recurring_interval: 1 })
    expect(nextFiring(a, yearly, 'UTC', d('2028-03-01T00:00:00Z'))!.at).toEqual(d('2029-02-28T06:00:00Z'))
  })
})

describe('email text', () => {
  it('inert text: no control characters or line breaks in one-line fields, links defused', () => {
    expect(oneLine('a\r\nBcc: x@y\u0000\u202e z')).toBe('a Bcc: x@y z')
    expect(inert('see https://evil.example and www.evil.example or javascript://x')).toBe('see https[:]//evil.example and www[.]evil.example or javascript[:]//x')
    expect(oneLine('x'.repeat(300), 10)).toBe('xxxxxxxxx…')
    const m = composeMail({ subject: 'S', heading: 'H <b>', entries: [{ line: '<script>', detail: 'a\nb', link: 'http://l/?a=1&b=2' }], footer: 'F', unsubscribe: 'http://u/?t=1' })
    expect(m.html).toContain('H &lt;b&gt;')
    expect(m.html).toContain('&lt;script&gt;')
    expect(m.html).toContain('href="http://l/?a=1&amp;b=2"')
    expect(m.headers).toEqual({ 'List-Unsubscribe': '<http://u/?t=1>', 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' })
  })

  it('unsubscribe tokens: signed, tamper-evident, bound to the secret', () => {
    const tok = unsubscribeToken('secret-1', 42, ['notify_email_item_comment'])
    expect(readUnsubscribeToken('secret-1', tok)).toEqual({ userId: 42, keys: ['notify_email_item_comment'] })
    expect(readUnsubscribeToken('secret-2', tok)).toBeNull()
    const [, sig] = tok.split('.')
    const forged = Buffer.from(JSON.stringify({ u: 43, k: ['notify_email'] })).toString('base64url') + '.' + sig
    expect(readUnsubscribeToken('secret-1', forged)).toBeNull()
    expect(readUnsubscribeToken('secret-1', 'garbage')).toBeNull()
  })

  it('job ids derived from a key are stable UUIDs', () => {
    expect(jobIdFor('summary:1:2030-01-01')).toBe(jobIdFor('summary:1:2030-01-01'))
    expect(jobIdFor('summary:1:2030-01-01')).not.toBe(jobIdFor('summary:1:2030-01-02'))
    expect(jobIdFor('x')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })
})

describe('VAPID keys', () => {
  it('configured keys must be a matching pair: a bad pair stops the start', async () => {
    const { vapidKeys } = await import('../src/notifications/push.js')
    const { loadConfig } = await import('../src/platform/config.js')
    const webpush = (await import('web-push')).default
    const a = webpush.generateVAPIDKeys()
    const b = webpush.generateVAPIDKeys()
    expect(vapidKeys(loadConfig({ VAPID_PUBLIC_KEY: a.publicKey, VAPID_PRIVATE_KEY: a.privateKey })).publicKey).toBe(a.publicKey)
    expect(() => vapidKeys(loadConfig({ VAPID_PUBLIC_KEY: a.publicKey, VAPID_PRIVATE_KEY: b.privateKey }))).toThrow(/VAPID keys .* not usable/)
  })
})
