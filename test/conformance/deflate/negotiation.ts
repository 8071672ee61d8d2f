/**
 * permessage-deflate negotiation as the fuzzing peers do it, written from RFC
 * 7692 section 7 without the library's code: the offers the fuzzing client
 * makes, the answer the fuzzing server gives, and the check that the other
 * side's header is legal. What comes out is the parameter set both ends must
 * then hold to.
 *
 * A profile is one of section 13's parameter combinations (section 12 uses
 * profile 1). A request is what the reference suite's client asks of the
 * server: no context takeover, and/or a window (0: not asked). Every offer
 * also carries client_no_context_takeover and client_max_window_bits, so the
 * server may ask the same of the client.
 */

/** What a handshake settled (RFC 7692 section 7.1): server* bind the server's compressor, client* the client's. */
export interface Agreed {
  serverNoContextTakeover: boolean
  clientNoContextTakeover: boolean
  serverMaxWindowBits: number
  clientMaxWindowBits: number
}

export interface Request {
  noContextTakeover: boolean
  /** 8..15, or 0 for none. */
  maxWindowBits: number
}

export interface Profile {
  /** The J of 13.J. */
  id: number
  description: string
  /** In the client's order of preference (RFC 7692 section 5). */
  offers: Request[]
}

const plain: Request = { noContextTakeover: false, maxWindowBits: 0 }
const request = (noContextTakeover: boolean, maxWindowBits = 0): Request => ({ noContextTakeover, maxWindowBits })

export const PROFILES: Profile[] = [
  { id: 1, description: 'plain offer', offers: [plain] },
  { id: 2, description: 'no context takeover', offers: [request(true)] },
  { id: 3, description: 'window 8', offers: [request(false, 8)] },
  { id: 4, description: 'window 15', offers: [request(false, 15)] },
  { id: 5, description: 'no context takeover, window 8', offers: [request(true, 8)] },
  { id: 6, description: 'no context takeover, window 15', offers: [request(true, 15)] },
  { id: 7, description: 'three offers: (no takeover, 8), (no takeover), plain', offers: [request(true, 8), request(true), plain] },
]

/** Section 12's default offer and acceptance. */
export const DEFAULT_PROFILE = PROFILES[0]

interface Element {
  name: string
  params: Map<string, string | true>
}

