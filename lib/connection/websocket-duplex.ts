/**
 * WebSocketDuplex: the object-mode Duplex that users hold.
 *
 *   socket ─▶ FrameDecoder ─▶ MessageAssembler ─▶ (read side: string | Buffer)
 *   socket ◀─ FrameEncoder ◀──────────────────────  (write side: string | Uint8Array)
 *
 * It owns the connection's state: it answers PINGs, runs the closing
 * handshake (RFC 6455 section 7), and turns protocol errors into the close
 * code the RFC assigns. Ending the write side (`end()` or `close(code,
 * reason)`) sends the CLOSE frame after every message written before it.
 * The peer's CLOSE ends the read side, and is answered once the reader has
 * read past it. 'finish' waits for the TCP connection to close; a protocol
 * error is emitted after the messages that arrived before it have been read.
 */
import type { Socket } from 'node:net'
import type { Readable, Writable } from 'node:stream'
import { Duplex } from '../stages/streams'
import { encodeClosePayload, isValidCloseCode } from '../protocol/close'
import { ControlFrame } from '../protocol/control-frame'
import { pipeCorked } from './corked-pipe'
import { forward } from './forward'
import { channels } from './diagnostics'
import { DrainGate } from '../stages/drain-gate'
import { CloseStatus, WebSocketError } from '../protocol/errors'
import { MAX_CONTROL_PAYLOAD, Opcode, type Role } from '../protocol/frame'
import { FrameDecoder } from '../stages/frame-decoder'
import { FrameEncoder, type Outbound } from '../stages/frame-encoder'
import { Deflate, type DeflateMessage } from '../stages/deflate'
import { Inflate } from '../stages/inflate'
import type { PerMessageDeflateParams } from '../protocol/permessage-deflate'
import { Heartbeat, type HeartbeatSetting } from './heartbeat'
import { DEFAULT_CLOSE_TIMEOUT, DEFAULT_MAX_MESSAGE_SIZE } from '../protocol/limits'
import { type AssembledItem, DEFAULT_MAX_STREAMED_MESSAGE_SIZE, MessageAssembler } from '../stages/message-assembler'
import { validateDuplexOptions } from './options'
import { type WriteOptions, checkWriteOptions, freshView, isWriteOptions } from './write-options'
import { type MessageSource, isMessageSource, sendSource } from './message-source'
import { MessageStream } from '../stages/message-stream'
import { PreparedMessage } from '../protocol/prepared-message'

export interface WebSocketDuplexOptions {
  /** Which end of the connection this is. Default 'server'. */
  role?: Role
  /** The negotiated subprotocol, if any. */
  protocol?: string | null
  /**
   * The extensions in use, as the handshake's Sec-WebSocket-Extensions
   * answer named them (set by accept() and connect()). Default ''.
   */
  extensions?: string
  /** Bytes read past the handshake that belong to the WebSocket stream. */
  head?: Buffer
  /** Largest message accepted; larger fails with 1009. Default 100 MiB. */
  maxMessageSize?: number
  /**
   * Largest payload one frame may declare; larger fails with 1009 before any
   * of it is read. Default: maxMessageSize.
   */
  maxFrameSize?: number
  /** Most frames per message. Default 1,048,576. */
  maxFragments?: number
  /** Split outbound messages into frames of at most this size. Default: no splitting. */
  fragmentSize?: number
  /** How long to wait for the peer's part of the closing handshake, in ms. Default 5000. */
  closeTimeout?: number
  /**
   * Keep the write side open after the peer's CLOSE until end() is called
   * (still bounded by closeTimeout), so a proxy can finish its other leg
   * first. Default false: the CLOSE is answered once the reader has read
   * every message before it.
   */
  allowHalfOpen?: boolean
  /** Answer each PING with a PONG. Default true. */
  autoPong?: boolean
  /**
   * Read text messages as Buffers (validated UTF-8) that `isText()`
   * recognizes, instead of strings; written back, they go out as text
   * without a conversion. Default false.
   */
  textAsBytes?: boolean
  /**
   * Receive messages as streams (MessageStream, a Readable of the message's
   * bytes), each as soon as its first frame arrives: `true` for every
   * message, `{ threshold }` for each whose first frame is longer than
   * `threshold` bytes (the others come whole). Default false.
   */
  streamMessages?: boolean | { threshold: number }
  /**
   * The largest streamed message; larger fails with 1009. Streamed messages
   * are not held in memory, so it may be far above maxMessageSize (Infinity:
   * no limit). Default 4 GiB.
   */
  maxStreamedMessageSize?: number
  /**
   * Dead-peer detection: ping every `interval` ms and fail the connection
   * (WS_ERR_HEARTBEAT_TIMEOUT, closed as 1006) when nothing, not even a
   * PONG, arrives within `timeout` ms (default: the interval). A number is
   * the interval. Default: off.
   */
  heartbeat?: HeartbeatSetting
  /** Messages buffered on the read side before the socket is paused. Default 16. */
  readableHighWaterMark?: number
  /** Bytes buffered on the write side before write() returns false. Default 16 KiB. */
  writableHighWaterMark?: number
  /**
   * permessage-deflate as the handshake settled it (set by accept() and
   * connect(), not by hand): the agreed parameters, and the compressor's
   * level, memLevel and threshold. Absent: no compression stages at all.
   */
  compression?: Compression
}

