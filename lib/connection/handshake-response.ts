/**
 * The server's 101 answer, kept for a client connection so that headers a
 * server sends with it (a session cookie, a chosen server name) can be read
 * after connect() resolves. Kept outside the connection's own fields: a
 * server-side connection carries nothing for it.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'

/** What the client saw of the server's 101 Switching Protocols response. */
export interface HandshakeResponse {
  /** Always 101. */
  readonly statusCode: number
  readonly statusMessage: string
  /** Header fields by lower-case name, as Node's IncomingMessage gives them. */
  readonly headers: IncomingHttpHeaders
  /** Names and values as they came, alternating, in order. */
  readonly rawHeaders: readonly string[]
  /** The URL that answered 101: the one given to connect(), or where its redirects led. Unset for clientFromUpgrade(). */
  readonly url?: string
}

const responses = new WeakMap<object, HandshakeResponse>()

/** Keeps what `connection`'s handshake received. */
export function keepResponse(
  connection: object, res: Pick<IncomingMessage, 'statusCode' | 'statusMessage' | 'headers' | 'rawHeaders'>, url: string | undefined,
): void {
  const { statusCode = 101, statusMessage = '', headers, rawHeaders } = res
  // Node's own array, frozen rather than copied: the finished response writes no more to it, and
  // every client connection would otherwise hold a second list of its headers.
  const kept: HandshakeResponse = url === undefined
    ? { statusCode, statusMessage, headers, rawHeaders: Object.freeze(rawHeaders) }
    : { statusCode, statusMessage, headers, rawHeaders: Object.freeze(rawHeaders), url }
  responses.set(connection, Object.freeze(kept))
}

/** The 101 response `connection`'s handshake received; null on the server side. */
export function responseOf(connection: object): HandshakeResponse | null {
  return responses.get(connection) ?? null
}