/** A Sec-WebSocket-Extensions value as a list; a string says why it is malformed (or repeats a parameter). */
function parseList(header: string): Element[] | string {
  const list: Element[] = []
  for (const item of header.split(',')) {
    if (item.trim() === '') continue
    const [name, ...rest] = item.split(';').map((s) => s.trim())
    if (!/^[\w!#$%&'*+.^`|~-]+$/.test(name)) return `malformed extension ${JSON.stringify(item)}`
    const params = new Map<string, string | true>()
    for (const param of rest) {
      const match = /^([\w-]+)\s*(?:=\s*("?)(\w+)\2)?$/.exec(param)
      if (!match) return `malformed parameter ${JSON.stringify(param)}`
      // "The negotiation response contains multiple extension parameters with the same name" (section 7): fail.
      if (params.has(match[1])) return `parameter ${match[1]} given twice`
      params.set(match[1], match[3] ?? true)
    }
    list.push({ name, params })
  }
  return list
}

/** A window value: 8..15 in decimal (sections 7.1.2.1, 7.1.2.2); null if invalid. */
const windowOf = (value: string | true): number | null => (value !== true && /^(8|9|1[0-5])$/.test(value) ? Number(value) : null)

// ---- the fuzzing client's side (our server under test) -------------------

export function offerHeader(profile: Profile): string {
  return profile.offers
    .map((r) => {
      let text = 'permessage-deflate; client_no_context_takeover; client_max_window_bits'
      if (r.noContextTakeover) text += '; server_no_context_takeover'
      if (r.maxWindowBits) text += `; server_max_window_bits=${r.maxWindowBits}`
      return text
    })
    .join(', ')
}

/**
 * Judges the testee server's answer to `profile`'s offers: it must accept
 * permessage-deflate (the testee runs with perMessageDeflate: true), once,
 * with parameters legal in a response that meet one of the offers. Returns
 * the settled parameters, or why the answer is not legal.
 */
export function checkAnswer(header: string | undefined, profile: Profile): Agreed | string {
  // RFC 7692 section 7: "A client MUST _Fail the WebSocket Connection_ if the peer server
  // accepted an extension negotiation offer for this extension with an extension negotiation
  // response meeting any of the following conditions": a parameter not defined for use in a
  // response, an invalid value, the same name twice, a configuration the client does not
  // support (here: one that meets none of the offers).
  if (header === undefined) return 'the server did not accept permessage-deflate'
  const list = parseList(header)
  if (typeof list === 'string') return `Sec-WebSocket-Extensions: ${list}`
  if (list.length !== 1 || list[0].name !== 'permessage-deflate') return `the server answered ${JSON.stringify(header)}, not one permessage-deflate`
  const { params } = list[0]
  const answer: Partial<Agreed> = {}
  for (const [name, value] of params) {
    if (name === 'server_no_context_takeover' || name === 'client_no_context_takeover') {
      if (value !== true) return `${name} with a value`
      answer[name === 'server_no_context_takeover' ? 'serverNoContextTakeover' : 'clientNoContextTakeover'] = true
    } else if (name === 'server_max_window_bits' || name === 'client_max_window_bits') {
      // A response must give client_max_window_bits a value (section 7.1.2.2).
      const bits = windowOf(value)
      if (bits === null) return `${name}=${value === true ? '(none)' : value} is not 8..15`
      answer[name === 'server_max_window_bits' ? 'serverMaxWindowBits' : 'clientMaxWindowBits'] = bits
    } else {
      return `parameter ${name} is not defined for a response`
    }
  }
  const meets = (r: Request): string | null => {
    // Section 7.1.1.1: a server accepts server_no_context_takeover by including it in the response.
    if (r.noContextTakeover && !answer.serverNoContextTakeover) return 'server_no_context_takeover was asked for and not answered'
    // Section 7.1.2.1: it accepts server_max_window_bits by answering the same or a smaller value.
    if (r.maxWindowBits && (answer.serverMaxWindowBits ?? 16) > r.maxWindowBits) {
      return `server_max_window_bits=${r.maxWindowBits} was asked for; the answer was ${answer.serverMaxWindowBits ?? 'none'}`
    }
    return null
  }
  const misses = profile.offers.map(meets)
  if (!misses.includes(null)) return `the answer ${JSON.stringify(header)} meets none of the offers: ${misses[0]}`
  return {
    serverNoContextTakeover: answer.serverNoContextTakeover ?? false,
    // Every offer carried client_no_context_takeover: a hint kept either way (section 7.1.1.2).
    clientNoContextTakeover: true,
    serverMaxWindowBits: answer.serverMaxWindowBits ?? 15,
    clientMaxWindowBits: answer.clientMaxWindowBits ?? 15,
  }
}

// ---- the fuzzing server's side (our client under test) -------------------

/**
 * Answers the testee client's offer as `profile`'s server would: it takes the
 * profile's first request, says server_no_context_takeover and
 * server_max_window_bits for itself (allowed unasked, sections 7.1.1.1 and
 * 7.1.2.1), and asks the same of the client, a window only if the client's
 * offer named client_max_window_bits (section 7.1.2.2). The client's first
 * valid permessage-deflate offer is answered; none is an error.
 */
export function answerOffer(header: string | undefined, profile: Profile): { response: string; agreed: Agreed } | string {
  if (header === undefined) return 'the client offered no extension'
  const list = parseList(header)
  if (typeof list === 'string') return `the client's Sec-WebSocket-Extensions: ${list}`
  const want = profile.offers[0]
  for (const { name, params } of list) {
    if (name !== 'permessage-deflate') continue
    const offered = readOffer(params)
    if (offered === null) continue
    const serverBits = Math.min(want.maxWindowBits || 15, offered.serverMaxWindowBits)
    const agreed: Agreed = {
      serverNoContextTakeover: want.noContextTakeover || offered.serverNoContextTakeover,
      clientNoContextTakeover: want.noContextTakeover || offered.clientNoContextTakeover,
      serverMaxWindowBits: serverBits,
      clientMaxWindowBits: Math.min(offered.clientMaxWindowBits, offered.clientWindowNamed ? want.maxWindowBits || 15 : 15),
    }
    let response = 'permessage-deflate'
    if (agreed.serverNoContextTakeover) response += '; server_no_context_takeover'
    if (agreed.clientNoContextTakeover) response += '; client_no_context_takeover'
    if (want.maxWindowBits || offered.serverMaxWindowBits < 15) response += `; server_max_window_bits=${serverBits}`
    if (offered.clientWindowNamed && want.maxWindowBits) response += `; client_max_window_bits=${agreed.clientMaxWindowBits}`
    return { response, agreed }
  }
  return `the client offered no valid permessage-deflate: ${JSON.stringify(header)}`
}

/** One permessage-deflate offer's parameters (section 7.1), or null if they are not valid in an offer. */
function readOffer(params: Map<string, string | true>) {
  const offer = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15, clientWindowNamed: false }
  for (const [name, value] of params) {
    if (name === 'server_no_context_takeover' && value === true) offer.serverNoContextTakeover = true
    else if (name === 'client_no_context_takeover' && value === true) offer.clientNoContextTakeover = true
    else if (name === 'server_max_window_bits' && windowOf(value) !== null) offer.serverMaxWindowBits = windowOf(value)!
    else if (name === 'client_max_window_bits') {
      // Named without a value in an offer: the client can take any limit (section 7.1.2.2).
      if (value !== true && windowOf(value) === null) return null
      offer.clientWindowNamed = true
      if (value !== true) offer.clientMaxWindowBits = windowOf(value)!
    } else return null
  }
  return offer
}
