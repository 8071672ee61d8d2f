/**
 * The server's side of the opening handshake (RFC 6455 section 4.2): judge
 * the upgrade request, pick a subprotocol, write the 101 response, and hand
 * back a WebSocketDuplex, or in raw mode the socket itself.
 */
import type { IncomingMessage } from 'node:http'
import { STATUS_CODES } from 'node:http'
import type { Duplex as NodeDuplex } from 'node:stream'
import { HandshakeError } from '../protocol/errors'
import { hasToken, isToken, parseTokenList } from './header-tokens'
import { acceptKey, isValidKey } from './key'
import { validateAcceptOptions } from './options'
import { settledOptions } from '../connection/options'
import { type Compression, type InboundMessage, type StreamMode, WebSocketDuplex, type WebSocketDuplexOptions } from '../connection/websocket-duplex'
import type { PerMessageDeflateOptions } from '../protocol/permessage-deflate'
import { acceptDeflateOffer, parseExtensions } from './extensions'
import type { Socket } from 'node:net'
import type { Http2ServerRequest, IncomingHttpHeaders } from 'node:http2'

/** The request a WebSocket arrived with: an HTTP/1.1 upgrade, or an HTTP/2 extended CONNECT (RFC 8441). */
export type WebSocketRequest = IncomingMessage | Http2ServerRequest

/** Picks one of the subprotocols the client offered, or none. */
export type ProtocolSelector = (offered: readonly string[], req: WebSocketRequest) => string | null | undefined

/** Options of accept(): the connection's own, and the handshake's (subprotocols, extensions, extra response headers, raw). */
export interface AcceptOptions extends Omit<WebSocketDuplexOptions, 'role' | 'protocol' | 'head' | 'compression' | 'extensions'> {
  /**
   * permessage-deflate (RFC 7692): `true` or settings to accept a client's
   * offer (the first acceptable one). Default off.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions
  /**
   * Supported subprotocols, case-sensitive: the first one the client offered
   * that is in this list is chosen. Or a function that chooses.
   */
  protocols?: readonly string[] | ProtocolSelector
  /** Return the socket itself after the 101 response, for byte-level proxies. */
  raw?: boolean
  /** Extra headers for the 101 response. */
  headers?: Record<string, string>
}

/** What validateUpgradeRequest() found in a valid upgrade request. */
export interface UpgradeRequest {
  key: string
  /** The subprotocols the client offered, in its order. */
  protocols: string[]
}

/** Checks an upgrade request; throws a HandshakeError saying what is wrong. */
export function validateUpgradeRequest(req: IncomingMessage): UpgradeRequest {
  if (req.method !== 'GET') {
    throw new HandshakeError('WS_ERR_HANDSHAKE', `a WebSocket upgrade must be a GET, not ${req.method}`, 405, {
      Allow: 'GET',
    })
  }
  if (req.httpVersionMajor < 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor < 1)) {
    throw new HandshakeError('WS_ERR_HANDSHAKE', 'a WebSocket upgrade needs HTTP/1.1')
  }
  if (!hasToken(req.headers.upgrade, 'websocket')) {
    throw new HandshakeError('WS_ERR_HANDSHAKE', 'missing or invalid Upgrade header: expected "websocket"')
  }
  if (!hasToken(req.headers.connection, 'upgrade')) {
    throw new HandshakeError('WS_ERR_HANDSHAKE', 'missing or invalid Connection header: expected "Upgrade"')
  }
  checkVersion(req.headers)
  const key = req.headers['sec-websocket-key']
  if (typeof key !== 'string' || !isValidKey(key.trim())) {
    throw new HandshakeError('WS_ERR_HANDSHAKE', 'missing or invalid Sec-WebSocket-Key: expected base64 of 16 bytes')
  }
  return { key: key.trim(), protocols: offeredProtocols(req.headers) }
}

/** Sec-WebSocket-Version must be 13; otherwise 426 with the version spoken (section 4.2.2). */
export function checkVersion(headers: IncomingHttpHeaders): void {
  const version = headers['sec-websocket-version']
  if (typeof version !== 'string' || version.trim() !== '13') {
    throw new HandshakeError(
      'WS_ERR_UNSUPPORTED_VERSION',
      `unsupported Sec-WebSocket-Version ${JSON.stringify(version ?? null)}: only 13 is spoken`,
      426,
      { 'Sec-WebSocket-Version': '13' },
    )
  }
}

/** The subprotocols a request offers, in its order. */
export function offeredProtocols(headers: IncomingHttpHeaders): string[] {
  const offered = headers['sec-websocket-protocol']
  const protocols = offered === undefined ? [] : parseTokenList(offered)
  if (protocols === null) throw new HandshakeError('WS_ERR_HANDSHAKE', 'invalid Sec-WebSocket-Protocol header')
  return protocols
}

