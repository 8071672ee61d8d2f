/**
 * permessage-deflate (RFC 7692) as settings: what the user asks for, what a
 * handshake settled, the checks on the former, which parameters bind which
 * side, and the four octets every compressed message loses on the wire. The
 * handshake negotiates (handshake/extensions.ts); the stages compress
 * (stages/inflate.ts, stages/deflate.ts). Both read these types, which is
 * why they live down here, below the stages. No streams here.
 */
import type { Role } from './frame'
import { object, shown } from './option-checks'

/**
 * What one connection's handshake settled. `server*` describes how the server
 * compresses (so how the client inflates), `client*` the other direction.
 */
export interface PerMessageDeflate {
  /** The server starts every message with an empty window, so neither end keeps it between messages. */
  readonly serverNoContextTakeover: boolean
  /** The client starts every message with an empty window. */
  readonly clientNoContextTakeover: boolean
  /** Base-2 log of the largest LZ77 window the server compresses with, 8..15. */
  readonly serverMaxWindowBits: number
  /** Base-2 log of the largest LZ77 window the client compresses with, 8..15. */
  readonly clientMaxWindowBits: number
}

/**
 * permessage-deflate as the application wants it. Every field describes the
 * connection, not who says it: `serverMaxWindowBits` is the server's window
 * whether a server sets it (its own compressor) or a client does (a request
 * to the server). The defaults are RFC 7692's own: what a peer assumes when a
 * parameter is left out, so the defaults add nothing to the headers.
 */
export interface PerMessageDeflateOptions {
  /**
   * The server resets its compressor after every message. On a server: always
   * say so (it then holds no compression window between messages, about
   * 256 KiB at 15 bits); a client's request for it is granted either way. On
   * a client: ask for it, and fail the handshake if the server does not agree.
   * Default false: with the window kept, a message that repeats what came
   * before (JSON keys, say) shrinks to a few bytes.
   */
  serverNoContextTakeover?: boolean
  /**
   * The client resets its compressor after every message. On a server:
   * require it (the inflater then needs no window between messages). On a
   * client: promise it. Default false, as for the server.
   */
  clientNoContextTakeover?: boolean
  /**
   * Largest window the server compresses with, 8..15 (256 B to 32 KiB). On a
   * server: our compressor's limit (a client may ask for less). On a client:
   * ask the server for at most this, and fail the handshake if it answers
   * more or does not answer. Default 15, which needs no parameter.
   */
  serverMaxWindowBits?: number
  /**
   * Largest window the client compresses with, 8..15. On a server: the window
   * we require of clients; a client that cannot be told (its offer lacks
   * `client_max_window_bits`, as Firefox's does) is declined rather than
   * allowed the larger window. On a client: the most our compressor uses;
   * `client_max_window_bits` is always offered (as browsers do), so a server
   * short of memory can ask for less instead of declining. Default 15.
   */
  clientMaxWindowBits?: number
  /** zlib compression level, -1 (zlib's default, 6) or 0..9. Default 6: zlib's balance of speed and size. */
  level?: number
  /**
   * zlib memLevel, 1..9: the compressor's hash memory is 2^(memLevel + 9)
   * bytes. Default 8, zlib's own: 128 KiB, half of the 256 KiB a compressor
   * holds at 15 bits.
   */
  memLevel?: number
  /**
   * Messages shorter than this many bytes are sent uncompressed, whether or
   * not the window is kept between messages (as the README says, and as the
   * Deflate stage does). Default 1024: below that, a message rarely shrinks
   * enough to pay for a deflate block and a trip to zlib's thread pool. 0
   * compresses every message.
   */
  threshold?: number
}

export const DEFAULT_DEFLATE_LEVEL = 6
export const DEFAULT_DEFLATE_MEM_LEVEL = 8
export const DEFAULT_DEFLATE_THRESHOLD = 1024