/** The negotiated permessage-deflate parameters with the compressor's settings. */
export interface Compression extends PerMessageDeflateParams {
  level?: number
  memLevel?: number
  threshold?: number
}

export type WebSocketMessage = string | Buffer

/** What a connection in stream mode (`streamMessages`) reads: whole messages, or MessageStreams. */
export type InboundMessage = WebSocketMessage | MessageStream

/**
 * Options that turn stream mode on, for the overloads of connect() and
 * accept() that then type what is read as InboundMessage. (Options whose
 * `streamMessages` is only known at run time type as whole messages:
 * annotate the connection as `WebSocketDuplex<InboundMessage>` there.)
 */
export interface StreamMode {
  streamMessages: true | { threshold: number }
}

/**
 * The events of a WebSocketDuplex and their arguments; any other event name
 * takes any listener. `M` is what a message is: WebSocketMessage, or
 * InboundMessage in stream mode.
 */
export interface WebSocketDuplexEvents<M extends InboundMessage = WebSocketMessage> {
  /** One message: a string for text, a Buffer for binary (marked text with `textAsBytes`), or a MessageStream in stream mode. */
  data: [message: M]
  ping: [data: Buffer]
  pong: [data: Buffer]
  /** The peer's CLOSE arrived: its code (1005 if it had none) and reason. */
  closing: [code: number, reason: string]
  /**
   * Once, as soon as nothing more can arrive (before TCP closes): the
   * peer's close code and reason, and the failure that ended it, or null.
   */
  disconnect: [code: number, reason: string, error: WebSocketError | NodeJS.ErrnoException | null]
  /** Once, at the very end: the peer's close code (1006 if no CLOSE came) and reason. */
  close: [code: number, reason: string]
  /**
   * A protocol or connection failure is a WebSocketError (with `code` and
   * `status`); a socket error (ECONNRESET...) is the socket's own error.
   */
  error: [error: WebSocketError | NodeJS.ErrnoException]
  end: []
  finish: []
  drain: []
  pause: []
  resume: []
  readable: []
  pipe: [source: Readable]
  unpipe: [source: Readable]
}

type DuplexListener<E extends keyof WebSocketDuplexEvents, M extends InboundMessage> = (...args: WebSocketDuplexEvents<M>[E]) => void
type WriteCallback = (error?: Error | null) => void
/** The stream's own async iterator (whatever @types/node calls it), yielding messages. */
type MessageIterator<M> = AsyncIterableIterator<M> & ReturnType<Readable[typeof Symbol.asyncIterator]>

// Typed events, end() and reading, merged into the class below.
export interface WebSocketDuplex<M extends InboundMessage = WebSocketMessage> {
  on<E extends keyof WebSocketDuplexEvents>(event: E, listener: DuplexListener<E, M>): this
  on(event: string | symbol, listener: (...args: any[]) => void): this
  once<E extends keyof WebSocketDuplexEvents>(event: E, listener: DuplexListener<E, M>): this
  once(event: string | symbol, listener: (...args: any[]) => void): this
  off<E extends keyof WebSocketDuplexEvents>(event: E, listener: DuplexListener<E, M>): this
  off(event: string | symbol, listener: (...args: any[]) => void): this
  addListener<E extends keyof WebSocketDuplexEvents>(event: E, listener: DuplexListener<E, M>): this
  addListener(event: string | symbol, listener: (...args: any[]) => void): this
  removeListener<E extends keyof WebSocketDuplexEvents>(event: E, listener: DuplexListener<E, M>): this
  removeListener(event: string | symbol, listener: (...args: any[]) => void): this
  prependListener<E extends keyof WebSocketDuplexEvents>(event: E, listener: DuplexListener<E, M>): this
  prependListener(event: string | symbol, listener: (...args: any[]) => void): this
  prependOnceListener<E extends keyof WebSocketDuplexEvents>(event: E, listener: DuplexListener<E, M>): this
  prependOnceListener(event: string | symbol, listener: (...args: any[]) => void): this
  end(callback?: () => void): this
  end(message: string | Uint8Array, callback?: () => void): this
  end(message: string | Uint8Array, encoding: BufferEncoding, callback?: () => void): this
  [Symbol.asyncIterator](): MessageIterator<M>
  iterator(options?: { destroyOnReturn?: boolean }): MessageIterator<M>
}

const TEXT_ENCODINGS = new Set(['utf8', 'utf-8', 'buffer'])

/**
 * `M` is what a message is when read: WebSocketMessage, or InboundMessage
 * for a connection in stream mode (connect() and accept() say which).
 */
