/**
 * The client's side of the opening handshake (RFC 6455 section 4.1): send
 * the upgrade request, then check every part of the 101 response before a
 * single frame is read.
 */
import http, { type IncomingMessage } from 'node:http'
import type * as https from 'node:https'
import type { Socket } from 'node:net'
import type { Duplex as NodeDuplex } from 'node:stream'
import { HandshakeError, WebSocketError, CloseStatus } from '../protocol/errors'
import { type Agreement, callerHeaders, checkAgreement, extensionOffer, offeredProtocols } from './agreement'
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2'
import type { Carrier } from '../connection/transport'
import { connectHttp2 } from './h2-client'
import type { PerMessageDeflateOptions } from '../protocol/permessage-deflate'
import { hasToken, parseTokenList } from './header-tokens'
import { acceptKey, randomKey } from './key'
import { REFUSAL_BODY_LIMIT, headerFields, readBodyStart, socketBodyStart } from './response-body'
import { exchangeUpgrade, hostField, requestHead } from './upgrade-exchange'
import { DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_REDIRECTS, DEFAULT_MAX_RESPONSE_HEADERS, DEFAULT_MAX_RESPONSE_HEADER_SIZE } from '../protocol/limits'
import { validateClientOptions } from './options'
import { type ClientTarget, REDIRECT_STATUSES, clientTarget, redirectTarget, sameOrigin } from './client-target'
import { keepResponse } from '../connection/handshake-response'
import { settledOptions } from '../connection/options'
import { forgetUpgradeRequest, upgradeOffersOn } from './upgrade-requests'
import { connectsDirectly, directConnection, directSocket } from './direct-connection'
import { type InboundMessage, type StreamMode, WebSocketDuplex, type WebSocketDuplexOptions } from '../connection/websocket-duplex'
import * as lazy from '../connection/lazy-modules'

/** What the handshake reads of a response: Node's IncomingMessage, or the head connect() read itself (lib/handshake/response-head.ts). */
type UpgradeResponse = Pick<IncomingMessage, 'statusCode' | 'statusMessage' | 'headers' | 'rawHeaders'>

