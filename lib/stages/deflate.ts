/**
 * Deflate: the sending half of permessage-deflate (RFC 7692), an
 * object-mode Transform that stands between WebSocketDuplex and
 * FrameEncoder.
 *
 * In: messages as the encoder takes them (a string is a text message, a
 * Uint8Array a binary one, or a text one when `isText()` says so), or a
 * `{ data, compress }` wrapper that decides for one message. Anything else
 * (control frames, frame objects) passes through untouched, in order.
 *
 * Out: a compressed message as one frame object `{ opcode, payload,
 * rsv1: true, fin: true, fragmentable: true }` (an encoder with fragmentSize splits it); a message left uncompressed as it came in (a
 * wrapper unwrapped), so the encoder frames and fragments it as usual.
 * FrameEncoder does not split frame objects, so a compressed message leaves
 * as one frame whatever its `fragmentSize`.
 *
 * Compression is asynchronous (zlib on the thread pool, through the
 * process-wide zlib queue); each item's callback comes only once its output
 * is pushed, so order holds and a slow socket holds back the writer.
 */
import type { TransformCallback } from 'node:stream'
import { type DeflateRaw, constants, createDeflateRaw } from 'node:zlib'
import { Transform } from './streams'
import { ZlibQueue, zlibQueue } from './zlib-queue'
import { IdleSweeper, idleSweeper } from './idle-contexts'
import { CloseStatus, WebSocketError } from '../protocol/errors'
import { type OutboundFrame, type Role, Opcode } from '../protocol/frame'
import { highWaterMark, number } from '../protocol/option-checks'
import { DEFLATE_TAIL, type PerMessageDeflateParams, sideParams } from '../protocol/permessage-deflate'
import { isText } from '../protocol/text-bytes'

export interface DeflateOptions extends PerMessageDeflateParams {
  /**
   * Our side of the connection; the parameters that bind its compressor
   * apply: `server*` for 'server' (the default), `client*` for 'client'.
   */
  role?: Role
  /**
   * Messages shorter than this many bytes go out uncompressed. Default 1024.
   * A `{ data, compress }` wrapper overrides it for one message.
   */
  threshold?: number
  /** zlib compression level, 0 to 9, or -1 for zlib's default (6). Default -1. */
  level?: number
  /** zlib memory level, 1 to 9: memory for speed and ratio. Default 8. */
  memLevel?: number
  /** Items buffered on the readable side before backpressure. Default 16. */
  readableHighWaterMark?: number
  /** Items buffered on the writable side before write() returns false. Default 16. */
  writableHighWaterMark?: number
  /** The queue zlib jobs run on. Default: the process-wide one. */
  queue?: ZlibQueue
  /**
   * What releases the compressor between messages when our side has no
   * context takeover, once it has been idle for a sweep period. Default:
   * the process-wide one (about a second).
   */
  sweeper?: IdleSweeper
  /**
   * A compressor given up by another Deflate made with the same options
   * (`detachContext()`), window and all: this stage's messages continue
   * from it. Ignored if it has been closed.
   */
  context?: DeflateRaw
}

/** On a compressor: the stage it works for now (null once given up), for the listeners every compressor shares. */
const kStage = Symbol('watershed.deflateStage')
type Routed = DeflateRaw & { [kStage]?: Deflate | null }

/**
 * One message with a choice: `compress: false` sends it uncompressed,
 * `compress: true` compresses it even below the threshold; left out, the
 * threshold decides.
 */
export interface DeflateMessage {
  data: string | Uint8Array
  compress?: boolean
}

/**
 * A piece of a message sent from a stream (see message-source.ts): its
 * bytes, the message's opcode, whether it is the message's first piece and
 * whether its last. Each piece is compressed as it comes and leaves as one
 * frame, RSV1 on the first, FIN on the last; the window carries over from
 * piece to piece (it is one message).
 */
export interface DeflatePart {
  part: Uint8Array
  opcode: number
  first: boolean
  fin: boolean
}