export class WebSocketDuplex<M extends InboundMessage = WebSocketMessage> extends Duplex {
  readonly socket: Socket
  readonly role: Role
  readonly protocol: string | null
  /** The extensions in use, as the 101 response named them ('' for none), like WHATWG's `extensions`. */
  readonly extensions: string

  readonly #decoder: FrameDecoder
  /** permessage-deflate's stages, present only when it was negotiated. */
  readonly #inflate: Inflate | null
  readonly #deflate: Deflate | null
  readonly #assembler: MessageAssembler
  readonly #encoder: FrameEncoder
  /**
   * Where everything we send is written, messages and control frames alike,
   * so that nothing overtakes what was written before it: the encoder, or a
   * compression stage in front of it.
   */
  readonly #outbound: Writable
  /** Sources written as messages, each behind its empty marker until _write() takes it. */
  readonly #streamedSources = new WeakMap<Uint8Array, { source: MessageSource; text: boolean | undefined; compress: boolean }>()
  /** The streamed message being sent, stopped if the connection fails or closes. */
  #sending: AbortController | null = null
  readonly #fragmentSize: number | undefined
  /**
   * Prepared messages, each behind a view of its payload until _write() takes
   * it: the Writable's buffer counts bytes, so what stands for the message
   * has the message's size.
   */
  readonly #prepared = new WeakMap<Uint8Array, PreparedMessage>()
  /** Messages written with a compression choice (write-options.ts), until _write() takes them. */
  readonly #choices = new WeakMap<Uint8Array, boolean>()
  readonly #gate: DrainGate
  readonly #closeTimeout: number
  readonly #autoPong: boolean
  readonly #heartbeat: Heartbeat | null

  /** The CLOSE payload we will send when the write side ends. */
  #closePayload: Buffer = encodeClosePayload(CloseStatus.NORMAL)
  /** close() chose the payload; otherwise a connection piped into this one may. */
  #closeChosen = false
  /** The one connection piped into this one (a message proxy's other leg), if any. */
  #source: WebSocketDuplex | null = null
  #sources = 0
  #closeSent = false
  #closeReceived: ControlFrame | null = null
  /** The failure that ends this connection, reported after buffered messages. */
  #error: Error | null = null
  /** A decoder error waiting for the frames before it to be assembled. */
  #inboundError: Error | null = null
  #closeTimer: NodeJS.Timeout | null = null
  /** At most one automatic PONG waits while the socket is backed up. */
  #pendingPong: Buffer | null = null
  #settled = false
  /** The read side has been ended (push(null)). */
  #eof = false
  /** 'finish' waits for the connection to be closed, so end()'s callback means closed. */
  #finalCallback: (() => void) | null = null
  /** The callback of the last write, held while the encoder is backed up, or while we are failing. */
  #pendingWrite: ((error?: Error | null) => void) | null = null
  /** Whether the encoder took that write (it was only held for pacing) or not. */
  #pendingTaken = false
  /** 'disconnect' has been emitted. */
  #disconnected = false
  /** The last message stream handed out, whose reading counts as progress. */
  #streaming: MessageStream | null = null
  /** Messages read so far: a reader that makes progress is not a reader that stopped. */
  #reads = 0
  #unreadTimer: NodeJS.Timeout | null = null
  #unpipeEncoder: () => void
  readonly #unpipeSocket: () => void

