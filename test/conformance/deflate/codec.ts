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

/**
 * One direction's kept window: after each message its last 2^windowBits
 * bytes, when the rules allow context takeover; never anything otherwise.
 */
class KeptWindow {
  readonly rules: Rules
  #bytes: Buffer = Buffer.alloc(0)

  constructor(rules: Rules) {
    this.rules = rules
  }

  /** What the next message may refer back into; undefined for an empty window. */
  get bytes(): Buffer | undefined {
    return this.#bytes.length > 0 ? this.#bytes : undefined
  }

  keep(message: Buffer): void {
    const size = 1 << this.rules.windowBits
    if (this.rules.noContextTakeover) return
    this.#bytes = Buffer.from(
      message.length >= size ? message.subarray(message.length - size) : Buffer.concat([this.#bytes, message]).subarray(-size),
    )
  }
}

export class FuzzerDeflater {
  readonly #window: KeptWindow

  constructor(rules: Rules) {
    this.#window = new KeptWindow(rules)
  }

  /** One message's compressed payload, without the 00 00 ff ff tail (section 7.2.1). */
  compress(message: Buffer): Buffer {
    // zlib has no 8-bit raw deflate window; asked for 8, Node's zlib uses 9,
    // which never refers back more than 250 bytes (512 minus zlib's 262-byte
    // lookahead), inside the 256 bytes an 8-bit window holds.
    const out = zlibCompress(message, { windowBits: Math.max(9, this.#window.rules.windowBits), dictionary: this.#window.bytes })
    this.#window.keep(message)
    return out
  }
}

export class JudgeInflater {
  readonly #window: KeptWindow

  constructor(rules: Rules) {
    this.#window = new KeptWindow(rules)
  }

  /** One compressed message's bytes; throws saying why it does not inflate under the agreed rules. */
  inflate(payload: Buffer): Buffer {
    const { windowBits } = this.#window.rules
    // Section 7.2.2: "append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload of the message".
    const input = Buffer.concat([payload, TAIL])
    let output: Buffer
    if (windowBits === 15) {
      // A full window: no distance DEFLATE can express is too far, and zlib
      // refuses one that reaches before the start of the data it was given.
      output = inflateRawSync(input, { finishFlush: constants.Z_SYNC_FLUSH, dictionary: this.#window.bytes, maxOutputLength: MAX_INFLATED })
    } else {
      // RFC 7692 section 7.2.1: with "server_max_window_bits" (or "client_max_window_bits")
      // agreed "with a value of w, the server [client] MUST NOT use an LZ77 sliding window
      // longer than the w-th power of 2 bytes to compress messages to send". zlib would
      // not notice a farther reference; the strict reader refuses it.
      output = strictInflateRaw(input, windowBits, this.#window.bytes).output
    }
    // Section 7.2.1: with "server_no_context_takeover" (or the client's) agreed, "the
    // server [client] MUST start compressing each new message with an empty LZ77 sliding
    // window": nothing is kept, so a reference into an earlier message fails.
    this.#window.keep(output)
    return output
  }
}
