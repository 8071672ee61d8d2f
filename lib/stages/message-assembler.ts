/**
 * MessageAssembler: a Transform from frame slices to messages (RFC 6455
 * section 5.4). A text message comes out as a string, a binary one as a
 * Buffer; control frames pass through between them, in order, as
 * ControlFrame objects for the owner to answer.
 *
 * Text is validated as it arrives, so invalid UTF-8 fails in the slice that
 * holds the bad byte, while the rest of the frame is still on the wire.
 * Limits are checked against declared lengths before payload arrives.
 *
 * Stream mode (`streamMessages`): a message (every one, or each whose first
 * frame is over a threshold) comes out as a MessageStream as soon as its
 * first frame arrives, and its bytes flow into that stream as slices come;
 * the assembler takes no more slices while the stream's reader is behind,
 * and none of the next message until the stream has ended or been
 * destroyed (see message-stream.ts).
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
import { CloseStatus } from '../protocol/errors'
import { MessageStream } from './message-stream'

/** Options of a MessageAssembler. */
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
  /**
   * Deliver messages as MessageStreams: `true` for every message, or
   * `{ threshold }` for each message whose first frame is longer than
   * `threshold` bytes (smaller ones come whole). Default false.
   */
  streamMessages?: boolean | { threshold: number }
  /**
   * The largest streamed message, in bytes; larger fails with 1009. It is
   * not held in memory, so it may be far above `maxMessageSize`; Infinity
   * for no limit. Default 4 GiB.
   */
  maxStreamedMessageSize?: number
  /** Bytes a message stream buffers before the assembler waits for its reader. Default 64 KiB. */
  messageStreamHighWaterMark?: number
}

/** The default limit on a streamed message: 4 GiB. */
export const DEFAULT_MAX_STREAMED_MESSAGE_SIZE = 2 ** 32

/** Frames from this size on are assembled in a buffer of their own size. */
const RESERVE_MIN = 64 * 1024

/** From this size, text is checked for plain ASCII before decoding. */
const ASCII_CHECK_MIN = 1024

/** What the assembler emits: a text message, a binary message or a control frame (or, in stream mode, a MessageStream). */
export type AssembledItem = string | Buffer | ControlFrame | MessageStream

/** A Transform from frame slices to messages: joins fragments, validates UTF-8 as it arrives, enforces the message limits, and passes control frames on in order. */
export class MessageAssembler extends Transform {
  readonly #maxMessageSize: number
  readonly #maxFragments: number
  readonly #textAsBytes: boolean
  readonly #gate: DrainGate
  /** Stream messages whose first frame is longer than this; -1: stream mode off. */
  readonly #streamOver: number
  readonly #maxStreamedMessageSize: number
  readonly #streamHighWaterMark: number | undefined

