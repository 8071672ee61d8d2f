/**
 * FrameEncoder: a Transform from outbound messages and frames to bytes.
 *
 * A string becomes a text message, a Buffer or other Uint8Array a binary one;
 * an object with an `opcode` is framed as given (so decoded frame slices can
 * be re-encoded: decoder → encoder is a frame-level proxy). On the client
 * side every frame gets a fresh mask key and is masked into a new buffer: the
 * caller's bytes are never touched. Messages longer than `fragmentSize` go out
 * as several frames. A PreparedMessage (one broadcast to many connections)
 * arrives already framed: on the server side its shared frame bytes are
 * pushed as they are.
 *
 * Frame objects are checked before a byte of them is pushed: an opcode that
 * does not fit its four bits, a reserved opcode, or slices that do not add up
 * to the length their header declared fail the encoder (a callback error),
 * because bytes already sent cannot be taken back, and a stream that goes on
 * after a broken frame is corrupt from there to its end.
 */
import type { TransformCallback } from 'node:stream'
import {
  type OutboundFrame,
  type Role,
  MAX_CONTROL_PAYLOAD,
  Opcode,
  headerSize,
  isControl,
  isKnownOpcode,
  writeHeader,
} from '../protocol/frame'
import { Transform } from './streams'
import { applyMask, nextMaskKey } from '../protocol/mask'
import { isText } from '../protocol/text-bytes'
import { PreparedMessage } from '../protocol/prepared-message'

/** Options of a FrameEncoder. */
export interface FrameEncoderOptions {
  /** 'server' (the default) sends unmasked frames; 'client' masks every frame. */
  role?: Role
  /** Split messages into frames of at most this many payload bytes. Default: no splitting. */
  fragmentSize?: number
  /** Bytes buffered on the readable side before backpressure. Default 16 KiB. */
  readableHighWaterMark?: number
  /** Items (messages or frames) buffered on the writable side before write() returns false. Default 16. */
  writableHighWaterMark?: number
  /**
   * Send frame objects with reserved opcodes (3-7, 0xB-0xF), for an extension
   * that defines them. Default false: RFC 6455 gives them no meaning and a
   * peer must fail the connection on them, so a frame-level proxy refuses
   * to pass them on.
   */
  allowReservedOpcodes?: boolean
}

/**
 * Up to this size an unmasked frame's header and payload are copied into one
 * buffer; above it they leave as two chunks of one corked writev. A burst of
 * small frames is cheaper as one chunk each (fewer pieces for the writev);
 * from a few hundred bytes the copy costs more than it saves: a server
 * sending the same 1 KiB to 500 connections copied 100 MB into fresh memory
 * (0.8-1.0x ws deliveries/s on a machine with costly page faults, 1.3-1.6x
 * with this limit; bench/findings.md).
 */
const COPY_LIMIT = 256

/** What a FrameEncoder takes: a message (string for text, bytes for binary), a frame, or a PreparedMessage. */
export type Outbound = string | Uint8Array | OutboundFrame | PreparedMessage

/** From this many UTF-16 units, text is first tried as one byte per unit. */
const ENCODE_INTO_MIN = 1024
const encoder = new TextEncoder()
/** The longest frame header: 2 + 8 length bytes + 4 mask bytes. */
const MAX_HEADER = 14

const toBuffer = (data: Uint8Array): Buffer =>
  Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)

/** A Transform from outbound messages and control frames to bytes: masks on the client side, fragments large messages. */
export class FrameEncoder extends Transform {
  readonly #masked: boolean
  readonly #fragmentSize: number
  readonly #allowReservedOpcodes: boolean
  /** A frame being passed on slice by slice: its mask key and position. */
  #sliceKey: Buffer | null = null
  #sliceOffset = 0
  /** Its opcode, declared length and the bytes still owed to it; -1 when no such frame is open. */
  #sliceOpcode = 0
  #sliceLength = 0
  #sliceRemaining = -1

  constructor(options: FrameEncoderOptions = {}) {
    super({
      writableObjectMode: true,
      readableHighWaterMark: options.readableHighWaterMark ?? 16 * 1024,
      writableHighWaterMark: options.writableHighWaterMark ?? 16,
    })
    this.#masked = options.role === 'client'
    const fragmentSize = options.fragmentSize ?? Infinity
    // A fractional size would cut overlapping frames: subarray() rounds each end down.
    if (!(fragmentSize === Infinity || (Number.isSafeInteger(fragmentSize) && fragmentSize >= 1))) {
      throw new RangeError(`fragmentSize must be a positive integer or Infinity, not ${fragmentSize}`)
    }
    this.#fragmentSize = fragmentSize
    this.#allowReservedOpcodes = options.allowReservedOpcodes ?? false
  }

