/**
 * What write() hands the Writable, and what _write() finds behind it.
 *
 * The duplex's writable side carries strings and bytes, not objects: its
 * high-water mark counts bytes, and a message must keep its place among the
 * writes around it. So what is more than a plain message travels as a
 * Buffer standing for it, and what it stands for waits beside it, in a
 * WeakMap, until _write() takes it:
 *
 * - a PreparedMessage, as a view of its payload (the Writable's buffer
 *   counts bytes, so what stands for the message has the message's size);
 * - a source to stream as one message (message-source.ts), as an empty marker;
 * - a message with a compression choice (write-options.ts), as a fresh view
 *   of its bytes: fresh per write, so writing the same Buffer twice with two
 *   choices cannot mix them up. A string becomes its UTF-8 bytes, marked as
 *   text, as the encoder would have made them anyway.
 *
 * The maps are shared by every connection (their keys are each write's own
 * object), so that none carries maps of its own.
 */
import { PreparedMessage } from '../protocol/prepared-message'
import { isText, markText } from '../protocol/text-bytes'
import { MessageStream } from '../stages/message-stream'
import { type MessageSource, isMessageSource } from './message-source'
import type { WriteOptions } from './write-options'

/** A source written as one message, with what its write said of it. */
export interface StreamedSource {
  source: MessageSource
  text: boolean | undefined
  compress: boolean
}

const streamedSources = new WeakMap<Uint8Array, StreamedSource>()
const compressChoices = new WeakMap<Uint8Array, boolean>()
const preparedMessages = new WeakMap<Uint8Array, PreparedMessage>()

/** Encodings in which a written string is text; in any other ('hex', 'base64'...) it is bytes. */
const TEXT_ENCODINGS = new Set(['utf8', 'utf-8', 'buffer'])

/**
 * What the Writable is given for write()'s `chunk`: a string or bytes as
 * they are, or a Buffer standing for more. `compression`: whether the
 * connection has permessage-deflate (without it a choice changes nothing).
 */
export function toWritable(chunk: unknown, options: WriteOptions | undefined, compression: boolean): unknown {
  if (chunk instanceof PreparedMessage) {
    const view = Buffer.from(chunk.payload.buffer, chunk.payload.byteOffset, chunk.payload.byteLength)
    preparedMessages.set(view, chunk)
    return view
  }
  if (isMessageSource(chunk)) {
    const marker = Buffer.alloc(0)
    // A received message stream passed on (a proxy) keeps its type.
    const text = options?.text ?? (chunk instanceof MessageStream ? chunk.text : undefined)
    streamedSources.set(marker, { source: chunk, text, compress: options?.compress !== false })
    return marker
  }
  if (options?.compress !== undefined && compression && (typeof chunk === 'string' || chunk instanceof Uint8Array)) {
    const view = freshView(chunk)
    compressChoices.set(view, options.compress)
    return view
  }
  return chunk
}

/** A view of `message`'s bytes of its own: what carries a per-message choice. */
function freshView(message: string | Uint8Array): Buffer {
  if (typeof message === 'string') return markText(Buffer.from(message, 'utf8'))
  const view = Buffer.from(message.buffer, message.byteOffset, message.byteLength)
  return isText(message) ? markText(view) : view
}

/** The PreparedMessage `chunk` stands for, if it stands for one. */
export const preparedBehind = (chunk: string | Buffer): PreparedMessage | undefined =>
  typeof chunk === 'string' ? undefined : preparedMessages.get(chunk)

/** The source `chunk` stands for, if it is a source's marker. */
export const sourceBehind = (chunk: string | Buffer): StreamedSource | undefined =>
  chunk.length === 0 && typeof chunk !== 'string' ? streamedSources.get(chunk) : undefined

/** The message a plain chunk is: a string written with a byte encoding is bytes, not text. */
export const messageOf = (chunk: string | Buffer, encoding: string): string | Buffer =>
  typeof chunk === 'string' && !TEXT_ENCODINGS.has(encoding) ? Buffer.from(chunk, encoding as BufferEncoding) : chunk

/** The compression choice written with `message`, if any. */
export const compressChoiceOf = (message: string | Buffer): boolean | undefined =>
  typeof message === 'string' ? undefined : compressChoices.get(message)
