/**
 * The server's side of WebSockets over HTTP/2 (RFC 8441). The server
 * announces SETTINGS_ENABLE_CONNECT_PROTOCOL (`settings: {
 * enableConnectProtocol: true }`); a client then opens a WebSocket as an
 * extended CONNECT on a stream of its own:
 *
 *   :method CONNECT, :protocol websocket, :scheme, :path, :authority,
 *   sec-websocket-version: 13, [sec-websocket-protocol], [-extensions]
 *
 * answered by `:status 200` (no Upgrade, Connection, Key or Accept: the
 * stream is the connection). Subprotocol and permessage-deflate are
 * negotiated exactly as over HTTP/1.1 (server.ts), and the stream carries
 * the same WebSocketDuplex.
 */
import type { Http2ServerRequest, IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2'
import { HandshakeError } from '../protocol/errors'
import type { InboundMessage, StreamMode, WebSocketDuplex } from '../connection/websocket-duplex'
import { WebSocketDuplex as Duplex } from '../connection/websocket-duplex'
import { validateAcceptOptions } from './options'
import { settledOptions } from '../connection/options'
import { acceptKey, isValidKey } from './key'
import {
  type AcceptOptions,
  checkVersion,
  negotiateCompression,
  offeredProtocols,
  selectProtocol,
} from './server'
import * as lazy from '../connection/lazy-modules'

/** Whether a stream's request headers ask for a WebSocket (an extended CONNECT for "websocket"). */
export function isWebSocketConnect(headers: IncomingHttpHeaders): boolean {
  return headers[':method'] === 'CONNECT' && headers[':protocol'] === 'websocket'
}

/** Checks an extended CONNECT request; throws a HandshakeError with the status to answer. */
export function validateExtendedConnect(headers: IncomingHttpHeaders): { protocols: string[] } {
  if (headers[':method'] !== 'CONNECT') {
    throw new HandshakeError('WS_ERR_HANDSHAKE', `a WebSocket over HTTP/2 must be a CONNECT, not ${headers[':method']}`, 405, {
      Allow: 'CONNECT',
    })
  }
  if (headers[':protocol'] !== 'websocket') {
    throw new HandshakeError('WS_ERR_HANDSHAKE',
      `an extended CONNECT for ${JSON.stringify(headers[':protocol'] ?? null)}, not "websocket"`, 400)
  }
  // RFC 8441 section 4: unlike a plain CONNECT, an extended one carries :scheme and :path.
  if (typeof headers[':path'] !== 'string' || headers[':path'] === '' || typeof headers[':scheme'] !== 'string') {
    throw new HandshakeError('WS_ERR_HANDSHAKE', 'an extended CONNECT needs :scheme and :path', 400)
  }
  checkVersion(headers)
  return { protocols: offeredProtocols(headers) }
}

/** Requests made for streams, so that a stream never gets two. */
const requests = new WeakMap<ServerHttp2Stream, Http2ServerRequest>()

/**
 * The request object for a stream's headers, for hooks written against
 * request objects (verify, a subprotocol selector, 'connection'): the one
 * Node's compatibility layer made, if any, or one made here. It is never
 * read: the WebSocket reads the stream.
 */
export function http2Request(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders?: string[]): Http2ServerRequest {
  let req = requests.get(stream)
  if (req === undefined) {
    req = new (lazy.http2().Http2ServerRequest)(stream, headers, {}, rawHeaders ?? flatten(headers))
    requests.set(stream, req)
  }
  return req
}

/** Registers the request Node's compatibility layer made for a stream. */
export function adoptHttp2Request(req: Http2ServerRequest): void {
  requests.set(req.stream, req)
}

function flatten(headers: IncomingHttpHeaders): string[] {
  const raw: string[] = []
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    for (const one of Array.isArray(value) ? value : [value]) raw.push(name, String(one))
  }
  return raw
}

export function acceptHttp2(
  stream: ServerHttp2Stream, headers: IncomingHttpHeaders, options: AcceptOptions & { raw: true },
): ServerHttp2Stream
export function acceptHttp2(
  stream: ServerHttp2Stream, headers: IncomingHttpHeaders, options: AcceptOptions & StreamMode,
): WebSocketDuplex<InboundMessage, ServerHttp2Stream>
export function acceptHttp2(
  stream: ServerHttp2Stream, headers: IncomingHttpHeaders, options?: AcceptOptions,
): WebSocketDuplex<string | Buffer, ServerHttp2Stream>
/**
 * Public: accepts a WebSocket from an HTTP/2 server's 'stream' event (the
 * stream and its request headers): answers 200 and returns the
 * WebSocketDuplex over the stream, or with `raw` the stream itself. Throws
 * a HandshakeError when the request is not an acceptable extended CONNECT;
 * the caller answers it with `rejectHttp2(stream, error)`.
 */
export function acceptHttp2(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  options: AcceptOptions = {},
): WebSocketDuplex<InboundMessage, ServerHttp2Stream> | ServerHttp2Stream {
  // A bad option is the application's error: thrown before anything is answered.
  validateAcceptOptions(options)
  if (stream.headersSent) throw new Error('the stream has been answered already')
  const { protocols } = validateExtendedConnect(headers)
  const protocol = selectProtocol(protocols, options.protocols, () => http2Request(stream, headers))
  const compression = options.raw ? undefined : negotiateCompression(headers, options.perMessageDeflate)
  const response: OutgoingHttpHeaders = { ':status': 200 }
  if (protocol !== null) response['sec-websocket-protocol'] = protocol
  if (compression) response['sec-websocket-extensions'] = compression.response
  // RFC 8441 section 5 uses no key; a client that sends one anyway (undici's
  // does, and checks the answer) gets its Accept, which others ignore.
  const key = headers['sec-websocket-key']
  if (typeof key === 'string' && isValidKey(key.trim())) response['sec-websocket-accept'] = acceptKey(key.trim())
  for (const [name, value] of Object.entries(options.headers ?? {})) response[name.toLowerCase()] = value
  stream.respond(response)
  if (options.raw) return stream
  return new Duplex(stream, settledOptions(options, 'server', protocol, compression?.settings, compression?.response))
}

/**
 * Public: answers a refused extended CONNECT with the error's status (400,
 * 405, 426 ...), headers and body, which ends the stream and not the session.
 */
export function rejectHttp2(stream: ServerHttp2Stream, error: Error): void {
  const handshake = error instanceof HandshakeError ? error : null
  const body = handshake?.body ?? `${error.message}\n`
  const response: OutgoingHttpHeaders = { 'content-type': 'text/plain; charset=utf-8' }
  // HTTP/2 has no Connection header; the error's own may replace the defaults, the status and length are ours.
  for (const [name, value] of Object.entries(handshake?.headers ?? {})) {
    if (name.toLowerCase() !== 'connection') response[name.toLowerCase()] = value
  }
  response[':status'] = handshake?.statusCode ?? 400
  response['content-length'] = Buffer.byteLength(body)
  stream.on('error', () => stream.destroy())
  if (stream.destroyed || stream.closed) return
  if (stream.headersSent) {
    stream.destroy()
    return
  }
  stream.respond(response)
  stream.end(body)
}
