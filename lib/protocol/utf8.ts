/**
 * Incremental UTF-8 validation for text messages that arrive in pieces.
 * Whole characters are checked with `buffer.isUtf8` (memory speed); the few
 * bytes of a character cut off at the end of a piece are checked as a prefix
 * at once, so a bad sequence fails in the piece where its first wrong byte
 * arrives, not when the message ends (RFC 3629 section 4 table).
 */
import { isUtf8 } from 'node:buffer'

/** How many bytes a sequence starting with `lead` has, or 0 if `lead` cannot start one. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1
  if (lead < 0xc2) return 0
  if (lead < 0xe0) return 2
  if (lead < 0xf0) return 3
  if (lead < 0xf5) return 4
  return 0
}

/** Whether `byte` may stand at index `index` (1..3) of a sequence led by `lead`. */
function validContinuation(lead: number, index: number, byte: number): boolean {
  if (index === 1) {
    if (lead === 0xe0) return byte >= 0xa0 && byte <= 0xbf
    if (lead === 0xed) return byte >= 0x80 && byte <= 0x9f
    if (lead === 0xf0) return byte >= 0x90 && byte <= 0xbf
    if (lead === 0xf4) return byte >= 0x80 && byte <= 0x8f
  }
  return (byte & 0xc0) === 0x80
}

/** Incremental UTF-8 validation: bytes fed in pieces, failing at the first invalid sequence, a character split between pieces held back. */
export class Utf8Validator {
  /** Bytes of a character begun in an earlier piece. */
  #partial = Buffer.allocUnsafe(4)
  #partialLength = 0
  #needed = 0

  /** Feeds the next piece; false as soon as the text so far cannot be UTF-8. */
  push(piece: Uint8Array): boolean {
    let start = 0
    if (this.#partialLength > 0) {
      const lead = this.#partial[0]
      while (this.#partialLength < this.#needed && start < piece.length) {
        const byte = piece[start++]
        if (!validContinuation(lead, this.#partialLength, byte)) return false
        this.#partial[this.#partialLength++] = byte
      }
      if (this.#partialLength < this.#needed) return true
      this.#partialLength = 0
    }
    const end = piece.length
    const cut = this.#incompleteTail(piece, start, end)
    if (cut > start && !isUtf8(piece.subarray(start, cut))) return false
    return this.#keepTail(piece, cut, end)
  }

  /** True if the text ended on a character boundary; resets for the next message. */
  end(): boolean {
    const complete = this.#partialLength === 0
    this.#partialLength = 0
    return complete
  }

  /** Where a character that the piece does not finish begins (or `end`). */
  #incompleteTail(piece: Uint8Array, start: number, end: number): number {
    const stop = Math.max(start, end - 3)
    for (let i = end - 1; i >= stop; i--) {
      const byte = piece[i]
      if ((byte & 0xc0) !== 0x80) {
        const length = sequenceLength(byte)
        return length > end - i ? i : end
      }
    }
    return end
  }

  #keepTail(piece: Uint8Array, cut: number, end: number): boolean {
    if (cut === end) return true
    const lead = piece[cut]
    this.#needed = sequenceLength(lead)
    this.#partial[0] = lead
    this.#partialLength = 1
    for (let i = cut + 1; i < end; i++) {
      if (!validContinuation(lead, this.#partialLength, piece[i])) return false
      this.#partial[this.#partialLength++] = piece[i]
    }
    return true
  }
}
