/**
 * The head of the server's answer to an upgrade request (RFC 9112 sections
 * 4 and 5): its status line and header fields, parsed by a client that sent
 * the request on a socket of its own (lib/handshake/upgrade-exchange.ts).
 * The fields are gathered as Node's IncomingMessage gathers them (names in
 * lower case; a repeated field joined with ", ", Set-Cookie as a list, and
 * the fields Node keeps once kept once), so that a response reads the same
 * whichever way the request went.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { HandshakeError } from '../protocol/errors'
import { isToken } from './header-tokens'

/** What the client reads of a response: as much of an IncomingMessage as the handshake uses. */
export interface ResponseHead {
  readonly httpVersion: string
  readonly statusCode: number
  readonly statusMessage: string
  readonly headers: IncomingHttpHeaders
  /** Names and values as they came, alternating, in order. */
  readonly rawHeaders: string[]
}

/** The limits a response head is read within. */
export interface HeadLimits {
  /** Most bytes of the head, status line and empty line included. */
  maxHeaderSize: number
  /** Most header fields. */
  maxHeaders: number
}

/** Fields Node's IncomingMessage keeps the first of; a repeat is dropped. */
const FIRST_ONLY = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after',
  'server', 'user-agent',
])

/** HTTP-version SP status-code [SP reason-phrase]: a missing reason is taken, as most clients do. */
const STATUS_LINE = /^HTTP\/(\d)\.(\d) (\d{3})(?: (.*))?$/
/** Control characters other than HTAB: never part of a field value or reason phrase (RFC 9110 section 5.5). */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/

/**
 * Where the head in `bytes` ends: the offset just after its empty line (CR LF
 * CR LF, or bare LFs, which RFC 9112 section 2.2 lets a recipient take as line
 * ends), or -1 when it has not all arrived. `from` skips bytes already
 * searched (less the three an empty line could straddle).
 */
export function headEnd(bytes: Buffer, from = 0): number {
  for (;;) {
    const lf = bytes.indexOf(10, from)
    if (lf === -1) return -1
    if (bytes[lf + 1] === 10) return lf + 2
    if (bytes[lf + 1] === 13) {
      if (lf + 2 >= bytes.length) return -1
      if (bytes[lf + 2] === 10) return lf + 3
    }
    from = lf + 1
  }
}

function malformed(what: string): HandshakeError {
  return new HandshakeError('WS_ERR_HANDSHAKE', `malformed HTTP response: ${what}`)
}

/** Parses the head `bytes[0, end)` (end from headEnd()); throws a HandshakeError when it is not a valid HTTP/1.x response head. */
export function parseResponseHead(bytes: Buffer, end: number, limits: HeadLimits): ResponseHead {
  const lines = bytes.toString('latin1', 0, end).split('\n')
  // The last two entries are the empty line and what follows its LF.
  lines.length -= 2
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (line.endsWith('\r')) lines[i] = line.slice(0, -1)
  }
  const status = STATUS_LINE.exec(lines[0])
  if (status === null) throw malformed(`the status line ${JSON.stringify(lines[0].slice(0, 80))} is not HTTP/1.x`)
  if (status[1] !== '1') throw malformed(`HTTP/${status[1]}.${status[2]} is not HTTP/1.x`)
  const statusMessage = status[4] ?? ''
  if (CONTROL.test(statusMessage)) throw malformed('a control character in the reason phrase')

  const rawHeaders: string[] = []
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]
    const first = line.charCodeAt(0)
    if (first === 0x20 || first === 0x09) {
      // RFC 9112 section 5.2: a user agent replaces obs-fold with SP ... in a response it receives.
      if (rawHeaders.length === 0) throw malformed('a continuation line before any field')
      rawHeaders[rawHeaders.length - 1] = `${rawHeaders[rawHeaders.length - 1]} ${fieldValue(line)}`.trim()
      continue
    }
    const colon = line.indexOf(':')
    const name = colon === -1 ? '' : line.slice(0, colon)
    // RFC 9112 section 5.1: "No whitespace is allowed between the field name and colon": a token or nothing.
    if (!isToken(name)) throw malformed(`the line ${JSON.stringify(line.slice(0, 80))} is not a header field`)
    if (rawHeaders.length / 2 >= limits.maxHeaders) {
      throw new HandshakeError('WS_ERR_RESPONSE_HEADERS_TOO_LARGE', `response has more than ${limits.maxHeaders} header fields`)
    }
    rawHeaders.push(name, fieldValue(line.slice(colon + 1)))
  }
  return {
    httpVersion: `${status[1]}.${status[2]}`,
    statusCode: Number(status[3]),
    statusMessage,
    headers: gathered(rawHeaders),
    rawHeaders,
  }
}

/** A field value without its surrounding whitespace; control characters refused. */
function fieldValue(text: string): string {
  if (CONTROL.test(text)) throw malformed('a control character in a header field')
  return text.replace(/^[ \t]+|[ \t]+$/g, '')
}

/** The fields by lower-case name, repeats gathered as Node's IncomingMessage does. */
function gathered(rawHeaders: readonly string[]): IncomingHttpHeaders {
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
