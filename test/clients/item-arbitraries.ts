// The random items of the §8.1 round-trip properties (round-trip.test.ts over inject and the
// web client's encodings, round-trip-client.test.ts through the typed client): the fields both
// send, and the text and date forms they are made of. Each test adds its own (files, sharing,
// encodings, zones).
import fc from 'fast-check'

export const COLORS = ['#5e93c3', '#fc2f6a', '#fd9426', '#fecb2e', '#55ce2e', '#cb77df', '#a18460']

/** text a user may type: any characters but NUL; with `notNull`, never exactly `null`, which
 *  the web client's form encoding cannot tell from a null field (docs/transport.md) */
export const userText = (min: number, max: number, o: { notNull?: boolean } = {}) =>
  fc.string({ unit: 'grapheme', minLength: min, maxLength: max }).filter((s) => !s.includes('\0') && !(o.notNull && s === 'null') && (min === 0 || s.trim() !== ''))

/** an instant between 2000 and 2040 in one of the written forms of contract §1: ISO in UTC,
 *  with `offset`, a day, or a local time */
export const dateIn = (offset: string) =>
  fc.record({ ms: fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2040, 0, 1) }), form: fc.constantFrom('iso', 'offset', 'day', 'local') }).map(({ ms, form }) => {
    const iso = new Date(ms).toISOString()
    if (form === 'iso') return iso
    if (form === 'day') return iso.slice(0, 10)
    if (form === 'local') return iso.slice(0, 19)
    return iso.replace('Z', offset)
  })

/** the item fields both properties send, from `text`, `date` and the tag names to pick from */
export function itemFields(text: (min: number, max: number) => fc.Arbitrary<string>, date: fc.Arbitrary<string>, tagNames: string[]) {
  return {
    title: text(1, 40),
    message: fc.option(text(0, 120), { nil: null }),
    completed: fc.boolean(),
    color: fc.integer({ min: 0, max: 7 }),
    color_value: fc.constantFrom(...COLORS),
    priority: fc.oneof(fc.integer({ min: 10000, max: 39999 }), fc.integer({ min: -2147483648, max: 2147483647 })),
    start_date: fc.option(date, { nil: null }),
    end_date: fc.option(date, { nil: null }),
    due_date: fc.option(date, { nil: null }),
    is_all_day: fc.boolean(),
    recurring: fc.integer({ min: 0, max: 4 }),
    recurring_interval: fc.integer({ min: 1, max: 999 }),
    recurring_end_date: fc.option(date, { nil: null }),
    time_track: fc.boolean(),
    tags: fc.uniqueArray(fc.constantFrom(...tagNames), { maxLength: 4, comparator: (a, b) => a.toLowerCase() === b.toLowerCase() }),
    starred: fc.boolean(),
  }
}
