// Elements of a JSON array already written as text (issue 15, docs/performance.md): the long
// item lists are rendered by PostgreSQL (src/items/json-repository.ts), and what waits to be
// written is that text, never objects. Domain code builds it; the HTTP layer writes it
// (src/http/json-stream.ts).

/** items per piece: each piece stays well under V8's large-object size (128 KB), so it is
 *  allocated young and freed by the next scavenge once written */
const PIECE_ITEMS = 64

/** the elements, in pieces (each without brackets; the pieces are joined by commas) */
export class JsonText {
  private constructor(private pieces: string[]) {}

  /** from the JSON text of each element */
  static ofElements(elements: readonly string[]): JsonText {
    const pieces: string[] = []
    for (let k = 0; k < elements.length; k += PIECE_ITEMS) pieces.push(elements.slice(k, k + PIECE_ITEMS).join(','))
    return new JsonText(pieces)
  }

  /** the pieces, once: the JsonText keeps no reference to them, so each can be freed as soon
   *  as it is written (a batch waiting to be written holds its text here, nowhere else) */
  take(): string[] {
    const p = this.pieces
    this.pieces = []
    return p
  }
}
