/**
 * MessageStream: one received message as a Readable of its bytes, handed
 * out by a MessageAssembler in stream mode as soon as the message's first
 * frame arrives, while the rest of it is still on the wire.
 *
 * Its chunks are the message's bytes as frames bring them (views, not
 * copies). A text message's bytes have been checked as UTF-8 up to the
 * last chunk; a chunk may end inside a character, so read text with
 * `setEncoding('utf8')` (or a StringDecoder) rather than decoding chunks one
 * by one.
 *
 * Backpressure: while the stream is not read, the assembler takes no more
 * frames, so the connection stops reading its socket and the peer is held
 * back by TCP. The next message waits until this one has been read to its
 * end or destroyed. Destroying it abandons the message: the rest of its
 * bytes are still read off the connection (and text still checked, as the
 * RFC requires) but dropped.
 *
 * If the connection fails or closes before the message ends, the stream is
 * destroyed: with the failure as its error when someone listens for errors
 * (pipeline() and `for await` do), otherwise without one, so that a peer
 * cannot crash a process that forgot to listen; either way it closes
 * without 'end' (`readableAborted`), never looking complete.
 */
import { Readable } from './streams'

/** Bytes buffered in a message stream before the assembler waits for its reader. */
export const DEFAULT_MESSAGE_STREAM_HIGH_WATER_MARK = 64 * 1024

/** One message read as a stream of its bytes (stream mode): a Readable that ends with the message. */
export class MessageStream extends Readable {
  /** Whether the message is binary (opcode 2) rather than text (opcode 1). */
  readonly binary: boolean
  readonly #onDemand: () => void
  #bytesRead = 0

  /** Made by MessageAssembler; `onDemand` runs whenever the reader wants more. */
  constructor(binary: boolean, onDemand: () => void, highWaterMark = DEFAULT_MESSAGE_STREAM_HIGH_WATER_MARK) {
    super({ highWaterMark })
    this.binary = binary
    this.#onDemand = onDemand
  }

  /** Whether the message is text (its bytes are UTF-8). */
  get text(): boolean {
    return !this.binary
  }

  /** Bytes of the message read from this stream so far. */
  get bytesRead(): number {
    return this.#bytesRead
  }

  // Typed as the base class has it. Every way of reading (read(), 'data', pipe, for await) comes here.
  override read(size?: number) {
    const chunk = super.read(size)
    if (chunk !== null) this.#bytesRead += (chunk as Buffer | string).length
    return chunk
  }

  override _read(): void {
    this.#onDemand()
  }
}

/** Whether a received item is a message stream (stream mode) rather than a whole message. */
export const isMessageStream = (item: unknown): item is MessageStream => item instanceof MessageStream
