/**
 * The server's side of the opening handshake (RFC 6455 section 4.2):
 * which upgrade requests are accepted, what the 101 says, how every bad
 * request is refused over HTTP, and how the subprotocol is chosen. Requests
 * are written as exact bytes over raw TCP so that malformed ones can be sent
 * and the response read byte for byte.
 */
import { randomBytes } from 'node:crypto'
import { STATUS_CODES, type IncomingMessage } from 'node:http'
import { Socket } from 'node:net'
import t, { type Test } from 'tap'
import { HandshakeError } from '../../lib/protocol/errors'
import { accept, rejectUpgrade, type AcceptOptions } from '../../lib/handshake/server'
import { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { clientFrame } from '../helpers/frames'
import {
  RFC_ACCEPT,
  RFC_KEY,
  exchangeHead,
  exchangeUntilClosed,
  header,
  readBytes,
  statusOf,
  upgradeRequest,
  upgradeServer,
  type RequestShape,
} from '../helpers/http-upgrade'
import { within } from '../helpers/ws-wait'

type HandshakeFailure = Error & { code?: string; statusCode?: number; headers?: Record<string, string> }

/** What became of one upgrade request on the server. */
type Outcome =
  | { ok: true; result: WebSocketDuplex | Socket; req: IncomingMessage; socket: Socket; head: Buffer; dataListenersBefore: number }
  | { ok: false; error: HandshakeFailure }

/**
 * A server that calls accept() with `options` on every request and reports
 * each outcome; a refused request is answered with rejectUpgrade(), as an
 * application would.
 */
async function acceptServer(t: Test, options: AcceptOptions = {}) {
  const waiting: Outcome[] = []
  const takers: Array<(outcome: Outcome) => void> = []
  const report = (outcome: Outcome) => {
    const take = takers.shift()
    if (take) take(outcome)
    else waiting.push(outcome)
  }
  const accepted: Array<WebSocketDuplex | Socket> = []
  const server = await upgradeServer((req, socket, head) => {
    const dataListenersBefore = socket.listenerCount('data')
    try {
      const result = accept(req, socket, head, options)
      accepted.push(result)
      report({ ok: true, result, req, socket, head, dataListenersBefore })
    } catch (error) {
      rejectUpgrade(socket, error as Error)
      report({ ok: false, error: error as HandshakeFailure })
    }
  })
  t.teardown(async () => {
    for (const end of accepted) {
      end.on('error', () => {})
      end.destroy()
    }
    await server.close()
  })
  const next = () =>
    within(
      waiting.length > 0 ? Promise.resolve(waiting.shift()!) : new Promise<Outcome>((resolve) => takers.push(resolve)),
      5000,
      'an upgrade attempt',
    )
  return { port: server.port, next }
}

function acceptedOf(t: Test, outcome: Outcome) {
  if (!outcome.ok) throw new Error(`expected the upgrade to be accepted, but: ${outcome.error.message}`)
  t.ok(outcome.result, 'accept() returned')
  return outcome
}

function refusalOf(outcome: Outcome): HandshakeFailure {
  if (outcome.ok) throw new Error('expected the upgrade to be refused, but accept() succeeded')
  return outcome.error
}

/** The duplex accept() returned, for requests made without raw mode. */
function duplexOf(t: Test, outcome: Outcome): WebSocketDuplex {
  const { result } = acceptedOf(t, outcome)
  if (!(result instanceof WebSocketDuplex)) throw new Error('accept() did not return a WebSocketDuplex')
  return result
}

/** base64 text that decodes to `bytes` random bytes. */
const base64Of = (bytes: number) => randomBytes(bytes).toString('base64')

t.test('a valid upgrade request', async (t) => {
  t.test('is answered 101 with the accept value RFC 6455 gives for its example key', async (t) => {
    const server = await acceptServer(t)
    const response = await exchangeHead(server.port, upgradeRequest())
    t.teardown(() => response.socket.destroy())
    t.equal(response.startLine, 'HTTP/1.1 101 Switching Protocols')
    t.equal(header(response, 'upgrade')?.toLowerCase(), 'websocket')
    t.equal(header(response, 'connection')?.toLowerCase(), 'upgrade')
    t.equal(header(response, 'sec-websocket-accept'), RFC_ACCEPT)
    t.equal(header(response, 'sec-websocket-protocol'), undefined, 'no subprotocol unless one was offered and chosen')
    t.equal(header(response, 'sec-websocket-extensions'), undefined, 'no extension is claimed')

    const ws = duplexOf(t, await server.next())
    t.equal(ws.role, 'server')
    t.equal(ws.protocol, null)
    // The connection is live: the server's first message arrives unmasked, byte for byte.
    ws.write('hi')
    t.strictSame(await readBytes(response.socket, 4), Buffer.from([0x81, 0x02, 0x68, 0x69]))
  })

  const spellings: Array<[string, Record<string, string>]> = [
    ['Upgrade and Connection in other letter cases', { Upgrade: 'WebSocket', Connection: 'UPGRADE' }],
    ['header names in lower case', { upgrade: 'websocket', connection: 'upgrade' }],
    ['Connection listing several tokens', { Connection: 'keep-alive, Upgrade' }],
    ['Connection with the upgrade token first and odd spacing', { Connection: 'upgrade ,  keep-alive' }],
  ]
  for (const [name, headers] of spellings) {
    t.test(`is accepted with ${name}`, async (t) => {
      const server = await acceptServer(t)
      const response = await exchangeHead(server.port, upgradeRequest(headers))
      t.teardown(() => response.socket.destroy())
      t.equal(statusOf(response), 101)
      t.equal(header(response, 'sec-websocket-accept'), RFC_ACCEPT)
      duplexOf(t, await server.next())
    })
  }
})

interface Refusal {
  name: string
  request: Buffer
  code: string
  status: number
  /** What the error message must mention, so the cause is clear. */
  message: RegExp
  /** Response headers the status requires. */
  headers?: Record<string, string>
}

const request = (changes: Record<string, string | string[] | null>, shape?: RequestShape) => upgradeRequest(changes, shape)

const refusals: Refusal[] = [
  {
    name: 'a method other than GET is refused with 405 and Allow: GET',
    request: request({ 'Content-Length': '0' }, { method: 'POST' }),
    code: 'WS_ERR_HANDSHAKE',
    status: 405,
    message: /GET/,
    headers: { allow: 'GET' },
  },
  {
    name: 'HTTP/1.0 is refused with 400',
    request: request({}, { version: 'HTTP/1.0' }),
    code: 'WS_ERR_HANDSHAKE',
    status: 400,
    message: /HTTP\/1\.1/,
  },
  {
    name: 'a missing Upgrade header is refused with 400',
    request: request({ Upgrade: null }),
    code: 'WS_ERR_HANDSHAKE',
    status: 400,
    message: /Upgrade/,
  },
  {
    name: 'an Upgrade to another protocol is refused with 400',
    request: request({ Upgrade: 'h2c' }),
    code: 'WS_ERR_HANDSHAKE',
    status: 400,
    message: /Upgrade/,
  },
  {
    name: 'a missing Connection header is refused with 400',
    request: request({ Connection: null }),
    code: 'WS_ERR_HANDSHAKE',
    status: 400,
    message: /Connection/,
  },
  {
    name: 'a Connection header without the upgrade token is refused with 400',
    request: request({ Connection: 'keep-alive' }),
    code: 'WS_ERR_HANDSHAKE',
    status: 400,
    message: /Connection/,
  },
  {
    name: 'a missing Sec-WebSocket-Version is refused with 426 naming version 13',
    request: request({ 'Sec-WebSocket-Version': null }),
    code: 'WS_ERR_UNSUPPORTED_VERSION',
    status: 426,
    message: /Sec-WebSocket-Version/,
    headers: { 'sec-websocket-version': '13' },
  },
  {
    name: 'an older Sec-WebSocket-Version is refused with 426 naming version 13',
    request: request({ 'Sec-WebSocket-Version': '8' }),
    code: 'WS_ERR_UNSUPPORTED_VERSION',
    status: 426,
    message: /Sec-WebSocket-Version/,
    headers: { 'sec-websocket-version': '13' },
  },
  {
    name: 'a repeated Sec-WebSocket-Version is refused with 426',
    request: request({ 'Sec-WebSocket-Version': ['13', '8'] }),
    code: 'WS_ERR_UNSUPPORTED_VERSION',
    status: 426,
    message: /Sec-WebSocket-Version/,
    headers: { 'sec-websocket-version': '13' },
  },
  {
    name: 'a missing Sec-WebSocket-Key is refused with 400',
    request: request({ 'Sec-WebSocket-Key': null }),
    code: 'WS_ERR_HANDSHAKE',
    status: 400,
    message: /Sec-WebSocket-Key/,
  },
  {
    name: 'a key of 15 bytes (too short) is refused with 400',
    request: request({ 'Sec-WebSocket-Key': base64Of(15) }),
    code: 'WS_ERR_HANDSHAKE',
    status: 400,
    message: /Sec-WebSocket-Key/,
  },
  {
    name: 'a key of 32 bytes (too long) is refused with 400',
    request: request({ 'Sec-WebSocket-Key': base64Of(32) }),
    code: 'WS_ERR_HANDSHAKE',
    status: 400,
    message: /Sec-WebSocket-Key/,
  },
  // base64 of 17 and of 18 bytes is also 24 characters long, the length of a valid key.
  {
    name: 'a 24-character key that decodes to 17 bytes is refused with 400',
    request: request({ 'Sec-WebSocket-Key': base64Of(17) }),
    code: 'WS_ERR_HANDSHAKE',
    status: 400,
    message: /Sec-WebSocket-Key/,
  },
  {
    name: 'a 24-character key that decodes to 18 bytes is refused with 400',
    request: request({ 'Sec-WebSocket-Key': base64Of(18) }),
    code: 'WS_ERR_HANDSHAKE',
    status: 400,
    message: /Sec-WebSocket-Key/,
  },
  {
    name: 'a key that is not base64 is refused with 400',
    request: request({ 'Sec-WebSocket-Key': '!!!!!!!!!!!!!!!!!!!!!!==' }),
    code: 'WS_ERR_HANDSHAKE',
    status: 400,
    message: /Sec-WebSocket-Key/,
  },
  {
    name: 'a key in the URL-safe base64 alphabet is refused with 400',
    // 16 bytes of 0xff: '/////////////////////w==' in the standard alphabet.
    request: request({ 'Sec-WebSocket-Key': '_____________________w==' }),
    code: 'WS_ERR_HANDSHAKE',
    status: 400,
    message: /Sec-WebSocket-Key/,
  },
  {
    // Same 16 bytes as the RFC key, but the unused low bits of the last digit are set.
    name: 'a non-canonical encoding of 16 bytes is refused with 400',
    request: request({ 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZR==' }),
    code: 'WS_ERR_HANDSHAKE',
    status: 400,
    message: /Sec-WebSocket-Key/,
  },
  {
    name: 'a repeated Sec-WebSocket-Key header is refused with 400',
    request: request({ 'Sec-WebSocket-Key': [RFC_KEY, RFC_KEY] }),
    code: 'WS_ERR_HANDSHAKE',
    status: 400,
    message: /Sec-WebSocket-Key/,
  },
  {
    name: 'a Sec-WebSocket-Protocol list with an empty element is refused with 400',
    request: request({ 'Sec-WebSocket-Protocol': 'chat,,superchat' }),
    code: 'WS_ERR_HANDSHAKE',
    status: 400,
    message: /Sec-WebSocket-Protocol/,
  },
  {
    name: 'a Sec-WebSocket-Protocol with a character not allowed in a token is refused with 400',
    request: request({ 'Sec-WebSocket-Protocol': 'chat; v=1' }),
    code: 'WS_ERR_HANDSHAKE',
    status: 400,
    message: /Sec-WebSocket-Protocol/,
  },
  {
    name: 'a Sec-WebSocket-Protocol with two names separated only by a space is refused with 400',
    request: request({ 'Sec-WebSocket-Protocol': 'chat superchat' }),
    code: 'WS_ERR_HANDSHAKE',
    status: 400,
    message: /Sec-WebSocket-Protocol/,
  },
]

t.test('a bad upgrade request', async (t) => {
  for (const refusal of refusals) {
    t.test(refusal.name, async (t) => {
      const server = await acceptServer(t, { protocols: ['chat', 'superchat'] })
      // Resolves only once the server has closed the connection after its answer.
      const exchange = exchangeUntilClosed(server.port, refusal.request)
      const outcome = await server.next()
      if (outcome.ok) {
        exchange.catch(() => {})
        t.fail('accept() accepted the request')
        return
      }
      const error = outcome.error
      const response = await exchange

      t.type(error, HandshakeError, 'accept() throws a HandshakeError')
      t.equal(error.name, 'HandshakeError')
      t.equal(error.code, refusal.code)
      t.equal(error.statusCode, refusal.status)
      t.match(error.message, refusal.message, 'the message names what is wrong')

      t.equal(response.startLine, `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}`)
      t.equal(header(response, 'connection')?.toLowerCase(), 'close')
      for (const [name, value] of Object.entries(refusal.headers ?? {})) t.equal(header(response, name), value, `${name} header`)
      t.equal(header(response, 'sec-websocket-accept'), undefined, 'no accept value')
      t.equal(Number(header(response, 'content-length')), response.rest.length, 'Content-Length matches the body')
      t.match(response.rest.toString('utf8'), error.message, 'the body explains the refusal')
    })
  }
})

t.test('a bad option', async (t) => {
  const badOptions: Array<[string, AcceptOptions, typeof TypeError | typeof RangeError, RegExp]> = [
    ['heartbeat: -1', { heartbeat: -1 }, RangeError, /heartbeat/],
    ['heartbeat: { interval: 0 }', { heartbeat: { interval: 0 } }, RangeError, /heartbeat/],
    ['fragmentSize: 0', { fragmentSize: 0 }, RangeError, /fragmentSize/],
    ['maxMessageSize: NaN', { maxMessageSize: NaN }, RangeError, /maxMessageSize/],
    ['closeTimeout: -1', { closeTimeout: -1 }, RangeError, /closeTimeout/],
    ['readableHighWaterMark: -1', { readableHighWaterMark: -1 }, RangeError, /readableHighWaterMark/],
    ['autoPong: "yes"', { autoPong: 'yes' as never }, TypeError, /autoPong/],
    ['protocols: "chat" (a string, not a list)', { protocols: 'chat' as never }, TypeError, /protocols/],
    ['headers setting Sec-WebSocket-Accept', { headers: { 'Sec-WebSocket-Accept': 'x' } }, TypeError, /Sec-WebSocket-Accept/],
  ]
  const events = ['data', 'end', 'close', 'error', 'drain'] as const
  for (const [what, options, type, names] of badOptions) {
    t.test(`${what} makes accept() throw a ${type.name} before a byte is written or a listener attached`, async (t) => {
      let thrown: unknown = null
      let attached: number[] = []
      let before: number[] = []
      const server = await upgradeServer((req, socket, head) => {
        before = events.map((event) => socket.listenerCount(event))
        try {
          accept(req, socket, head, options).destroy()
        } catch (error) {
          thrown = error
          attached = events.map((event) => socket.listenerCount(event))
          rejectUpgrade(socket, error as Error)
        }
      })
      t.teardown(() => server.close())
      const response = await exchangeUntilClosed(server.port, upgradeRequest())
      t.type(thrown, type)
      t.match((thrown as Error).message, names, 'the message names the option')
      t.same(attached, before, 'no listener was attached to the socket')
      t.equal(statusOf(response), 400, 'the client sees the refusal only')
      t.notMatch(response.bytes.toString('latin1'), /101 Switching Protocols/, 'no 101 went out before it')
    })
  }
})

t.test('rejectUpgrade', async (t) => {
  t.test('answers an error that is not a HandshakeError with 400, then closes', async (t) => {
    const server = await upgradeServer((_req, socket) => rejectUpgrade(socket, new Error('not today')))
    t.teardown(() => server.close())
    const response = await exchangeUntilClosed(server.port, upgradeRequest())
    t.equal(response.startLine, 'HTTP/1.1 400 Bad Request')
    t.equal(response.rest.toString(), 'not today\n')
  })

  t.test('sends the headers a HandshakeError carries', async (t) => {
    const error = new HandshakeError('WS_ERR_HANDSHAKE', 'go elsewhere', 403, { 'X-Reason': 'policy' })
    const server = await upgradeServer((_req, socket) => rejectUpgrade(socket, error))
    t.teardown(() => server.close())
    const response = await exchangeUntilClosed(server.port, upgradeRequest())
    t.equal(response.startLine, 'HTTP/1.1 403 Forbidden')
    t.equal(header(response, 'x-reason'), 'policy')
  })

  t.test('does not throw on a socket that is already closed', async (t) => {
    let thrown: unknown = 'not called'
    const server = await upgradeServer((_req, socket) => {
      socket.destroy()
      try {
        rejectUpgrade(socket, new Error('late'))
        thrown = null
      } catch (error) {
        thrown = error
      }
    })
    t.teardown(() => server.close())
    await exchangeUntilClosed(server.port, upgradeRequest()).catch(() => {})
    t.equal(thrown, null)
  })
})

t.test('subprotocol negotiation', async (t) => {
  /** Accepts one request offering `offered` and returns the 101 and the duplex. */
  async function negotiate(t: Test, offered: string | string[] | null, options: AcceptOptions) {
    const server = await acceptServer(t, options)
    const response = await exchangeHead(server.port, upgradeRequest({ 'Sec-WebSocket-Protocol': offered }))
    t.teardown(() => response.socket.destroy())
    t.equal(statusOf(response), 101)
    return { response, ws: duplexOf(t, await server.next()) }
  }

  t.test("the first protocol the client offered that the server supports is chosen: the client's order wins", async (t) => {
    const { response, ws } = await negotiate(t, 'superchat, chat', { protocols: ['chat', 'superchat'] })
    t.equal(header(response, 'sec-websocket-protocol'), 'superchat')
    t.equal(ws.protocol, 'superchat')
  })

  t.test('names the client does not offer are skipped', async (t) => {
    const { response, ws } = await negotiate(t, 'v3, v2, v1', { protocols: ['v1', 'v2'] })
    t.equal(header(response, 'sec-websocket-protocol'), 'v2')
    t.equal(ws.protocol, 'v2')
  })

  t.test('an offer spread over repeated header lines is one list', async (t) => {
    const { response, ws } = await negotiate(t, ['alpha', 'beta'], { protocols: ['beta'] })
    t.equal(header(response, 'sec-websocket-protocol'), 'beta')
    t.equal(ws.protocol, 'beta')
  })

  t.test('names are compared case-sensitively', async (t) => {
    const { response, ws } = await negotiate(t, 'Chat', { protocols: ['chat'] })
    t.equal(header(response, 'sec-websocket-protocol'), undefined)
    t.equal(ws.protocol, null)
  })

  t.test('no match: the upgrade still succeeds, without Sec-WebSocket-Protocol', async (t) => {
    const { response, ws } = await negotiate(t, 'mqtt', { protocols: ['chat'] })
    t.equal(header(response, 'sec-websocket-protocol'), undefined)
    t.equal(ws.protocol, null)
  })

  t.test('a server that supports none accepts an offer without choosing', async (t) => {
    const { response, ws } = await negotiate(t, 'chat', {})
    t.equal(header(response, 'sec-websocket-protocol'), undefined)
    t.equal(ws.protocol, null)
  })

  t.test('a selector function gets the offered list in order, and the request', async (t) => {
    const calls: Array<{ offered: string[]; url: string | undefined }> = []
    const { response, ws } = await negotiate(t, 'v2.chat, v1.chat', {
      protocols: (offered, req) => {
        calls.push({ offered: [...offered], url: req.url })
        return offered[offered.length - 1]
      },
    })
    t.strictSame(calls, [{ offered: ['v2.chat', 'v1.chat'], url: '/chat' }])
    t.equal(header(response, 'sec-websocket-protocol'), 'v1.chat', 'the selector, not the client order, decides')
    t.equal(ws.protocol, 'v1.chat')
  })

  t.test('a selector returning null chooses none', async (t) => {
    const { response, ws } = await negotiate(t, 'chat', { protocols: () => null })
    t.equal(header(response, 'sec-websocket-protocol'), undefined)
    t.equal(ws.protocol, null)
  })

  t.test('a selector choosing a name the client did not offer makes accept() throw, and no 101 is sent', async (t) => {
    const server = await acceptServer(t, { protocols: () => 'graphql' })
    const response = await exchangeUntilClosed(server.port, upgradeRequest({ 'Sec-WebSocket-Protocol': 'chat' }))
    const error = refusalOf(await server.next())
    t.type(error, Error)
    t.match(error.message, /graphql/, 'the message names the bad choice')
    t.not(statusOf(response), 101)
    t.equal(header(response, 'sec-websocket-protocol'), undefined)
  })

  const objectKeys = ['__proto__', 'constructor', 'toString', 'hasOwnProperty']
  for (const name of objectKeys) {
    t.test(`"${name}" is an ordinary protocol name`, async (t) => {
      const offered = objectKeys.join(', ')
      const { response, ws } = await negotiate(t, offered, { protocols: [name] })
      t.equal(header(response, 'sec-websocket-protocol'), name)
      t.equal(ws.protocol, name)
      t.equal(typeof ws.protocol, 'string')
    })
  }

  t.test('object property names offered but not supported choose nothing', async (t) => {
    const { response, ws } = await negotiate(t, '__proto__, constructor', { protocols: ['chat'] })
    t.equal(header(response, 'sec-websocket-protocol'), undefined)
    t.equal(ws.protocol, null)
    t.equal(({} as Record<string, unknown>).chat, undefined, 'nothing leaked onto Object.prototype')
  })
})

t.test('raw mode', async (t) => {
  t.test('returns the socket itself, with bytes that came with the request put back in front', async (t) => {
    const server = await acceptServer(t, { raw: true })
    const early = clientFrame({ opcode: 0x1, payload: 'sent with the request' })
    // One write: the frame reaches the server in the same packet as the request, as head bytes.
    const response = await exchangeHead(server.port, Buffer.concat([upgradeRequest(), early]))
    t.teardown(() => response.socket.destroy())
    t.equal(response.startLine, 'HTTP/1.1 101 Switching Protocols')
    t.equal(header(response, 'sec-websocket-accept'), RFC_ACCEPT)

    const outcome = acceptedOf(t, await server.next())
    t.equal(outcome.result, outcome.socket, 'the very socket of the upgrade')
    t.type(outcome.result, Socket)
    t.strictSame(outcome.head, early, 'the frame arrived as head bytes')
    t.equal(outcome.socket.listenerCount('data'), outcome.dataListenersBefore, "accept() added no 'data' listener")

    const raw = outcome.result as Socket
    t.strictSame(await readBytes(raw, early.length), early, 'the head bytes are read first, unchanged')
    const later = clientFrame({ opcode: 0x2, payload: Buffer.from([1, 2, 3]) })
    response.socket.write(later)
    t.strictSame(await readBytes(raw, later.length), later, 'then what follows on the wire')
    raw.write('raw reply')
    t.equal((await readBytes(response.socket, 9)).toString(), 'raw reply', 'bytes written to the socket reach the client as they are')
  })

  t.test('still negotiates a subprotocol', async (t) => {
    const server = await acceptServer(t, { raw: true, protocols: ['chat'] })
    const response = await exchangeHead(server.port, upgradeRequest({ 'Sec-WebSocket-Protocol': 'chat' }))
    t.teardown(() => response.socket.destroy())
    t.equal(header(response, 'sec-websocket-protocol'), 'chat')
    t.type(acceptedOf(t, await server.next()).result, Socket)
  })
})

t.test('extra response headers', async (t) => {
  t.test('are added to the 101', async (t) => {
    const server = await acceptServer(t, { headers: { 'X-Served-By': 'node-7', 'Set-Cookie': 'session=abc; HttpOnly' } })
    const response = await exchangeHead(server.port, upgradeRequest())
    t.teardown(() => response.socket.destroy())
    t.equal(statusOf(response), 101)
    t.equal(header(response, 'x-served-by'), 'node-7')
    t.equal(header(response, 'set-cookie'), 'session=abc; HttpOnly')
    t.equal(header(response, 'sec-websocket-accept'), RFC_ACCEPT)
    duplexOf(t, await server.next())
  })

  const badHeaders: Array<[string, Record<string, string>]> = [
    ['a name with a space', { 'X Bad': 'v' }],
    ['a name with a colon', { 'X:Bad': 'v' }],
    ['an empty name', { '': 'v' }],
    ['a name carrying CRLF', { 'X-Ok\r\nInjected': 'v' }],
    ['a value carrying CRLF', { 'X-Ok': 'v\r\nInjected: yes' }],
  ]
  for (const [what, headers] of badHeaders) {
    t.test(`with ${what} make accept() throw a TypeError before anything is written`, async (t) => {
      const server = await acceptServer(t, { headers })
      const response = await exchangeUntilClosed(server.port, upgradeRequest())
      const error = refusalOf(await server.next())
      t.type(error, TypeError)
      t.match(error.message, /header/)
      t.not(statusOf(response), 101, 'no 101 went out')
      t.notMatch(response.bytes.toString('latin1'), /^Injected/m, 'no header line was injected into the response')
    })
  }
})
