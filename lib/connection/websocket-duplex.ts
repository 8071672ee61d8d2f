/**
 * WebSocketDuplex: the object-mode Duplex that users hold.
 *
 *   socket ─▶ FrameDecoder ─▶ [Inflate] ─▶ MessageAssembler ─▶ (read side: string | Buffer)
 *   socket ◀─ FrameEncoder ◀─ [Deflate] ◀──────────────────────  (write side: string | Uint8Array)
 *
 * The bracketed stages only with permessage-deflate. Each side's stages are
 * built when first needed and given back when the connection goes quiet
 * (inbound.ts, outbound.ts, stage-sweeper.ts).
 *
 * It owns the connection's state: it answers PINGs, runs the closing
 * handshake (RFC 6455 section 7), and turns protocol errors into the close
 * code the RFC assigns. Ending the write side (`end()` or `close(code,
 * reason)`) sends the CLOSE frame after every message written before it.
 * The peer's CLOSE ends the read side, and is answered once the reader has
 * read past it. 'finish' waits for the TCP connection to close; a protocol
 * error is emitted after the messages that arrived before it have been read.
 *
 * Beside it: its public types (duplex-types.ts), the timers that bound its
 * ending (close-timers.ts), and how a write travels through the Writable's
 * buffer to _write() (write-markers.ts).
 */
import { Duplex } from '../stages/streams'
import { encodeClosePayload, isValidCloseCode } from '../protocol/close'
import { ControlFrame } from '../protocol/control-frame'
import { forward } from './forward'
import { listenedEventNames, useEventTable } from './event-table'
import { PipedSources } from './proxy-close'
import { ClosingHandshake } from './closing-handshake'
import { stageSweeper } from './stage-sweeper'
import { type Carrier, type Transport, transportOf } from './transport'
import type { Socket } from 'node:net'
import type { DeflateRaw, InflateRaw } from 'node:zlib'
import { channels } from './diagnostics'
import { DrainGate } from '../stages/drain-gate'
import { CloseStatus, WebSocketError } from '../protocol/errors'
import { MAX_CONTROL_PAYLOAD, Opcode, type Role } from '../protocol/frame'
import type { Outbound as OutboundItem } from '../stages/frame-encoder'
import type { DeflateMessage } from '../stages/deflate'
import { Heartbeat } from './heartbeat'
import type { AssembledItem } from '../stages/message-assembler'
import { Inbound } from './inbound'
import { Outbound } from './outbound'
import { type ConnectionSettings, connectionSettings } from './settings'
import { validateDuplexOptions } from './options'
import { type WriteOptions, checkWriteOptions, isWriteOptions } from './write-options'
import { compressChoiceOf, messageOf, preparedBehind, sourceBehind, toWritable } from './write-markers'
import { type MessageSource, sendSource } from './message-source'
import { MessageStream } from '../stages/message-stream'
import type { PreparedMessage } from '../protocol/prepared-message'
import { ProgressTimer, unreadMessagesError } from './close-timers'
import type { DuplexListener, InboundMessage, MessageIterator, WebSocketDuplexEvents, WebSocketDuplexOptions, WebSocketMessage } from './duplex-types'
import { type ReadyState, readyStateOf } from './ready-state'
import { type HandshakeResponse, responseOf } from './handshake-response'

// The public types of a connection, where those who use the class find them.
export type { Compression, InboundMessage, StreamMode, WebSocketDuplexEvents, WebSocketDuplexOptions, WebSocketMessage } from './duplex-types'

type WriteCallback = (error?: Error | null) => void

/** zlib contexts whose stages were given back: their windows, for the stages built next. */
interface KeptContexts {
  inflater: InflateRaw | null
  deflater: DeflateRaw | null
}

