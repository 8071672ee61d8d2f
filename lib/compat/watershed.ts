/**
 * The original watershed API, kept whole as a compatibility layer over the
 * streams core: the `Watershed` factory and the event-emitting
 * `WatershedConnection`. Unlike the original, fragmented messages, UTF-8,
 * close codes, reserved bits and opcodes are handled as RFC 6455 requires,
 * and the caller's Buffers are never masked in place.
 *
 * An event API has no backpressure of its own, so this layer supplies it on
 * the server side: while what send() queued is over the high-water mark, no
 * more messages are read from that client (TCP flow control then reaches
 * it). A client always reads: two ends that each waited for the other to
 * read before reading would wait forever.
 */
import { EventEmitter } from 'node:events'
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex as NodeDuplex } from 'node:stream'
import { clientFromUpgrade, type ClientUpgradeOptions } from '../handshake/client'
import { HandshakeError } from '../protocol/errors'
import { generateKey } from '../handshake/key'
import { validateDuplexOptions } from '../connection/options'
import { listenedEventNames, useEventTable } from '../connection/event-table'
import { type PerMessageDeflateOptions, validatePerMessageDeflateOptions } from '../protocol/permessage-deflate'
import { accept, rejectUpgrade, type AcceptOptions } from '../handshake/server'
import { watchUpgradeRequests } from '../handshake/upgrade-requests'
import type { WebSocketDuplex, WebSocketDuplexOptions } from '../connection/websocket-duplex'
import type { WriteOptions } from '../connection/write-options'

/** The symbolic names the original gave close codes in its 'end' event. */
export const CLOSE_CODE_NAMES: Readonly<Record<number, string>> = {
  1000: 'NORMAL',
  1001: 'GOING_AWAY',
  1002: 'PROTOCOL_ERROR',
  1003: 'UNACCEPTABLE',
  1007: 'MALFORMED',
  1008: 'POLICY_VIOLATION',
  1009: 'TOO_BIG',
  1010: 'MISSING_EXTENSION',
  1011: 'UNEXPECTED_ERROR',
}

/** Socket errors that mean the peer went away without a CLOSE. */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'WS_ERR_ABNORMAL_CLOSURE'])

/**
 * Options of `new Watershed(options)`, applied to every connection it
 * accepts or connects: the limits, timeouts and heartbeat of the streams API.
 */
export type WatershedOptions = Pick<
  WebSocketDuplexOptions,
  | 'maxMessageSize'
  | 'maxFrameSize'
  | 'maxFragments'
  | 'fragmentSize'
  | 'closeTimeout'
  | 'heartbeat'
  | 'readableHighWaterMark'
  | 'writableHighWaterMark'
