/** The option checks of new WebSocketServer(), run before it attaches to the http server. */
import { validateAcceptOptions } from '../handshake/options'
import { delay, fn, object, strings } from '../protocol/option-checks'
import type { WebSocketServerOptions } from './websocket-server'

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