// Typed events, end() and reading, merged into the class below (merging keeps it in this file).
export interface WebSocketDuplex<M extends InboundMessage = WebSocketMessage, C extends Carrier = Socket> {
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

/** What end() sends unless close() or a proxied close chose otherwise (never modified: frames are copied or written whole). */
const NORMAL_CLOSE = encodeClosePayload(CloseStatus.NORMAL)

/** The connection a socket belongs to, for the socket listeners every connection shares. */
const kConnection = Symbol('watershed.connection')
type OwnedSocket = Carrier & { [kConnection]?: WebSocketDuplex<InboundMessage, Carrier> }

/**
 * `M` is what a message is when read: WebSocketMessage, or InboundMessage
 * for a connection in stream mode (connect() and accept() say which). `C`
 * is what carries the bytes: a socket, or an HTTP/2 stream (RFC 8441).
 */
export class WebSocketDuplex<M extends InboundMessage = WebSocketMessage, C extends Carrier = Socket> extends Duplex {
  /** What carries the bytes: a TCP or TLS socket, or an HTTP/2 stream (transport.ts). */
  readonly socket: C
  readonly role: Role
  readonly protocol: string | null
  /** The extensions in use, as the 101 response named them ('' for none), like WHATWG's `extensions`. */
  readonly extensions: string

  /** What the stages are built from, when they are needed. */
  readonly #settings: ConnectionSettings
  /** What differs between the carriers (who ends first, reset, byte counts). */
  readonly #transport: Transport
  /** The read side's stages, built when the first byte arrives (inbound.ts). */
  #in: Inbound | null = null
  /** The write side's stages, built for the first frame we send (outbound.ts). */
  #out: Outbound | null = null
  /** With permessage-deflate and context takeover: the windows of the stages given back while quiet, for the next ones. */
  #kept: KeptContexts | null = null
  /** Stops feeding the socket's bytes to the read side; null before it is built, or once stopped. */
  #stopSocket: (() => void) | null = null
  /** Waiting for the first byte, to build the read side then. */
  #awaitingFirst = false
  /** Nothing more comes from the socket (#drainInbound()). */
  #drained = false
  /** Until the caller has had a turn, the read side delivers nothing (only when bytes came with the handshake). */
  #held: boolean
  /** Our side of TCP was ended before the write side was ever built (#endOutput()). */
  #outputEnded = false
  /** The bytes moved either way at the last sweep (stage-sweeper.ts): unchanged means quiet. */
  #swept = -1
  /** The streamed message being sent, stopped if the connection fails or closes. */
  #sending: AbortController | null = null
  /** Holds a failure until the messages before it are read; made when there is one to hold. */
  #gate: DrainGate | null = null
  readonly #heartbeat: Heartbeat | null

  /** The CLOSE payload close() chose; otherwise a proxied close, or 1000 (_final()). */
  #closePayload: Buffer | null = null
  /** What is piped into this one: a message proxy's other leg passes its peer's close on (proxy-close.ts). */
  #piped: PipedSources | null = null
  /** Where the closing handshake stands; the peer's CLOSE and the failure, if any (closing-handshake.ts). */
  readonly #closing = new ClosingHandshake()
  /** A decoder error waiting for the frames before it to be assembled. */
  #inboundError: Error | null = null
  /** Bounds the closing handshake; made when armed (close-timers.ts). */
  #closeTimer: ProgressTimer | null = null
  /** At most one automatic PONG waits while the socket is backed up. */
  #pendingPong: Buffer | null = null
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
  /** Bounds the wait for a reader after TCP closed; made when armed (close-timers.ts). */
  #unreadTimer: ProgressTimer | null = null

