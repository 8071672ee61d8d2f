/**
 * Node modules that only some programs use, loaded when first needed.
 *
 * Why: loading node:http2 takes about 11 ms and node:https with node:tls
 * about 7 ms, a fifth of what `require('watershed')` took in all, and most
 * programs never speak WebSocket over HTTP/2 or open a wss: connection of
 * their own (a server behind a TLS terminator, a client of ws: URLs). A
 * program that does use them pays once, at its first such connection.
 */
import type * as Http2 from 'node:http2'
import type * as Https from 'node:https'
import type * as Tls from 'node:tls'

let http2Module: typeof Http2 | undefined
let httpsModule: typeof Https | undefined
let tlsModule: typeof Tls | undefined

export function http2(): typeof Http2 {
  return (http2Module ??= require('node:http2') as typeof Http2)
}

export function https(): typeof Https {
  return (httpsModule ??= require('node:https') as typeof Https)
}

export function tls(): typeof Tls {
  return (tlsModule ??= require('node:tls') as typeof Tls)
}
