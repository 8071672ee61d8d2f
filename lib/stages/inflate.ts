/**
 * Inflate: the receiving half of permessage-deflate (RFC 7692), a Transform
 * from frame slices to frame slices that stands between FrameDecoder and
 * MessageAssembler.
 *
 * A data message whose first frame has RSV1 set is inflated; everything else
 * (uncompressed messages, control frames) passes through as the same slice
 * objects, in order: each slice's output is pushed before the next slice is
 * looked at, so a PING between two fragments never overtakes what the
 * fragment before it inflated to.
 *
 * What comes out for a compressed message: each piece of inflated output
 * (at most 16 KiB, zlib's chunk size) as a frame slice of its own that is a
 * whole frame (`first` and `last` set, `offset` 0, `length` its own size,
 * `rsv1` clear), the message's opcode on its first piece and CONTINUATION
 * after it, `fin` on the message's last piece only (an empty one if the
 * message's end inflated to nothing). So the assembler checks every
 * inflated byte against its size limit before taking it, checks UTF-8 as
 * pieces come, never reserves a buffer for a length nobody declared, and a
 * FrameEncoder can frame the pieces again. The assembler's fragment count
 * then counts pieces; this stage counts the message's frames on the wire
 * against its own `maxFragments`.
 *
 * Bounded: inflated bytes are counted as zlib produces them, and a message
 * that grows past `maxMessageSize` fails (1009) there, with the inflater
 * stopped: a small frame that would inflate to gigabytes costs about the
 * limit in memory, not what it would inflate to. Data that is not DEFLATE
 * fails with 1007. Errors come after the slices already pushed are read,
 * never as an exception.
 *
 * A final block (BFINAL, section 7.2.3.4) ends the DEFLATE stream: what the
 * message carries after it is not inflated, and the next message starts
 * with an empty window. A message cut short inside a block cannot always be
 * told from a whole one (DEFLATE has no length or checksum); it inflates to
 * what it decodes, or fails with 1007 where zlib can tell.
 *
 * Every zlib operation runs as a job on the process-wide zlib queue (see
 * zlib-queue.ts): one per compressed slice that carries bytes or ends its
 * message.
 */
import type { TransformCallback } from 'node:stream'
import { type InflateRaw, createInflateRaw } from 'node:zlib'
import { Transform } from './streams'
import { DrainGate } from './drain-gate'
import { ZlibQueue, zlibQueue } from './zlib-queue'
import { IdleSweeper, idleSweeper } from './idle-contexts'
import { CloseStatus, WebSocketError, invalidCompressedData, protocolError, tooBig } from '../protocol/errors'
import { type FrameSlice, type Role, Opcode, isControl } from '../protocol/frame'
import { DEFAULT_MAX_FRAGMENTS, DEFAULT_MAX_MESSAGE_SIZE } from '../protocol/limits'
import { highWaterMark, limit } from '../protocol/option-checks'
import { DEFLATE_TAIL, type PerMessageDeflateParams, peerOf, sideParams } from '../protocol/permessage-deflate'

export interface InflateOptions extends PerMessageDeflateParams {
  /**
   * Our side of the connection. 'server' (the default) inflates what the
   * client sends, so the `client*` parameters apply; 'client' inflates the
   * server's messages under the `server*` ones.
   */
  role?: Role
  /** The largest message, counted in inflated bytes; larger fails with 1009. Default 100 MiB. */
  maxMessageSize?: number
  /** The most frames one compressed message may span; more fails with 1009. Default 1,048,576. */
  maxFragments?: number
  /** Slices buffered on the readable side before backpressure. Default 16. */
  readableHighWaterMark?: number
  /** The queue zlib jobs run on. Default: the process-wide one. */
  queue?: ZlibQueue
  /**
   * What releases the inflater between messages when the peer has no
   * context takeover, once it has been idle for a sweep period. Default:
   * the process-wide one (about a second).
   */
  sweeper?: IdleSweeper
  /**
   * An inflater given up by another Inflate made with the same options
   * (`detachContext()`), window and all: this stage inflates the next
   * message where that one stopped. Ignored if it has been closed.
   */
  context?: InflateRaw
}

