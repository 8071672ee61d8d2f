/**
 * The option checks of accept(), connect() and clientFromUpgrade(): the
 * connection's own, and the handshake's (subprotocols, extra headers,
 * limits on the response). Run before anything is written or connected.
 */
import { connectionOptions } from '../connection/options'
import { type Bag, boolean, count, delay, object, strings } from '../protocol/option-checks'
import type { ConnectOptions } from './client'
import { validatePerMessageDeflateOptions } from '../protocol/permessage-deflate'
import { isToken } from './header-tokens'
import type { AcceptOptions } from './server'

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
  validatePerMessageDeflateOptions(bag.perMessageDeflate)
}

/** Checks the options of connect() and clientFromUpgrade(); throws a TypeError or RangeError naming the first bad one. */
export function validateClientOptions(options: ConnectOptions): void {
  const bag = object(options, 'options')
  connectionOptions(bag)
  // Names are judged (a SyntaxError) when the request is built; here only their shape.
  if (bag.protocols !== undefined && typeof bag.protocols !== 'string') strings(bag.protocols, 'protocols')
  boolean(bag, 'raw')
  count(bag, 'maxResponseHeaders')
  validatePerMessageDeflateOptions(bag.perMessageDeflate)
  count(bag, 'maxResponseHeaderSize')
  delay(bag, 'handshakeTimeout', false)
  // connect() leaves out the handshake's own headers, as documented; the rest must be sendable.
  headers(bag, 'headers')
  if (bag.signal !== undefined && typeof (bag.signal as { addEventListener?: unknown })?.addEventListener !== 'function') {
    throw new TypeError('signal must be an AbortSignal')
  }
  if (bag.requestOptions !== undefined) object(bag.requestOptions, 'requestOptions')
  // A session is judged by what it can do: open streams.
  if (bag.http2 !== undefined && typeof bag.http2 !== 'boolean' && typeof (bag.http2 as { request?: unknown })?.request !== 'function') {
    throw new TypeError('http2 must be a boolean or an HTTP/2 client session')
  }
  boolean(bag, 'http2Fallback')
  boolean(bag, 'followRedirects')
  count(bag, 'maxRedirects')
}