/**
 * Below about a kilobyte DEFLATE rarely saves more than the frame header
 * it costs, and each compressed message is a trip through the thread pool.
 * ws uses the same 1024 bytes, but only when its side has no context
 * takeover; here it applies either way, one rule (set 0 to compress all).
 */
export const DEFAULT_THRESHOLD = 1024

/** An empty stored block's header: what an empty message compresses to, its tail removed. */
const EMPTY_MESSAGE = Buffer.from([0x00])

const toBuffer = (data: Uint8Array): Buffer =>
  Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)

const isDeflatePart = (item: unknown): item is DeflatePart =>
  typeof item === 'object' && item !== null && !(item instanceof Uint8Array) && 'part' in item

const isDeflateMessage = (item: unknown): item is DeflateMessage =>
  typeof item === 'object' &&
  item !== null &&
  !(item instanceof Uint8Array) &&
  'data' in item &&
  typeof (item as { opcode?: unknown }).opcode !== 'number'

interface Job {
  chunks: Buffer[]
  size: number
  resolve(payload: Buffer): void
  reject(error: Error): void
}

/** permessage-deflate, sending side: a Transform from messages to compressed messages with RSV1 set (RFC 7692), in front of the FrameEncoder. */
export class Deflate extends Transform {
  readonly #threshold: number
  readonly #windowBits: number
  readonly #level: number
  readonly #memLevel: number
  readonly #noContextTakeover: boolean
  readonly #queue: ZlibQueue
  readonly #sweeper: IdleSweeper
  readonly #release = (): void => {
    if (this.#job === null) this.#drop(null)
  }

  #deflater: DeflateRaw | null = null
  #job: Job | null = null
  /** A streamed message has sent pieces and not its last: the window carries into its next piece. */
  #midMessage = false

  constructor(options: DeflateOptions = {}) {
    super({
      writableObjectMode: true,
      readableObjectMode: true,
      readableHighWaterMark: options.readableHighWaterMark ?? 16,
      writableHighWaterMark: options.writableHighWaterMark ?? 16,
    })
    const bag = options as Record<string, unknown>
    highWaterMark(bag, 'readableHighWaterMark')
    highWaterMark(bag, 'writableHighWaterMark')
    const threshold = number(bag, 'threshold') ?? DEFAULT_THRESHOLD
    if (!(Number.isSafeInteger(threshold) && threshold >= 0)) {
      throw new RangeError(`threshold must be a non-negative integer, not ${threshold}`)
    }
    const level = number(bag, 'level') ?? constants.Z_DEFAULT_COMPRESSION
    if (!(Number.isInteger(level) && level >= -1 && level <= 9)) {
      throw new RangeError(`level must be an integer from -1 to 9, not ${level}`)
    }
    const memLevel = number(bag, 'memLevel') ?? 8
    if (!(Number.isInteger(memLevel) && memLevel >= 1 && memLevel <= 9)) {
      throw new RangeError(`memLevel must be an integer from 1 to 9, not ${memLevel}`)
    }
    const role = options.role ?? 'server'
    if (role !== 'server' && role !== 'client') throw new TypeError(`role must be 'server' or 'client', not ${String(role)}`)
    const own = sideParams(options, role)
    this.#threshold = threshold
    this.#level = level
    this.#memLevel = memLevel
    // zlib (since 1.2.9) has no raw deflate with a 256-byte window and Node quietly uses 9 bits
    // for 8. That output still fits an 8-bit window: zlib's compressor never refers further back
    // than its window less 262 bytes (MAX_DIST), 250 bytes at 9 bits. So 8 is honoured as 9.
    this.#windowBits = Math.max(own.maxWindowBits, 9)
    this.#noContextTakeover = own.noContextTakeover
    this.#queue = options.queue ?? zlibQueue
    this.#sweeper = options.sweeper ?? idleSweeper
    const context = options.context as Routed | undefined
    if (context !== undefined && !context.destroyed) {
      context[kStage] = this
      this.#deflater = context
    }
  }