const EMPTY = Buffer.alloc(0)

/** On an inflater: the stage it works for now (null once given up), for the listeners every inflater shares. */
const kStage = Symbol('watershed.inflateStage')
type Routed = InflateRaw & { [kStage]?: Inflate | null }

/** The work on one slice: the inflated pieces it yields, and how it ends. */
interface Job {
  pieces: Buffer[]
  resolve(pieces: Buffer[]): void
  reject(error: Error): void
}

/** permessage-deflate, receiving side: a Transform that inflates the frames of compressed messages (RFC 7692), between the FrameDecoder and the MessageAssembler. */
export class Inflate extends Transform {
  readonly #maxMessageSize: number
  readonly #maxFragments: number
  readonly #windowBits: number
  readonly #noContextTakeover: boolean
  readonly #queue: ZlibQueue
  readonly #gate: DrainGate
  readonly #sweeper: IdleSweeper
  readonly #release = (): void => {
    if (this.#job === null) this.#drop(null)
  }

  #inflater: InflateRaw | null = null
  /** Bytes written into the current inflater; it has consumed fewer once its DEFLATE stream ended. */
  #fed = 0
  /** A final block (BFINAL) ended the current inflater's stream: it takes no more input. */
  #streamEnded = false
  #job: Job | null = null

  // The data message in progress: its opcode (0 when none), whether it is compressed,
  // its inflated size and frame count so far, and whether a piece of it has gone out.
  #opcode = 0
  #compressed = false
  #size = 0
  #frames = 0
  #started = false

  constructor(options: InflateOptions = {}) {
    super({
      writableObjectMode: true,
      readableObjectMode: true,
      readableHighWaterMark: options.readableHighWaterMark ?? 16,
    })
    limit(options as Record<string, unknown>, 'maxMessageSize')
    limit(options as Record<string, unknown>, 'maxFragments')
    highWaterMark(options as Record<string, unknown>, 'readableHighWaterMark')
    const role = options.role ?? 'server'
    if (role !== 'server' && role !== 'client') throw new TypeError(`role must be 'server' or 'client', not ${String(role)}`)
    const peer = sideParams(options, peerOf(role))
    this.#maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE
    this.#maxFragments = options.maxFragments ?? DEFAULT_MAX_FRAGMENTS
    // The peer promised a window of at most 2^bits; a larger one here decodes the same. Never below
    // 9: a peer told 8 may, as zlib does, compress with 9 bits, and is accepted rather than failed.
    this.#windowBits = Math.max(peer.maxWindowBits, 9)
    this.#noContextTakeover = peer.noContextTakeover
    this.#queue = options.queue ?? zlibQueue
    this.#sweeper = options.sweeper ?? idleSweeper
    this.#gate = new DrainGate(this)
    const context = options.context as Routed | undefined
    if (context !== undefined && !context.destroyed) {
      context[kStage] = this
      this.#inflater = context
      this.#fed = context.bytesWritten
    }
  }

  override read(size?: number) {
    const item = super.read(size)
    this.#gate.check()
    return item
  }

