/**
 * What carries a connection's bytes: a TCP (or TLS) socket, or an HTTP/2
 * stream opened by an extended CONNECT (RFC 8441). The stages and the
 * duplex see a byte Duplex either way; the few points where the two differ
 * sit here, so the duplex never asks which one it has:
 *
 *                       TCP socket                 HTTP/2 stream
 *  byte counts          socket.bytesRead/Written   counted here (it keeps none)
 *  after both CLOSEs    the server ends first,     each end sends END_STREAM at
 *                       the client waits for FIN   once (RFC 8441 section 5:
 *                       (RFC 6455 section 7.1.1)   no TIME_WAIT to place); a
 *                                                  server then cuts a client's
 *                                                  half left open (NO_ERROR)
 *  reset                destroy the socket         RST_STREAM with CANCEL
 *  peer's reset         'error' ECONNRESET         RST_STREAM (or the session
 *                                                  going away) made the same
 *                                                  ECONNRESET error, so the
 *                                                  connection ends with 1006
 *                                                  (section 5)
 *  no-delay             on the socket              the session's socket, not
 *                                                  the stream's to set
 *
 * The transports are shared objects without state of their own: an idle
 * TCP connection carries nothing extra for them.
 */
import type { Socket } from 'node:net'
import type { Http2Session, Http2Stream, ServerHttp2Stream } from 'node:http2'
import { http2 } from './lazy-modules'
import type { Role } from '../protocol/frame'

/** A byte Duplex a WebSocketDuplex runs on. */
export type Carrier = Socket | Http2Stream

export interface Transport<C extends Carrier = Carrier> {
  /** Readies the carrier (before the connection listens to it): no idle timeout, no Nagle delay, each direction closed on its own. */
  prepare(carrier: C): void
  /** Bytes received so far: any change is a sign of life. */
  bytesRead(carrier: C): number
  /** Bytes moved either way so far: unchanged between two looks means quiet. */
  bytesMoved(carrier: C): number
  /** With both CLOSE frames through, whether this end ends its sending half now (else it waits for the peer's end). */
  endsFirst(carrier: C, role: Role): boolean
  /** Drops the connection without a closing handshake: TCP's reset, or RST_STREAM. */
  reset(carrier: C): void
}

export const tcp: Transport<Socket> = {
  prepare(socket) {
    socket.setNoDelay(true)
    // Only a timeout set before (an http server's) needs clearing; the call is not free.
    if (socket.timeout) socket.setTimeout(0)
    // The peer's FIN must not close our side before the frames ahead of it
    // (a CLOSE, perhaps) have been read: the duplex ends TCP itself.
    socket.allowHalfOpen = true
  },
  bytesRead: (socket) => socket.bytesRead,
  bytesMoved: (socket) => socket.bytesRead + socket.bytesWritten,
  // The server closes TCP first, so that it, not the client, holds TIME_WAIT.
  endsFirst: (socket, role) => role === 'server' || socket.readableEnded,
  reset: (socket) => socket.destroy(),
}

const kCounts = Symbol('watershed.h2Counts')
interface Counts {
  read: number
  written: number
  /** We reset the stream ourselves: its close is no failure of the peer's. */
  resetHere: boolean
  /** The stream's session (Node lets go of it when the stream closes). */
  session: Http2Session | undefined
}
type CountedStream = Http2Stream & { [kCounts]: Counts }

/** Shared by every stream (no closure per connection): counts what arrives. */
function countRead(this: CountedStream, chunk: Buffer): void {
  this[kCounts].read += chunk.length
}

/**
 * Counts what is sent, then writes as the stream's own write() does. An
 * Http2Stream has no byte counters and tells of no write, so this shared
 * function stands in front of its write() on the instance.
 */
function countedWrite(this: CountedStream, chunk: Buffer | string, ...rest: unknown[]): boolean {
  this[kCounts].written += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length
  return (Object.getPrototypeOf(this).write as (...args: unknown[]) => boolean).call(this, chunk, ...rest)
}

/**
 * The stream was closed under us: by an RST_STREAM (CANCEL, or NO_ERROR
 * before both ends were done) or by its session ending (destroyed, the
 * connection lost). Node closes such a stream without an error; made one,
 * just before the connection hears of the close, it ends the WebSocket as a
 * TCP reset does, with 1006. (Other reset codes and a GOAWAY with an error
 * come with Node's own error.)
 */
function onClosed(this: CountedStream): void {
  if (this[kCounts].resetHere || this.errored || (!this.aborted && this.rstCode === http2().constants.NGHTTP2_NO_ERROR)) return
  const session = this[kCounts].session
  const gone = session === undefined || session.destroyed || session.closed
  const error = Object.assign(
    new Error(gone
      ? 'the HTTP/2 session carrying the WebSocket went away'
      : `the HTTP/2 stream was reset (RST_STREAM code ${this.rstCode})`),
    { code: 'ECONNRESET', rstCode: this.rstCode },
  )
  this.emit('error', error)
}

/**
 * The server's END_STREAM has gone out: the connection ends its half only
 * when nothing more is to be read (the closing handshake is done, or the
 * connection failed). A client that would leave its half open (undici's
 * does: over TCP the server's FIN would have closed its socket) is told to
 * stop with RST_STREAM NO_ERROR, as a server that has answered in full may
 * (RFC 9113 section 8.1), instead of holding the stream until the close
 * timeout.
 */
function onServerFinished(this: CountedStream): void {
  if (this.readableEnded || this.closed || this.destroyed) return
  this[kCounts].resetHere = true
  this.close(http2().constants.NGHTTP2_NO_ERROR)
}

export const http2Stream: Transport<Http2Stream> = {
  prepare(stream) {
    const counted = stream as CountedStream
    if (counted[kCounts] !== undefined) return
    counted[kCounts] = { read: 0, written: 0, resetHere: false, session: stream.session }
    counted.write = countedWrite as Http2Stream['write']
    stream.on('data', countRead)
    // Before the connection's own 'close' listener, which this one's error must precede.
    stream.on('close', onClosed)
    if (typeof (stream as ServerHttp2Stream).respond === 'function') stream.on('finish', onServerFinished)
    stream.setTimeout(0)
  },
  bytesRead: (stream) => (stream as CountedStream)[kCounts].read,
  bytesMoved: (stream) => (stream as CountedStream)[kCounts].read + (stream as CountedStream)[kCounts].written,
  endsFirst: () => true,
  reset(stream) {
    ;(stream as CountedStream)[kCounts].resetHere = true
    // RFC 8441 section 5: a TCP reset is RST_STREAM with CANCEL.
    if (!stream.closed && !stream.destroyed) stream.close(http2().constants.NGHTTP2_CANCEL)
    stream.destroy()
  },
}

/** The transport for a carrier: an Http2Stream (it has a session), or a socket. */
export function transportOf(carrier: Carrier): Transport {
  return ('rstCode' in carrier && 'session' in carrier ? http2Stream : tcp) as Transport
}
