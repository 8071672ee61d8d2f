/**
 * Option checks, one per entry point: here the WebSocketDuplex constructor's
 * (the handshake and the server check theirs in their own layers). Each runs
 * before anything is written to a socket, attached to it or sent over the
 * network, so a bad option is a TypeError or a RangeError naming the option,
 * and nothing has happened yet: never an HTTP answer written after a 101,
 * nor a connection left half set up. Unknown keys are ignored.
 */
import { type Bag, boolean, highWaterMark, delay, limit, object, shown } from '../protocol/option-checks'
import { type HeartbeatSetting, heartbeatTimes } from './heartbeat'
import type { WebSocketDuplexOptions } from './websocket-duplex'

/** What every connection takes, whoever builds it. */
export function connectionOptions(options: Bag): void {
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
 * Options a handshake built from options it had checked itself (accept(),
 * connect()): the duplex need not check them again. Each such object is
 * made for one connection and handed over at once, so nobody changes it
 * in between.
 */
const checked = new WeakSet<object>()

export function checkedOptions<T extends WebSocketDuplexOptions>(options: T): T {
  checked.add(options)
  return options
}

/** Checks every WebSocketDuplex option; throws a TypeError or RangeError naming the first bad one. */
export function validateDuplexOptions(options: WebSocketDuplexOptions): void {
  if (checked.has(options)) return
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
