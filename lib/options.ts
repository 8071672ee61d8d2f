/**
 * Option checks, one per entry point: the WebSocketDuplex constructor,
 * accept(), connect() and clientFromUpgrade(), new WebSocketServer(). Each
 * runs before anything is written to a socket, attached to it or sent over
 * the network, so a bad option is a TypeError (wrong kind of value) or a
 * RangeError (out of range) naming the option, and nothing has happened yet:
 * never an HTTP answer written after a 101, nor a connection left half set up.
 *
 * `undefined` always means the default; unknown keys are ignored.
 */
import type { ConnectOptions } from './client-handshake'
import { type HeartbeatSetting, heartbeatTimes } from './heartbeat'
import { isToken } from './header-tokens'
import { MAX_TIMER_DELAY } from './limits'
import type { AcceptOptions } from './server-handshake'
import type { WebSocketDuplexOptions } from './websocket-duplex'
import type { WebSocketServerOptions } from './websocket-server'

type Bag = Record<string, unknown>

const shown = (value: unknown): string =>
  typeof value === 'string' ? JSON.stringify(value) : value === null || typeof value !== 'object' ? String(value) : typeof value

function object(value: unknown, name: string): Bag {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${name} must be an object, not ${shown(value)}`)
  }
  return value as Bag
}

function number(options: Bag, name: string): number | undefined {
  const value = options[name]
  if (value === undefined) return undefined
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, not ${shown(value)}`)
  return value
}

/** A limit on bytes or frames: a positive integer, or Infinity for none. */
function limit(options: Bag, name: string): void {
  const value = number(options, name)
  if (value !== undefined && value !== Infinity && !(Number.isSafeInteger(value) && value >= 1)) {
    throw new RangeError(`${name} must be a positive integer or Infinity, not ${value}`)
  }
}

/** A positive integer, with no "unlimited". */
function count(options: Bag, name: string): void {
  const value = number(options, name)
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= 1)) {
    throw new RangeError(`${name} must be a positive integer, not ${value}`)
  }
}

/** Streams take whole, non-negative high-water marks only. */
function highWaterMark(options: Bag, name: string): void {
  const value = number(options, name)
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
    throw new RangeError(`${name} must be a non-negative integer, not ${value}`)
  }
}

/** A timer delay in ms; beyond MAX_TIMER_DELAY setTimeout would fire after 1 ms. */
function delay(options: Bag, name: string, allowZero: boolean): void {
  const value = number(options, name)
  if (value !== undefined && !((allowZero ? value >= 0 : value > 0) && value <= MAX_TIMER_DELAY)) {
    const least = allowZero ? 'a non-negative' : 'a positive'
    throw new RangeError(`${name} must be ${least} number of ms up to ${MAX_TIMER_DELAY}, not ${value}`)
  }
}

