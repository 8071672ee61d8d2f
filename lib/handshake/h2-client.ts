/**
 * The client's side of WebSockets over HTTP/2 (RFC 8441): on an HTTP/2
 * session (one of its own, or one the caller shares), wait for the server's
 * SETTINGS, refuse to go on unless they enable the extended CONNECT
 * protocol (section 3), then open a stream with
 *
 *   :method CONNECT, :protocol websocket, :scheme, :path, :authority,
 *   sec-websocket-version: 13, and the offers of subprotocols and extensions
 *
 * and take `:status 200`, checked like a 101 (agreement.ts), as the
 * WebSocket's opening. The stream then carries the WebSocketDuplex; closing
 * it ends the stream, not the session.
 */
import type * as http2 from 'node:http2'
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2'
import { CloseStatus, HandshakeError, WebSocketError } from '../protocol/errors'
import { DEFAULT_HANDSHAKE_TIMEOUT } from '../protocol/limits'
import { type InboundMessage, WebSocketDuplex } from '../connection/websocket-duplex'
import { callerHeaders, checkAgreement, extensionOffer, offeredProtocols } from './agreement'
import type { ConnectOptions } from './client'
import { REFUSAL_BODY_LIMIT, readBodyStart } from './response-body'
import { settledOptions } from '../connection/options'
import * as lazy from '../connection/lazy-modules'

/** Headers of HTTP/1.1's connection management, which HTTP/2 forbids (RFC 9113 section 8.2.2). */
const CONNECTION_HEADERS = new Set(['connection', 'upgrade', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'host'])

/** A failure of the session before its SETTINGS came: this server does not speak HTTP/2 (or not here). */
const unsupported = (message: string, cause?: unknown) => {
  const error = new HandshakeError('WS_ERR_HTTP2_UNSUPPORTED', message)
  if (cause !== undefined) error.cause = cause
  return error
}

/**
 * Public (through connect() with `http2`): opens a WebSocket over HTTP/2 to
 * a ws://, wss://, http:// or https:// URL.
 */
