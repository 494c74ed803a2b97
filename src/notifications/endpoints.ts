// Outgoing requests to URLs users chose (webhooks, push endpoints) must not reach the
// server's own network: the host is resolved, and every address it resolves to must be a
// public one (not loopback, private, link-local, CGNAT, multicast, reserved, unspecified, or
// the IPv6 forms of those), unless allowed by configuration (tests, internal deployments).
// The check runs when the URL is registered (400/6) and again on each connection (the
// agent's lookup), so a name re-pointed to a private address later is refused too.
import dns from 'node:dns'
import net from 'node:net'
import http from 'node:http'
import https from 'node:https'

const BLOCKED_V4: Array<[string, number]> = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
]
const BLOCKED_V6: Array<[string, number]> = [
  ['::', 128],
  ['::1', 128],
  // (IPv4-mapped ::ffff:0:0/96 is checked as IPv4 below: as a rule here it would match every
  // IPv4 address, which BlockList also checks against IPv4-mapped rules)
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
]

const blockList = new net.BlockList()
for (const [a, p] of BLOCKED_V4) blockList.addSubnet(a, p, 'ipv4')
for (const [a, p] of BLOCKED_V6) blockList.addSubnet(a, p, 'ipv6')

/** true for an address that is not on the public internet */
export function isPrivateAddress(address: string): boolean {
  const family = net.isIP(address)
  if (family === 4) return blockList.check(address, 'ipv4')
  if (family === 6) {
    const dotted = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
    if (dotted) return blockList.check(dotted[1]!, 'ipv4')
    // the URL parser writes ::ffff:127.0.0.1 as ::ffff:7f00:1
    const hex = /^(?:0{0,4}:){0,5}:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address)
    if (hex) {
      const hi = parseInt(hex[1]!, 16)
      const lo = parseInt(hex[2]!, 16)
      return blockList.check(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, 'ipv4')
    }
    return blockList.check(address, 'ipv6')
  }
  return true
}

export class EndpointRefused extends Error {}

/** resolves the URL's host; refuses non-http(s) URLs and (unless allowed) private addresses */
export async function checkEndpoint(raw: string, allowPrivate: boolean): Promise<URL> {
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    throw new EndpointRefused('not a URL')
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new EndpointRefused('only http and https URLs')
  if (u.username || u.password) throw new EndpointRefused('credentials in the URL')
  if (allowPrivate) return u
  const host = u.hostname.replace(/^\[|\]$/g, '')
  let addresses: string[]
  if (net.isIP(host)) addresses = [host]
  else {
    try {
      addresses = (await dns.promises.lookup(host, { all: true, verbatim: true })).map((a) => a.address)
    } catch {
      throw new EndpointRefused('the host does not resolve')
    }
  }
  if (!addresses.length || addresses.some(isPrivateAddress)) throw new EndpointRefused('the host resolves to a loopback, private or link-local address')
  return u
}

/** an agent whose connections only go to public addresses (unless allowed) */
export function guardedAgent(protocol: 'http:' | 'https:', allowPrivate: boolean): http.Agent {
  const lookup: net.LookupFunction = (hostname, options, cb) => {
    // the callback's shape depends on options.all; Node's type for it is a union of both
    const done = cb as unknown as (err: Error | null, address?: string | dns.LookupAddress[], family?: number) => void
    dns.lookup(hostname, { ...options, all: true, verbatim: true }, (err, addresses) => {
      if (err) return done(err)
      const list = addresses as unknown as dns.LookupAddress[]
      const bad = !allowPrivate && list.some((a) => isPrivateAddress(a.address))
      if (bad) return done(Object.assign(new Error('refused: the host resolves to a private address'), { code: 'EPRIVATE' }))
      if ((options as { all?: boolean }).all) return done(null, list)
      const first = list[0]
      if (!first) return done(Object.assign(new Error('no address'), { code: 'ENOTFOUND' }))
      done(null, first.address, first.family)
    })
  }
  const o = { keepAlive: false, lookup } as http.AgentOptions
  return protocol === 'https:' ? new https.Agent(o as https.AgentOptions) : new http.Agent(o)
}

/**
 * A literal IP host bypasses the agent's lookup: check it here. (Names are checked by the
 * agent on each connection.)
 */
export function literalHostRefused(u: URL, allowPrivate: boolean): boolean {
  const host = u.hostname.replace(/^\[|\]$/g, '')
  return !allowPrivate && net.isIP(host) !== 0 && isPrivateAddress(host)
}

/**
 * One POST to a user-chosen URL through the guarded agent; resolves with the status (the
 * answer's body is read and dropped), rejects on a refused address, network error or timeout.
 */
export function post(url: URL, body: string | Buffer, headers: Record<string, string | number>, o: { timeoutMs: number; allowPrivate: boolean }): Promise<number> {
  return new Promise((resolve, reject) => {
    if (literalHostRefused(url, o.allowPrivate)) return reject(new Error('refused: a private address'))
    const lib = url.protocol === 'https:' ? https : http
    const req = lib.request(
      url,
      {
        method: 'POST',
        agent: guardedAgent(url.protocol as 'http:' | 'https:', o.allowPrivate),
        headers: { 'content-length': Buffer.byteLength(body), ...headers },
        timeout: o.timeoutMs,
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error(`no answer within ${o.timeoutMs} ms`)))
    req.on('error', reject)
    req.end(body)
  })
}
