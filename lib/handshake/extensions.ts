/**
 * Sec-WebSocket-Extensions (RFC 6455 section 9.1) and the negotiation of
 * permessage-deflate (RFC 7692 section 7), as pure functions from header text
 * to a decision: no streams, no I/O.
 *
 * Server:  offers = parseExtensions(req.headers['sec-websocket-extensions'])
 *          (null: answer 400), then acceptDeflateOffer(offers, options) gives
 *          the header value to send and the settings, or null.
 * Client:  send deflateOffer(options); then acceptDeflateResponse(the
 *          response's header, what was sent) gives the settings, or null, or
 *          throws a HandshakeError.
 *
 * Names are compared exactly: RFC 6455 and 7692 define no case folding for
 * extension or parameter names. A peer's `PerMessage-Deflate` is another
 * extension: a server passes it over, a client fails on it as not offered.
 */
import { HandshakeError } from '../protocol/errors'
import type { PerMessageDeflate, PerMessageDeflateOptions } from '../protocol/permessage-deflate'
import { isTokenChar } from './header-tokens'

export type { PerMessageDeflate, PerMessageDeflateOptions } from '../protocol/permessage-deflate'

/** One element of an extension list: a name and its parameters, in order; `true` for a parameter with no value. */
export interface ExtensionOffer {
  name: string
  params: Array<[name: string, value: string | true]>
}

const SPACE = 0x20
const TAB = 0x09
const COMMA = 0x2c
const SEMICOLON = 0x3b
const EQUALS = 0x3d
const QUOTE = 0x22
const BACKSLASH = 0x5c

/**
 * Parses a Sec-WebSocket-Extensions value; several header lines make one
 * list. `[]` when there is no header; null when it is malformed (RFC 6455
 * section 9.1: the recipient then fails the connection). One pass, no
 * regular expression; quoted values are unescaped, and must then be tokens.
 * Empty list elements (`a,,b`) are skipped, as RFC 7230 section 7 requires
 * of a recipient, but the list needs at least one extension.
 */
export function parseExtensions(header: string | readonly string[] | undefined): ExtensionOffer[] | null {
  if (header === undefined || (typeof header !== 'string' && header.length === 0)) return []
  const text = typeof header === 'string' ? header : header.join(',')
  const end = text.length
  let i = 0
  const at = (code: number) => i < end && text.charCodeAt(i) === code
  const skipSpace = () => {
    while (at(SPACE) || at(TAB)) i++
  }
  const token = (): string | null => {
    const start = i
    while (i < end && isTokenChar(text.charCodeAt(i))) i++
    return i > start ? text.slice(start, i) : null
  }
  // A quoted-string whose content, once unescaped, is a token: so every
  // character, escaped or not, must be a token character.
  const quoted = (): string | null => {
    let value = ''
    for (i++; i < end; i++) {
      if (at(QUOTE)) {
        i++
        return value === '' ? null : value
      }
      if (at(BACKSLASH)) i++
      if (i === end || !isTokenChar(text.charCodeAt(i))) return null
      value += text[i]
    }
    return null
  }

  const list: ExtensionOffer[] = []
  for (;;) {
    skipSpace()
    if (i === end) break
    if (at(COMMA)) {
      i++
      continue
    }
    const name = token()
    if (name === null) return null
    const params: ExtensionOffer['params'] = []
    skipSpace()
    while (at(SEMICOLON)) {
      i++
      skipSpace()
      const param = token()
      if (param === null) return null
      skipSpace()
      let value: string | true = true
      if (at(EQUALS)) {
        i++
        skipSpace()
        const given = at(QUOTE) ? quoted() : token()
        if (given === null) return null
        value = given
        skipSpace()
      }
      params.push([param, value])
    }
    list.push({ name, params })
    if (i === end) break
    if (!at(COMMA)) return null
    i++
  }
  return list.length > 0 ? list : null
}

export const PERMESSAGE_DEFLATE = 'permessage-deflate'

/** permessage-deflate's parameters as one offer or response gave them; `true`: named without a value. */
interface DeflateParams {
  serverNoContextTakeover: boolean
  clientNoContextTakeover: boolean
  serverMaxWindowBits?: number
  clientMaxWindowBits?: number | true
}

const WINDOW_BITS = ['8', '9', '10', '11', '12', '13', '14', '15']

/** Peer-chosen text in an error message: quoted, and cut short. */
const quote = (text: string) => JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text)

/**
 * Reads the parameters of one permessage-deflate element; a string says why
 * they are unacceptable (RFC 7692 section 7: an unknown name, a bad value, a
 * name given twice). A window is 8..15 in decimal without leading zeros; only
 * an offer may name client_max_window_bits without a value (section 7.1.2.2).
 */