  /**
   * Nothing queued, no message half sent: dropping this stage loses nothing
   * once its window, if it keeps one (context takeover), has been taken
   * with detachContext().
   */
  get idle(): boolean {
    return this.#job === null && !this.#midMessage && this.writableLength === 0 && this.readableLength === 0
  }

  /**
   * While idle, with context takeover: gives up the compressor and its
   * window, for a Deflate made later with the same options to continue with
   * (`context`), so that an idle connection need not keep its stages to
   * keep its window. Null when there is none to keep.
   */
  detachContext(): DeflateRaw | null {
    const deflater = this.#deflater as Routed | null
    if (deflater === null || this.#noContextTakeover || !this.idle) return null
    deflater[kStage] = null
    this.#deflater = null
    return deflater
  }

  override _transform(item: unknown, _encoding: string, callback: TransformCallback): void {
    if (isDeflatePart(item)) return this.#compressPart(item, callback)
    let data: unknown = item
    let choice: boolean | undefined
    if (isDeflateMessage(item)) {
      data = item.data
      choice = item.compress
      if (!(typeof data === 'string' || data instanceof Uint8Array)) {
        return callback(new TypeError('the data of a { data, compress } message must be a string or a Uint8Array'))
      }
      if (choice !== undefined && typeof choice !== 'boolean') {
        return callback(new TypeError(`compress must be a boolean, not ${String(choice)}`))
      }
    }
    if (!(typeof data === 'string' || data instanceof Uint8Array)) {
      // A control frame or a frame object: not ours to compress.
      this.push(item)
      return callback()
    }
    if (!(choice ?? this.#reachesThreshold(data))) {
      this.push(data)
      return callback()
    }
    const opcode = isText(data) ? Opcode.TEXT : Opcode.BINARY
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : toBuffer(data)
    if (bytes.length === 0) {
      // An empty message is an empty stored block, whatever the window holds. zlib would give
      // nothing at all for an empty sync flush straight after another one.
      this.push({ opcode, payload: Buffer.from(EMPTY_MESSAGE), rsv1: true, fin: true, fragmentable: true } satisfies OutboundFrame)
      return callback()
    }
    this.#queue.run(() => this.#deflate(bytes)).then(
      (payload) => {
        // RFC 7692 section 6.1: the sender sets RSV1 on the first frame of a compressed message.
        const frame: OutboundFrame = { opcode, payload, rsv1: true, fin: true, fragmentable: true }
        if (!this.destroyed) this.push(frame)
        callback()
      },
      (error: unknown) => {
        this.#drop(null)
        callback(toWebSocketError(error))
      },
    )
  }

  /** One piece of a streamed message: compressed with a sync flush, sent as a frame of its own. */
  #compressPart(item: DeflatePart, callback: TransformCallback): void {
    const { opcode, first, fin } = item
    this.#midMessage = !fin
    const bytes = toBuffer(item.part)
    const frame = (payload: Buffer): OutboundFrame =>
      // RFC 7692 section 6.1: RSV1 on the first frame of a compressed message only.
      ({ opcode: first ? opcode : Opcode.CONTINUATION, payload, rsv1: first, fin })
    if (bytes.length === 0 && fin) {
      // An empty stored block ends the message: what the receiver's appended tail completes.
      this.push(frame(Buffer.from(EMPTY_MESSAGE)))
      this.#endOfMessage()
      return callback()
    }
    if (bytes.length === 0) return callback()
    this.#queue.run(() => this.#deflate(bytes, !fin)).then(
      (payload) => {
        if (!this.destroyed) this.push(frame(payload))
        callback()
      },
      (error: unknown) => {
        this.#drop(null)
        callback(toWebSocketError(error))
      },
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

  /** Whether a message is at least `threshold` bytes, measuring text only when its length leaves a doubt. */
  #reachesThreshold(data: string | Uint8Array): boolean {
    const threshold = this.#threshold
    if (typeof data !== 'string') return data.byteLength >= threshold
    // A UTF-16 unit takes 1 to 3 bytes in UTF-8.
    if (data.length >= threshold) return true
    if (data.length * 3 < threshold) return false
    return Buffer.byteLength(data, 'utf8') >= threshold
  }