/** Options of clientFromUpgrade(), and the part of connect()'s options about the 101 response and the connection. */
export interface ClientUpgradeOptions extends Omit<WebSocketDuplexOptions, 'role' | 'protocol' | 'head' | 'compression' | 'extensions'> {
  /**
   * The subprotocols the request offered, so that a choice outside them is
   * refused. Not given: the server's choice is taken as it is.
   */
  protocols?: string | readonly string[]
  /** Return the socket itself after the handshake, for byte-level proxies. */
  raw?: boolean
  /** Most header fields accepted in the 101 response. Default 128. */
  maxResponseHeaders?: number
  /**
   * permessage-deflate (RFC 7692): `true` or settings to offer it
   * (`connect()`), and the compressor's settings when the server accepts.
   * Default off. (`clientFromUpgrade()` takes what the request offered.)
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions
}

/** Options of connect(): the request (headers, requestOptions, redirects, timeout, signal) and the connection. */
export interface ConnectOptions extends ClientUpgradeOptions {
  /** Extra request headers (Origin, Cookie, Authorization, ...). */
  headers?: Record<string, string>
  /** Give up if the handshake has not completed after this many ms. Default 10000. */
  handshakeTimeout?: number
  /** Largest 101 response head accepted, in bytes. Default 16 KiB. */
  maxResponseHeaderSize?: number
  /** Aborts the handshake. */
  signal?: AbortSignal
  /**
   * Further options for `http.request` / `https.request`, passed as they are:
   * an `agent` (an HTTP proxy's, or one that keeps TLS sessions), TLS settings
   * for wss: (`ca`, `cert`, `key`, `servername`, `rejectUnauthorized`,
   * `minVersion`...), `localAddress`, `family`, `lookup`. The URL decides the
   * host, port, path and method; the handshake decides its own headers.
   */
  requestOptions?: https.RequestOptions
  /**
   * Follow 301, 302, 303, 307 and 308 answers to their Location, up to
   * `maxRedirects` times. Default false: a redirect is a refusal
   * (WS_ERR_UNEXPECTED_RESPONSE, with the Location in its headers).
   * Authorization, Cookie and Proxy-Authorization headers are sent to the
   * first origin only.
   */
  followRedirects?: boolean
  /** Most redirects followed before giving up with WS_ERR_TOO_MANY_REDIRECTS. Default 10. */
  maxRedirects?: number
  /**
   * WebSocket over HTTP/2 (RFC 8441): `true` opens an HTTP/2 session for
   * this WebSocket (closed with it; `requestOptions` go to http2.connect());
   * a ClientHttp2Session is shared (the WebSocket is one stream on it, and
   * the session stays the caller's). Fails with WS_ERR_HTTP2_UNSUPPORTED
   * when the server does not take WebSockets over HTTP/2. Default: HTTP/1.1.
   */
  http2?: boolean | ClientHttp2Session
  /** With `http2`: connect over HTTP/1.1 instead of failing with WS_ERR_HTTP2_UNSUPPORTED. Default false. */
  http2Fallback?: boolean
}

export function clientFromUpgrade(
  res: IncomingMessage, socket: NodeDuplex, head: Buffer, key: string, options: ClientUpgradeOptions & { raw: true },
): Socket
export function clientFromUpgrade(
  res: IncomingMessage, socket: NodeDuplex, head: Buffer, key: string, options: ClientUpgradeOptions & StreamMode,
): WebSocketDuplex<InboundMessage>
export function clientFromUpgrade(
  res: IncomingMessage, socket: NodeDuplex, head: Buffer, key: string, options?: ClientUpgradeOptions,
): WebSocketDuplex
/**
 * Public: completes the client side from an http.ClientRequest 'upgrade'
 * event. Throws a HandshakeError if the response is not a valid acceptance
 * of `key`, or picks a subprotocol or extension the client did not offer.
 */
export function clientFromUpgrade(
  res: IncomingMessage,
  socket: NodeDuplex,
  head: Buffer,
  key: string,
  options: ClientUpgradeOptions = {},
): WebSocketDuplex | Socket {
  validateClientOptions(options)
  return completeClient(res, socket, head, key, options, requestedExtensions(socket), undefined)
}

/** The client side after the 101 (options already checked), given the Sec-WebSocket-Extensions the request offered. */
function completeClient(
  res: UpgradeResponse,
  socket: NodeDuplex,
  head: Buffer,
  key: string,
  options: ClientUpgradeOptions,
  offeredExtensions: string | undefined,
  url: string | undefined,
): WebSocketDuplex | Socket {
  const { protocol, compression, extensions } = checkResponse(
    res, key, options.protocols ?? requestedProtocols(socket), offeredExtensions, options.maxResponseHeaders, options.perMessageDeflate,
  )
  forgetUpgradeRequest(socket)
  const tcp = socket as Socket
  if (options.raw) {
    if (head.length > 0) tcp.unshift(head)
    // Like the server side's socket: each direction closes on its own, as proxies need.
    tcp.allowHalfOpen = true
    return tcp
  }
  const connection = new WebSocketDuplex(tcp, settledOptions(options, 'client', protocol, compression, extensions, head))
  keepResponse(connection, res, url)
  return connection
}

/** The Sec-WebSocket-Extensions the request sent on `socket` offered, if it is known. */
function requestedExtensions(socket: NodeDuplex): string | undefined {
  const header = upgradeOffersOn(socket)?.extensions
  if (header === undefined) return undefined
  return Array.isArray(header) ? header.join(', ') : String(header)
}

/**
 * The subprotocols the request sent on `socket` offered: an answer outside
 * them, or any answer to a request that offered none, is refused. Undefined
 * when the request is not known (it was not made by this process).
 */
function requestedProtocols(socket: NodeDuplex): string[] | undefined {
  const offers = upgradeOffersOn(socket)
  if (offers === undefined) return undefined
  const header = offers.protocols
  if (header === undefined) return []
  const values = Array.isArray(header) ? header.map(String) : [String(header)]
  const offered = parseTokenList(values.join(','))
  if (offered === null) throw new HandshakeError('WS_ERR_HANDSHAKE', 'the request offered an invalid Sec-WebSocket-Protocol')
  return offered
}

/**
 * Checks a handshake response; returns the chosen subprotocol. `offered`
 * undefined means the offer is unknown (Node's 'upgrade' event does not lead
 * back to the request), and then the server's choice is taken as it is.
 */
function checkResponse(
  res: UpgradeResponse,
  key: string,
  offered: string | readonly string[] | undefined,
  offeredExtensions: string | undefined,
  maxHeaders = DEFAULT_MAX_RESPONSE_HEADERS,
  deflateSetting?: boolean | PerMessageDeflateOptions,
): Agreement {
  // Node keeps at most maxHeadersCount fields (the request asks for one more
  // than the limit, so that going over shows); for a response handed to
  // clientFromUpgrade, all of them.
  if (res.rawHeaders.length / 2 > maxHeaders) {
    throw new HandshakeError('WS_ERR_RESPONSE_HEADERS_TOO_LARGE', `response has more than ${maxHeaders} header fields`)
  }
  if (res.statusCode !== 101) {
    throw new HandshakeError('WS_ERR_UNEXPECTED_RESPONSE', `expected status 101, got ${res.statusCode}`, res.statusCode)
  }
  if (!hasToken(res.headers.upgrade, 'websocket')) {
    throw new HandshakeError('WS_ERR_HANDSHAKE', 'response Upgrade header is not "websocket"')
  }
  if (!hasToken(res.headers.connection, 'upgrade')) {
    throw new HandshakeError('WS_ERR_HANDSHAKE', 'response Connection header does not hold "Upgrade"')
  }
  if (res.headers['sec-websocket-accept'] !== acceptKey(key)) {
    throw new HandshakeError('WS_ERR_HANDSHAKE', 'response Sec-WebSocket-Accept does not match the key sent')
  }
  return checkAgreement(res.headers, offered, offeredExtensions, deflateSetting)
}

/** Options that ask for HTTP/2, for the overloads that then type the carrier as an HTTP/2 stream. */
export interface OverHttp2 {
  http2: true | ClientHttp2Session
}

type NoFallback = OverHttp2 & { http2Fallback?: false }
export function connect(url: string | URL, options: ConnectOptions & NoFallback & { raw: true }): Promise<ClientHttp2Stream>
export function connect(url: string | URL, options: ConnectOptions & NoFallback & StreamMode): Promise<WebSocketDuplex<InboundMessage, ClientHttp2Stream>>
export function connect(url: string | URL, options: ConnectOptions & NoFallback): Promise<WebSocketDuplex<string | Buffer, ClientHttp2Stream>>
export function connect(url: string | URL, options: ConnectOptions & OverHttp2 & StreamMode): Promise<WebSocketDuplex<InboundMessage, Carrier>>
export function connect(url: string | URL, options: ConnectOptions & OverHttp2): Promise<WebSocketDuplex<string | Buffer, Carrier>>
export function connect(url: string | URL, options: ConnectOptions & { raw: true }): Promise<Socket>
export function connect(url: string | URL, options: ConnectOptions & StreamMode): Promise<WebSocketDuplex<InboundMessage>>
export function connect(url: string | URL, options?: ConnectOptions): Promise<WebSocketDuplex>
/**
 * Public: opens a WebSocket connection to a ws:, wss:, http:, https:,
 * ws+unix: or wss+unix: URL and resolves once the handshake has been
 * checked; with `http2`, as a stream of an HTTP/2 session.
 */
export async function connect(url: string | URL, options: ConnectOptions = {}): Promise<WebSocketDuplex<InboundMessage, Carrier> | Carrier> {
  if (!options.http2) return connectHttp1(url, options)
  validateClientOptions(options)
  const target = clientTarget(url)
  if (target.socketPath !== undefined) throw new SyntaxError('http2 is for TCP URLs: a unix domain socket URL cannot carry it')
  try {
    return await connectHttp2(new URL(url), target.secure, options as ConnectOptions & OverHttp2)
  } catch (error) {
    if (!options.http2Fallback || (error as HandshakeError).code !== 'WS_ERR_HTTP2_UNSUPPORTED') throw error
    return connectHttp1(url, options)
  }
}

/** The opening handshake over HTTP/1.1: an upgrade request (redirects followed if asked), and its 101 checked. */
function connectHttp1(url: string | URL, options: ConnectOptions): Promise<WebSocketDuplex | Socket> {
  return new Promise((resolve, reject) => {
    validateClientOptions(options)
    const first = clientTarget(url)
    const protocols = offeredProtocols(options.protocols)
    const extra = callerHeaders(options)
    const offer = extensionOffer(options)
    const signal = options.signal
    signal?.throwIfAborted()

    const maxHeaderSize = options.maxResponseHeaderSize ?? DEFAULT_MAX_RESPONSE_HEADER_SIZE
    const maxHeaders = options.maxResponseHeaders ?? DEFAULT_MAX_RESPONSE_HEADERS
    const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS
    // One deadline for the whole handshake, redirects included.
    const deadline = Date.now() + (options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT)

    /** One upgrade request; a followed redirect makes the next. */
    const attempt = (target: ClientTarget, redirects: number): void => {
      // No watch on requests: this one's offers are passed along with it.
      const key = randomKey()
      // Credentials given for the first origin are not handed to another one a redirect names.
      const headers = sameOrigin(target, first) ? { ...extra } : withoutCredentials(extra)
      Object.assign(headers, {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Key': key,
        'Sec-WebSocket-Version': '13',
      })
      if (protocols.length > 0) headers['Sec-WebSocket-Protocol'] = protocols.join(', ')
      if (offer !== undefined) headers['Sec-WebSocket-Extensions'] = offer
      const offeredExtensions = Object.entries(headers).find(([name]) => name.toLowerCase() === 'sec-websocket-extensions')?.[1]

      const timer = setTimeout(() => {
        cancel(new WebSocketError('WS_ERR_HANDSHAKE_TIMEOUT', CloseStatus.ABNORMAL, 'opening handshake timed out'))
      }, deadline - Date.now())
      const onAbort = () => cancel(signal?.reason ?? new Error('aborted'))
      signal?.addEventListener('abort', onAbort, { once: true })
      const done = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
      }

      // Both ways of sending the request end in one of these three.
      const upgraded = (res: UpgradeResponse, socket: Socket, head: Buffer): void => {
        done()
        try {
          resolve(completeClient(res, socket, head, key, Object.assign({}, options, { protocols }), offeredExtensions, target.url.href))
        } catch (error) {
          socket.destroy()
          reject(error)
        }
      }
      /** A final answer other than an upgrade: a redirect to follow, or a refusal to report with the start of its body. */
      const answered = (res: UpgradeResponse, bodyStart: (ms: number) => Promise<Buffer>, discard: () => void): void => {
        const location = res.headers.location
        if (options.followRedirects && REDIRECT_STATUSES.has(res.statusCode ?? 0) && location !== undefined) {
          done()
          discard()
          try {
            if (redirects >= maxRedirects) {
              throw new HandshakeError('WS_ERR_TOO_MANY_REDIRECTS',
                `more than ${maxRedirects} redirects (the last one to ${JSON.stringify(location)})`, res.statusCode, headerFields(res))
            }
            attempt(redirectTarget(location, target, res.statusCode ?? 0, headerFields(res)), redirects + 1)
          } catch (error) {
            reject(error)
          }
          return
        }
        let failure: unknown = new HandshakeError('WS_ERR_HANDSHAKE', 'the server did not switch protocols')
        try {
          checkResponse(res, key, protocols, offeredExtensions, maxHeaders)
        } catch (error) {
          failure = error
        }
        if (failure instanceof HandshakeError && failure.code === 'WS_ERR_UNEXPECTED_RESPONSE') {
          // A refusal says why in its headers (a 401's WWW-Authenticate, a
          // redirect's Location) and its body: keep the start of the body, read
          // within what is left of the handshake timeout. The signal still aborts.
          clearTimeout(timer)
          bodyStart(deadline - Date.now()).then((body) => {
            done()
            const refusal = new HandshakeError('WS_ERR_UNEXPECTED_RESPONSE', failure.message, res.statusCode, headerFields(res))
            refusal.body = body.toString('utf8')
            reject(refusal)
            discard()
          })
          return
        }
        done()
        discard()
        reject(failure)
      }
      const failed = (error: Error): void => {
        done()
        reject(error)
      }

      let cancel: (reason: Error) => void
      if (connectsDirectly(options.requestOptions)) {
        const socket = directSocket(target.secure, options.requestOptions, target.hostname, target.port, target.socketPath)
        // Told at once: once the head is read, the socket has no error listener of ours to hear it by.
        cancel = (reason) => {
          socket.destroy()
          failed(reason)
        }
        const host = hostField(target.hostname, target.port, target.secure, target.socketPath !== undefined)
        const request = requestHead(target.path, Object.assign({ Host: host }, headers))
        exchangeUpgrade(socket, request, { maxHeaderSize, maxHeaders }, (res, rest) => {
          if (res.statusCode === 101) upgraded(res, socket, rest)
          else answered(res, (ms) => socketBodyStart(socket, res, rest, REFUSAL_BODY_LIMIT, ms), () => socket.destroy())
        }, failed)
        return
      }

      // Object.assign, not spreads with properties after them: V8's slow path for those cost 4 µs per connect.
      const request = (target.secure ? lazy.https() : http).request(Object.assign(
        directConnection(target.secure, options.requestOptions),
        options.requestOptions,
        target.socketPath === undefined
          ? { maxHeaderSize, hostname: target.hostname, port: target.port, path: target.path, method: 'GET', headers }
          : { maxHeaderSize, socketPath: target.socketPath, path: target.path, method: 'GET', headers },
      ))
      request.maxHeadersCount = maxHeaders + 1
      cancel = (reason) => request.destroy(reason)
      request.on('upgrade', upgraded)
      // Node reports a 101 without Upgrade/Connection as an ordinary response: say what it lacks.
      request.on('response', (res: IncomingMessage) => {
        answered(res, (ms) => readBodyStart(res, REFUSAL_BODY_LIMIT, ms), () => {
          res.resume()
          request.destroy()
        })
      })
      request.on('error', (error: Error & { code?: string }) => {
        // llhttp's own words for a head over maxHeaderSize; say it in ours.
        if (error.code === 'HPE_HEADER_OVERFLOW') {
          const overflow = new HandshakeError('WS_ERR_RESPONSE_HEADERS_TOO_LARGE',
            `response head exceeds ${maxHeaderSize} bytes`)
          overflow.cause = error
          failed(overflow)
        } else {
          failed(error)
        }
      })
      request.end()
    }
    attempt(first, 0)
  })
}

/** Request headers that carry credentials, left out when a redirect leads to another origin. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization']

function withoutCredentials(headers: Record<string, string>): Record<string, string> {
  const kept: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) if (!CREDENTIAL_HEADERS.includes(name.toLowerCase())) kept[name] = value
  return kept
}
