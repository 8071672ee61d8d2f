/**
 * Text messages as bytes. Decoding a text message into a string and encoding
 * a string back costs more than everything else a large message goes
 * through; an application that only passes text on (a relay, a broker, a
 * logger writing to a file) needs neither. With `textAsBytes`, a text message
 * is read as a Buffer that `isText()` recognizes, and such a Buffer written
 * to a connection goes out as a text message again, without a conversion.
 *
 * The mark is kept beside the Buffer (a WeakSet), not on it, so it costs the
 * Buffer nothing and goes when the Buffer goes.
 */
import { isUtf8 } from 'node:buffer'

const marked = new WeakSet<Uint8Array>()

/** Marks bytes already known to be valid UTF-8 (a received text message). */
export function markText<T extends Uint8Array>(bytes: T): T {
  marked.add(bytes)
  return bytes
}

/**
 * Public: whether `message` is a text message: a string, or bytes read with
 * `textAsBytes` or marked by `asText()`.
 */
export function isText(message: unknown): boolean {
  return typeof message === 'string' || (message instanceof Uint8Array && marked.has(message))
}

/**
 * Public: marks UTF-8 bytes so that writing them sends a text message.
 * Throws a TypeError if they are not valid UTF-8. The bytes must not be
 * changed afterwards: the check is made here, once.
 */
export function asText(bytes: Uint8Array): Buffer {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('asText() takes a Buffer or Uint8Array')
  if (!isUtf8(bytes)) throw new TypeError('asText(): the bytes are not valid UTF-8')
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return markText(buffer)
}