export async function connectHttp2(
  url: URL,
  secure: boolean,
  options: ConnectOptions & { http2: true | ClientHttp2Session },
): Promise<WebSocketDuplex<InboundMessage, ClientHttp2Stream> | ClientHttp2Stream> {
  const protocols = offeredProtocols(options.protocols)
  const offeredExtensions = extensionOffer(options)
  const offer: Record<string, string> = { ...callerHeaders(options), 'sec-websocket-version': '13' }
  if (protocols.length > 0) offer['sec-websocket-protocol'] = protocols.join(', ')
  if (offeredExtensions !== undefined) offer['sec-websocket-extensions'] = offeredExtensions
  const signal = options.signal
  signal?.throwIfAborted()
  const own = options.http2 === true
  const session = own
    ? lazy.http2().connect(`${secure ? 'https' : 'http'}://${url.host}`, { ...(options.requestOptions as http2.SecureClientSessionOptions) })
    : (options.http2 as ClientHttp2Session)
  let stream: ClientHttp2Stream | null = null
  // Every wait below races the deadline, the signal and the session's failure.
  let stop!: (error: unknown) => void
  const stopped = new Promise<never>((_resolve, reject) => (stop = reject))
  stopped.catch(() => {})
  const timer = setTimeout(() => stop(new WebSocketError('WS_ERR_HANDSHAKE_TIMEOUT', CloseStatus.ABNORMAL, 'opening handshake timed out')),
    options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT)
  const onAbort = () => stop(signal?.reason ?? new Error('aborted'))
  const onSessionError = (error: Error) => stop(error)
  signal?.addEventListener('abort', onAbort, { once: true })
  // A shared session's errors are its owner's; its failure reaches us through the stream (or its close).
  if (own) session.on('error', onSessionError)
  try {
    await Promise.race([settingsReceived(session), stopped]).catch((error: Error & { code?: string }) => {
      // TLS without h2 among the server's protocols: an HTTP/1.1 server.
      if (error.code === 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL') throw unsupported('the server does not speak HTTP/2 (TLS ALPN)', error)
      throw error
    })
    if (!session.remoteSettings.enableConnectProtocol) {
      throw unsupported('the server did not enable the extended CONNECT protocol (SETTINGS_ENABLE_CONNECT_PROTOCOL): no WebSockets over HTTP/2 there')
    }
    const request: OutgoingHttpHeaders = {}
    for (const [name, value] of Object.entries(offer)) {
      if (!CONNECTION_HEADERS.has(name.toLowerCase())) request[name.toLowerCase()] = value
    }
    Object.assign(request, {
      ':method': 'CONNECT',
      ':protocol': 'websocket',
      ':scheme': secure ? 'https' : 'http',
      ':path': url.pathname + url.search,
      ':authority': url.host,
    })
    stream = session.request(request, { endStream: false })
    const answer = await Promise.race([responseOf(stream), stopped])
    const status = Number(answer[':status'])
    if (status !== 200) {
      const body = await Promise.race([readBodyStart(stream, REFUSAL_BODY_LIMIT, 1000), stopped])
      const refusal = new HandshakeError('WS_ERR_UNEXPECTED_RESPONSE', `expected status 200, got ${status}`, status, fields(answer))
      refusal.body = body.toString('utf8')
      throw refusal
    }
    const { protocol, compression, extensions } = checkAgreement(answer, protocols, offeredExtensions, options.perMessageDeflate)
    // A session of our own lives as long as its one WebSocket; it says nothing a stream would not.
    if (own) {
      stream.on('close', () => session.close())
      session.on('error', () => {})
    }
    if (options.raw) return stream
    return new WebSocketDuplex(stream, settledOptions(options, 'client', protocol, compression, extensions))
  } catch (error) {
    if (stream && !stream.destroyed) stream.close(lazy.http2().constants.NGHTTP2_CANCEL)
    if (own) session.destroy()
    throw error
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
    session.off('error', onSessionError)
  }
}

/** One wait per session, however many WebSockets open on it at once (a session allows few PINGs in flight). */
const settingsWaits = new WeakMap<ClientHttp2Session, Promise<void>>()

/**
 * Resolves once the server's first SETTINGS are in. A server sends them
 * first of all (its connection preface), so the answer to a PING sent now
 * comes after them.
 */
function settingsReceived(session: ClientHttp2Session): Promise<void> {
  let wait = settingsWaits.get(session)
  if (wait === undefined) {
    wait = firstSettings(session)
    settingsWaits.set(session, wait)
  }
  return wait
}

function firstSettings(session: ClientHttp2Session): Promise<void> {
  return new Promise((resolve, reject) => {
    if (session.destroyed || session.closed) return reject(new Error('the HTTP/2 session is closed'))
    if (session.remoteSettings.enableConnectProtocol) return resolve()
    const onClose = () => reject(unsupported('the HTTP/2 session closed before the server\'s SETTINGS arrived'))
    session.once('close', onClose)
    const ping = () => session.ping((error) => {
      session.off('close', onClose)
      if (error) reject(unsupported('no HTTP/2 SETTINGS from the server', error))
      else resolve()
    })
    // A ping sent while the connection is still being made is cancelled.
    if (session.connecting) session.once('connect', ping)
    else ping()
  })
}

/** The response headers of a stream, or its failure. */
function responseOf(stream: ClientHttp2Stream): Promise<IncomingHttpHeaders> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => finish(() => reject(error))
    const onClose = () => finish(() => reject(new HandshakeError('WS_ERR_HANDSHAKE',
      `the server reset the stream without an answer (RST_STREAM code ${stream.rstCode})`)))
    const onResponse = (headers: IncomingHttpHeaders) => finish(() => resolve(headers))
    const finish = (settle: () => void) => {
      stream.off('error', onError)
      stream.off('close', onClose)
      stream.off('response', onResponse)
      settle()
    }
    stream.on('error', onError)
    stream.on('close', onClose)
    stream.on('response', onResponse)
  })
}

/** The answer's header fields without pseudo-headers, repeated ones joined with ", ". */
function fields(headers: IncomingHttpHeaders): Record<string, string> {
  const result: Record<string, string> = Object.create(null)
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !name.startsWith(':')) result[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return result
}