function boolean(options: Bag, name: string): void {
  const value = options[name]
  if (value !== undefined && typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, not ${shown(value)}`)
}

function fn(options: Bag, name: string): void {
  const value = options[name]
  if (value !== undefined && typeof value !== 'function') throw new TypeError(`${name} must be a function, not ${shown(value)}`)
}

function strings(value: unknown, name: string): void {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new TypeError(`${name} must be an array of strings`)
  }
}

/** Extra HTTP headers: token names, and values that cannot break out of their line. */
function headers(options: Bag, name: string, reserved: readonly string[] = []): void {
  if (options[name] === undefined) return
  for (const [field, value] of Object.entries(object(options[name], name))) {
    if (!isToken(field)) throw new TypeError(`${name}: invalid header name ${JSON.stringify(field)}`)
    if (reserved.includes(field.toLowerCase())) throw new TypeError(`${name}: ${field} is set by the handshake itself`)
    if ((typeof value !== 'string' && typeof value !== 'number') || /[\r\n\0]/.test(String(value))) {
      throw new TypeError(`${name}: invalid value for header ${JSON.stringify(field)}`)
    }
  }
}

/** What every connection takes, whoever builds it. */
function connectionOptions(options: Bag): void {
  limit(options, 'maxMessageSize')
  limit(options, 'maxFrameSize')
  limit(options, 'maxFragments')
  limit(options, 'fragmentSize')
  delay(options, 'closeTimeout', true)
  boolean(options, 'allowHalfOpen')
  boolean(options, 'autoPong')
  boolean(options, 'textAsBytes')
  if (options.heartbeat !== undefined) heartbeatTimes(options.heartbeat as HeartbeatSetting)
  highWaterMark(options, 'readableHighWaterMark')
  highWaterMark(options, 'writableHighWaterMark')
}

/** Checks every WebSocketDuplex option; throws a TypeError or RangeError naming the first bad one. */
export function validateDuplexOptions(options: WebSocketDuplexOptions): void {
  const bag = object(options, 'options')
  if (bag.role !== undefined && bag.role !== 'server' && bag.role !== 'client') {
    throw new TypeError(`role must be 'server' or 'client', not ${shown(bag.role)}`)
  }
  if (bag.protocol !== undefined && bag.protocol !== null && typeof bag.protocol !== 'string') {
    throw new TypeError(`protocol must be a string or null, not ${shown(bag.protocol)}`)
  }
  if (bag.head !== undefined && !(bag.head instanceof Uint8Array)) throw new TypeError('head must be a Buffer')
  connectionOptions(bag)
}

/** The 101 response's own headers: set by accept(), never by its caller. */
const RESPONSE_HANDSHAKE_HEADERS = [
  'upgrade',
  'connection',
  'sec-websocket-accept',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
]

/** Checks the options of accept(); throws a TypeError or RangeError naming the first bad one. */
export function validateAcceptOptions(options: AcceptOptions): void {
  const bag = object(options, 'options')
  connectionOptions(bag)
  // A string would be searched as text ("chat" in "groupchat"), not as a list of names.
  if (bag.protocols !== undefined && typeof bag.protocols !== 'function') strings(bag.protocols, 'protocols')
  boolean(bag, 'raw')
  headers(bag, 'headers', RESPONSE_HANDSHAKE_HEADERS)
}

/** Checks the options of connect() and clientFromUpgrade(); throws a TypeError or RangeError naming the first bad one. */
export function validateClientOptions(options: ConnectOptions): void {
  const bag = object(options, 'options')
  connectionOptions(bag)
  // Names are judged (a SyntaxError) when the request is built; here only their shape.
  if (bag.protocols !== undefined && typeof bag.protocols !== 'string') strings(bag.protocols, 'protocols')
  boolean(bag, 'raw')
  count(bag, 'maxResponseHeaders')
  count(bag, 'maxResponseHeaderSize')
  delay(bag, 'handshakeTimeout', false)
  // connect() leaves out the handshake's own headers, as documented; the rest must be sendable.
  headers(bag, 'headers')
  if (bag.signal !== undefined && typeof (bag.signal as { addEventListener?: unknown })?.addEventListener !== 'function') {
    throw new TypeError('signal must be an AbortSignal')
  }
  if (bag.requestOptions !== undefined) object(bag.requestOptions, 'requestOptions')
}

/** Checks the options of new WebSocketServer(); throws a TypeError or RangeError naming the first bad one. */
export function validateServerOptions(options: WebSocketServerOptions): void {
  const bag = object(options, 'options')
  const { server, path, verify: _verify, handshakeTimeout: _timeout, ...acceptOptions } = bag
  validateAcceptOptions(acceptOptions)
  // Its connections are WebSocketDuplex streams; a raw socket has no place among them.
  if (bag.raw !== undefined && bag.raw !== false) throw new TypeError('raw is not a WebSocketServer option')
  if (server !== undefined && typeof (server as { on?: unknown } | null)?.on !== 'function') {
    throw new TypeError('server must be an http or https server')
  }
  if (path !== undefined && typeof path !== 'string' && typeof path !== 'function') strings(path, 'path')
  fn(bag, 'verify')
  delay(bag, 'handshakeTimeout', false)
}
