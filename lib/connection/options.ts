/**
 * Option checks, one per entry point: here the WebSocketDuplex constructor's
 * (the handshake and the server check theirs in their own layers). Each runs
 * before anything is written to a socket, attached to it or sent over the
 * network, so a bad option is a TypeError or a RangeError naming the option,
 * and nothing has happened yet: never an HTTP answer written after a 101,
 * nor a connection left half set up. Unknown keys are ignored, except
 * other libraries' names for a limit or a check, which name ours instead.
 */
import { type Bag, boolean, highWaterMark, delay, limit, object, renamed, shown } from '../protocol/option-checks'
import { type HeartbeatSetting, heartbeatTimes } from './heartbeat'
import type { Compression, WebSocketDuplexOptions } from './duplex-types'
import type { Role } from '../protocol/frame'

/** What every connection takes, whoever builds it. */
export function connectionOptions(options: Bag): void {
  renamed(options, { maxPayload: 'maxMessageSize' })
  limit(options, 'maxMessageSize')
  limit(options, 'maxFrameSize')
  limit(options, 'maxFragments')
  limit(options, 'fragmentSize')
  delay(options, 'closeTimeout', true)
  boolean(options, 'allowHalfOpen')
  boolean(options, 'autoPong')
  boolean(options, 'textAsBytes')
  limit(options, 'maxStreamedMessageSize')
  streamSetting(options.streamMessages)
  if (options.heartbeat !== undefined) heartbeatTimes(options.heartbeat as HeartbeatSetting)
  highWaterMark(options, 'readableHighWaterMark')
  highWaterMark(options, 'writableHighWaterMark')
}

function streamSetting(value: unknown): void {
  if (value === undefined || typeof value === 'boolean') return
  const threshold = (value as { threshold?: unknown } | null)?.threshold
  if (typeof value !== 'object' || !(typeof threshold === 'number' && Number.isSafeInteger(threshold) && threshold >= 0)) {
    throw new TypeError(`streamMessages must be a boolean or { threshold: non-negative integer }, not ${shown(value)}`)
  }
}

/**
 * A connection's options as a handshake hands them over: the caller's, which
 * the handshake has checked itself (accept(), connect()), with what it
 * settled. The duplex need not check them again: an instance of this class,
 * which nothing outside the library can make, says so. Each is made for one
 * connection and handed over at once, so nobody changes it in between.
 */
class SettledOptions {
  constructor(
    public role: Role,
    public protocol: string | null,
    public head: Buffer | undefined,
    public compression: Compression | undefined,
    public extensions: string | undefined,
  ) {}
}

export function settledOptions(
  options: object, role: Role, protocol: string | null, compression: Compression | undefined, extensions: string | undefined, head?: Buffer,
): WebSocketDuplexOptions {
  // The handshake's own options ride along (the duplex ignores keys it does not know). Copied with
  // Object.assign, then the settled values set again: in V8 a spread followed by more properties
  // (`{ ...options, role }`) takes a slow path, about 2 µs per connection against 25 ns.
  const settled = Object.assign(new SettledOptions(role, protocol, head, compression, extensions), options) as SettledOptions
  // The caller's options may name these too (from JavaScript): the handshake's values win.
  settled.role = role
  settled.protocol = protocol
  settled.head = head
  settled.compression = compression
  settled.extensions = extensions
  return settled
}

/** Checks every WebSocketDuplex option; throws a TypeError or RangeError naming the first bad one. */
export function validateDuplexOptions(options: WebSocketDuplexOptions): void {
  if (options instanceof SettledOptions) return
  const bag = object(options, 'options')
  if (bag.role !== undefined && bag.role !== 'server' && bag.role !== 'client') {
    throw new TypeError(`role must be 'server' or 'client', not ${shown(bag.role)}`)
  }
  if (bag.protocol !== undefined && bag.protocol !== null && typeof bag.protocol !== 'string') {
    throw new TypeError(`protocol must be a string or null, not ${shown(bag.protocol)}`)
  }
  if (bag.extensions !== undefined && typeof bag.extensions !== 'string') {
    throw new TypeError(`extensions must be a string, not ${shown(bag.extensions)}`)
  }
  if (bag.head !== undefined && !(bag.head instanceof Uint8Array)) throw new TypeError('head must be a Buffer')
  connectionOptions(bag)
}
