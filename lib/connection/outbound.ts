/**
 * The write side of a connection: Deflate when permessage-deflate was
 * agreed, then FrameEncoder, whose bytes are piped, corked, into the socket.
 * A connection builds it for its first message or control frame, so an idle
 * connection holds none of it. Messages and control frames alike are written
 * to `input`, so that nothing overtakes what was written before it.
 */
import type { Carrier } from './transport'
import type { Writable } from 'node:stream'
import type { DeflateRaw } from 'node:zlib'
import type { Role } from '../protocol/frame'
import { Deflate } from '../stages/deflate'
import { FrameEncoder } from '../stages/frame-encoder'
import type { Compression } from './duplex-types'
import { pipeCorked } from './corked-pipe'
import { forward } from './forward'

/** What the write side is built from: the connection's options, as validated. */
export interface OutboundSettings {
  role: Role
  fragmentSize?: number
  compression?: Compression
}

/** Where the write side's signals go. */
export interface OutboundHandlers {
  /** `input` has room again. */
  drain(): void
  /** A stage failed. */
  error(error: Error): void
}

export class Outbound {
  readonly encoder: FrameEncoder
  readonly deflate: Deflate | null
  /** Where everything we send is written: the encoder, or the compressor in front of it. */
  readonly input: Writable
  /** Stops feeding the socket (it is closed, or no longer ours). */
  readonly unpipe: () => void

  /** `deflater`: the window a write side released before this one kept (release()). */
  constructor(socket: Carrier, settings: OutboundSettings, handlers: OutboundHandlers, deflater?: DeflateRaw) {
    this.encoder = new FrameEncoder({
      role: settings.role,
      fragmentSize: settings.fragmentSize,
      // Counted in messages, whatever their size: the byte-counted buffer is
      // the duplex's own (writableHighWaterMark), so the encoder queues one.
      writableHighWaterMark: 2,
    })
    this.deflate = settings.compression
      ? new Deflate(Object.assign({ role: settings.role, writableHighWaterMark: 2, readableHighWaterMark: 1, context: deflater }, settings.compression))
      : null
    this.input = this.deflate ?? this.encoder
    this.encoder.on('error', handlers.error)
    this.deflate?.on('error', handlers.error)
    this.input.on('drain', handlers.drain)
    if (this.deflate) forward(this.deflate, this.encoder)
    // Ending the encoder ends the TCP connection, after the bytes before it.
    this.unpipe = pipeCorked(this.encoder, socket)
  }

  /** Messages and bytes not yet handed to the socket. */
  get buffered(): number {
    return this.encoder.readableLength
  }

  /**
   * Nothing queued, no message half sent: it can be released (release())
   * and built again later, with the window it kept, if any.
   */
  get idle(): boolean {
    return (this.deflate === null || this.deflate.idle) && this.encoder.writableLength === 0 && this.encoder.readableLength === 0
  }

  /**
   * While idle, once unpiped: destroys the stages, and gives back the
   * compressor with its window when there is one to keep (context
   * takeover), for the next write side to continue with.
   */
  release(): DeflateRaw | null {
    const deflater = this.deflate?.detachContext() ?? null
    this.destroy()
    return deflater
  }

  destroy(): void {
    this.deflate?.destroy()
  }
}