  constructor(socket: C, options: WebSocketDuplexOptions = {}) {
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
    // The events a connection is listened for, in a table of fixed shape (event-table.ts).
    useEventTable(this, {
      close: undefined, error: undefined, prefinish: undefined, finish: undefined, drain: undefined, data: undefined,
      end: undefined, readable: undefined, ping: undefined, pong: undefined, closing: undefined, disconnect: undefined,
    })
    this.socket = socket
    this.#transport = transportOf(socket)
    this.role = options.role ?? 'server'
    this.protocol = options.protocol ?? null
    this.extensions = options.extensions ?? ''

    this.#settings = connectionSettings(options)
    ;(socket as OwnedSocket)[kConnection] = this
    this.#transport.prepare(socket)
    socket.on('end', WebSocketDuplex.#socketEnd)
    socket.on('error', WebSocketDuplex.#socketError)
    socket.on('close', WebSocketDuplex.#socketClose)
    // Held until the caller has had a turn: frames that came with the
    // handshake must not fire events before `await connect()` returns.
    // Bytes that come later come in a later turn: nothing to hold then.
    this.#held = (options.head !== undefined && options.head.length > 0) || socket.readableLength > 0
    if (this.#held) {
      setImmediate(() => {
        this.#held = false
        this._read()
      })
    }
    if (options.head && options.head.length > 0) {
      const inbound = this.#inbound()
      inbound.decoder.write(options.head)
      this.#stopSocket = forward(socket, inbound.decoder)
    } else {
      // An idle connection holds no stages: the read side is built when the first byte comes.
      this.#awaitingFirst = true
      socket.on('data', WebSocketDuplex.#socketFirstBytes)
      // A socket paused during the handshake (an async verify) holds bytes already: let them come.
      socket.resume()
    }
    this.#heartbeat = options.heartbeat === undefined
      ? null
      : new Heartbeat(socket, this.#transport, options.heartbeat, () => this.#heartbeatPing(), () => this.#heartbeatDead())
    if (socket.destroyed) process.nextTick(() => this.#onSocketClose())
    if (channels.open.hasSubscribers) channels.open.publish({ connection: this })
  }

  // The socket's listeners are shared by every connection (the socket says whose it is), so that
  // an idle connection carries no closures of its own for them.
  static readonly #socketEnd = function (this: OwnedSocket): void {
    this[kConnection]!.#onSocketEnd()
  }

  static readonly #socketError = function (this: OwnedSocket, error: Error): void {
    this[kConnection]!.#onSocketError(error)
  }

  static readonly #socketClose = function (this: OwnedSocket): void {
    this[kConnection]!.#onSocketClose()
  }

  static readonly #socketFirstBytes = function (this: OwnedSocket, chunk: Buffer): void {
    this[kConnection]!.#onFirstBytes(chunk)
  }

  /** Reports the failure once the messages buffered before it have been read. */
  #holdFailure(error: Error): void {
    ;(this.#gate ??= new DrainGate(this)).hold(() => this.destroy(error))
  }

  /** The read side, built now if it is not yet. */
  #inbound(): Inbound {
    if (this.#in) return this.#in
    const inflater = this.#kept?.inflater ?? undefined
    if (inflater) this.#kept!.inflater = null
    this.#in = new Inbound(this.#settings, {
      item: (item) => this.#onItem(item),
      // A bad frame: reported once the frames before it have been assembled and read (#onInboundEnd).
      peerError: (error) => (this.#inboundError = error),
      stageError: (error) => this.#onStageError(error),
      end: () => this.#onInboundEnd(),
    }, inflater)
    if (this.#held) this.#in.assembler.pause()
    this.#sweepMe()
    return this.#in
  }

  /** The write side, built now if it is not yet. */
  #output(): Outbound {
    if (this.#out) return this.#out
    const deflater = this.#kept?.deflater ?? undefined
    if (deflater) this.#kept!.deflater = null
    this.#out = new Outbound(this.socket, this.#settings, {
      drain: () => this.#onOutboundDrain(),
      error: (error) => this.#onStageError(error),
    }, deflater)
    // Built after our side of TCP was ended: it takes nothing more, as it would have had it been built then.
    if (this.#outputEnded) this.#out.input.end()
    else this.#sweepMe()
    return this.#out
  }

  /**
   * Ends our side of TCP after everything written: through the write side
   * when it is built, else at once, without building it only to end it
   * (a connection that goes away idle, the common case).
   */
  #endOutput(): void {
    const out = this.#out
    if (out !== null) {
      // A failed compressor takes nothing more: the end goes straight to the encoder.
      ;(out.input.destroyed ? out.encoder : out.input).end()
      return
    }
    this.#outputEnded = true
    if (!this.socket.destroyed) this.socket.end()
  }

  #sweepMe(): void {
    if (!this.#closing.closed && !this.destroyed) stageSweeper.add(this, () => this.#sweep())
  }

  /** A sweep's visit: a connection quiet since the last one gives back the stages it can. True once it holds none. */
  #sweep(): boolean {
    const moved = this.#transport.bytesMoved(this.socket)
    const quiet = moved === this.#swept
    this.#swept = moved
    if (quiet) {
      this.#releaseInbound()
      this.#releaseOutbound()
    }
    return this.#in === null && this.#out === null
  }

