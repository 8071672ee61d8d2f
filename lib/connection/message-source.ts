/**
 * Sending one message from a stream: a Readable, a WHATWG ReadableStream or
 * any async iterable of Buffers, Uint8Arrays or strings becomes one
 * fragmented message, its frames going out as its bytes come.
 *
 * Each chunk is sent as soon as it arrives (split at `fragmentSize` when
 * set), as a frame without FIN; when the source ends, an empty final
 * CONTINUATION frame ends the message. Holding a chunk back to mark the
 * last one would delay every chunk of a live source (a terminal, a log)
 * until the next one came; the empty frame costs two to six bytes.
 *
 * With permessage-deflate, each piece is compressed as it comes (a sync
 * flush per piece, so nothing waits inside zlib for more input) and leaves
 * as one frame, RSV1 on the first; `{ compress: false }` sends it as is.
 *
 * Backpressure: a frame is written only once the one before it has been
 * taken, so a slow socket holds back the source. Control frames (our pongs,
 * pings, heartbeats) may go out between the fragments, as RFC 6455 section
 * 5.4 allows.
 *
 * A message is text when `text` says so, or, left out, when its first chunk
 * is a string. Text from byte chunks is checked as UTF-8 as it goes (RFC
 * 6455 section 5.6: a text message MUST be UTF-8): a bad chunk is refused
 * before it is sent, like a source that fails. Strings are encoded as they
 * come, a surrogate pair cut between two chunks kept whole.
 */
import type { Writable } from 'node:stream'
import { sourceFailed } from '../protocol/errors'
import { Opcode, type OutboundFrame } from '../protocol/frame'
import { Utf8Validator } from '../protocol/utf8'
import type { DeflatePart } from '../stages/deflate'

/** What can be written as one streamed message. */
export type MessageSource = AsyncIterable<string | Uint8Array>

/** Whether `value` is a source to stream as one message (not a whole message, which is iterable too). */
export const isMessageSource = (value: unknown): value is MessageSource =>
  typeof value === 'object' && value !== null && !(value instanceof Uint8Array) &&
  typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'

export interface SendSourceOptions {
  /** Send as text; left out: text when the first chunk is a string. */
  text?: boolean
  /** Split chunks into frames of at most this many bytes (before compression). Default: a frame per chunk. */
  fragmentSize?: number
  /**
   * Hand the pieces to a Deflate stage to compress (permessage-deflate was
   * negotiated) instead of writing frames. Default false.
   */
  compress?: boolean
  /** Stops the sending (the connection failed or closed): the source is left, nothing more is written. */
  signal: AbortSignal
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff

/**
 * Sends `source` as one message through `out` (the connection's outbound
 * stage). Resolves once the last frame is taken; rejects with a
 * WS_ERR_SOURCE_FAILED error when the source fails or sends bad text, and
 * with the signal's reason when the sending was stopped.
 */
export async function sendSource(source: MessageSource, out: Writable, options: SendSourceOptions): Promise<void> {
  const { signal } = options
  const fragmentSize = options.fragmentSize ?? Infinity
  let opcode = 0
  let started = false
  let utf8: Utf8Validator | null = null
  let surrogate = ''

  const compress = options.compress ?? false
  /** A piece of the message: a frame, or a part for Deflate to compress into one. */
  const piece = (payload: Buffer, fin: boolean): OutboundFrame | DeflatePart =>
    compress
      ? { part: payload, opcode, first: !started, fin }
      : { opcode: started ? Opcode.CONTINUATION : opcode, payload, fin }

  const write = async (item: OutboundFrame | DeflatePart) => {
    signal.throwIfAborted()
    if (out.write(item)) return
    await new Promise<void>((resolve) => {
      const done = () => {
        out.off('drain', done)
        signal.removeEventListener('abort', done)
        resolve()
      }
      out.on('drain', done)
      signal.addEventListener('abort', done)
    })
    signal.throwIfAborted()
  }

  const sendBytes = async (bytes: Buffer) => {
    if (utf8 !== null && !utf8.push(bytes)) throw sourceFailed(new TypeError('a text message\'s bytes are not valid UTF-8'))
    for (let start = 0; start < bytes.length; start += fragmentSize) {
      const payload = bytes.subarray(start, Math.min(start + fragmentSize, bytes.length))
      await write(piece(payload, false))
      started = true
    }
  }

  const iterator = source[Symbol.asyncIterator]()
  try {
    for (;;) {
      let step: IteratorResult<string | Uint8Array>
      try {
        step = await iterator.next()
      } catch (error) {
        throw sourceFailed(error)
      }
      signal.throwIfAborted()
      if (step.done) break
      let chunk = step.value
      if (opcode === 0) {
        const text = options.text ?? typeof chunk === 'string'
        opcode = text ? Opcode.TEXT : Opcode.BINARY
        if (text) utf8 = new Utf8Validator()
      }
      if (typeof chunk === 'string') {
        chunk = surrogate + chunk
        surrogate = ''
        // A pair cut between two chunks: its first half waits for the second.
        if (chunk.length > 0 && isHighSurrogate(chunk.charCodeAt(chunk.length - 1))) {
          surrogate = chunk.slice(-1)
          chunk = chunk.slice(0, -1)
        }
        await sendBytes(Buffer.from(chunk, 'utf8'))
      } else if (chunk instanceof Uint8Array) {
        if (chunk.length > 0) await sendBytes(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))
      } else {
        throw sourceFailed(new TypeError(`a message source yielded ${typeof chunk}, not a string or Uint8Array`))
      }
    }
    if (surrogate !== '') await sendBytes(Buffer.from(surrogate, 'utf8'))
    if (utf8 !== null && !utf8.end()) throw sourceFailed(new TypeError('a text message ends inside a UTF-8 character'))
    // A source that yielded nothing: an empty message, binary unless told it is text.
    if (opcode === 0) opcode = options.text ? Opcode.TEXT : Opcode.BINARY
    await write(piece(Buffer.alloc(0), true))
  } catch (error) {
    // Leave the source: a Readable is destroyed, a generator finished.
    await iterator.return?.()?.catch(() => {})
    throw error
  }
}
