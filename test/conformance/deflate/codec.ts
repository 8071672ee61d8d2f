/**
 * The fuzzing peer's own permessage-deflate, on node:zlib alone (never the
 * library's Inflate or Deflate): a compressor for what it sends, and the
 * judge's inflater for what the testee sends, each bound by the parameters
 * the handshake settled for that direction.
 *
 * Both work one message at a time, synchronously, so the judge reads a
 * message the moment its last frame arrives. Context takeover is the LZ77
 * window carried from one message to the next (RFC 7692 section 7.1.1): here
 * it is passed explicitly, as the last 2^windowBits bytes of the messages
 * before, which is exactly what a taken-over window may hold. With no context
 * takeover nothing is carried, so a message that refers back into an earlier
 * one does not inflate.
 */
import { constants, inflateRawSync } from 'node:zlib'
import { TAIL, zlibCompress } from '../../helpers/compression'
import { strictInflateRaw } from '../../helpers/strict-inflate'
import type { Agreed } from './negotiation'

/** What binds one direction's compressor. */
export interface Rules {
  noContextTakeover: boolean
  windowBits: number
}

/** The rules for what `side` sends. */
export function rulesFor(agreed: Agreed, side: 'client' | 'server'): Rules {
  return side === 'server'
    ? { noContextTakeover: agreed.serverNoContextTakeover, windowBits: agreed.serverMaxWindowBits }
    : { noContextTakeover: agreed.clientNoContextTakeover, windowBits: agreed.clientMaxWindowBits }
}

/** A larger inflated message than any case sends: a bound on a careless testee's output. */
const MAX_INFLATED = 64 * 1024 * 1024

/** The last `size` bytes of `before` followed by `data`, as a buffer of its own. */
function keepWindow(before: Buffer, data: Buffer, size: number): Buffer {
  if (data.length >= size) return Buffer.from(data.subarray(data.length - size))
  return Buffer.from(Buffer.concat([before, data]).subarray(-size))
}

export class FuzzerDeflater {
  readonly #rules: Rules
  #window: Buffer = Buffer.alloc(0)

  constructor(rules: Rules) {
    this.#rules = rules
  }

  /** One message's compressed payload, without the 00 00 ff ff tail (section 7.2.1). */
  compress(message: Buffer): Buffer {
    const { noContextTakeover, windowBits } = this.#rules
    // zlib has no 8-bit raw deflate window; asked for 8, Node's zlib uses 9,
    // which never refers back more than 250 bytes (512 minus zlib's 262-byte
    // lookahead), inside the 256 bytes an 8-bit window holds.
    const dictionary = !noContextTakeover && this.#window.length > 0 ? this.#window : undefined
    const out = zlibCompress(message, { windowBits: Math.max(9, windowBits), dictionary })
    if (!noContextTakeover) this.#window = keepWindow(this.#window, message, 1 << windowBits)
    return out
  }
}

export class JudgeInflater {
  readonly #rules: Rules
  #window: Buffer = Buffer.alloc(0)

  constructor(rules: Rules) {
    this.#rules = rules
  }

  /** One compressed message's bytes; throws saying why it does not inflate under the agreed rules. */
  inflate(payload: Buffer): Buffer {
    const { noContextTakeover, windowBits } = this.#rules
    // Section 7.2.2: "append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload of the message".
    const input = Buffer.concat([payload, TAIL])
    let output: Buffer
    if (windowBits === 15) {
      // A full window: no distance DEFLATE can express is too far, and zlib
      // refuses one that reaches before the start of the data it was given.
      const dictionary = this.#window.length > 0 ? this.#window : undefined
      output = inflateRawSync(input, { finishFlush: constants.Z_SYNC_FLUSH, dictionary, maxOutputLength: MAX_INFLATED })
    } else {
      // RFC 7692 section 7.2.1: with "server_max_window_bits" (or "client_max_window_bits")
      // agreed "with a value of w, the server [client] MUST NOT use an LZ77 sliding window
      // longer than the w-th power of 2 bytes to compress messages to send". zlib would
      // not notice a farther reference; the strict reader refuses it.
      output = strictInflateRaw(input, windowBits, this.#window).output
    }
    // Section 7.2.1: with "server_no_context_takeover" (or the client's) agreed, "the
    // server [client] MUST start compressing each new message with an empty LZ77 sliding
    // window": nothing is carried, so a reference into an earlier message fails.
    if (!noContextTakeover) this.#window = keepWindow(this.#window, output, 1 << windowBits)
    return output
  }
}