  constructor(socket: Socket, options: WebSocketDuplexOptions = {}) {
    validateDuplexOptions(options)
    super({
      readableObjectMode: true,
      decodeStrings: false,
      // Not half-open by default: once the reader has read past the peer's
      // CLOSE, the write side ends and our CLOSE answers it (section 5.5.1).
      allowHalfOpen: options.allowHalfOpen ?? false,
      readableHighWaterMark: options.readableHighWaterMark ?? 16,
      writableHighWaterMark: options.writableHighWaterMark ?? 16 * 1024,
    })
    this.socket = socket
    this.role = options.role ?? 'server'
    this.protocol = options.protocol ?? null
    this.extensions = options.extensions ?? ''
    this.#fragmentSize = options.fragmentSize
    this.#closeTimeout = options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT
    this.#autoPong = options.autoPong ?? true
    this.#gate = new DrainGate(this)
    this.on('pipe', this.#onPipe)
    this.on('unpipe', this.#onUnpipe)

    const maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE
    const streaming = options.streamMessages !== undefined && options.streamMessages !== false
    // A streamed message is not held, so its frames and inflated bytes answer to the streamed limit;
    // the assembler still holds every message it assembles whole to maxMessageSize.
    const largest = streaming ? options.maxStreamedMessageSize ?? DEFAULT_MAX_STREAMED_MESSAGE_SIZE : maxMessageSize
    const compression = options.compression
    this.#decoder = new FrameDecoder({
      role: this.role,
      maxPayload: Math.min(largest, options.maxFrameSize ?? largest),
      // RFC 7692 section 6: RSV1 marks a compressed message, once the extension is negotiated.
      allowRsv1: compression !== undefined,
    })
    this.#inflate = compression
      ? new Inflate({ ...compression, role: this.role, maxMessageSize: largest, maxFragments: options.maxFragments })
      : null
    this.#deflate = compression
      ? new Deflate({ ...compression, role: this.role, writableHighWaterMark: 2, readableHighWaterMark: 1 })
      : null
    this.#assembler = new MessageAssembler({
      maxMessageSize: options.maxMessageSize,
      maxFragments: options.maxFragments,
      textAsBytes: options.textAsBytes,
      streamMessages: options.streamMessages,
      maxStreamedMessageSize: options.maxStreamedMessageSize,
      // The duplex's own buffer is the one that counts: while the reader is
      // paused, messages queue there, not a second time in front of it.
      readableHighWaterMark: 1,
    })
    this.#encoder = new FrameEncoder({
      role: this.role,
      fragmentSize: options.fragmentSize,
      // Counted in messages, whatever their size: the byte-counted buffer is
      // the duplex's own (writableHighWaterMark), so the encoder queues one.
      writableHighWaterMark: 2,
    })

    this.#decoder.on('error', this.#onDecoderError)
    this.#assembler.on('error', this.#onStageError)
    // Held until the caller has had a turn: frames that came with the
    // handshake must not fire events before `await connect()` returns.
    this.#assembler.pause()
    this.#assembler.on('data', this.#onItem)
    setImmediate(() => this._read())
    this.#assembler.on('end', this.#onInboundEnd)
    this.#outbound = this.#deflate ?? this.#encoder
    this.#encoder.on('error', this.#onStageError)
    // An inflate failure is the peer's, like the decoder's: after what came before it.
    this.#inflate?.on('error', this.#onInflateError)
    this.#deflate?.on('error', this.#onStageError)
    this.#outbound.on('drain', this.#onOutboundDrain)
    socket.on('end', this.#onSocketEnd)
    socket.on('error', this.#onSocketError)
    socket.on('close', this.#onSocketClose)

    socket.setNoDelay(true)
    socket.setTimeout(0)
    // The peer's FIN must not close our side before the frames ahead of it
    // (a CLOSE, perhaps) have been read: the duplex ends TCP itself.
    socket.allowHalfOpen = true
    if (options.head && options.head.length > 0) this.#decoder.write(options.head)
    this.#unpipeSocket = forward(socket, this.#decoder)
    if (this.#inflate) {
      forward(this.#decoder, this.#inflate)
      forward(this.#inflate, this.#assembler)
    } else {
      forward(this.#decoder, this.#assembler)
    }
    if (this.#deflate) forward(this.#deflate, this.#encoder)
    // Ending the encoder ends the TCP connection, after the bytes before it.
    this.#unpipeEncoder = pipeCorked(this.#encoder, socket)
    this.#heartbeat = options.heartbeat === undefined
      ? null
      : new Heartbeat(socket, options.heartbeat, () => this.#heartbeatPing(), () => this.#heartbeatDead())
    if (socket.destroyed) process.nextTick(this.#onSocketClose)
    if (channels.open.hasSubscribers) channels.open.publish({ connection: this })
  }

  /** The peer's close code: 1005 if its CLOSE had none, 1006 if none came. */
  get closeCode(): number {
    return this.#closeReceived?.code ?? CloseStatus.ABNORMAL
  }

  get closeReason(): string {
    return this.#closeReceived?.reason ?? ''
  }

  /** Bytes accepted by write() but not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.writableLength + this.#encoder.readableLength + this.socket.writableLength
  }

  /**
   * Starts the closing handshake: the CLOSE frame goes out after everything
   * already written. Throws on a code that may not be sent or a reason over
   * 123 bytes.
   */
  close(code: number = CloseStatus.NORMAL, reason: string | Uint8Array = ''): void {
    const payload = encodeClosePayload(code, reason)
    if (this.writableEnded) return
    this.#closePayload = payload
    this.#closeChosen = true
    this.end()
  }

  ping(data: string | Uint8Array = Buffer.alloc(0)): boolean {
    return this.#sendControl(Opcode.PING, data)
  }

  pong(data: string | Uint8Array = Buffer.alloc(0)): boolean {
    return this.#sendControl(Opcode.PONG, data)
  }

  // Typed as the base class has it, so the duplex passes for a node:stream Readable.
  override read(size?: number) {
    const message = super.read(size)
    if (message !== null) this.#reads++
    this.#gate.check()
    return message
  }

  // Node's 'close' carries no arguments; ours adds the peer's code and reason.
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'close' && args.length === 0) return super.emit('close', this.closeCode, this.closeReason)
    return super.emit(event, ...args)
  }

  override _read(): void {
    if (!this.#closeReceived && !this.#error) this.#assembler.resume()
  }

  /**
   * A write after the closing handshake has begun fails (callback and
   * 'error'), but does not tear down the handshake in progress.
   */
  override write(message: string | Uint8Array, callback?: WriteCallback): boolean
  override write(message: string | Uint8Array, encoding: BufferEncoding, callback?: WriteCallback): boolean
  /** With options for this message: `{ compress: false }` sends it uncompressed (see WriteOptions). */
  override write(message: string | Uint8Array, options: WriteOptions, callback?: WriteCallback): boolean
  /**
   * A source (a Readable, a WHATWG ReadableStream, an async iterable of
   * Buffers or strings) is sent as one message, fragment by fragment as its
   * bytes come; writes after it wait until it ends (see message-source.ts).
   */
  override write(source: MessageSource, callback?: WriteCallback): boolean
  override write(source: MessageSource, options: WriteOptions, callback?: WriteCallback): boolean
  /**
   * A PreparedMessage (one message for many connections) goes out as the
   * frames it holds, encoded once for all of them; always uncompressed.
   */
  override write(message: PreparedMessage, callback?: WriteCallback): boolean
  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    let options: WriteOptions | undefined
    if (isWriteOptions(encoding)) {
      checkWriteOptions(encoding)
      options = encoding
      encoding = undefined
    }
    if (chunk instanceof PreparedMessage) {
      const view = Buffer.from(chunk.payload.buffer, chunk.payload.byteOffset, chunk.payload.byteLength)
      this.#prepared.set(view, chunk)
      chunk = view
    } else if (isMessageSource(chunk)) {
      // Through the Writable's buffer like any message, so order holds: an empty marker stands
      // for the source until _write() takes it (see write-options.ts for why not an object).
      const marker = Buffer.alloc(0)
      // A received message stream passed on (a proxy) keeps its type.
      const text = options?.text ?? (chunk instanceof MessageStream ? chunk.text : undefined)
      this.#streamedSources.set(marker, { source: chunk, text, compress: options?.compress !== false })
      chunk = marker
    } else if (options?.compress !== undefined && this.#deflate && (typeof chunk === 'string' || chunk instanceof Uint8Array)) {
      chunk = freshView(chunk)
      this.#choices.set(chunk as Buffer, options.compress)
    }
    if (!this.writableEnded || this.destroyed) {
      return super.write(chunk, encoding as BufferEncoding, callback as (error?: Error | null) => void)
    }
    const done = typeof encoding === 'function' ? encoding : callback
    const error = new WebSocketError('WS_ERR_WRITE_AFTER_CLOSE', CloseStatus.ABNORMAL,
      'cannot send: the closing handshake has begun')
    process.nextTick(() => {
      if (typeof done === 'function') done(error)
      this.emit('error', error)
    })
    return false
  }

  override _write(chunk: string | Buffer, encoding: string, callback: (error?: Error | null) => void): void {
    // While failing, writes are held; _destroy() fails them, so every callback is called.
    if (this.#error) {
      this.#pendingWrite = callback
      this.#pendingTaken = false
      return
    }
    const prepared = typeof chunk === 'string' ? undefined : this.#prepared.get(chunk)
    if (prepared !== undefined) return this.#send(prepared, prepared.payload, callback)
    if (chunk.length === 0 && typeof chunk !== 'string') {
      const streamed = this.#streamedSources.get(chunk)
      if (streamed !== undefined) return this.#sendSource(streamed.source, streamed.text, streamed.compress, callback)
    }
    // A string written with a byte encoding ('hex', 'base64'...) is bytes, not text.
    const message = typeof chunk === 'string' && !TEXT_ENCODINGS.has(encoding) ? Buffer.from(chunk, encoding as BufferEncoding) : chunk
    const compress = this.#deflate === null || typeof message === 'string' ? undefined : this.#choices.get(message)
    this.#send(compress === undefined ? message : { data: message, compress }, message, callback)
  }

  /** Hands one message to the outbound stages; the write's callback waits while they are backed up. */
  #send(item: Outbound | DeflateMessage, message: string | Buffer, callback: WriteCallback): void {
    if (channels.sent.hasSubscribers) channels.sent.publish({ connection: this, data: message })
    if (this.#outbound.write(item)) callback()
    else {
      this.#pendingWrite = callback
      this.#pendingTaken = true
    }
  }

  /** One message from a source; the write's callback waits for its end, so later writes wait too. */
  #sendSource(source: MessageSource, text: boolean | undefined, compress: boolean, callback: WriteCallback): void {
    const sending = new AbortController()
    this.#sending = sending
    const options = { text, fragmentSize: this.#fragmentSize, compress: compress && this.#deflate !== null, signal: sending.signal }
    sendSource(source, this.#outbound, options).then(
      () => {
        this.#sending = null
        callback()
      },
      (error: Error) => {
        this.#sending = null
        if (this.destroyed) {
          callback(this.#error ?? new WebSocketError('WS_ERR_ABNORMAL_CLOSURE', CloseStatus.ABNORMAL,
            'the connection closed before the streamed message ended'))
          return
        }
        // Held like any write while failing: _destroy() fails it.
        this.#pendingWrite = callback
        this.#pendingTaken = false
        // The fragments sent cannot be taken back: the peer sees the message cut by our CLOSE (1011).
        if (!sending.signal.aborted) this.#fail(error)
      },
    )
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.#closeSent && !this.#error && !this.#settled) {
      const received = this.#closeReceived
      // Echo the peer's code (section 5.5.1); an empty CLOSE is echoed empty.
      const payload = received
        ? received.code === CloseStatus.NO_STATUS ? Buffer.alloc(0) : received.payload.subarray(0, 2)
        : this.#closeChosen ? this.#closePayload : this.#forwardedClose() ?? this.#closePayload
      this.#writeClose(payload)
    }
    if (this.#settled) callback()
    else this.#finalCallback = () => callback()
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    if (channels.close.hasSubscribers) {
      channels.close.publish({ connection: this, code: this.closeCode, reason: this.closeReason, error })
    }
    this.#disconnect(error)
    this.#clearCloseTimer()
    this.#clearUnreadTimer()
    this.#heartbeat?.stop()
    this.#detach()
    this.#assembler.off('data', this.#onItem)
    this.#sending?.abort(error ?? new Error('the connection closed'))
    // A message still streaming in will not end: its stream is destroyed (message-stream.ts).
    // Without an error here, so the assembler reports none; the stream gets the abnormal closure.
    this.#assembler.destroy()
    // zlib contexts are freed now, not when the garbage collector gets to them.
    this.#inflate?.destroy()
    this.#deflate?.destroy()
    if (!this.socket.destroyed) this.socket.destroy()
    // A held callback is called now: as a success if the encoder had taken
    // the message (like every other), with an error if it never did.
    const pending = this.#pendingWrite
    this.#pendingWrite = null
    if (pending && this.#pendingTaken) pending()
    else if (pending) {
      pending(error ?? this.#error ?? new WebSocketError('WS_ERR_ABNORMAL_CLOSURE', CloseStatus.ABNORMAL,
        'connection closed before the message was sent'))
    }
    callback(error)
  }

  /**
   * In a message proxy (pipeline(a, b, a)) the leg that ends because its
   * peer closed passes the peer's code and reason on, so the far end learns
   * why; a close without a code is passed on without one. An abnormal
   * closure (1006) cannot be sent, and leaves the default 1000.
   */
  #forwardedClose(): Buffer | null {
    const source = this.#source
    if (!source || !source.#closeReceived) return null
    const { code, payload } = source.#closeReceived
    if (code === CloseStatus.NO_STATUS) return Buffer.alloc(0)
    return isValidCloseCode(code) ? payload : null
  }

  readonly #onPipe = (source: unknown): void => {
    // Only a connection that is the single source says whose close to pass on.
    this.#sources++
    this.#source = this.#sources === 1 && source instanceof WebSocketDuplex ? source : null
  }

  readonly #onUnpipe = (source: unknown): void => {
    this.#sources--
    // pipeline() unpipes a source when it ends, just before ending us: that
    // source's close is the one to pass on, so it stays.
    if (source === this.#source && !this.#source?.readableEnded) this.#source = null
  }

  #sendControl(opcode: number, data: string | Uint8Array): boolean {
    const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
    if (!(payload instanceof Uint8Array)) throw new TypeError('control payload must be a string or Uint8Array')
    if (payload.length > MAX_CONTROL_PAYLOAD) throw new RangeError('control payload over 125 bytes')
    if (this.#closeSent || this.#error || this.destroyed) return false
    return this.#outbound.write({ opcode, payload })
  }

  #writeClose(payload: Buffer): void {
    this.#closeSent = true
    this.#heartbeat?.stop()
    this.#outbound.write({ opcode: Opcode.CLOSE, payload })
    this.#afterCloseStep()
  }

  /** After each half of the closing handshake: close TCP, or wait for the peer. */
  #afterCloseStep(): void {
    if (this.#closeSent && this.#closeReceived) {
      // The server closes TCP first (section 7.1.1); the client waits for it.
      if (this.role === 'server' || this.socket.readableEnded) this.#outbound.end()
    }
    this.#armCloseTimer()
  }

  readonly #onItem = (item: AssembledItem): void => {
    if (this.#closeReceived || this.#error) return
    if (channels.received.hasSubscribers) channels.received.publish({ connection: this, data: item })
    if (!(item instanceof ControlFrame)) {
      // A reader working through a message stream is making progress (see #progress()).
      if (item instanceof MessageStream) this.#streaming = item
      if (!this.push(item)) this.#assembler.pause()
      return
    }
    if (item.type === 'ping') {
      this.emit('ping', item.payload)
      if (this.#autoPong && !this.#closeSent) this.#queuePong(item.payload)
    } else if (item.type === 'pong') {
      this.#heartbeat?.pong()
      this.emit('pong', item.payload)
    } else {
      this.#closeReceived = item
      this.#heartbeat?.stop()
      this.#stopReading()
      this.emit('closing', item.code, item.reason)
      this.#disconnect(null)
      // Our answer may wait behind unread messages or writes: bound that too.
      this.#armCloseTimer()
      this.#endReadable()
      if (this.#closeSent) this.#afterCloseStep()
    }
  }

  #queuePong(payload: Buffer): void {
    // A peer that pings without reading cannot grow our queue: one pong waits, the newest.
    if (this.#outbound.writableNeedDrain) this.#pendingPong = payload
    else this.#outbound.write({ opcode: Opcode.PONG, payload })
  }

  #heartbeatPing(): void {
    // While our side is backed up a ping would only queue behind it (one per
    // round, without end); the round still judges the peer by what arrives.
    if (this.#closeSent || this.#error || this.#outbound.writableNeedDrain) return
    this.#outbound.write({ opcode: Opcode.PING, payload: Buffer.alloc(0) })
  }

  /** No sign of life: nobody is there to read a CLOSE, so the TCP connection is dropped (1006). */
  #heartbeatDead(): void {
    this.#fail(new WebSocketError('WS_ERR_HEARTBEAT_TIMEOUT', CloseStatus.ABNORMAL, 'no answer to the heartbeat ping in time'))
    this.socket.destroy()
  }

  readonly #onOutboundDrain = (): void => {
    const payload = this.#pendingPong
    this.#pendingPong = null
    if (payload && !this.#closeSent) this.#outbound.write({ opcode: Opcode.PONG, payload })
    const pending = this.#pendingWrite
    if (pending && !this.#error) {
      this.#pendingWrite = null
      pending()
    }
  }

  readonly #onDecoderError = (error: Error): void => {
    // The frames decoded before the error are still being inflated and
    // assembled: end the next stage, so that the failure comes after them.
    this.#inboundError = error
    if (this.#inflate) this.#inflate.end()
    else this.#assembler.end()
  }

  readonly #onInflateError = (error: Error): void => {
    // What was inflated before the bad data is assembled first.
    this.#inboundError = error
    this.#assembler.end()
  }

  readonly #onStageError = (error: Error): void => {
    if (!this.#closeReceived) this.#fail(error)
  }

  /** Every frame that arrived has been assembled and read, and no CLOSE was among them. */
  readonly #onInboundEnd = (): void => {
    if (this.#closeReceived || this.#error) return
    if (this.#inboundError) {
      this.#fail(this.#inboundError)
      return
    }
    // The stream ended without a CLOSE: an abnormal closure (1006). The
    // reader has had every message; close our side too.
    this.#disconnect(null)
    this.#endReadable()
    this.#outbound.end()
  }

  readonly #onSocketEnd = (): void => {
    // The peer sent FIN. Frames still in the pipeline (a CLOSE among them,
    // perhaps) decide what follows, unless there is nothing left to say.
    if (this.#error || (this.#closeSent && this.#closeReceived)) this.#outbound.end()
    // What is still in the pipeline may wait for a reader: bound that wait, as for a CLOSE.
    else this.#armCloseTimer()
  }

  readonly #onSocketError = (error: Error): void => {
    // Once the peer's CLOSE is in, it has said all it will: a reset after it
    // (a browser leaving the page) is no failure.
    if (!this.#closeReceived) this.#fail(error)
  }

  readonly #onSocketClose = (): void => {
    this.#settle()
  }

  /** Fails the connection (section 7.1.7): CLOSE with the error's status, then close TCP. */
  #fail(error: Error): void {
    if (this.#error) return
    this.#error = error
    this.#sending?.abort(error)
    this.#heartbeat?.stop()
    this.#stopReading()
    this.#disconnect(error)
    const status = (error as { status?: unknown }).status
    // A failed compressor takes nothing more: the CLOSE then goes straight to the encoder.
    const out = this.#outbound.destroyed ? this.#encoder : this.#outbound
    if (!this.#closeSent && !this.socket.destroyed && typeof status === 'number' && isValidCloseCode(status)) {
      this.#closeSent = true
      out.write({ opcode: Opcode.CLOSE, payload: encodeClosePayload(status) })
    }
    // The server closes TCP at once; a client waits for the server to (section 7.1.1).
    if (this.role === 'server' || this.socket.readableEnded) out.end()
    this.#armCloseTimer()
    // Found only after TCP closed (the last frames held a protocol error): report it the same way.
    if (this.#settled) this.#gate.hold(() => this.destroy(error))
    else if (this.socket.destroyed) this.#settle()
  }

  /** Inbound bytes after a CLOSE or a failure are discarded; we only wait for FIN. */
  #stopReading(): void {
    this.#unpipeSocket()
    this.socket.resume()
  }

  /** How far our reader has got: messages read, and bytes of the message stream being read. */
  #progress(): number {
    return this.#reads + (this.#streaming?.bytesRead ?? 0)
  }

  #armCloseTimer(): void {
    if (this.#closeTimer || this.socket.destroyed) return
    let reads = this.#progress()
    const expire = () => {
      // The peer has said all it will (CLOSE or FIN) and our own reader is
      // still working through what came before: that is progress, not a hang.
      const ownReader = (this.#closeReceived !== null || this.socket.readableEnded) && !this.readableEnded
      if (ownReader && this.#progress() !== reads) {
        reads = this.#progress()
        this.#closeTimer = setTimeout(expire, this.#closeTimeout).unref()
        return
      }
      this.#closeTimer = null
      // Said before the socket goes, so that listeners on the socket hear it first;
      // what the pipeline already holds still reaches the reader.
      this.#disconnect(null)
      this.#drainInbound()
      this.socket.destroy()
    }
    this.#closeTimer = setTimeout(expire, this.#closeTimeout).unref()
  }

  /**
   * Nothing more comes from the network: the frames already in the pipeline
   * are still assembled and delivered to the reader, and then the read side
   * ends (#onInboundEnd).
   */
  #drainInbound(): void {
    this.#unpipeSocket()
    if (!this.#decoder.writableEnded) this.#decoder.end()
  }

  /**
   * Emits 'disconnect' (code, reason, error) once, as soon as nothing more
   * can arrive: the peer's CLOSE is in, or the connection failed, ended
   * without a CLOSE, timed out or was destroyed. It comes before the TCP
   * connection's own 'close', while unread messages are still readable.
   */
  #disconnect(error: Error | null): void {
    if (this.#disconnected) return
    this.#disconnected = true
    this.emit('disconnect', this.closeCode, this.closeReason, error)
  }

  /**
   * Once the TCP connection is closed, a reader that has stopped must still
   * learn that the connection is over: if the read side has not ended, with
   * no read in closeTimeout, the duplex is destroyed with an error that
   * counts the messages left unread (none is dropped without a word).
   */
  #armUnreadTimer(): void {
    if (this.#unreadTimer || this.readableEnded || this.destroyed) return
    let reads = this.#progress()
    const check = () => {
      this.#unreadTimer = null
      if (this.readableEnded || this.destroyed) return
      if (this.#progress() !== reads) {
        reads = this.#progress()
        this.#unreadTimer = setTimeout(check, this.#closeTimeout).unref()
        return
      }
      const unread = this.readableLength + this.#assembler.readableLength +
        (this.#decoder.readableLength > 0 || (this.#inflate?.readableLength ?? 0) > 0 ? 1 : 0)
      const error = new WebSocketError('WS_ERR_UNREAD_MESSAGES', CloseStatus.ABNORMAL,
        `the connection closed with ${unread} message${unread === 1 ? '' : 's'} not read`)
      if (this.#error) error.cause = this.#error
      this.destroy(error)
    }
    this.#unreadTimer = setTimeout(check, this.#closeTimeout).unref()
  }

  #clearUnreadTimer(): void {
    if (this.#unreadTimer) clearTimeout(this.#unreadTimer)
    this.#unreadTimer = null
  }

  #clearCloseTimer(): void {
    if (this.#closeTimer) clearTimeout(this.#closeTimer)
    this.#closeTimer = null
  }

  /** Lets go of the socket; the stages inside stay joined, so what they hold can still be read. */
  #detach(): void {
    this.socket.off('end', this.#onSocketEnd)
    this.socket.off('error', this.#onSocketError)
    this.socket.off('close', this.#onSocketClose)
    this.#unpipeSocket()
    this.#unpipeEncoder()
  }

  /** TCP is closed: end the read side, or report the failure once buffered messages are read. */
  #settle(): void {
    if (this.#settled) return
    this.#settled = true
    this.#heartbeat?.stop()
    this.#clearCloseTimer()
    this.#detach()
    const error =
      this.#error ??
      (this.writableLength > 0
        ? new WebSocketError('WS_ERR_ABNORMAL_CLOSURE', CloseStatus.ABNORMAL,
          `connection closed with ${this.writableLength} bytes not sent`)
        : this.#sending !== null
          ? new WebSocketError('WS_ERR_ABNORMAL_CLOSURE', CloseStatus.ABNORMAL, 'connection closed in the middle of a streamed message')
          : null)
    // A message streaming out can go nowhere now; its source is left (message-source.ts).
    if (error) this.#sending?.abort(error)
    this.#disconnect(error)
    if (error) {
      this.#gate.hold(() => this.destroy(error))
      this.#armUnreadTimer()
      return
    }
    // Clean: 'finish' now; the frames still in the pipeline reach the reader,
    // then 'end' (#onInboundEnd); then 'close'.
    if (this.#closeReceived) this.#endReadable()
    else this.#drainInbound()
    this.#armUnreadTimer()
    const finish = this.#finalCallback
    this.#finalCallback = null
    if (finish) finish()
    else if (!this.writableEnded) this.end()
  }

  #endReadable(): void {
    if (this.#eof) return
    this.#eof = true
    this.push(null)
    // With nothing left unread, the end needs no reader: a connection that is
    // only written to (a broadcast) still answers the CLOSE and gets to 'close'.
    if (this.readableLength === 0) this.read(0)
  }
}