> & {
  /** permessage-deflate: accept a client's offer (accept()); take what the request offered (connect()). Default off. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions
}

const OPTION_NAMES: ReadonlyArray<keyof WatershedOptions> = [
  'maxMessageSize',
  'maxFrameSize',
  'maxFragments',
  'fragmentSize',
  'closeTimeout',
  'heartbeat',
  'readableHighWaterMark',
  'writableHighWaterMark',
  'perMessageDeflate',
]

/** 'end' arguments: the code's name (or the number, for codes without one), the reason, the number. */
type EndArguments = [code: string | number | null, reason: string | null, numericCode: number]

function endArguments(code: number, reason: string): EndArguments {
  // 1006: no CLOSE came. 1005: a CLOSE without a code.
  if (code === 1006) return [null, null, code]
  if (code === 1005) return [null, reason, code]
  return [CLOSE_CODE_NAMES[code] ?? code, reason, code]
}

/** The events of a WatershedConnection and their arguments. */
export interface WatershedConnectionEvents {
  text: [text: string]
  binary: [data: Buffer]
  ping: [data: Buffer]
  pong: [data: Buffer]
  error: [error: Error]
  connectionReset: []
  /** Once: the close code's symbolic name (or the code), the reason, the numeric code; nulls when no CLOSE came. */
  end: [code: string | number | null, reason: string | null, numericCode: number | null]
}

/** On a duplex: the WatershedConnection that wraps it, for the listeners every connection shares. */
const kWrapper = Symbol('watershed.wrapper')
type Wrapped = WebSocketDuplex & { [kWrapper]: WatershedConnection }

/**
 * One WebSocket connection, as events: 'text', 'binary', 'ping', 'pong',
 * 'error', 'connectionReset' and, once, 'end' (code, reason, numericCode),
 * which comes while the connection is closing, before the socket's 'close'.
 */
export class WatershedConnection extends EventEmitter<WatershedConnectionEvents> {
  /** The streams-first connection underneath. */
  readonly duplex: WebSocketDuplex
  /** Whether send() backing up pauses reading (server side). */
  readonly #holds: boolean
  /** Reading is paused because send() is backed up. */
  #held = false
  /** What 'disconnect' said, kept for 'end'. */
  #closing: { code: number; reason: string; reset: boolean } | null = null
  #ended = false

  constructor(duplex: WebSocketDuplex) {
    super()
    // Its application's listeners, in a table of fixed shape (connection/event-table.ts).
    useEventTable(this, {
      text: undefined, binary: undefined, ping: undefined, pong: undefined, error: undefined, connectionReset: undefined, end: undefined,
    })
    this.duplex = duplex
    this.#holds = duplex.role === 'server'
    // The listeners are functions shared by every connection (`this` is the
    // duplex, which points back here): closures of its own would be most of
    // what this layer adds to an idle connection.
    ;(duplex as Wrapped)[kWrapper] = this
    duplex.on('data', WatershedConnection.#data)
    duplex.on('ping', WatershedConnection.#ping)
    duplex.on('pong', WatershedConnection.#pong)
    duplex.on('disconnect', WatershedConnection.#disconnect)
    // The read side's end comes after the last message: that is when 'end' is due.
    duplex.on('end', WatershedConnection.#end)
    duplex.on('close', WatershedConnection.#end)
    duplex.on('error', WatershedConnection.#error)
  }

  static readonly #data = function (this: Wrapped, message: string | Buffer): void {
    if (typeof message === 'string') this[kWrapper].emit('text', message)
    else this[kWrapper].emit('binary', message)
  }

  static readonly #ping = function (this: Wrapped, payload: Buffer): void {
    this[kWrapper].emit('ping', payload)
  }

  static readonly #pong = function (this: Wrapped, payload: Buffer): void {
    this[kWrapper].emit('pong', payload)
  }

  static readonly #drain = function (this: Wrapped): void {
    this[kWrapper].#release()
  }

  static readonly #disconnect = function (this: Wrapped, code: number, reason: string, error: Error | null): void {
    this[kWrapper].#onDisconnect(code, reason, error)
  }

  static readonly #end = function (this: Wrapped): void {
    this[kWrapper].#finish()
  }

  static readonly #error = function (this: Wrapped, error: Error & { code?: string }): void {
    // Failures were reported at 'disconnect'; what comes here later is a
    // send() refused after the close began, or the same failure again.
    if (error.code === 'WS_ERR_WRITE_AFTER_CLOSE') this[kWrapper].#emitError(error)
  }

  override eventNames(): (keyof WatershedConnectionEvents)[] {
    return listenedEventNames(this) as (keyof WatershedConnectionEvents)[]
  }

  /** Public: the negotiated subprotocol, or null. */
  getProtocol(): string | null {
    return this.duplex.protocol
  }

  /**
   * Public: sends a Buffer as a binary message, a string as a text message.
   * Returns false when the send queue is over its high-water mark: reading
   * then pauses until it drains. Addition: `options.compress` decides for
   * this message when permessage-deflate was negotiated (see WriteOptions).
   */
  send(data: string | Buffer | Uint8Array, options?: WriteOptions): boolean {
    const ok = options === undefined ? this.duplex.write(data) : this.duplex.write(data, options)
    if (!ok && this.#holds && !this.#held && this.#closing === null && !this.duplex.writableEnded) {
      this.#held = true
      // Listened for only while held: most connections never are.
      this.duplex.on('drain', WatershedConnection.#drain)
      this.duplex.pause()
    }
    return ok
  }

  /** Addition: sends a PING (at most 125 bytes); its PONG arrives as 'pong'. */
  ping(data?: string | Uint8Array): boolean {
    return this.duplex.ping(data)
  }

  /**
   * Public: starts the closing handshake, with an optional reason and (an
   * addition) an optional close code, 1000 by default.
   */
  end(reason?: string, code = 1000): void {
    this.duplex.close(code, reason ?? '')
    // No 'drain' comes after the write side has ended; the peer's answer must still be read.
    this.#release()
  }

  /** Public: destroys the socket at once, without a CLOSE frame. */
  destroy(): void {
    this.#release()
    this.duplex.destroy()
  }

  #release(): void {
    if (!this.#held) return
    this.#held = false
    this.duplex.off('drain', WatershedConnection.#drain)
    this.duplex.resume()
  }

  #emitError(error: Error): void {
    // A hostile peer must not crash a process that did not listen for errors.
    if (this.listenerCount('error') > 0) this.emit('error', error)
  }

  /**
   * Nothing more can arrive. A failure is reported at once, after the
   * messages already queued ('error' or 'connectionReset', then 'end'); the
   * messages of a failed connection that were still being assembled are
   * dropped with it. Otherwise reading resumes, and 'end' follows the last
   * message that arrived.
   */
  #onDisconnect(code: number, reason: string, error: (Error & { code?: string }) | null): void {
    // 'connectionReset': the peer reset TCP, or closed it (FIN) without a CLOSE.
    const reset = error ? RESET_CODES.has(error.code ?? '') : code === 1006 && this.duplex.socket.readableEnded
    this.#closing = { code, reason, reset }
    this.#release()
    if (!error) return
    while (this.duplex.readableLength > 0 && this.duplex.read() !== null);
    if (!reset) this.#emitError(error)
    this.#finish()
  }

  #finish(): void {
    if (this.#ended) return
    this.#ended = true
    const { code, reason, reset } = this.#closing ?? { code: this.duplex.closeCode, reason: this.duplex.closeReason, reset: false }
    if (reset) this.emit('connectionReset')
    this.emit('end', ...endArguments(code, reason))
  }
}

/**
 * The original factory. `new Watershed()` works as it always did; options
 * (an addition) set limits for every connection it makes.
 */
export class Watershed {
  readonly #options: WatershedOptions

  constructor(options: WatershedOptions = {}) {
    validateDuplexOptions(options)
    validatePerMessageDeflateOptions(options.perMessageDeflate)
    // Requests made before the first generateKey() are noted too.
    watchUpgradeRequests()
    // Messages are handed to listeners as they come; the read buffer only
    // fills while send() is backed up, and then one waiting message is enough.
    const chosen: WatershedOptions = { readableHighWaterMark: 1 }
    for (const name of OPTION_NAMES) {
      if (options[name] !== undefined) (chosen as Record<string, unknown>)[name] = options[name]
    }
    this.#options = chosen
  }

  /**
   * Public: accepts an upgrade from an http.Server 'upgrade' event. With
   * `raw`, returns the socket itself; `protocols` lists the supported
   * subprotocols. On a request that is not an acceptable upgrade, the HTTP
   * refusal (400, 405, 426) is written and the socket ended, then the error
   * is thrown, so the documented `catch (ex) { socket.end() }` still
   * answers the client.
   */
  accept(req: IncomingMessage, socket: NodeDuplex, head?: Buffer, raw?: false, protocols?: readonly string[]): WatershedConnection
  accept(req: IncomingMessage, socket: NodeDuplex, head: Buffer | undefined, raw: true, protocols?: readonly string[]): Socket
  accept(
    req: IncomingMessage,
    socket: NodeDuplex,
    head?: Buffer,
    raw?: boolean,
    protocols?: readonly string[],
  ): WatershedConnection | Socket {
    // Object.assign, then the call's own values: V8's spread with more properties after it is slow (connection/options.ts).
    const options: AcceptOptions = Object.assign({ protocols, raw }, this.#options)
    options.protocols = protocols
    options.raw = raw
    try {
      if (raw) return accept(req, socket, head ?? Buffer.alloc(0), options as AcceptOptions & { raw: true })
      return new WatershedConnection(accept(req, socket, head, options))
    } catch (error) {
      refuse(socket, error)
      throw error
    }
  }

  /** Public: a random base64 16-byte value for the Sec-WebSocket-Key header. */
  generateKey(): string {
    return generateKey()
  }

  /**
   * Public: attaches a client connection to a socket from an
   * http.ClientRequest 'upgrade' event. Throws on an invalid response, or
   * on a subprotocol or extension the request did not offer; the socket is
   * then destroyed.
   */
  connect(res: IncomingMessage, socket: NodeDuplex, head: Buffer, wskey: string): WatershedConnection {
    const options: ClientUpgradeOptions = { ...this.#options }
    try {
      return new WatershedConnection(clientFromUpgrade(res, socket, head, wskey, options))
    } catch (error) {
      socket.destroy()
      throw error
    }
  }
}

/** Answers a refused upgrade over HTTP, unless the socket can no longer take it. */
function refuse(socket: NodeDuplex, error: unknown): void {
  if (socket.destroyed || !socket.writable) return
  if (error instanceof HandshakeError) {
    rejectUpgrade(socket, error)
    return
  }
  // A mistake on our side: the body says nothing of it (it may hold secrets).
  const failure = new HandshakeError('WS_ERR_HANDSHAKE', 'upgrade failed', 500)
  failure.cause = error
  rejectUpgrade(socket, failure)
}
