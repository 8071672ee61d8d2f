/** The option checks of new WebSocketServer(), run before it attaches to the http server. */
import { validateAcceptOptions } from '../handshake/options'
import { delay, fn, number, object, renamed, shown, strings } from '../protocol/option-checks'
import type { WebSocketServerOptions } from './websocket-server'

/** Checks the options of new WebSocketServer(); throws a TypeError or RangeError naming the first bad one. */
export function validateServerOptions(options: WebSocketServerOptions): void {
  const bag = object(options, 'options')
  renamed(bag, { verifyClient: 'verify', handleProtocols: 'protocols' })
  const { server, port: _port, host: _host, backlog: _backlog, path, verify: _verify, handshakeTimeout: _timeout, ...acceptOptions } = bag
  validateAcceptOptions(acceptOptions)
  // Its connections are WebSocketDuplex streams; a raw socket has no place among them.
  if (bag.raw !== undefined && bag.raw !== false) throw new TypeError('raw is not a WebSocketServer option')
  if (server !== undefined && typeof (server as { on?: unknown } | null)?.on !== 'function') {
    throw new TypeError('server must be an http or https server')
  }
  listenOptions(bag)
  if (path !== undefined && typeof path !== 'string' && typeof path !== 'function') strings(path, 'path')
  fn(bag, 'verify')
  delay(bag, 'handshakeTimeout', false)
}

/** port, host and backlog: a server of its own, never beside a given one. */
function listenOptions(bag: Record<string, unknown>): void {
  const { server, port, host } = bag
  if (port === undefined) {
    for (const name of ['host', 'backlog']) {
      if (bag[name] !== undefined) throw new TypeError(`${name} goes with port; without port nothing listens`)
    }
    return
  }
  if (server !== undefined) throw new TypeError('port and server exclude each other: give one')
  if (typeof port !== 'number') throw new TypeError(`port must be a number, not ${shown(port)}`)
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new RangeError(`port must be an integer from 0 to 65535, not ${port}`)
  if (host !== undefined && (typeof host !== 'string' || host === '')) throw new TypeError(`host must be a non-empty string, not ${shown(host)}`)
  const backlog = number(bag, 'backlog')
  if (backlog !== undefined && !(Number.isSafeInteger(backlog) && backlog >= 0)) {
    throw new RangeError(`backlog must be a non-negative integer, not ${backlog}`)
  }
}