/** The subprotocol chosen from what the client offered, or null. */
export function selectProtocol(
  offered: readonly string[],
  supported: AcceptOptions['protocols'],
  req: WebSocketRequest | (() => WebSocketRequest),
): string | null {
  if (offered.length === 0 || supported === undefined) return null
  if (typeof supported === 'function') {
    // The request may be made only when a selector asks for it (HTTP/2 has none of its own).
    const chosen = supported(offered, typeof req === 'function' ? req() : req)
    if (chosen === null || chosen === undefined) return null
    if (!offered.includes(chosen)) throw new Error(`protocol selector chose "${chosen}", which the client did not offer`)
    return chosen
  }
  return offered.find((name) => supported.includes(name)) ?? null
}

/** The answer to the client's permessage-deflate offers, and the settings that follow from it; none when off or declined. */
export function negotiateCompression(
  headers: IncomingHttpHeaders,
  setting: AcceptOptions['perMessageDeflate'],
): { response: string; settings: Compression } | undefined {
  if (!setting) return undefined
  const options = setting === true ? {} : setting
  const offers = parseExtensions(headers['sec-websocket-extensions'])
  if (offers === null) throw new HandshakeError('WS_ERR_INVALID_EXTENSION', 'invalid Sec-WebSocket-Extensions header')
  const accepted = acceptDeflateOffer(offers, options)
  if (accepted === null) return undefined
  const { level, memLevel, threshold } = options
  return { response: accepted.response, settings: Object.assign({ level, memLevel, threshold }, accepted.config) }
}

function headerLines(headers: Record<string, string>): string {
  let lines = ''
  for (const [name, value] of Object.entries(headers)) {
    const text = String(value)
    if (!isToken(name) || /[\r\n\0]/.test(text)) throw new TypeError(`invalid response header ${JSON.stringify(name)}`)
    lines += `${name}: ${text}\r\n`
  }
  return lines
}

export function accept(
  req: IncomingMessage, socket: NodeDuplex, head: Buffer, options: AcceptOptions & { raw: true },
): Socket
export function accept(
  req: IncomingMessage, socket: NodeDuplex, head: Buffer | null | undefined, options: AcceptOptions & StreamMode,
): WebSocketDuplex<InboundMessage>
export function accept(req: IncomingMessage, socket: NodeDuplex, head?: Buffer | null, options?: AcceptOptions): WebSocketDuplex
/**
 * Public: completes a WebSocket upgrade from an http.Server 'upgrade' event.
 * Throws a HandshakeError when the request is not an acceptable upgrade; the
 * caller answers it with `rejectUpgrade(socket, error)`.
 */
export function accept(
  req: IncomingMessage,
  socket: NodeDuplex,
  head: Buffer | null = Buffer.alloc(0),
  options: AcceptOptions = {},
): WebSocketDuplex | Socket {
  // A bad option is the application's error: thrown before a byte is written, whatever the request.
  validateAcceptOptions(options)
  if (head === null) head = Buffer.alloc(0)
  if (!(head instanceof Uint8Array)) throw new TypeError('head must be the Buffer of the upgrade event')
  const upgrade = validateUpgradeRequest(req)
  const protocol = selectProtocol(upgrade.protocols, options.protocols, req)
  let response =
    'HTTP/1.1 101 Switching Protocols\r\n' +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${acceptKey(upgrade.key)}\r\n`
  if (protocol !== null) response += `Sec-WebSocket-Protocol: ${protocol}\r\n`
  // A byte-level proxy passes frames on as they are: it negotiates nothing it would have to undo.
  const compression = options.raw ? undefined : negotiateCompression(req.headers, options.perMessageDeflate)
  if (compression) response += `Sec-WebSocket-Extensions: ${compression.response}\r\n`
  if (options.headers) response += headerLines(options.headers)
  socket.write(response + '\r\n')

  const tcp = socket as Socket
  if (options.raw) {
    if (head.length > 0) tcp.unshift(head)
    return tcp
  }
  return new WebSocketDuplex(tcp, settledOptions(options, 'server', protocol, compression?.settings, compression?.response, head))
}


/**
 * Public: answers a failed upgrade over HTTP (400, 405, or 426 with the
 * supported version) and closes the socket, instead of leaving it hanging.
 */
export function rejectUpgrade(socket: NodeDuplex, error: Error): void {
  const handshake = error instanceof HandshakeError ? error : null
  const status = handshake?.statusCode ?? 400
  const body = handshake?.body ?? `${error.message}\n`
  // The error's own headers may replace the defaults (a JSON body, say); the length is ours.
  const headers = new Map<string, [string, string]>([
    ['connection', ['Connection', 'close']],
    ['content-type', ['Content-Type', 'text/plain; charset=utf-8']],
  ])
  for (const [name, value] of Object.entries(handshake?.headers ?? {})) headers.set(name.toLowerCase(), [name, value])
  headers.set('content-length', ['Content-Length', String(Buffer.byteLength(body))])
  const response = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n${headerLines(Object.fromEntries(headers.values()))}\r\n${body}`
  socket.on('error', () => socket.destroy())
  if (socket.writable) socket.end(response, () => socket.destroy())
  else socket.destroy()
}
