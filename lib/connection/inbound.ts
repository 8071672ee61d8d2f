/**
 * The read side of a connection: FrameDecoder, Inflate when
 * permessage-deflate was agreed, then MessageAssembler, joined with
 * backpressure. A connection builds it when the first byte arrives (or the
 * peer's FIN, or a close needs it), so an idle connection holds none of it.
 * What comes out goes to the owner's handlers; nothing here knows the owner.
 */
import type { InflateRaw } from 'node:zlib'
import type { Role } from '../protocol/frame'
import { FrameDecoder } from '../stages/frame-decoder'
import { Inflate } from '../stages/inflate'
import { type AssembledItem, DEFAULT_MAX_STREAMED_MESSAGE_SIZE, MessageAssembler } from '../stages/message-assembler'
import { DEFAULT_MAX_MESSAGE_SIZE } from '../protocol/limits'
import type { Compression } from './duplex-types'
import { forward } from './forward'

/** What the read side is built from: the connection's options, as validated. */
export interface InboundSettings {
  role: Role
  maxMessageSize?: number
  maxFrameSize?: number
  maxFragments?: number
  textAsBytes?: boolean
  streamMessages?: boolean | { threshold: number }
  maxStreamedMessageSize?: number
  compression?: Compression
}

/** Where the read side's output and failures go. */
export interface InboundHandlers {
  /** A message, a message stream or a control frame, in order. */
  item(item: AssembledItem): void
  /** A bad frame: reported after the frames before it have been assembled. */
  peerError(error: Error): void
  /** The assembler failed (a limit, bad text): at once. */
  stageError(error: Error): void
  /** Every frame has been assembled and delivered. */
  end(): void
}

export class Inbound {
  readonly decoder: FrameDecoder
  readonly inflate: Inflate | null
  readonly assembler: MessageAssembler
  readonly #item: (item: AssembledItem) => void

  /** `inflater`: the window a read side released before this one kept (release()). */
  constructor(settings: InboundSettings, handlers: InboundHandlers, inflater?: InflateRaw) {
    const streaming = settings.streamMessages !== undefined && settings.streamMessages !== false
    const maxMessageSize = settings.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE
    // A streamed message is not held, so its frames and inflated bytes answer to the streamed limit;
    // the assembler still holds every message it assembles whole to maxMessageSize.
    const largest = streaming ? settings.maxStreamedMessageSize ?? DEFAULT_MAX_STREAMED_MESSAGE_SIZE : maxMessageSize
    const compression = settings.compression
    this.decoder = new FrameDecoder({
      role: settings.role,
      maxPayload: Math.min(largest, settings.maxFrameSize ?? largest),
      // RFC 7692 section 6: RSV1 marks a compressed message, once the extension is negotiated.
      allowRsv1: compression !== undefined,
    })
    this.inflate = compression
      ? new Inflate(Object.assign({ role: settings.role, maxMessageSize: largest, maxFragments: settings.maxFragments, context: inflater }, compression))
      : null
    this.assembler = new MessageAssembler({
      maxMessageSize: settings.maxMessageSize,
      maxFragments: settings.maxFragments,
      textAsBytes: settings.textAsBytes,
      streamMessages: settings.streamMessages,
      maxStreamedMessageSize: settings.maxStreamedMessageSize,
      // The duplex's own buffer is the one that counts: while the reader is
      // paused, messages queue there, not a second time in front of it.
      readableHighWaterMark: 1,
    })
    // A bad frame or bad compressed data comes after what arrived before it:
    // the next stage is ended, and the failure follows its last item.
    const next = this.inflate ?? this.assembler
    this.decoder.on('error', (error: Error) => {
      handlers.peerError(error)
      next.end()
    })
    this.inflate?.on('error', (error: Error) => {
      handlers.peerError(error)
      this.assembler.end()
    })
    this.assembler.on('error', handlers.stageError)
    this.#item = handlers.item
    this.assembler.on('data', handlers.item)
    this.assembler.on('end', handlers.end)
    if (this.inflate) {
      forward(this.decoder, this.inflate)
      forward(this.inflate, this.assembler)
    } else {
      forward(this.decoder, this.assembler)
    }
  }

  /** Items held inside: messages assembled but not taken, and one for a frame in progress. */
  get unread(): number {
    return this.assembler.readableLength +
      (this.decoder.readableLength > 0 || (this.inflate?.readableLength ?? 0) > 0 ? 1 : 0)
  }

  /**
   * Between frames and messages, nothing held: it can be released (release())
   * and built again later, with the window it kept, if any.
   */
  get idle(): boolean {
    return (this.inflate === null || this.inflate.idle) && this.decoder.idle && this.assembler.idle
  }

  /** Nothing more will come: what is inside is still assembled and delivered, then end(). */
  drain(): void {
    if (!this.decoder.writableEnded) this.decoder.end()
  }

  /**
   * While idle: destroys the stages, and gives back the inflater with its
   * window when there is one to keep (context takeover), for the next read
   * side to continue with.
   */
  release(): InflateRaw | null {
    const inflater = this.inflate?.detachContext() ?? null
    this.destroy()
    return inflater
  }

  destroy(): void {
    this.assembler.off('data', this.#item)
    // A message still streaming in will not end: its stream is destroyed (message-stream.ts).
    this.assembler.destroy()
    // zlib contexts are freed now, not when the garbage collector gets to them.
    this.inflate?.destroy()
  }
}
