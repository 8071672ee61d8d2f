/**
 * What a client offers, and checks in the server's answer, whatever
 * carries them (an upgrade over HTTP/1.1, an extended CONNECT over HTTP/2):
 * the subprotocol and the extensions chosen must be among those offered
 * (RFC 6455 section 4.1: otherwise "the client MUST _Fail the WebSocket
 * Connection_").
 */
import type { IncomingHttpHeaders } from 'node:http'
import type { Compression } from '../connection/duplex-types'
import { HandshakeError } from '../protocol/errors'
import type { PerMessageDeflateOptions } from '../protocol/permessage-deflate'
import { acceptDeflateResponse, deflateOffer } from './extensions'
import type { ConnectOptions } from './client'
import { isToken } from './header-tokens'

/** What the handshake settled. */
export interface Agreement {
  protocol: string | null
  compression: Compression | undefined
  /** The Sec-WebSocket-Extensions answer, '' for none. */
  extensions: string
}

/** The subprotocols to offer, checked: tokens, none repeated. */
export function offeredProtocols(protocols: string | readonly string[] | undefined): string[] {
  const list = protocols === undefined ? [] : typeof protocols === 'string' ? [protocols] : [...protocols]
  const seen = new Set<string>()
  for (const name of list) {
    if (!isToken(name) || seen.has(name)) throw new SyntaxError(`invalid or repeated subprotocol ${JSON.stringify(name)}`)
    seen.add(name)
  }
  return list
}

/**
 * Checks the answer's subprotocol and extensions against the offer.
 * `offered` undefined means the offer is unknown, and then the server's
 * subprotocol is taken as it is.
 */
export function checkAgreement(
  headers: IncomingHttpHeaders,
  offered: string | readonly string[] | undefined,
  offeredExtensions: string | undefined,
  deflateSetting?: boolean | PerMessageDeflateOptions,
): Agreement {
  const chosen = headers['sec-websocket-protocol']
  if (chosen !== undefined) {
    if (!isToken(chosen)) throw new HandshakeError('WS_ERR_HANDSHAKE', 'invalid Sec-WebSocket-Protocol in the response')
    if (offered !== undefined && !offeredProtocols(offered).includes(chosen)) {
      throw new HandshakeError('WS_ERR_HANDSHAKE', `server chose subprotocol ${JSON.stringify(chosen)}, which was not offered`)
    }
  }
  // An extension or parameter that was not offered fails the connection (RFC 6455 section 4.1).
  const agreed = acceptDeflateResponse(headers['sec-websocket-extensions'], offeredExtensions)
  if (agreed === null) return { protocol: chosen ?? null, compression: undefined, extensions: '' }
  const { level, memLevel, threshold } = typeof deflateSetting === 'object' ? deflateSetting : ({} as PerMessageDeflateOptions)
  const answer = headers['sec-websocket-extensions']
  return { protocol: chosen ?? null, compression: Object.assign({ level, memLevel, threshold }, agreed), extensions: String(answer ?? '') }
}

/** The headers the handshake itself sets; the caller's own of these are left out. */
const HANDSHAKE_HEADERS = ['connection', 'upgrade', 'sec-websocket-key', 'sec-websocket-version']

/** The caller's extra request headers, less those the handshake sets itself. */
export function callerHeaders(options: ConnectOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (!HANDSHAKE_HEADERS.includes(name.toLowerCase())) headers[name] = value
  }
  return headers
}

/** The Sec-WebSocket-Extensions offer, if compression is asked for. */
export function extensionOffer(options: ConnectOptions): string | undefined {
  return options.perMessageDeflate ? deflateOffer(options.perMessageDeflate === true ? {} : options.perMessageDeflate) : undefined
}
