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

/** Fields Node's IncomingMessage keeps the first of; a repeat is dropped. */
const FIRST_ONLY = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after',
  'server', 'user-agent',
])

/** The fields by lower-case name, repeats gathered as Node's IncomingMessage does. */
export function gatherHeaders(rawHeaders: readonly string[]): IncomingHttpHeaders {
  const headers: Record<string, string | string[]> = {}
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase()
    const value = rawHeaders[i + 1]
    // A field named __proto__ would change the object's prototype rather than be one of its fields.
    if (name === '__proto__') continue
    const seen = headers[name]
    if (name === 'set-cookie') {
      if (seen === undefined) headers[name] = [value]
      else (seen as string[]).push(value)
    } else if (seen === undefined) {
      headers[name] = value
    } else if (!FIRST_ONLY.has(name)) {
      headers[name] = `${seen}${name === 'cookie' ? '; ' : ', '}${value}`
    }
  }
  return headers as IncomingHttpHeaders
}

/**
 * A kept response holds the raw fields only: `headers` is gathered from
 * them when first read, as most connections never read it and the object
 * would be held by every idle client connection.
 */
class KeptResponse implements HandshakeResponse {
  #headers: IncomingHttpHeaders | undefined
  declare readonly url?: string

  constructor(readonly statusCode: number, readonly statusMessage: string, readonly rawHeaders: readonly string[], url: string | undefined) {
    if (url !== undefined) this.url = url
    Object.freeze(this)
  }

  get headers(): IncomingHttpHeaders {
    return (this.#headers ??= gatherHeaders(this.rawHeaders))
  }
}

const responses = new WeakMap<object, HandshakeResponse>()

/** Keeps what `connection`'s handshake received. */
export function keepResponse(
  connection: object, res: Pick<IncomingMessage, 'statusCode' | 'statusMessage' | 'rawHeaders'>, url: string | undefined,
): void {
  const { statusCode = 101, statusMessage = '', rawHeaders } = res
  // The array as it came, frozen rather than copied: the finished response writes no more to it, and
  // every client connection would otherwise hold a second list of its headers.
  responses.set(connection, new KeptResponse(statusCode, statusMessage, Object.freeze(rawHeaders), url))
}

/** The 101 response `connection`'s handshake received; null on the server side. */
export function responseOf(connection: object): HandshakeResponse | null {
  return responses.get(connection) ?? null
}
