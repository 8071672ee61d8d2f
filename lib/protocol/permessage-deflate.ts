/**
 * permessage-deflate (RFC 7692) vocabulary shared by the compression stages
 * and, later, the handshake that negotiates it: the agreed parameters, which
 * of them bind which side, and the four octets every compressed message
 * loses on the wire. No streams here.
 */
import type { Role } from './frame'

/**
 * The agreed parameters of one connection, as the handshake settled them
 * (section 7.1). Absent means not agreed: context takeover allowed, a
 * window of 15 bits.
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