function readParams(params: ExtensionOffer['params'], inResponse: boolean): DeflateParams | string {
  const read: DeflateParams = { serverNoContextTakeover: false, clientNoContextTakeover: false }
  // An unknown name ends the walk and a known one may come once: `seen` never
  // holds more than five names, so the walk stays linear.
  const seen: string[] = []
  for (const [name, value] of params) {
    if (seen.includes(name)) return `${name} is given twice`
    seen.push(name)
    if (name === 'server_no_context_takeover' || name === 'client_no_context_takeover') {
      if (value !== true) return `${name} takes no value`
      if (name === 'server_no_context_takeover') read.serverNoContextTakeover = true
      else read.clientNoContextTakeover = true
    } else if (name === 'server_max_window_bits' || name === 'client_max_window_bits') {
      let bits: number | true
      if (value !== true && WINDOW_BITS.includes(value)) bits = Number(value)
      else if (value === true && name === 'client_max_window_bits' && !inResponse) bits = true
      else return `${name} must be 8 to 15, not ${value === true ? 'empty' : quote(value)}`
      if (name === 'client_max_window_bits') read.clientMaxWindowBits = bits
      else read.serverMaxWindowBits = bits as number
    } else {
      return `unknown parameter ${quote(name)}`
    }
  }
  return read
}

function formatParams(params: DeflateParams): string {
  let text = PERMESSAGE_DEFLATE
  if (params.serverNoContextTakeover) text += '; server_no_context_takeover'
  if (params.clientNoContextTakeover) text += '; client_no_context_takeover'
  if (params.serverMaxWindowBits !== undefined) text += `; server_max_window_bits=${params.serverMaxWindowBits}`
  if (params.clientMaxWindowBits === true) text += '; client_max_window_bits'
  else if (params.clientMaxWindowBits !== undefined) text += `; client_max_window_bits=${params.clientMaxWindowBits}`
  return text
}

/** The options with their defaults, in the shape of what a handshake settles. */
function wanted(options: PerMessageDeflateOptions): PerMessageDeflate {
  return {
    serverNoContextTakeover: options.serverNoContextTakeover ?? false,
    clientNoContextTakeover: options.clientNoContextTakeover ?? false,
    serverMaxWindowBits: options.serverMaxWindowBits ?? 15,
    clientMaxWindowBits: options.clientMaxWindowBits ?? 15,
  }
}

/** The server's answer to one offer it accepts: the Sec-WebSocket-Extensions value, and the settings. */
export interface DeflateAcceptance {
  response: string
  config: PerMessageDeflate
}

function answerOffer(offer: DeflateParams, own: PerMessageDeflate): DeflateAcceptance | null {
  // Our limit on the client's window can only be told to a client that named
  // the parameter (section 7.1.2.2: otherwise the answer MUST NOT hold it).
  if (own.clientMaxWindowBits < 15 && offer.clientMaxWindowBits === undefined) return null
  const config: PerMessageDeflate = {
    // A request for server_no_context_takeover is met by saying it (7.1.1.1);
    // client_no_context_takeover offered is the client's promise, said back so both ends know.
    serverNoContextTakeover: own.serverNoContextTakeover || offer.serverNoContextTakeover,
    clientNoContextTakeover: own.clientNoContextTakeover || offer.clientNoContextTakeover,
    // The client's limit on our window is met with a value the same or smaller (7.1.2.1), 8 included.
    serverMaxWindowBits: Math.min(own.serverMaxWindowBits, offer.serverMaxWindowBits ?? 15),
    clientMaxWindowBits: Math.min(
      own.clientMaxWindowBits,
      typeof offer.clientMaxWindowBits === 'number' ? offer.clientMaxWindowBits : 15,
    ),
  }
  const response = formatParams({
    serverNoContextTakeover: config.serverNoContextTakeover,
    clientNoContextTakeover: config.clientNoContextTakeover,
    // A limit asked for is answered even at 15; ours is said unasked (allowed by 7.1.2.1).
    serverMaxWindowBits:
      offer.serverMaxWindowBits !== undefined || config.serverMaxWindowBits < 15 ? config.serverMaxWindowBits : undefined,
    // Below 15 only if the client named the parameter (checked above, or its own value).
    clientMaxWindowBits: config.clientMaxWindowBits < 15 ? config.clientMaxWindowBits : undefined,
  })
  return { response, config }
}

/**
 * The server's side: walks the client's offers in its order of preference
 * (RFC 7692 section 5) and accepts the first permessage-deflate offer it
 * can. An offer with an unknown, repeated or invalid parameter is declined
 * (section 7), and the next one tried. Null: answer without the extension.
 * `options` must have passed validatePerMessageDeflateOptions.
 */