  /** The message being streamed, if any. */
  #stream: MessageStream | null = null
  /** Bytes of the streamed message so far (declared lengths of its frames). */
  #streamSize = 0
  /** The callback of a slice held until the stream's reader wants more. */
  #waiting: TransformCallback | null = null

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
    const streaming = options.streamMessages ?? false
    if (typeof streaming === 'object' && streaming !== null) {
      const { threshold } = streaming
      if (!(Number.isSafeInteger(threshold) && threshold >= 0)) {
        throw new RangeError(`streamMessages.threshold must be a non-negative integer, not ${String(threshold)}`)
      }
      this.#streamOver = threshold
    } else if (typeof streaming === 'boolean') {
      this.#streamOver = streaming ? 0 : -1
    } else {
      throw new TypeError('streamMessages must be a boolean or { threshold }')
    }
    this.#maxStreamedMessageSize = options.maxStreamedMessageSize ?? DEFAULT_MAX_STREAMED_MESSAGE_SIZE
    this.#streamHighWaterMark = options.messageStreamHighWaterMark
    this.#gate = new DrainGate(this)
  }

  /** Between messages with nothing buffered: dropping the assembler now loses nothing. */
  get idle(): boolean {
    return this.#opcode === 0 && this.#stream === null && this.#waiting === null && this.#control.length === 0 &&
      this.writableLength === 0 && this.readableLength === 0
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
      else if (this.#stream !== null || this.#startsStream(slice)) return this.#streamSlice(slice, callback)
      else this.#dataSlice(slice)
    } catch (err) {
      if (!(err instanceof WebSocketError)) throw err
      this.#data.clear()
      this.#abortStream(() => err)
      this.#gate.hold(() => callback(err))
      return
    }
    callback()
  }

  override _flush(callback: TransformCallback): void {
    this.#abortStream(() => new WebSocketError('WS_ERR_ABNORMAL_CLOSURE', CloseStatus.ABNORMAL, 'the connection ended in the middle of a streamed message'))
    callback()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#abortStream(() => error ?? new WebSocketError('WS_ERR_ABNORMAL_CLOSURE', CloseStatus.ABNORMAL, 'the connection closed in the middle of a streamed message'))
    callback(error)
  }

  /** Whether this slice begins a message that stream mode delivers as a stream. */
  #startsStream(slice: FrameSlice): boolean {
    return this.#streamOver !== -1 && slice.first && slice.opcode !== Opcode.CONTINUATION &&
      this.#opcode === 0 && (this.#streamOver === 0 || slice.length > this.#streamOver)
  }

  /** A slice of a streamed message: checked, then handed to its stream; the callback waits for the reader. */
  #streamSlice(slice: FrameSlice, callback: TransformCallback): void {
    if (slice.first) {
      const starts = slice.opcode !== Opcode.CONTINUATION
      if (starts) this.#streamSize = 0
      // The same checks as for a whole message, under the streamed limit.
      this.#startFrame(slice, this.#streamSize, this.#maxStreamedMessageSize)
      this.#streamSize += slice.length
      if (starts) {
        this.#stream = new MessageStream(slice.opcode === Opcode.BINARY, this.#onDemand, this.#streamHighWaterMark)
        this.#stream.once('close', this.#onDemand)
        this.push(this.#stream)
      }
    }
    const stream = this.#stream!
    const text = this.#opcode === Opcode.TEXT
    const payload = slice.payload
    // RFC 6455 section 8.1: invalid UTF-8 in a text message MUST fail the connection, streamed or not.
    if (text && !this.#utf8.push(payload)) throw invalidUtf8()
    const end = slice.last && slice.fin
    if (end && text && !this.#utf8.end()) throw invalidUtf8()
    const wanted = stream.destroyed || payload.length === 0 || stream.push(payload)
    if (!end) {
      if (wanted) callback()
      else this.#waiting = callback
      return
    }
    this.#stream = null
    this.#opcode = 0
    if (stream.destroyed) return callback()
    // The next message waits until this one is read to its end (or abandoned).
    stream.push(null)
    stream.once('close', () => callback())
  }

  /** The stream's reader wants more, or the stream is gone: the held slice is done. */
  readonly #onDemand = (): void => {
    const callback = this.#waiting
    this.#waiting = null
    callback?.()
  }

  /** Ends a message stream in progress without 'end'; the error is made only if there is one to give it to (see message-stream.ts). */
  #abortStream(error: () => Error): void {
    const stream = this.#stream
    this.#stream = null
    this.#waiting = null
    if (stream === null || stream.destroyed) return
    stream.destroy(stream.listenerCount('error') > 0 ? error() : undefined)
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

  /** Checks the first slice of a frame against message order and the limits; `size` is the message's so far. */
  #startFrame(slice: FrameSlice, size = this.#data.size, limit = this.#maxMessageSize): void {
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
    if (size + slice.length > limit) {
      throw tooBig('WS_ERR_MESSAGE_TOO_LARGE', `message exceeds the limit of ${limit} bytes`)
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
