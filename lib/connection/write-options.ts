/**
 * Per-message write options: `ws.write(message, { compress: false })`, and
 * their check. They travel to _write() beside the message (write-markers.ts).
 */

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
