/**
 * The names a connection's users write: its options, what it reads, and its
 * events (with the listener and iterator types its signatures are written
 * with). They live apart from WebSocketDuplex so that what the duplex is
 * built from (its settings, stages and option checks) can name them without
 * importing the duplex; websocket-duplex.ts re-exports the public ones.
 */
import type { Readable } from 'node:stream'
import type { WebSocketError } from '../protocol/errors'
import type { Role } from '../protocol/frame'
import type { PerMessageDeflateParams } from '../protocol/permessage-deflate'
import type { MessageStream } from '../stages/message-stream'
import type { HeartbeatSetting } from './heartbeat'

/** Options of a connection, as accept() and connect() take them (limits, timeouts, heartbeat, high-water marks, stream mode). */
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

/** A whole message as read: a string for text, a Buffer for binary. */
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

/** A listener of one of those events, as the typed on(), once() and the like take it. */
export type DuplexListener<E extends keyof WebSocketDuplexEvents, M extends InboundMessage> = (...args: WebSocketDuplexEvents<M>[E]) => void

/** The stream's own async iterator (whatever @types/node calls it), yielding messages. */
export type MessageIterator<M> = AsyncIterableIterator<M> & ReturnType<Readable[typeof Symbol.asyncIterator]>
