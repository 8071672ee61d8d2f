/**
 * PreparedMessage: one message framed once, written to many connections.
 *
 * A broadcast writes the same message to every member of a group. Written as
 * a string or Buffer, each connection's encoder would encode the text to
 * UTF-8, allocate a frame and copy the payload into it, once per receiver. A
 * PreparedMessage does that work once: it holds the payload and, per
 * fragment size, the server's (unmasked) frame bytes, which every server
 * connection pushes to its socket as they are. The encoder stays the place
 * where bytes are made for the socket; it only finds them made already.
 *
 * What it cannot share it does not: a client connection masks every frame
 * with a fresh key, so there it is encoded like any other message. It always
 * goes out uncompressed, also on a connection with permessage-deflate (RFC
 * 7692 lets any message go uncompressed): compressing it per connection is
 * the per-receiver work it exists to avoid, and with context takeover no two
 * connections' compressed forms are the same.
 *
 * It is an OutboundFrame too (a whole, fragmentable message), so any stage
 * that passes frame objects on passes it on untouched.
 */
import { Opcode, headerSize, writeHeader } from './frame'
import { isText, markText } from './text-bytes'

/** Up to this size header and payload share one buffer; above it the payload is not copied again (as in the encoder). */
const COPY_LIMIT = 2 * 1024

/** A message encoded once into frames, to be written to many connections (broadcasts) without encoding it again for each. */
export class PreparedMessage {
  readonly opcode: typeof Opcode.TEXT | typeof Opcode.BINARY
  /** The message's bytes: its own copy, so later changes to the caller's buffer cannot reach the wire. */
  readonly payload: Buffer
  /** Lets an encoder with `fragmentSize` split it, like any message (see OutboundFrame). */
  readonly fragmentable = true
  /** Frames by fragment size: a connection's fragmentSize is fixed, so there are rarely more than one. */
  readonly #frames = new Map<number, readonly Buffer[]>()

  /** A string or bytes marked as text (asText) make a text message; other bytes a binary one. */
  constructor(message: string | Uint8Array) {
    if (typeof message === 'string') {
      this.opcode = Opcode.TEXT
      this.payload = markText(Buffer.from(message, 'utf8'))
    } else if (message instanceof Uint8Array) {
      this.opcode = isText(message) ? Opcode.TEXT : Opcode.BINARY
      const copy = Buffer.from(message)
      this.payload = this.opcode === Opcode.TEXT ? markText(copy) : copy
    } else {
      throw new TypeError('a PreparedMessage is made from a string or a Uint8Array')
    }
  }

  get text(): boolean {
    return this.opcode === Opcode.TEXT
  }

  /** The payload's size in bytes. */
  get byteLength(): number {
    return this.payload.length
  }

  /**
   * The message as unmasked frames of at most `fragmentSize` payload bytes,
   * made on the first call for that size and shared after it. Callers must
   * not change them.
   */
  frames(fragmentSize = Infinity): readonly Buffer[] {
    let frames = this.#frames.get(fragmentSize)
    if (frames === undefined) {
      if (!(fragmentSize === Infinity || (Number.isSafeInteger(fragmentSize) && fragmentSize >= 1))) {
        throw new RangeError(`fragmentSize must be a positive integer or Infinity, not ${fragmentSize}`)
      }
      frames = this.#encode(fragmentSize)
      this.#frames.set(fragmentSize, frames)
    }
    return frames
  }

  #encode(fragmentSize: number): Buffer[] {
    const payload = this.payload
    const frames: Buffer[] = []
    let start = 0
    do {
      const end = Math.min(start + fragmentSize, payload.length)
      const fin = end === payload.length
      const opcode = start === 0 ? this.opcode : Opcode.CONTINUATION
      const part = payload.subarray(start, end)
      const hlen = headerSize(part.length, false)
      if (part.length <= COPY_LIMIT) {
        const frame = Buffer.allocUnsafe(hlen + part.length)
        writeHeader(frame, 0, fin, false, opcode, part.length, null)
        part.copy(frame, hlen)
        frames.push(frame)
      } else {
        const header = Buffer.allocUnsafe(hlen)
        writeHeader(header, 0, fin, false, opcode, part.length, null)
        frames.push(header, part)
      }
      start = end
    } while (start < payload.length)
    return frames
  }
}
