// JSON from clients (contract §15): nesting deeper than MAX_JSON_DEPTH is refused before it
// is parsed (400/46: a deep value would overflow the stack of whatever walks it later), and
// the keys `__proto__`, `constructor` and `prototype` are dropped at every level, so they are
// never read as parameters nor copied into objects that would take them as a prototype.
import { errors } from './errors.js'

export const MAX_JSON_DEPTH = 64
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype'])

/** true when `text`, read as JSON, nests arrays/objects deeper than `max` (strings skipped) */
export function jsonDepthExceeds(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22) {
      // a string: jump to its closing quote, one not escaped by an odd run of backslashes
      let j = i
      for (;;) {
        j = text.indexOf('"', j + 1)
        if (j < 0) return false // unterminated: not JSON, the parser says so
        let backslashes = 0
        while (text.charCodeAt(j - 1 - backslashes) === 0x5c) backslashes++
        if (backslashes % 2 === 0) break
      }
      i = j
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true
    } else if (c === 0x7d || c === 0x5d) depth--
  }
  return false
}

const dropForbidden = (key: string, value: unknown) => (FORBIDDEN_KEYS.has(key) ? undefined : value)
// a key can be spelled with escapes ("\u005f_proto__"): then the reviver runs too
const MAY_HOLD_FORBIDDEN = /__proto__|constructor|prototype|\\u/

/** JSON.parse for client input: 400/46 when nested too deep or not JSON; forbidden keys dropped */
export function parseClientJson(text: string): unknown {
  const r = tryParseClientJson(text)
  if (!r.ok) throw errors.invalidJsonBody()
  return r.value
}

/**
 * As parseClientJson, for a value that may or may not be JSON text (a field that accepts a
 * JSON string, contract §1): `ok: false` when it does not parse; still 400/46 when nested too deep.
 */
export function tryParseClientJson(text: string): { ok: true; value: unknown } | { ok: false } {
  if (jsonDepthExceeds(text)) throw errors.invalidJsonBody()
  try {
    return { ok: true, value: MAY_HOLD_FORBIDDEN.test(text) ? JSON.parse(text, dropForbidden) : JSON.parse(text) }
  } catch {
    return { ok: false }
  }
}
