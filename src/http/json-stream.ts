// Large JSON answers written as their rows arrive (issue 15, docs/performance.md), and the
// compression of large JSON answers.
//
// jsonArrayAnswer(reply, batches) turns an async sequence of batches (arrays of JSON values,
// or JsonText: elements already written as text, as the item lists are) into the bytes of ONE
// JSON array, byte for byte what JSON.stringify(allBatches.flat()) would write: each array
// batch is stringified once and its brackets dropped. The first batch (or the first 16 KB) is read before anything is sent:
// when the sequence ends with it (a small answer) the reply is one string (so Content-Length
// is set and the compression threshold applies); otherwise the reply is a stream that pulls one batch at a
// time (highWaterMark 1): memory per request is a couple of batches whatever the total, and a
// client that goes away stops the reading at the next batch (the stream is destroyed, the
// generator's `finally` runs).
//
// registerCompression(app): gzip and br negotiated with Accept-Encoding (@fastify/compress),
// for JSON answers of 1 KB or more only: never for files, pictures, event streams or small
// answers.
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply } from 'fastify'
import compress from '@fastify/compress'
import { isRawAnswer, type Answer } from '../platform/responses.js'
import { JsonText } from '../platform/json-text.js'

export const JSON_TYPE = 'application/json; charset=utf-8'
/** answers shorter than this are sent as they are */
export const COMPRESS_THRESHOLD_BYTES = 1024
/** an answer longer than this after its first batches is streamed; a shorter one is sent in one piece */
const STREAM_AFTER_BYTES = 16 * 1024

/** a batch: values (stringified here) or elements already written as text */
export type Batch = readonly unknown[] | JsonText

/** the elements of one batch as JSON text pieces, without the array's brackets (none for an
 *  empty batch); a JsonText's are taken from it, so only the array returned holds them */
function piecesOf(batch: Batch): string[] {
  if (batch instanceof JsonText) return batch.take()
  if (!batch.length) return []
  return [JSON.stringify(batch).slice(1, -1)]
}

/** the text chunks of the whole array: `[`, the batches joined by commas, `]` */
async function* arrayText(first: string, it: AsyncIterator<Batch>): AsyncGenerator<string> {
  let any = first.length > 0
  let pending = '[' + first
  try {
    for (;;) {
      const n = await it.next()
      if (n.done) break
      const pieces = piecesOf(n.value)
      for (let k = 0; k < pieces.length; k++) {
        pending += (any ? ',' : '') + pieces[k]
        // written pieces are freed at once, not when the whole batch is
        pieces[k] = ''
        any = true
        yield pending
        pending = ''
      }
    }
    yield pending + ']'
  } finally {
    // the client went away (or a read failed): end the source at once, so it reads nothing more
    await it.return?.()
  }
}

/**
 * The answer for a route handler to return: a JSON string when the whole array came in its
 * first batch, else a Readable that writes the array batch by batch. Sets the content type.
 */
export async function jsonArrayAnswer(reply: FastifyReply, batches: AsyncIterable<Batch>): Promise<string | Readable> {
  reply.type(JSON_TYPE)
  const it = batches[Symbol.asyncIterator]()
  let first = ''
  // read until STREAM_AFTER_BYTES of elements came (or the end): a small answer goes out in
  // one piece, a large one starts as soon as its first batch is written
  try {
    while (first.length < STREAM_AFTER_BYTES) {
      const n = await it.next()
      if (n.done) return '[' + first + ']'
      for (const s of piecesOf(n.value)) first = first ? first + ',' + s : s
    }
  } catch (e) {
    await it.return?.()
    throw e
  }
  return Readable.from(arrayText(first, it), { objectMode: false, highWaterMark: 1 })
}

/** gzip and br for JSON answers of COMPRESS_THRESHOLD_BYTES or more (streamed lists always are) */
export async function registerCompression(app: FastifyInstance) {
  // routes that answer bytes (file downloads, pictures, exports) are never compressed, whatever
  // their content type: this hook runs before the plugin's own, which skips `compress: false`
  app.addHook('onRoute', (r) => {
    const answer = (r.config as { answer?: Answer } | undefined)?.answer
    if (answer && isRawAnswer(answer)) r.compress = false
  })
  await app.register(compress, {
    global: true,
    encodings: ['br', 'gzip'],
    threshold: COMPRESS_THRESHOLD_BYTES,
    // JSON only: files (often compressed already), pictures, the event stream and the
    // metrics text are sent as they are
    customTypes: /^application\/json(;|$)/,
    // request bodies are read by src/http/params.ts: no decompression of uploads
    globalDecompression: false,
  })
}
