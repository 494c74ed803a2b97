// The emails of notifications: plain text and HTML, one layout, every user-supplied string
// made inert (contract §15): control characters removed, line breaks removed from subjects and
// one-line fields, HTML escaped, and URL schemes and "www." defused so that text from users
// never becomes a link. Each email carries a signed one-click unsubscribe URL (RFC 8058).
import crypto from 'node:crypto'
import type { Config } from '../platform/config.js'

/** removes control characters (keeps line breaks when `multiline`) and defuses links */
export function inert(s: string | null | undefined, multiline = false): string {
  let t = String(s ?? '')
  // eslint-disable-next-line no-control-regex
  t = multiline ? t.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, ' ') : t.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
  // bidirectional overrides can disguise text
  t = t.replace(/[\u202a-\u202e\u2066-\u2069]/g, '')
  t = t.replace(/([a-z][a-z0-9+.-]{0,20}):\/\//gi, '$1[:]//').replace(/\bwww\./gi, 'www[.]')
  return t
}

/** one line of at most `max` characters (subjects, titles, names) */
export function oneLine(s: string | null | undefined, max = 120): string {
  const t = inert(s).replace(/\s+/g, ' ').trim()
  return t.length > max ? t.slice(0, max - 1).trimEnd() + '…' : t
}

/** a multi-line excerpt (comments, messages) of at most `max` characters */
export function excerpt(s: string | null | undefined, max = 500): string {
  const t = inert(s, true).replace(/\n{3,}/g, '\n\n').trim()
  return t.length > max ? t.slice(0, max - 1).trimEnd() + '…' : t
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

function base(config: Pick<Config, 'PUBLIC_URL'>): string {
  return config.PUBLIC_URL.replace(/\/+$/, '')
}

/** the link to an item (ITEM_LINK_TEMPLATE, default PUBLIC_URL/#item/{id}) */
export function itemLink(config: Pick<Config, 'PUBLIC_URL' | 'ITEM_LINK_TEMPLATE'>, item: { id: number; guid?: string | null }): string {
  const tpl = config.ITEM_LINK_TEMPLATE ?? `${base(config)}/#item/{id}`
  return tpl.replace(/\{id\}/g, String(item.id)).replace(/\{guid\}/g, encodeURIComponent(item.guid ?? ''))
}

// ---- one-click unsubscribe: a token naming the user and the preferences it turns off

const TOKEN_CONTEXT = 'hitask-unsubscribe-v1:'

export function unsubscribeToken(secret: string, userId: number, keys: string[]): string {
  const payload = Buffer.from(JSON.stringify({ u: userId, k: keys })).toString('base64url')
  const sig = crypto.createHmac('sha256', secret).update(TOKEN_CONTEXT + payload).digest('base64url')
  return `${payload}.${sig}`
}

/** the user and preference keys of a valid token, else null */
export function readUnsubscribeToken(secret: string, token: string): { userId: number; keys: string[] } | null {
  const m = /^([A-Za-z0-9_-]{1,2000})\.([A-Za-z0-9_-]{43})$/.exec(token)
  if (!m) return null
  const expected = crypto.createHmac('sha256', secret).update(TOKEN_CONTEXT + m[1]).digest()
  const given = Buffer.from(m[2]!, 'base64url')
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return null
  try {
    const v = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as { u?: unknown; k?: unknown }
    if (typeof v.u !== 'number' || !Array.isArray(v.k) || !v.k.every((k) => typeof k === 'string')) return null
    return { userId: v.u, keys: v.k as string[] }
  } catch {
    return null
  }
}

export function unsubscribeUrl(config: Pick<Config, 'PUBLIC_URL'>, secret: string, userId: number, keys: string[]): string {
  return `${base(config)}/api/unsubscribe?token=${unsubscribeToken(secret, userId, keys)}`
}

// ---- the layout

export type MailEntry = {
  /** one line, already inert (built from oneLine/excerpt parts and fixed words) */
  line: string
  /** more lines under it (a comment's text), already inert */
  detail?: string
  link?: string
}

export type ComposedMail = { subject: string; text: string; html: string; headers: Record<string, string> }

/**
 * A notification email. `subject`, `heading` and each entry must already be inert (built with
 * oneLine/excerpt); this only lays them out and escapes them for HTML.
 */
export function composeMail(o: {
  subject: string
  heading: string
  entries: MailEntry[]
  /** why the user gets it, and what the unsubscribe link turns off */
  footer: string
  unsubscribe: string
}): ComposedMail {
  const subject = oneLine(o.subject, 200)
  const textLines = [o.heading, '']
  for (const e of o.entries) {
    textLines.push('- ' + e.line)
    if (e.detail) for (const l of e.detail.split('\n')) textLines.push('    ' + l)
    if (e.link) textLines.push('  ' + e.link)
  }
  textLines.push('', '--', o.footer, `Unsubscribe: ${o.unsubscribe}`, '')
  const li = o.entries
    .map((e) => {
      const detail = e.detail ? `<div style="margin:4px 0 0 0;color:#555;white-space:pre-wrap">${escapeHtml(e.detail)}</div>` : ''
      const link = e.link ? ` <a href="${escapeHtml(e.link)}">Open</a>` : ''
      return `<li style="margin:0 0 10px 0">${escapeHtml(e.line)}${link}${detail}</li>`
    })
    .join('\n')
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>
<body style="font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#222">
<p>${escapeHtml(o.heading)}</p>
<ul style="padding-left:18px">
${li}
</ul>
<hr style="border:none;border-top:1px solid #ddd">
<p style="font-size:12px;color:#777">${escapeHtml(o.footer)} <a href="${escapeHtml(o.unsubscribe)}">Unsubscribe</a></p>
</body></html>
`
  return {
    subject,
    text: textLines.join('\n'),
    html,
    headers: { 'List-Unsubscribe': `<${o.unsubscribe}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
  }
}