  /**
   * One queued job: compresses a message with a sync flush and returns it
   * without the flush's tail; with `more`, a piece of a message whose rest is
   * to come: the tail stays (it is data within the message) and the window
   * is kept whatever the takeover.
   */
  #deflate(bytes: Buffer, more = false): Promise<Buffer> {
    if (this.destroyed) return Promise.resolve(bytes)
    return new Promise<Buffer>((resolve, reject) => {
      if (this.#noContextTakeover) this.#sweeper.unpark(this)
      const deflater = (this.#deflater ??= this.#createDeflater())
      const job: Job = { chunks: [], size: 0, resolve, reject }
      this.#job = job
      deflater.write(bytes, (error?: Error | null) => {
        if (this.#job !== job) return
        if (error) return this.#drop(deflater.errored ?? error)
        this.#job = null
        if (!more) this.#endOfMessage()
        const { chunks, size } = job
        const whole = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)
        // RFC 7692 section 7.2.1: "Remove 4 octets (that are 0x00 0x00 0xff 0xff) from the tail
        // end." A sync flush always ends with them; anything else is a zlib fault, not sent.
        if (size < 4 || !whole.subarray(size - 4).equals(DEFLATE_TAIL)) {
          return reject(new Error('the sync flush did not end with 00 00 ff ff'))
        }
        resolve(more ? whole : whole.subarray(0, size - 4))
      })
    })
  }

  /**
   * RFC 7692 section 7.1.1: with no context takeover our side MUST start every message with an
   * empty window, so the peer may inflate each alone. The emptied context is kept for the next
   * message, and released if none comes soon (idle-contexts.ts).
   */
  #endOfMessage(): void {
    if (!this.#noContextTakeover || this.#deflater === null) return
    this.#deflater.reset()
    this.#sweeper.park(this, this.#release)
  }

  #createDeflater(): DeflateRaw {
    const deflater = createDeflateRaw({
      windowBits: this.#windowBits,
      memLevel: this.#memLevel,
      level: this.#level,
      // Every write ends in a sync flush (RFC 7692 section 7.2.1): the message's bytes come out
      // whole, on a byte boundary, ending with an empty stored block.
      flush: constants.Z_SYNC_FLUSH,
    })
    ;(deflater as Routed)[kStage] = this
    deflater.on('data', Deflate.#onData)
    deflater.on('error', Deflate.#onError)
    deflater.on('close', Deflate.#onClose)
    return deflater
  }

  // Shared by every compressor; one dropped or given up has no stage, and its events are ignored
  // (the listeners stay, so that no 'error' goes unheard).
  static readonly #onData = function (this: Routed, chunk: Buffer): void {
    const stage = this[kStage]
    const job = stage ? stage.#job : null
    if (job) {
      job.chunks.push(chunk)
      job.size += chunk.length
    }
  }

  static readonly #onError = function (this: Routed, error: Error): void {
    const stage = this[kStage]
    if (stage) stage.#drop(error)
  }

  static readonly #onClose = function (this: Routed): void {
    const stage = this[kStage]
    if (stage) stage.#drop(new Error('the deflater closed'))
  }

  /** Closes the deflater (a later message gets a new one) and fails the job in flight. */
  #drop(reason: Error | null): void {
    const deflater = this.#deflater as Routed | null
    const job = this.#job
    this.#deflater = null
    this.#job = null
    if (deflater !== null) deflater[kStage] = null
    this.#sweeper.unpark(this)
    deflater?.close()
    job?.reject(reason ?? new Error('compression aborted'))
  }
}

function toWebSocketError(error: unknown): WebSocketError {
  if (error instanceof WebSocketError) return error
  const message = error instanceof Error ? error.message : String(error)
  return new WebSocketError('WS_ERR_COMPRESSION_FAILED', CloseStatus.INTERNAL_ERROR, `compression failed: ${message}`)
}
