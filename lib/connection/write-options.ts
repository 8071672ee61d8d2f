/**
 * Per-message write options: `ws.write(message, { compress: false })`.
 *
 * The duplex's writable side carries bytes and strings, not objects (its
 * high-water mark counts bytes), so the choice cannot travel as a wrapper
 * through the Writable's buffer to _write(). It travels beside the message
 * instead: the message is written as a fresh Buffer view of its bytes, and
 * the connection keeps that view's choice in a WeakMap until _write() takes
 * it. A fresh view per write, so writing the same Buffer to one connection
 * twice with two choices cannot mix them up; a string becomes its UTF-8
 * bytes, marked as text, as the encoder would have made them anyway.
 */
import { isText, markText } from '../protocol/text-bytes'

/** Options of one write(): whether to compress this message, and whether a source is sent as text. */
export interface WriteOptions {
  /**
   * With permessage-deflate negotiated: `false` sends this message
   * uncompressed, `true` compresses it even below the threshold; left out,
   * the threshold decides. Without the extension it changes nothing.
   */
  compress?: boolean
  /**
   * For a message written from a source: send it as text (its bytes are
   * checked as UTF-8) or, `false`, as binary. Left out: text when the
   * source's first chunk is a string.
   */
  text?: boolean
}

/** Whether write()'s second argument is an options object (not an encoding or a callback). */
export const isWriteOptions = (value: unknown): value is WriteOptions =>
  typeof value === 'object' && value !== null

export function checkWriteOptions(options: WriteOptions): void {
  for (const name of ['compress', 'text'] as const) {
    const value = options[name]
    if (value !== undefined && typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, not ${typeof value}`)
  }
}

/** A view of `message`'s bytes of its own: what carries a per-message choice. */
export function freshView(message: string | Uint8Array): Buffer {
  if (typeof message === 'string') return markText(Buffer.from(message, 'utf8'))
  const view = Buffer.from(message.buffer, message.byteOffset, message.byteLength)
  return isText(message) ? markText(view) : view
}
