/**
 * The suite's own wire codec, independent of the library under test: a frame
 * writer (masked or not) and an incremental frame parser. Both are
 * deliberately literal, so what the suite sends and judges is exactly what
 * RFC 6455 section 5.2 describes, not what the library believes.
 */
import { randomBytes } from 'node:crypto'

export const OP = { CONTINUATION: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const

/** A frame as a case describes it; the sending side decides about masking. */
export interface FrameSpec {
  opcode: number
  payload: Buffer
  /** Default true. */
  fin?: boolean
  /** RSV1..RSV3 as a 3-bit number (RSV1 is 4). Default 0. */
  rsv?: number
}

/** A frame as it arrived, payload already unmasked. */
export interface WireFrame {
  fin: boolean
  rsv: number
  opcode: number
  masked: boolean
  maskKey: Buffer | null
  payload: Buffer
}

/** Header size of a frame carrying `length` payload bytes. */
export function headerLength(length: number, masked: boolean): number {
  return 2 + (length < 126 ? 0 : length < 65536 ? 2 : 8) + (masked ? 4 : 0)
}

/** Serialises one frame; with `mask`, a fresh random key is used and the caller's payload is left alone. */
export function encodeFrame(frame: FrameSpec, mask: boolean): Buffer {
  const { payload } = frame
  const length = payload.length
  const head = headerLength(length, mask)
  const out = Buffer.allocUnsafe(head + length)
  out[0] = (frame.fin === false ? 0 : 0x80) | (((frame.rsv ?? 0) & 7) << 4) | (frame.opcode & 0x0f)
  const extended = length < 126 ? 0 : length < 65536 ? 2 : 8
  out[1] = (mask ? 0x80 : 0) | (extended === 0 ? length : extended === 2 ? 126 : 127)
  if (extended === 2) out.writeUInt16BE(length, 2)
  else if (extended === 8) out.writeBigUInt64BE(BigInt(length), 2)
  if (!mask) {
    payload.copy(out, head)
    return out
  }
  const key = randomBytes(4)
  key.copy(out, head - 4)
  for (let i = 0; i < length; i++) out[head + i] = payload[i] ^ key[i & 3]
  return out
}

/** Frames bigger than this are not something any case provokes: the parser stops there. */
const MAX_PARSED_FRAME = 64 * 1024 * 1024

/**
 * Turns a byte stream into whole frames. Chunks are queued and copied once a
 * frame is complete, so a 16 MiB echo arriving in small reads stays linear.
 */
export class FrameParser {
  #chunks: Buffer[] = []
  #buffered = 0
  #header: Omit<WireFrame, 'payload'> & { length: number } | null = null
  /** Set when the stream cannot be parsed any further. */
  broken: string | null = null

  push(chunk: Buffer): WireFrame[] {
    const frames: WireFrame[] = []
    if (this.broken) return frames
    this.#chunks.push(chunk)
    this.#buffered += chunk.length
    for (;;) {
      if (!this.#header && !this.#readHeader()) break
      const header = this.#header!
      if (this.#buffered < header.length) break
      const payload = this.#take(header.length)
      if (header.maskKey) for (let i = 0; i < payload.length; i++) payload[i] ^= header.maskKey[i & 3]
      const { length: _length, ...rest } = header
      frames.push({ ...rest, payload })
      this.#header = null
    }
    return frames
  }

  /** Bytes received but not yet part of a whole frame. */
  get pending(): number {
    return this.#buffered
  }

  #readHeader(): boolean {
    if (this.#buffered < 2) return false
    const first = this.#peek(2)
    const masked = (first[1] & 0x80) !== 0
    const short = first[1] & 0x7f
    const extended = short === 126 ? 2 : short === 127 ? 8 : 0
    const size = 2 + extended + (masked ? 4 : 0)
    if (this.#buffered < size) return false
    const head = this.#take(size)
    let length = short
    if (extended === 2) length = head.readUInt16BE(2)
    else if (extended === 8) {
      const big = head.readBigUInt64BE(2)
      if (big > BigInt(MAX_PARSED_FRAME)) {
        this.broken = `frame header declares ${big} payload bytes`
        return false
      }
      length = Number(big)
    }
    this.#header = {
      fin: (head[0] & 0x80) !== 0,
      rsv: (head[0] >> 4) & 7,
      opcode: head[0] & 0x0f,
      masked,
      maskKey: masked ? Buffer.from(head.subarray(2 + extended, size)) : null,
      length,
    }
    return true
  }

  #peek(n: number): Buffer {
    if (this.#chunks[0].length >= n) return this.#chunks[0].subarray(0, n)
    const joined = Buffer.concat(this.#chunks)
    this.#chunks = [joined]
    return joined.subarray(0, n)
  }

  /** Removes exactly `n` bytes from the queue, as one new buffer. */
  #take(n: number): Buffer {
    const out = Buffer.allocUnsafe(n)
    let filled = 0
    while (filled < n) {
      const head = this.#chunks[0]
      const used = Math.min(head.length, n - filled)
      head.copy(out, filled, 0, used)
      filled += used
      if (used === head.length) this.#chunks.shift()
      else this.#chunks[0] = head.subarray(used)
    }
    this.#buffered -= n
    return out
  }
}

/** Close codes an endpoint may put on the wire (RFC 6455 section 7.4, and the IANA registry). */
export function isSendableCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)
}

/** A CLOSE payload: a 2-byte code and a reason. */
export function closePayload(code: number, reason: string | Buffer = ''): Buffer {
  const head = Buffer.alloc(2)
  head.writeUInt16BE(code, 0)
  return Buffer.concat([head, typeof reason === 'string' ? Buffer.from(reason, 'utf8') : reason])
}
