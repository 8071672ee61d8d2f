/**
 * MessageAssembler: a Transform from frame slices to messages (RFC 6455
 * section 5.4). A text message comes out as a string, a binary one as a
 * Buffer; control frames pass through between them, in order, as
 * ControlFrame objects for the owner to answer.
 *
 * Text is validated as it arrives, so invalid UTF-8 fails in the slice that
 * holds the bad byte, while the rest of the frame is still on the wire.
 * Limits are checked against declared lengths before payload arrives.
 */
import type { TransformCallback } from 'node:stream'
import { isAscii } from 'node:buffer'
import { Transform } from './streams'
import { parseClosePayload } from '../protocol/close'
import { ControlFrame } from '../protocol/control-frame'
import { DrainGate } from './drain-gate'
import { WebSocketError, invalidUtf8, protocolError, tooBig } from '../protocol/errors'
import { type FrameSlice, Opcode, isControl } from '../protocol/frame'
import { FragmentBuffer } from './fragment-buffer'
import { DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_MESSAGE_SIZE } from '../protocol/limits'
import { markText } from '../protocol/text-bytes'
import { Utf8Validator } from '../protocol/utf8'

export interface MessageAssemblerOptions {
  /** The largest message, in bytes; larger fails with 1009. Default 100 MiB. */
  maxMessageSize?: number
  /** The most frames one message may span; more fails with 1009. Default 1,048,576. */
  maxFragments?: number
  /** Messages buffered on the readable side before backpressure. Default 16. */
  readableHighWaterMark?: number
  /**
   * Emit text messages as Buffers that `isText()` recognizes instead of
   * strings (still validated as UTF-8). Default false.
   */
  textAsBytes?: boolean
}

/** Frames from this size on are assembled in a buffer of their own size. */
const RESERVE_MIN = 64 * 1024

/** From this size, text is checked for plain ASCII before decoding. */
const ASCII_CHECK_MIN = 1024

/** What the assembler emits: a text message, a binary message or a control frame. */
export type AssembledItem = string | Buffer | ControlFrame

export class MessageAssembler extends Transform {
  readonly #maxMessageSize: number
  readonly #maxFragments: number
  readonly #textAsBytes: boolean
  readonly #gate: DrainGate

  /** TEXT or BINARY while a message is in progress, else 0. */
  #opcode = 0
  #fragments = 0
  readonly #data = new FragmentBuffer()
  readonly #utf8 = new Utf8Validator()
  /** A control frame's payload that arrived in more than one slice. */
  #control: Buffer[] = []
  /** After a CLOSE, nothing more is delivered (section 1.4). */
  #closed = false

  constructor(options: MessageAssemblerOptions = {}) {
    super({
      writableObjectMode: true,
      readableObjectMode: true,
      readableHighWaterMark: options.readableHighWaterMark ?? 16,
    })
    this.#maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE
    this.#maxFragments = options.maxFragments ?? DEFAULT_MAX_FRAGMENTS
    this.#textAsBytes = options.textAsBytes ?? false
    this.#gate = new DrainGate(this)
  }

  /** True once a CLOSE frame has been passed on. */
  get closeReceived(): boolean {
    return this.#closed
  }

  override read(size?: number) {
    const item = super.read(size)
    this.#gate.check()
    return item
  }

  override _transform(slice: FrameSlice, _encoding: string, callback: TransformCallback): void {
    if (this.#closed) return callback()
    try {
      if (isControl(slice.opcode)) this.#controlSlice(slice)
      else this.#dataSlice(slice)
    } catch (err) {
      if (!(err instanceof WebSocketError)) throw err
      this.#data.clear()
      this.#gate.hold(() => callback(err))
      return
    }
    callback()
  }

  #controlSlice(slice: FrameSlice): void {
    if (!slice.last) {
      this.#control.push(Buffer.from(slice.payload))
      return
    }
    const parts = this.#control
    // Copied: a control payload is tiny and must not pin the socket's buffer.
    const payload = parts.length === 0 ? Buffer.from(slice.payload) : Buffer.concat([...parts, slice.payload])
    this.#control = []
    if (slice.opcode === Opcode.PING) this.push(new ControlFrame('ping', payload))
    else if (slice.opcode === Opcode.PONG) this.push(new ControlFrame('pong', payload))
    else {
      const close = parseClosePayload(payload)
      if (close instanceof WebSocketError) throw close
      this.#closed = true
      this.push(new ControlFrame('close', payload, close.code, close.reason))
    }
  }

  #dataSlice(slice: FrameSlice): void {
    if (slice.first) this.#startFrame(slice)
    const payload = slice.payload
    if (this.#opcode === Opcode.TEXT && !this.#utf8.push(payload)) throw invalidUtf8()

    if (slice.last && slice.fin && this.#data.size === 0) {
      // The whole message is this one slice: no copy.
      this.#deliver(payload)
      return
    }
    // A large frame arriving in pieces ends up in one buffer of its declared size rather
    // than concatenated at the end; the buffer waits until half the frame is here, so a
    // header that declares much and a peer that sends little cost little.
    if (slice.first && !slice.last && slice.length >= RESERVE_MIN) this.#data.reserve(slice.length)
    this.#data.append(payload)
    if (slice.last && slice.fin) this.#deliver(this.#data.take())
  }

  #startFrame(slice: FrameSlice): void {
    if (slice.opcode === Opcode.CONTINUATION) {
      if (this.#opcode === 0) {
        throw protocolError('WS_ERR_UNEXPECTED_CONTINUATION', 'continuation frame with no message in progress')
      }
    } else {
      if (this.#opcode !== 0) {
        throw protocolError('WS_ERR_EXPECTED_CONTINUATION', 'new data frame while a fragmented message is in progress')
      }
      this.#opcode = slice.opcode
      this.#fragments = 0
    }
    if (++this.#fragments > this.#maxFragments) {
      throw tooBig('WS_ERR_TOO_MANY_FRAGMENTS', `message spans more than ${this.#maxFragments} frames`)
    }
    // Judged on the declared length, before the payload is here.
    if (this.#data.size + slice.length > this.#maxMessageSize) {
      throw tooBig('WS_ERR_MESSAGE_TOO_LARGE', `message exceeds the limit of ${this.#maxMessageSize} bytes`)
    }
  }

  #deliver(bytes: Buffer): void {
    const text = this.#opcode === Opcode.TEXT
    this.#opcode = 0
    if (text) {
      if (!this.#utf8.end()) throw invalidUtf8()
      if (this.#textAsBytes) {
        this.push(markText(bytes))
        return
      }
      // ASCII decodes as Latin-1 about three times faster; the check costs ~1%.
      this.push(bytes.length >= ASCII_CHECK_MIN && isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8'))
    } else {
      this.push(bytes)
    }
  }
}
