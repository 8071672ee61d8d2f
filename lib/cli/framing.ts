/**
 * How a byte stream (stdin, a child's stdout, a TCP connection) is cut into
 * messages, and how received messages become bytes again: lines (the
 * default), NUL-terminated records, 4-byte length-prefixed records, chunks
 * as they come, or the whole stream as one message.
 */
import { isUtf8 } from 'node:buffer'
import { Transform, type TransformCallback } from 'node:stream'

export interface Framing {
  /** The byte that ends a record (newline or NUL), or null: no delimiter. */
  delimiter: number | null
  /** Records are a 4-byte big-endian length, then that many bytes. */
  lengthPrefixed: boolean
  /** The whole input is one message (streamed as it is read). */
  whole: boolean
  /** Messages sent are binary; otherwise text, checked as UTF-8. */
  binary: boolean
}

export const NEWLINE = 0x0a
export const NUL = 0x00

/** A record that cannot become a message; `reason` is short enough for a close reason. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message)
    this.name = 'InputError'
  }
}

const recordName = (framing: Framing) =>
  framing.lengthPrefixed ? 'record' : framing.delimiter === NEWLINE ? 'line' : framing.delimiter === NUL ? 'NUL-terminated record' : 'chunk'

/**
 * Bytes in, one message per record out (a string for text, a Buffer for
 * binary). A record is never held beyond `maxRecord` bytes: a longer one is
 * an error, not an unbounded buffer.
 */
export class RecordSplitter extends Transform {
  /** The bytes of the record being read, not yet delimited. */
  #pending: Buffer[] = []
  #pendingLength = 0
  /** With length prefixes: the length of the record being read, once its prefix is in. */
  #expected: number | null = null
  #count = 0

  constructor(
    private readonly framing: Framing,
    private readonly maxRecord: number,
  ) {
    super({ readableObjectMode: true, readableHighWaterMark: 16 })
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      if (this.framing.lengthPrefixed) this.#prefixed(chunk)
      else if (this.framing.delimiter === null) this.#emit(chunk)
      else this.#delimited(chunk, this.framing.delimiter)
      callback()
    } catch (error) {
      callback(error as Error)
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.framing.lengthPrefixed && (this.#expected !== null || this.#pendingLength > 0)) {
        const of = this.#expected === null ? 'its 4-byte length' : `${this.#expected} bytes`
        throw new InputError(`the input ended inside a record (${this.#pendingLength} bytes of ${of})`, 'input ended inside a record')
      }
      // The last line needs no newline after it.
      if (!this.framing.lengthPrefixed && this.#pendingLength > 0) this.#emit(this.#take(this.#pendingLength))
      callback()
    } catch (error) {
      callback(error as Error)
    }
  }

  #delimited(chunk: Buffer, delimiter: number): void {
    let start = 0
    for (let end = chunk.indexOf(delimiter); end !== -1; end = chunk.indexOf(delimiter, start)) {
      this.#hold(chunk.subarray(start, end))
      this.#emit(this.#take(this.#pendingLength))
      start = end + 1
    }
    this.#hold(chunk.subarray(start))
  }

  #prefixed(chunk: Buffer): void {
    this.#pending.push(chunk)
    this.#pendingLength += chunk.length
    for (;;) {
      if (this.#expected === null) {
        if (this.#pendingLength < 4) return
        this.#expected = this.#take(4).readUInt32BE(0)
        this.#checkSize(this.#expected)
      }
      if (this.#pendingLength < this.#expected) return
      const record = this.#take(this.#expected)
      this.#expected = null
      this.#emit(record)
    }
  }

  #hold(bytes: Buffer): void {
    if (bytes.length === 0) return
    this.#checkSize(this.#pendingLength + bytes.length)
    this.#pending.push(bytes)
    this.#pendingLength += bytes.length
  }

  #checkSize(size: number): void {
    if (size > this.maxRecord) {
      const name = recordName(this.framing)
      throw new InputError(
        `${name} ${this.#count + 1} of the input is over the largest message size (${this.maxRecord} bytes; see --max-message-size)`,
        `input ${name} too long`,
      )
    }
  }

  /** The first `length` pending bytes, as one Buffer. */
  #take(length: number): Buffer {
    const all = this.#pending.length === 1 ? this.#pending[0] : Buffer.concat(this.#pending, this.#pendingLength)
    const taken = all.subarray(0, length)
    const rest = all.subarray(length)
    this.#pending = rest.length > 0 ? [rest] : []
    this.#pendingLength = rest.length
    return taken
  }

  #emit(record: Buffer): void {
    this.#count++
    if (this.framing.binary) {
      // A view into a pooled or reused chunk would be changed under the message: keep a copy of its own.
      this.push(Buffer.from(record))
      return
    }
    if (!isUtf8(record)) {
      throw new InputError(
        `${recordName(this.framing)} ${this.#count} of the input is not valid UTF-8 (send bytes as binary messages with -b)`,
        'input is not UTF-8',
      )
    }
    this.push(record.toString('utf8'))
  }
}

/** The bytes that go out before and after a received message of `length` bytes. */
export function recordEnds(framing: Framing, length: number): { before: Buffer | null; after: Buffer | null } {
  if (framing.lengthPrefixed) {
    const prefix = Buffer.alloc(4)
    prefix.writeUInt32BE(length)
    return { before: prefix, after: null }
  }
  return { before: null, after: framing.delimiter === null ? null : Buffer.from([framing.delimiter]) }
}

/** The largest message a length prefix can announce. */
export const MAX_PREFIXED_LENGTH = 2 ** 32 - 1