  override _transform(slice: FrameSlice, _encoding: string, callback: TransformCallback): void {
    if (isControl(slice.opcode)) {
      // RFC 7692 section 6.1: "An endpoint MUST NOT set the "Per-Message Compressed" bit of control
      // frames [...]. An endpoint receiving such a frame MUST _Fail the WebSocket Connection_."
      if (slice.rsv1) return this.#fail(protocolError('WS_ERR_UNEXPECTED_RSV', 'RSV1 set on a control frame'), callback)
      this.push(slice)
      return callback()
    }
    const problem = slice.first ? this.#startFrame(slice) : this.#opcode === 0 ? this.#noMessage() : null
    if (problem) return this.#fail(problem, callback)
    const end = slice.fin && slice.last
    if (!this.#compressed) {
      if (end) this.#opcode = 0
      this.push(slice)
      return callback()
    }
    const payload = slice.payload
    // Nothing to inflate and no message to finish: no zlib job.
    if (payload.length === 0 && !end) return callback()
    this.#queue.run(() => this.#inflate(payload, end)).then(
      (pieces) => {
        if (!this.destroyed) this.#emit(pieces, end, slice.masked)
        callback()
      },
      (error: unknown) => this.#fail(error, callback),
    )
  }

  override _flush(callback: TransformCallback): void {
    this.#drop(null)
    callback()
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#drop(null)
    callback(error)
  }

  /** Judges the first slice of a frame; starts a message on a TEXT or BINARY frame. */
  #startFrame(slice: FrameSlice): WebSocketError | null {
    if (slice.opcode === Opcode.CONTINUATION) {
      if (this.#opcode === 0) return this.#noMessage()
      // RFC 7692 section 6.1: "An endpoint MUST NOT set the "Per-Message Compressed" bit of [...]
      // non-first fragments of a data message." The decoder enforces it too; a stage used alone must.
      if (slice.rsv1) return protocolError('WS_ERR_UNEXPECTED_RSV', 'RSV1 set on a continuation frame')
    } else {
      // Judged here, not left to the assembler: a compressed fragment may inflate to nothing, and
      // then the assembler would not know a message had begun.
      if (this.#opcode !== 0) {
        return protocolError('WS_ERR_EXPECTED_CONTINUATION', 'new data frame while a fragmented message is in progress')
      }
      this.#opcode = slice.opcode
      this.#compressed = slice.rsv1
      this.#size = 0
      this.#frames = 0
      this.#started = false
    }
    if (this.#compressed && ++this.#frames > this.#maxFragments) {
      return tooBig('WS_ERR_TOO_MANY_FRAGMENTS', `message spans more than ${this.#maxFragments} frames`)
    }
    return null
  }

  #noMessage(): WebSocketError {
    return protocolError('WS_ERR_UNEXPECTED_CONTINUATION', 'continuation frame with no message in progress')
  }

  /**
   * One queued job: feeds a slice's payload to the inflater (and, at the end
   * of the message, the tail the sender removed) and collects what comes out.
   */
  #inflate(payload: Buffer, end: boolean): Promise<Buffer[]> {
    if (this.destroyed) return Promise.resolve([])
    return new Promise<Buffer[]>((resolve, reject) => {
      if (this.#noContextTakeover) this.#sweeper.unpark(this)
      const inflater = (this.#inflater ??= this.#createInflater())
      const job: Job = { pieces: [], resolve, reject }
      this.#job = job
      const done = (error?: Error | null) => {
        if (this.#job !== job) return // already failed or dropped
        if (error) return this.#drop(inflater.errored ?? error)
        this.#job = null
        // RFC 1951: nothing after a final block belongs to the stream, and zlib leaves it unread.
        // What the message still carries is dropped with it; the next message starts afresh.
        if (inflater.bytesWritten < this.#fed) this.#streamEnded = true
        if (end) {
          if (this.#streamEnded) this.#drop(null)
          // RFC 7692 section 7.1.1: with no context takeover the peer starts every message with an
          // empty window; starting ours empty too fails a message that refers back past its start.
          // The emptied inflater is kept for the next message, and released if none comes soon.
          else if (this.#noContextTakeover) {
            inflater.reset()
            this.#sweeper.park(this, this.#release)
          }
        }
        resolve(job.pieces)
      }
      if (this.#streamEnded) return done()
      const writes = payload.length > 0 ? [payload] : []
      // RFC 7692 section 7.2.2: "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the
      // payload of the message." and decompress the result.
      if (end) writes.push(DEFLATE_TAIL)
      for (let i = 0; i < writes.length; i++) {
        this.#fed += writes[i].length
        inflater.write(writes[i], i === writes.length - 1 ? done : undefined)
      }
    })
  }

  /**
   * Between messages with nothing queued: dropping this stage loses nothing
   * once its window, if it keeps one (context takeover), has been taken
   * with detachContext().
   */
  get idle(): boolean {
    return this.#job === null && this.#opcode === 0 && this.writableLength === 0 && this.readableLength === 0
  }

  /**
   * While idle, with context takeover: gives up the inflater and its window,
   * for an Inflate made later with the same options to continue with
   * (`context`), so that an idle connection need not keep its stages to
   * keep its window. Null when there is none to keep.
   */
  detachContext(): InflateRaw | null {
    const inflater = this.#inflater as Routed | null
    if (inflater === null || this.#noContextTakeover || !this.idle) return null
    inflater[kStage] = null
    this.#inflater = null
    this.#fed = 0
    return inflater
  }

  #createInflater(): InflateRaw {
    const inflater: Routed = createInflateRaw({ windowBits: this.#windowBits })
    this.#fed = 0
    this.#streamEnded = false
    inflater[kStage] = this
    inflater.on('data', Inflate.#onData)
    inflater.on('error', Inflate.#onError)
    inflater.on('close', Inflate.#onClose)
    return inflater
  }

  // Shared by every inflater; one dropped or given up has no stage, and its events are ignored
  // (the listeners stay, so that no 'error' goes unheard).
  static readonly #onData = function (this: Routed, chunk: Buffer): void {
    const stage = this[kStage]
    if (stage) stage.#take(chunk)
  }

  static readonly #onError = function (this: Routed, error: Error): void {
    const stage = this[kStage]
    if (stage) stage.#drop(error)
  }

  static readonly #onClose = function (this: Routed): void {
    const stage = this[kStage]
    if (stage) stage.#drop(new Error('the inflater closed'))
  }

  /** One piece of inflated output, counted against the message limit before it is kept. */
  #take(chunk: Buffer): void {
    const job = this.#job
    if (job === null) return
    this.#size += chunk.length
    if (this.#size > this.#maxMessageSize) {
      this.#drop(tooBig('WS_ERR_MESSAGE_TOO_LARGE', `message exceeds the limit of ${this.#maxMessageSize} bytes when inflated`))
      return
    }
    job.pieces.push(chunk)
  }

  /**
   * Closes the inflater (the next message, if any, gets a new one) and fails
   * the job in flight with `reason`, mapped to a WebSocketError; with no
   * reason the job, if any, fails as aborted.
   */
  #drop(reason: Error | null): void {
    const inflater = this.#inflater as Routed | null
    const job = this.#job
    this.#inflater = null
    this.#job = null
    if (inflater !== null) inflater[kStage] = null
    this.#sweeper.unpark(this)
    this.#fed = 0
    this.#streamEnded = false
    // Closing while zlib works on the thread pool is safe: Node frees the handle once that write returns.
    inflater?.close()
    job?.reject(toWebSocketError(reason ?? new Error('inflation aborted')))
  }

  #emit(pieces: Buffer[], end: boolean, masked: boolean): void {
    if (end && pieces.length === 0) pieces.push(EMPTY)
    const lastIndex = pieces.length - 1
    for (let i = 0; i <= lastIndex; i++) {
      const payload = pieces[i]
      const slice: FrameSlice = {
        fin: end && i === lastIndex,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        opcode: this.#started ? Opcode.CONTINUATION : this.#opcode,
        masked,
        length: payload.length,
        offset: 0,
        first: true,
        last: true,
        payload,
      }
      this.#started = true
      this.push(slice)
    }
    if (end) this.#opcode = 0
  }

  /** Fails the stage once what it has pushed is read; the inflater goes. */
  #fail(error: unknown, callback: TransformCallback): void {
    this.#drop(null)
    const failure = toWebSocketError(error)
    this.#gate.hold(() => callback(failure))
  }
}

/** zlib's complaint about its input is the peer's fault (1007); anything else is ours (1011). */
function toWebSocketError(error: unknown): WebSocketError {
  if (error instanceof WebSocketError) return error
  const err = error as (Error & { code?: unknown }) | undefined
  if (err?.code === 'Z_DATA_ERROR') return invalidCompressedData(err.message)
  return new WebSocketError(
    'WS_ERR_COMPRESSION_FAILED',
    CloseStatus.INTERNAL_ERROR,
    `inflation failed: ${err?.message ?? String(error)}`,
  )
}