  /** Drops the read side if it is between messages with nothing held; the next byte builds it again. */
  #releaseInbound(): void {
    const inbound = this.#in
    if (inbound === null || this.#stopSocket === null || !inbound.idle || this.readableLength > 0) return
    if (this.#closing.peerClose || this.#closing.failure || this.#inboundError || this.#eof) return
    this.#stopSocket()
    this.#stopSocket = null
    this.#in = null
    // A window the next message may refer back into is kept; a context without one is freed now.
    const inflater = inbound.release()
    if (inflater) (this.#kept ??= { inflater: null, deflater: null }).inflater = inflater
    this.#awaitingFirst = true
    this.socket.on('data', WebSocketDuplex.#socketFirstBytes)
  }

  /** Drops the write side if nothing is queued or owed; the next frame builds it again. */
  #releaseOutbound(): void {
    const out = this.#out
    if (out === null || !out.idle || this.writableLength > 0 || this.writableEnded) return
    if (this.#closing.state !== 'open' || this.#sending || this.#pendingWrite || this.#pendingPong) return
    out.unpipe()
    this.#out = null
    const deflater = out.release()
    if (deflater) (this.#kept ??= { inflater: null, deflater: null }).deflater = deflater
  }

  /** zlib contexts are freed at once, not when the garbage collector gets to them. */
  #closeKept(): void {
    const kept = this.#kept
    if (kept === null) return
    this.#kept = null
    kept.inflater?.close()
    kept.deflater?.close()
  }

  /** The first bytes after the handshake: build the read side and let the socket flow into it. */
  #onFirstBytes(chunk: Buffer): void {
    // A plain listener taken off here: once() would add a wrapper and its state to every idle connection.
    this.socket.off('data', WebSocketDuplex.#socketFirstBytes)
    this.#awaitingFirst = false
    const decoder = this.#inbound().decoder
    this.#stopSocket = forward(this.socket, decoder)
    // The write itself may stop the forwarding (a CLOSE in this very chunk): the socket is then not ours to pause.
    if (!decoder.write(chunk) && this.#stopSocket !== null) this.socket.pause()
  }

  /** Stops feeding the socket's bytes to the read side (or waiting for them). */
  #unpipeSocket(): void {
    if (this.#awaitingFirst) {
      this.#awaitingFirst = false
      this.socket.off('data', WebSocketDuplex.#socketFirstBytes)
    }
    this.#stopSocket?.()
    this.#stopSocket = null
  }

  /** The peer's close code: 1005 if its CLOSE had none, 1006 if none came. */
  get closeCode(): number {
    return this.#closing.peerClose?.code ?? CloseStatus.ABNORMAL
  }

  get closeReason(): string {
    return this.#closing.peerClose?.reason ?? ''
  }

  /** Bytes accepted by write() but not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.writableLength + (this.#out?.buffered ?? 0) + this.socket.writableLength
  }

  /** OPEN, CLOSING (a CLOSE sent or received, or failing) or CLOSED, numbered as WHATWG's readyState (ReadyState). */
  get readyState(): ReadyState {
    return readyStateOf(this.destroyed || this.#closing.closed, this.writableEnded || this.#closing.state !== 'open')
  }

  /** A client's record of the server's 101 response (status, headers); null on the server side. */
  get response(): HandshakeResponse | null {
    return responseOf(this)
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
    this.end()
  }

  /** Sends a PING (payload up to 125 bytes); false when it cannot be sent any more or must wait for 'drain'. */
  ping(data: string | Uint8Array = Buffer.alloc(0)): boolean {
    return this.#sendControl(Opcode.PING, data)
  }

  /** Sends an unsolicited PONG (payload up to 125 bytes); false when it cannot be sent any more or must wait for 'drain'. */
  pong(data: string | Uint8Array = Buffer.alloc(0)): boolean {
    return this.#sendControl(Opcode.PONG, data)
  }

  // Typed as the base class has it, so the duplex passes for a node:stream Readable.
  override read(size?: number) {
    const message = super.read(size)
    if (message !== null) this.#reads++
    this.#gate?.check()
    return message
  }

  override eventNames(): (string | symbol)[] {
    return listenedEventNames(this)
  }

  // Node's 'close' carries no arguments; ours adds the peer's code and reason. 'pipe' and
  // 'unpipe' are seen here rather than by listeners, which every connection would carry.
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'close' && args.length === 0) return super.emit('close', this.closeCode, this.closeReason)
    if (event === 'pipe') (this.#piped ??= new PipedSources()).piped(args[0] instanceof WebSocketDuplex ? args[0] : null)
    else if (event === 'unpipe') this.#piped?.unpiped(args[0])
    return super.emit(event, ...args)
  }

  override _read(): void {
    if (!this.#closing.peerClose && !this.#closing.failure) this.#in?.assembler.resume()
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
    // Through the Writable's buffer like any message, so order holds (write-markers.ts).
    chunk = toWritable(chunk, options, this.#settings.compression !== undefined)
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
    if (this.#closing.failure) {
      this.#pendingWrite = callback
      this.#pendingTaken = false
      return
    }
    const prepared = preparedBehind(chunk)
    if (prepared !== undefined) return this.#send(prepared, prepared.payload, callback)
    const streamed = sourceBehind(chunk)
    if (streamed !== undefined) return this.#sendSource(streamed.source, streamed.text, streamed.compress, callback)
    const message = messageOf(chunk, encoding)
    const compress = this.#settings.compression ? compressChoiceOf(message) : undefined
    this.#send(compress === undefined ? message : { data: message, compress }, message, callback)
  }

  /** Hands one message to the outbound stages; the write's callback waits while they are backed up. */
  #send(item: OutboundItem | DeflateMessage, message: string | Buffer, callback: WriteCallback): void {
    if (channels.sent.hasSubscribers) channels.sent.publish({ connection: this, data: message })
    if (this.#output().input.write(item)) callback()
    else {
      this.#pendingWrite = callback
      this.#pendingTaken = true
    }
  }

  /** One message from a source; the write's callback waits for its end, so later writes wait too. */
  #sendSource(source: MessageSource, text: boolean | undefined, compress: boolean, callback: WriteCallback): void {
    const sending = new AbortController()
    this.#sending = sending
    const options = { text, fragmentSize: this.#settings.fragmentSize, compress: compress && this.#settings.compression !== undefined, signal: sending.signal }
    sendSource(source, this.#output().input, options).then(
      () => {
        this.#sending = null
        callback()
      },
      (error: Error) => {
        this.#sending = null
        if (this.destroyed) {
          callback(this.#closing.failure ?? new WebSocketError('WS_ERR_ABNORMAL_CLOSURE', CloseStatus.ABNORMAL,
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
    // Not when the write side was ended already (the peer left without a CLOSE: nothing more is sent).
    if (this.#closing.canSend && !this.#outputEnded && !this.#out?.input.writableEnded) {
      const received = this.#closing.peerClose
      // Echo the peer's code (section 5.5.1); an empty CLOSE is echoed empty.
      const payload = received
        ? received.code === CloseStatus.NO_STATUS ? Buffer.alloc(0) : received.payload.subarray(0, 2)
        : this.#closePayload ?? this.#piped?.forwardedClose() ?? NORMAL_CLOSE
      this.#writeClose(payload)
    }
    if (this.#closing.closed) callback()
    else this.#finalCallback = () => callback()
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    if (channels.close.hasSubscribers) {
      channels.close.publish({ connection: this, code: this.closeCode, reason: this.closeReason, error })
    }
    this.#disconnect(error)
    this.#closeTimer?.stop()
    this.#closeTimer = null
    this.#unreadTimer?.stop()
    this.#unreadTimer = null
    this.#heartbeat?.stop()
    stageSweeper.delete(this)
    this.#detach()
    if (this.#sending) this.#sending.abort(error ?? new Error('the connection closed'))
    // Without an error here, so the assembler reports none; a message stream gets the abnormal closure.
    this.#in?.destroy()
    this.#out?.destroy()
    this.#closeKept()
    if (!this.socket.destroyed) this.#transport.reset(this.socket)
    // A held callback is called now: as a success if the encoder had taken
    // the message (like every other), with an error if it never did.
    const pending = this.#pendingWrite
    this.#pendingWrite = null
    if (pending && this.#pendingTaken) pending()
    else if (pending) {
      pending(error ?? this.#closing.failure ?? new WebSocketError('WS_ERR_ABNORMAL_CLOSURE', CloseStatus.ABNORMAL,
        'connection closed before the message was sent'))
    }
    callback(error)
  }

  #sendControl(opcode: number, data: string | Uint8Array): boolean {
    const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
    if (!(payload instanceof Uint8Array)) throw new TypeError('control payload must be a string or Uint8Array')
    if (payload.length > MAX_CONTROL_PAYLOAD) throw new RangeError('control payload over 125 bytes')
    if (!this.#closing.canSend || this.destroyed) return false
    return this.#output().input.write({ opcode, payload })
  }

  #writeClose(payload: Buffer): void {
    this.#closing.sent()
    this.#heartbeat?.stop()
    this.#output().input.write({ opcode: Opcode.CLOSE, payload })
    this.#afterCloseStep()
  }

  /** After each half of the closing handshake: close TCP, or wait for the peer. */
  #afterCloseStep(): void {
    if (this.#closing.exchanged) {
      // On TCP the server closes first (section 7.1.1) and the client waits for it (transport.ts).
      if (this.#transport.endsFirst(this.socket, this.role)) this.#endOutput()
    }
    this.#armCloseTimer()
  }

  #onItem(item: AssembledItem): void {
    if (this.#closing.peerClose || this.#closing.failure) return
    if (channels.received.hasSubscribers) channels.received.publish({ connection: this, data: item })
    if (!(item instanceof ControlFrame)) {
      // A reader working through a message stream is making progress (see #progress()).
      if (item instanceof MessageStream) this.#streaming = item
      if (!this.push(item)) this.#in?.assembler.pause()
      return
    }
    if (item.type === 'ping') {
      this.emit('ping', item.payload)
      if (this.#settings.autoPong && this.#closing.canSend) this.#queuePong(item.payload)
    } else if (item.type === 'pong') {
      this.#heartbeat?.pong()
      this.emit('pong', item.payload)
    } else {
      this.#closing.received(item)
      this.#heartbeat?.stop()
      this.#stopReading()
      this.emit('closing', item.code, item.reason)
      this.#disconnect(null)
      // Our answer may wait behind unread messages or writes: bound that too.
      this.#armCloseTimer()
      this.#endReadable()
      if (this.#closing.closeSent) this.#afterCloseStep()
    }
  }

  #queuePong(payload: Buffer): void {
    // A peer that pings without reading cannot grow our queue: one pong waits, the newest.
    const out = this.#output().input
    if (out.writableNeedDrain) this.#pendingPong = payload
    else out.write({ opcode: Opcode.PONG, payload })
  }

  #heartbeatPing(): void {
    // While our side is backed up a ping would only queue behind it (one per
    // round, without end); the round still judges the peer by what arrives.
    if (!this.#closing.canSend || this.#out?.input.writableNeedDrain) return
    this.#output().input.write({ opcode: Opcode.PING, payload: Buffer.alloc(0) })
  }

  /** No sign of life: nobody is there to read a CLOSE, so the TCP connection is dropped (1006). */
  #heartbeatDead(): void {
    this.#fail(new WebSocketError('WS_ERR_HEARTBEAT_TIMEOUT', CloseStatus.ABNORMAL, 'no answer to the heartbeat ping in time'))
    this.#transport.reset(this.socket)
  }

  #onOutboundDrain(): void {
    const payload = this.#pendingPong
    this.#pendingPong = null
    if (payload && this.#closing.canSend) this.#output().input.write({ opcode: Opcode.PONG, payload })
    const pending = this.#pendingWrite
    if (pending && !this.#closing.failure) {
      this.#pendingWrite = null
      pending()
    }
  }

  #onStageError(error: Error): void {
    if (!this.#closing.peerClose) this.#fail(error)
  }

  /** Every frame that arrived has been assembled and read, and no CLOSE was among them. */
  #onInboundEnd(): void {
    if (this.#closing.peerClose || this.#closing.failure) return
    if (this.#inboundError) {
      this.#fail(this.#inboundError)
      return
    }
    // The stream ended without a CLOSE: an abnormal closure (1006). The
    // reader has had every message; close our side too.
    this.#disconnect(null)
    this.#endReadable()
    this.#endOutput()
  }

  #onSocketEnd(): void {
    // The peer sent FIN. Frames still in the pipeline (a CLOSE among them,
    // perhaps) decide what follows, unless there is nothing left to say.
    if (this.#closing.failure || this.#closing.exchanged) this.#endOutput()
    // A FIN before any byte (or after stages given back): nothing is in the pipeline, and with nothing
    // queued to send either, the read side ends at once (1006, no CLOSE) and TCP with it: no wait to bound.
    else if (!(this.#awaitingFirst && this.#out === null && this.socket.writableLength === 0)) {
      // What is still in the pipeline may wait for a reader: bound that wait, as for a CLOSE.
      this.#armCloseTimer()
    }
    if (this.#awaitingFirst) this.#drainInbound()
  }

  #onSocketError(error: Error): void {
    // Once the peer's CLOSE is in, it has said all it will: a reset after it
    // (a browser leaving the page) is no failure.
    if (!this.#closing.peerClose) this.#fail(error)
  }

  #onSocketClose(): void {
    this.#settle()
  }

  /** Fails the connection (section 7.1.7): CLOSE with the error's status, then close TCP. */
  #fail(error: Error): void {
    if (!this.#closing.fail(error)) return
    this.#sending?.abort(error)
    this.#heartbeat?.stop()
    this.#stopReading()
    this.#disconnect(error)
    const status = (error as { status?: unknown }).status
    if (!this.#closing.closeSent && !this.socket.destroyed && typeof status === 'number' && isValidCloseCode(status)) {
      this.#closing.sent()
      // A failed compressor takes nothing more: the CLOSE then goes straight to the encoder.
      const output = this.#output()
      ;(output.input.destroyed ? output.encoder : output.input).write({ opcode: Opcode.CLOSE, payload: encodeClosePayload(status) })
    }
    // On TCP the server closes at once and a client waits for it (section 7.1.1; transport.ts).
    if (this.#transport.endsFirst(this.socket, this.role)) this.#endOutput()
    this.#armCloseTimer()
    // Found only after TCP closed (the last frames held a protocol error): report it the same way.
    if (this.#closing.closed) this.#holdFailure(error)
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

  /** Bounds what is left of the closing (after a CLOSE, a FIN or a failure) by closeTimeout; then TCP is dropped. */
  #armCloseTimer(): void {
    if (this.#closeTimer || this.socket.destroyed) return
    this.#closeTimer = new ProgressTimer(this.#settings.closeTimeout, () => this.#progress(),
      // Once the peer has said all it will (CLOSE or FIN), what is left is our own reader's to read.
      () => (this.#closing.peerClose !== null || this.socket.readableEnded) && !this.readableEnded,
      () => {
        this.#closeTimer = null
        // Said before the socket goes, so that listeners on the socket hear it first;
        // what the pipeline already holds still reaches the reader.
        this.#disconnect(null)
        this.#drainInbound()
        this.#transport.reset(this.socket)
      })
  }

  /**
   * Nothing more comes from the network: the frames already in the pipeline
   * are still assembled and delivered to the reader, and then the read side
   * ends (#onInboundEnd).
   */
  #drainInbound(): void {
    this.#unpipeSocket()
    if (this.#in) this.#in.drain()
    // No stages (none built yet, or given back): nothing is in flight, so the read side ends now.
    else if (!this.#drained) process.nextTick(() => this.#onInboundEnd())
    this.#drained = true
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
    this.#unreadTimer = new ProgressTimer(this.#settings.closeTimeout, () => this.#progress(),
      () => !this.readableEnded && !this.destroyed,
      () => {
        this.#unreadTimer = null
        if (this.readableEnded || this.destroyed) return
        this.destroy(unreadMessagesError(this.readableLength + (this.#in?.unread ?? 0), this.#closing.failure))
      })
  }

  /** Lets go of the socket; the stages inside stay joined, so what they hold can still be read. */
  #detach(): void {
    this.socket.off('end', WebSocketDuplex.#socketEnd)
    this.socket.off('error', WebSocketDuplex.#socketError)
    this.socket.off('close', WebSocketDuplex.#socketClose)
    this.#unpipeSocket()
    this.#out?.unpipe()
  }

  /** TCP is closed: end the read side, or report the failure once buffered messages are read. */
  #settle(): void {
    if (this.#closing.closed) return
    this.#closing.tcpClosed()
    this.#heartbeat?.stop()
    stageSweeper.delete(this)
    this.#closeTimer?.stop()
    this.#closeTimer = null
    this.#detach()
    // Nothing more comes or goes: windows kept for later messages have none.
    this.#closeKept()
    const error =
      this.#closing.failure ??
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
      this.#holdFailure(error)
      this.#armUnreadTimer()
      return
    }
    // Clean: 'finish' now; the frames still in the pipeline reach the reader,
    // then 'end' (#onInboundEnd); then 'close'.
    if (this.#closing.peerClose) this.#endReadable()
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