/**
 * The windowBits to hand zlib for a negotiated window of `bits`. zlib (since
 * 1.2.9) has no 8-bit raw deflate window and uses 9 instead, so an offer of
 * server_max_window_bits=8 looks unanswerable. It is not: zlib never refers
 * further back than the window minus 262 bytes (MAX_DIST, w_size -
 * MIN_LOOKAHEAD), which at 9 bits is 250, within the 256 bytes an 8-bit
 * inflater keeps. So 8 is accepted in negotiation and compressed at 9; the
 * tests hold zlib to it with a strict inflater. Inflaters may take 8 as is.
 */
export function compressorWindowBits(bits: number): number {
  return bits === 8 ? 9 : bits
}

function integer(options: Record<string, unknown>, key: string, name: string, min: number, max: number): void {
  const value = options[key]
  if (value === undefined) return
  if (typeof value !== 'number') throw new TypeError(`${name}.${key} must be a number, not ${shown(value)}`)
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name}.${key} must be an integer from ${min} to ${max}, not ${value}`)
  }
}

/**
 * Checks a permessage-deflate option: undefined or a boolean (off/on with the
 * defaults), or PerMessageDeflateOptions. Throws a TypeError or RangeError
 * naming the first bad field, e.g. `perMessageDeflate.serverMaxWindowBits`.
 */
export function validatePerMessageDeflateOptions(value: unknown, name = 'perMessageDeflate'): void {
  if (value === undefined || typeof value === 'boolean') return
  const options = object(value, name)
  for (const key of ['serverNoContextTakeover', 'clientNoContextTakeover']) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') {
      throw new TypeError(`${name}.${key} must be a boolean, not ${shown(options[key])}`)
    }
  }
  integer(options, 'serverMaxWindowBits', name, 8, 15)
  integer(options, 'clientMaxWindowBits', name, 8, 15)
  integer(options, 'level', name, -1, 9)
  integer(options, 'memLevel', name, 1, 9)
  integer(options, 'threshold', name, 0, Number.MAX_SAFE_INTEGER)
}

/**
 * The agreed parameters as the stages take them (a PerMessageDeflate is
 * one): absent means not agreed, so context takeover allowed and a window of
 * 15 bits (section 7.1).
 */
export interface PerMessageDeflateParams {
  serverNoContextTakeover?: boolean
  clientNoContextTakeover?: boolean
  serverMaxWindowBits?: number
  clientMaxWindowBits?: number
}

/** What binds one side's compressor: whether it may keep its window between messages, and how large it may be. */
export interface SideParams {
  noContextTakeover: boolean
  maxWindowBits: number
}

export const MIN_WINDOW_BITS = 8
export const MAX_WINDOW_BITS = 15

/**
 * Section 7.2.1: a sender compresses with a sync flush and removes the
 * `00 00 ff ff` that ends it; section 7.2.2: a receiver puts it back.
 */
export const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff])

/**
 * The parameters that bind what `side` sends: `server*` bind the server's
 * compressor (and so the client's decompressor), `client*` the client's.
 * Throws a TypeError or RangeError if any of the four has a value RFC 7692
 * does not allow, whichever side it binds.
 */
export function sideParams(params: PerMessageDeflateParams, side: Role): SideParams {
  for (const name of ['serverNoContextTakeover', 'clientNoContextTakeover'] as const) {
    const value = params[name]
    if (value !== undefined && typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, not ${String(value)}`)
  }
  for (const name of ['serverMaxWindowBits', 'clientMaxWindowBits'] as const) {
    const value = params[name]
    // Sections 7.1.2.1 and 7.1.2.2: a decimal integer from 8 to 15.
    if (value !== undefined && !(Number.isInteger(value) && value >= MIN_WINDOW_BITS && value <= MAX_WINDOW_BITS)) {
      throw new RangeError(`${name} must be an integer from 8 to 15, not ${String(value)}`)
    }
  }
  const noContextTakeover = side === 'server' ? params.serverNoContextTakeover : params.clientNoContextTakeover
  const maxWindowBits = side === 'server' ? params.serverMaxWindowBits : params.clientMaxWindowBits
  return { noContextTakeover: noContextTakeover ?? false, maxWindowBits: maxWindowBits ?? MAX_WINDOW_BITS }
}

/** The other side of a connection. */
export const peerOf = (role: Role): Role => (role === 'server' ? 'client' : 'server')
