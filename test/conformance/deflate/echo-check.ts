/**
 * The echoes of a section 12/13 case, checked as they arrive and then
 * forgotten: each must be the next message sent, by type, length and SHA-1,
 * so 1000 messages of 128 KiB never sit in memory. Also counts which echoes
 * came compressed: the testee runs with the default threshold (1024), so
 * every echo of at least that many bytes must be compressed; shorter ones may
 * come either way, which a note records.
 */
import { createHash } from 'node:crypto'

/** The library's default permessage-deflate threshold, which the testee runs with. */
export const TESTEE_THRESHOLD = 1024
/** At most this many mismatches are spelled out; the rest are counted. */
const SHOWN = 3

type Kind = 'text' | 'binary'
const sha1 = (data: Buffer) => createHash('sha1').update(data).digest('hex')

export class EchoCheck {
  readonly #expected: Array<{ type: Kind; length: number; sha1: string }> = []
  readonly #problems: string[] = []
  #mismatches = 0
  /** Echoes that have come back, right or wrong. */
  arrived = 0
  #small = 0
  #smallCompressed = 0

  expect(type: Kind, message: Buffer): void {
    this.#expected.push({ type, length: message.length, sha1: sha1(message) })
  }

  /** A whole message from the testee, already inflated if it came compressed. */
  received(type: Kind, data: Buffer, compressed: boolean): void {
    const n = ++this.arrived
    const want = this.#expected.shift()
    if (!want) return this.#problem(`unexpected ${type} message (${data.length} B) after the ${n - 1} echoes due`)
    if (type !== want.type) this.#problem(`echo ${n}: a ${type} message, expected ${want.type}`)
    else if (data.length !== want.length) this.#problem(`echo ${n}: ${data.length} bytes, expected ${want.length}`)
    else if (sha1(data) !== want.sha1) this.#problem(`echo ${n}: the ${data.length} bytes differ from those sent (SHA-1)`)
    if (data.length < TESTEE_THRESHOLD) {
      this.#small++
      if (compressed) this.#smallCompressed++
    } else if (!compressed) {
      this.#problem(`echo ${n} (${data.length} B) came uncompressed; the testee compresses every message of ${TESTEE_THRESHOLD} B or more`)
    }
  }

  /** Findings that are not faults: how many short echoes were compressed. */
  notes(): string[] {
    if (this.#small === 0) return []
    return [`${this.#smallCompressed} of ${this.#small} echoes under ${TESTEE_THRESHOLD} B came compressed`]
  }

  /** Every problem, with repeats beyond the first few counted. */
  findings(): string[] {
    const hidden = this.#mismatches - this.#problems.length
    return hidden > 0 ? [...this.#problems, `and ${hidden} more echo problems`] : [...this.#problems]
  }

  #problem(text: string): void {
    if (++this.#mismatches <= SHOWN) this.#problems.push(text)
  }
}