  override _transform(item: Outbound, _encoding: string, callback: TransformCallback): void {
    // A message written between the slices of a frame would land inside that frame's payload.
    const message = typeof item === 'string' || item instanceof Uint8Array || item instanceof PreparedMessage
    if (message && this.#sliceRemaining !== -1) {
      return callback(this.#unfinished())
    }
    if (typeof item === 'string') this.#text(item)
    else if (item instanceof PreparedMessage) this.#prepared(item)
    else if (item instanceof Uint8Array) this.#message(isText(item) ? Opcode.TEXT : Opcode.BINARY, toBuffer(item))
    else if (item !== null && typeof item === 'object' && typeof item.opcode === 'number') {
      const problem = this.#frameObject(item)
      if (problem) return callback(problem)
    } else {
      return callback(new TypeError('a FrameEncoder takes strings, Uint8Arrays or frame objects'))
    }
    callback()
  }

  #prepared(message: PreparedMessage): void {
    // A client masks each frame with a key of its own: nothing to share.
    if (this.#masked) return this.#message(message.opcode, message.payload)
    for (const frame of message.frames(this.#fragmentSize)) this.push(frame)
  }

  #text(text: string): void {
    if (text.length >= ENCODE_INTO_MIN && text.length <= this.#fragmentSize && this.#encodedOnce(text)) return
    const length = Buffer.byteLength(text)
    if (length > this.#fragmentSize) {
      this.#message(Opcode.TEXT, Buffer.from(text, 'utf8'))
      return
    }
    // Written straight into the frame buffer: no intermediate copy.
    const { frame, hlen, key } = this.#textFrame(length)
    frame.write(text, hlen, 'utf8')
    this.#finishText(frame, hlen, key)
  }

  /**
   * Encodes large text in one pass, without measuring it first (measuring is
   * as slow as encoding): into room for a quarter more bytes than UTF-16
   * units, behind space for the largest header, which is then written just in
   * front of the payload. False when the text needs more room than that.
   */
  #encodedOnce(text: string): boolean {
    const buffer = Buffer.allocUnsafe(MAX_HEADER + text.length + (text.length >>> 2))
    const { read, written } = encoder.encodeInto(text, buffer.subarray(MAX_HEADER))
    if (read !== text.length || written > this.#fragmentSize) return false
    const hlen = headerSize(written, this.#masked)
    const frame = buffer.subarray(MAX_HEADER - hlen, MAX_HEADER + written)
    const key = this.#masked ? nextMaskKey() : null
    writeHeader(frame, 0, true, false, Opcode.TEXT, written, key)
    this.#finishText(frame, hlen, key)
    return true
  }

  #textFrame(length: number): { frame: Buffer; hlen: number; key: Buffer | null } {
    const hlen = headerSize(length, this.#masked)
    const frame = Buffer.allocUnsafe(hlen + length)
    const key = this.#masked ? nextMaskKey() : null
    writeHeader(frame, 0, true, false, Opcode.TEXT, length, key)
    return { frame, hlen, key }
  }

  #finishText(frame: Buffer, hlen: number, key: Buffer | null): void {
    if (key) {
      const payload = frame.subarray(hlen)
      applyMask(payload, key, 0, payload)
    }
    this.push(frame)
  }

  #message(opcode: number, data: Buffer, rsv1 = false): void {
    const size = this.#fragmentSize
    if (data.length <= size) {
      this.#frame(true, rsv1, opcode, data)
      return
    }
    for (let start = 0; start < data.length; start += size) {
      const end = Math.min(start + size, data.length)
      // RFC 7692 section 6.1: RSV1 is set on the first frame of a compressed message only.
      this.#frame(end === data.length, rsv1 && start === 0, start === 0 ? opcode : Opcode.CONTINUATION, data.subarray(start, end))
    }
  }

  #frameObject(frame: OutboundFrame): Error | null {
    const opcode = frame.opcode
    // Four bits: anything larger would overwrite FIN and the RSV bits.
    if (!Number.isInteger(opcode) || opcode < 0 || opcode > 0xf) {
      return new RangeError(`opcode ${opcode} is not an integer from 0 to 15`)
    }
    // Section 5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail the
    // WebSocket Connection_." Sending one only gets the connection failed.
    if (!isKnownOpcode(opcode) && !this.#allowReservedOpcodes) {
      return new RangeError(`reserved opcode 0x${opcode.toString(16)} (set allowReservedOpcodes to send it)`)
    }
    if (frame.payload !== undefined && !(frame.payload instanceof Uint8Array)) {
      return new TypeError('a frame payload must be a Uint8Array')
    }
    const payload = toBuffer(frame.payload ?? Buffer.alloc(0))
    const first = frame.first !== false
    const last = frame.last !== false
    if (!first) return this.#nextSlice(opcode, last, payload)
    if (this.#sliceRemaining !== -1) return this.#unfinished()

    const length = frame.length ?? payload.length
    if (!Number.isSafeInteger(length) || length < 0) return new RangeError(`frame length ${length} is not a byte count`)
    if (payload.length > length || (last && payload.length < length)) {
      return new RangeError(`a frame declared as ${length} bytes carries ${payload.length}`)
    }
    const fin = frame.fin ?? true
    const rsv1 = frame.rsv1 ?? false
    if (isControl(opcode) && (!fin || length > MAX_CONTROL_PAYLOAD)) {
      return new RangeError('a control frame must be final and carry at most 125 bytes')
    }
    if (last) {
      if (frame.fragmentable && fin && (opcode === Opcode.TEXT || opcode === Opcode.BINARY)) this.#message(opcode, payload, rsv1)
      else this.#frame(fin, rsv1, opcode, payload)
      return null
    }
    // The first slice of a longer frame: the header goes out with it.
    this.#sliceKey = this.#masked ? nextMaskKey() : null
    this.#sliceOffset = 0
    this.#sliceOpcode = opcode
    this.#sliceLength = length
    this.#sliceRemaining = length
    const header = Buffer.allocUnsafe(headerSize(length, this.#masked))
    writeHeader(header, 0, fin, rsv1, opcode, length, this.#sliceKey)
    this.push(header)
    this.#slicePayload(payload, false)
    return null
  }

  /** A slice after the first of the open frame: it must fit what the header declared, and the last must fill it. */
  #nextSlice(opcode: number, last: boolean, payload: Buffer): Error | null {
    const remaining = this.#sliceRemaining
    if (remaining === -1) return new RangeError('a slice with first: false continues no frame: no frame was started')
    if (opcode !== this.#sliceOpcode) {
      return new RangeError(`a slice with opcode ${opcode} continues a frame with opcode ${this.#sliceOpcode}`)
    }
    if (payload.length > remaining) {
      return new RangeError(
        `a slice of ${payload.length} bytes runs past the frame's declared ${this.#sliceLength} bytes (${remaining} left)`,
      )
    }
    if (last && payload.length < remaining) {
      return new RangeError(
        `the last slice falls short: ${remaining - payload.length} of the frame's declared ${this.#sliceLength} bytes never came`,
      )
    }
    this.#slicePayload(payload, last)
    return null
  }

  /** The frame stays open until its `last` slice, even when no bytes are owed (an empty last slice may follow). */
  #slicePayload(payload: Buffer, last: boolean): void {
    if (payload.length > 0) {
      if (this.#sliceKey) {
        const masked = Buffer.allocUnsafe(payload.length)
        applyMask(payload, this.#sliceKey, this.#sliceOffset, masked)
        this.push(masked)
      } else {
        this.push(payload)
      }
    }
    this.#sliceOffset += payload.length
    this.#sliceRemaining = last ? -1 : this.#sliceRemaining - payload.length
  }

  #unfinished(): RangeError {
    return new RangeError(
      `a new frame or message began before the last slice of the current frame: ${this.#sliceRemaining} of its declared ${this.#sliceLength} bytes are still to come`,
    )
  }

  #frame(fin: boolean, rsv1: boolean, opcode: number, payload: Buffer): void {
    const length = payload.length
    const hlen = headerSize(length, this.#masked)
    if (this.#masked) {
      const key = nextMaskKey()
      const frame = Buffer.allocUnsafe(hlen + length)
      writeHeader(frame, 0, fin, rsv1, opcode, length, key)
      applyMask(payload, key, 0, frame.subarray(hlen))
      this.push(frame)
    } else if (length <= COPY_LIMIT) {
      const frame = Buffer.allocUnsafe(hlen + length)
      writeHeader(frame, 0, fin, rsv1, opcode, length, null)
      payload.copy(frame, hlen)
      this.push(frame)
    } else {
      const header = Buffer.allocUnsafe(hlen)
      writeHeader(header, 0, fin, rsv1, opcode, length, null)
      this.push(header)
      this.push(payload)
    }
  }
}
