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
import { gatherHeaders } from '../connection/handshake-response'

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

/**
 * Names and values most 101 answers carry, shared by every connection that
 * keeps its response: a string cut from the head anew would be held once
 * per idle client connection.
 */
const COMMON = new Map(['Upgrade', 'upgrade', 'Connection', 'connection', 'websocket', 'WebSocket', 'Sec-WebSocket-Accept',
  'sec-websocket-accept', 'Sec-WebSocket-Protocol', 'sec-websocket-protocol', 'Sec-WebSocket-Extensions',
  'sec-websocket-extensions', 'Server', 'server', 'Date', 'date', 'Switching Protocols'].map((text) => [text, text]))

/** `bytes[start, end)` as a string of its own: a common one shared, others not slices of the whole head (which they would keep alive). */
function cut(bytes: Buffer, start: number, end: number): string {
  const text = bytes.toString('latin1', start, end)
  return COMMON.get(text) ?? text
}

const isBlank = (byte: number | undefined) => byte === 0x20 || byte === 0x09

/** Parses the head `bytes[0, end)` (end from headEnd()); throws a HandshakeError when it is not a valid HTTP/1.x response head. */
export function parseResponseHead(bytes: Buffer, end: number, limits: HeadLimits): ResponseHead {
  let lf = bytes.indexOf(10)
  const statusLine = bytes.toString('latin1', 0, bytes[lf - 1] === 13 ? lf - 1 : lf)
  const status = STATUS_LINE.exec(statusLine)
  if (status === null) throw malformed(`the status line ${JSON.stringify(statusLine.slice(0, 80))} is not HTTP/1.x`)
  if (status[1] !== '1') throw malformed(`HTTP/${status[1]}.${status[2]} is not HTTP/1.x`)
  const statusMessage = status[4] === undefined ? '' : COMMON.get(status[4]) ?? status[4]
  if (CONTROL.test(statusMessage)) throw malformed('a control character in the reason phrase')

  const rawHeaders: string[] = []
  for (let start = lf + 1; start < end; start = lf + 1) {
    lf = bytes.indexOf(10, start)
    const stop = bytes[lf - 1] === 13 ? lf - 1 : lf
    // The empty line that ends the head.
    if (stop <= start) break
    if (isBlank(bytes[start])) {
      // RFC 9112 section 5.2: a user agent replaces obs-fold with SP ... in a response it receives.
      if (rawHeaders.length === 0) throw malformed('a continuation line before any field')
      rawHeaders[rawHeaders.length - 1] = `${rawHeaders[rawHeaders.length - 1]} ${fieldValue(bytes.toString('latin1', start, stop))}`.trim()
      continue
    }
    let colon = bytes.indexOf(58, start)
    if (colon > stop) colon = -1
    const name = colon === -1 ? '' : cut(bytes, start, colon)
    // RFC 9112 section 5.1: "No whitespace is allowed between the field name and colon": a token or nothing.
    if (!isToken(name)) throw malformed(`the line ${JSON.stringify(bytes.toString('latin1', start, stop).slice(0, 80))} is not a header field`)
    if (rawHeaders.length / 2 >= limits.maxHeaders) {
      throw new HandshakeError('WS_ERR_RESPONSE_HEADERS_TOO_LARGE', `response has more than ${limits.maxHeaders} header fields`)
    }
    let from = colon + 1
    let to = stop
    while (from < to && isBlank(bytes[from])) from++
    while (to > from && isBlank(bytes[to - 1])) to--
    const value = cut(bytes, from, to)
    if (CONTROL.test(value)) throw malformed('a control character in a header field')
    rawHeaders.push(name, value)
  }
  return {
    httpVersion: `${status[1]}.${status[2]}`,
    statusCode: Number(status[3]),
    statusMessage,
    headers: gatherHeaders(rawHeaders),
    rawHeaders,
  }
}

/** A field value without its surrounding whitespace; control characters refused. */
function fieldValue(text: string): string {
  if (CONTROL.test(text)) throw malformed('a control character in a header field')
  return text.replace(/^[ \t]+|[ \t]+$/g, '')
}