export function acceptDeflateOffer(
  offers: readonly ExtensionOffer[],
  options: PerMessageDeflateOptions = {},
): DeflateAcceptance | null {
  const own = wanted(options)
  for (const offer of offers) {
    if (offer.name !== PERMESSAGE_DEFLATE) continue
    const params = readParams(offer.params, false)
    if (typeof params === 'string') continue
    const accepted = answerOffer(params, own)
    if (accepted !== null) return accepted
  }
  return null
}

/**
 * The client's side: the Sec-WebSocket-Extensions value to send. By default
 * `permessage-deflate; client_max_window_bits`, as Chromium and undici send.
 */
export function deflateOffer(options: PerMessageDeflateOptions = {}): string {
  const own = wanted(options)
  return formatParams({
    serverNoContextTakeover: own.serverNoContextTakeover,
    clientNoContextTakeover: own.clientNoContextTakeover,
    serverMaxWindowBits: own.serverMaxWindowBits < 15 ? own.serverMaxWindowBits : undefined,
    clientMaxWindowBits: own.clientMaxWindowBits < 15 ? own.clientMaxWindowBits : true,
  })
}

const invalid = (message: string) => new HandshakeError('WS_ERR_INVALID_EXTENSION', message)

/** Whether `response` answers `offer` (RFC 7692 section 7: else the client MUST fail); a string says why not. */
function settle(response: DeflateParams, offer: DeflateParams): PerMessageDeflate | string {
  if (offer.serverNoContextTakeover && !response.serverNoContextTakeover) {
    return 'the server left out server_no_context_takeover, which was requested'
  }
  if (offer.serverMaxWindowBits !== undefined) {
    if (response.serverMaxWindowBits === undefined) {
      return `the server left out server_max_window_bits, which was limited to ${offer.serverMaxWindowBits}`
    }
    if (response.serverMaxWindowBits > offer.serverMaxWindowBits) {
      return `server_max_window_bits=${response.serverMaxWindowBits} is above the ${offer.serverMaxWindowBits} offered`
    }
  }
  if (response.clientMaxWindowBits !== undefined && offer.clientMaxWindowBits === undefined) {
    return 'the server answered client_max_window_bits, which was not offered'
  }
  const window = (bits: number | true | undefined) => (typeof bits === 'number' ? bits : 15)
  return {
    serverNoContextTakeover: response.serverNoContextTakeover,
    // Offered, it is a promise kept whatever the answer (7.1.1.2).
    clientNoContextTakeover: response.clientNoContextTakeover || offer.clientNoContextTakeover,
    serverMaxWindowBits: window(response.serverMaxWindowBits),
    // A value offered is a promise too: a larger answer does not raise it.
    clientMaxWindowBits: Math.min(window(response.clientMaxWindowBits), window(offer.clientMaxWindowBits)),
  }
}

/**
 * The client's side: judges the server's Sec-WebSocket-Extensions against
 * `offered`, the value the request carried (deflateOffer's, or the
 * application's own). Returns the settings, or null when the server accepted
 * no extension. Throws a HandshakeError (WS_ERR_INVALID_EXTENSION) for an
 * answer the client must fail (RFC 6455 section 9.1, RFC 7692 section 7): a
 * malformed header, an extension not offered or not implemented, more than
 * one permessage-deflate, a parameter unknown, repeated or invalid, or one
 * that does not answer any of the offers.
 */
export function acceptDeflateResponse(
  header: string | readonly string[] | undefined,
  offered: string | readonly string[] | undefined,
): PerMessageDeflate | null {
  const answer = parseExtensions(header)
  if (answer === null) throw invalid('invalid Sec-WebSocket-Extensions header in the response')
  if (answer.length === 0) return null
  const offers = parseExtensions(offered)
  if (offers === null) throw invalid('the request offered an invalid Sec-WebSocket-Extensions')
  const deflateOffered = offers.some((offer) => offer.name === PERMESSAGE_DEFLATE)
  for (const { name } of answer) {
    if (name === PERMESSAGE_DEFLATE && deflateOffered) continue
    const why = offers.some((offer) => offer.name === name) ? 'this client does not implement' : 'was not offered'
    throw invalid(`the server chose extension ${quote(name)}, which ${why}`)
  }
  if (answer.length > 1) throw invalid('the server answered permessage-deflate more than once')
  const response = readParams(answer[0].params, true)
  if (typeof response === 'string') throw invalid(`invalid permessage-deflate response: ${response}`)
  let failure: string | undefined
  for (const offer of offers) {
    if (offer.name !== PERMESSAGE_DEFLATE) continue
    const params = readParams(offer.params, false)
    // A server must decline an invalid offer, so the answer cannot be to it.
    if (typeof params === 'string') continue
    const settled = settle(response, params)
    if (typeof settled !== 'string') return settled
    failure ??= settled
  }
  throw invalid(`invalid permessage-deflate response: ${failure ?? 'it answers none of the offers'}`)
}
