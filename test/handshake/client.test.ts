/**
 * The client's side of the opening handshake (RFC 6455 section 4.1): what
 * the upgrade request carries, and which 101 responses are accepted. The
 * server here is plain TCP writing crafted bytes, so every flaw of a
 * response can be shown to the client one at a time.
 */
import http, { type IncomingMessage } from 'node:http'
import https from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import t, { type Test } from 'tap'
import { clientFromUpgrade, connect, type ConnectOptions } from '../../lib/handshake/client'
import { HandshakeError, WebSocketError } from '../../lib/protocol/errors'
import { generateKey } from '../../lib/handshake/key'
import { accept, rejectUpgrade } from '../../lib/handshake/server'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { frame } from '../helpers/frames'
import {
  acceptFor,
  craftedServer,
  endOf,
  header,
  switchingProtocols,
  upgradeServer,
  type SeenRequest,
} from '../helpers/http-upgrade'
import { selfSignedCertificate } from '../helpers/tls-certificate'
import { connected } from '../helpers/ws-pair'
import { delay, nextEvent, until, within } from '../helpers/ws-wait'

type Failure = Error & { code?: string; statusCode?: number }

/** A crafted server answering each request with `respond(request)`, closed after the test. */
async function serverAnswering(t: Test, respond: (request: SeenRequest) => string | Buffer | null) {
  const server = await craftedServer((request) => {
    const answer = respond(request)
    if (answer !== null) request.socket.write(answer)
  })
  t.teardown(() => server.close())
  return server
}

/** Connects and expects a rejection; fails the test (and cleans up) if it resolves instead. */
async function rejection(promise: Promise<WebSocketDuplex>): Promise<Failure> {
  let ws: WebSocketDuplex
  try {
    ws = await within(promise, 5000, 'connect() to settle')
  } catch (error) {
    return error as Failure
  }
  ws.destroy()
  throw new Error('connect() resolved, but it should have been refused')
}

t.test('responses the client refuses', async (t) => {
  const statuses: Array<[number, string]> = [
    [200, 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'],
    [403, 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n'],
    [426, 'HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n'],
  ]
  for (const [status, response] of statuses) {
    t.test(`status ${status} rejects with WS_ERR_UNEXPECTED_RESPONSE and that statusCode`, async (t) => {
      const server = await serverAnswering(t, () => response)
      const error = await rejection(connect(server.url))
      t.type(error, HandshakeError)
      t.equal(error.code, 'WS_ERR_UNEXPECTED_RESPONSE')
      t.equal(error.statusCode, status)
      t.match(error.message, String(status))
    })
  }

  /** A 101 that answers the request correctly, except for the change made by `edit`. */
  const flawed = (edit: (lines: string[]) => string[]) => (request: SeenRequest) => {
    const lines = switchingProtocols(request).split('\r\n').filter((line) => line !== '')
    return edit(lines).join('\r\n') + '\r\n\r\n'
  }
  const without = (name: string) => (lines: string[]) => lines.filter((line) => !line.toLowerCase().startsWith(name + ':'))
  const adding = (line: string) => (lines: string[]) => [...lines, line]

  const cases: Array<{ name: string; respond: (r: SeenRequest) => string; protocols?: string[]; message: RegExp }> = [
    { name: 'a 101 without an Upgrade header', respond: flawed(without('upgrade')), message: /Upgrade/ },
    {
      name: 'a 101 upgrading to another protocol',
      respond: flawed((lines) => lines.map((line) => (line.startsWith('Upgrade:') ? 'Upgrade: h2c' : line))),
      message: /Upgrade/,
    },
    { name: 'a 101 without Connection: Upgrade', respond: flawed(without('connection')), message: /Connection/ },
    { name: 'a 101 without Sec-WebSocket-Accept', respond: flawed(without('sec-websocket-accept')), message: /Sec-WebSocket-Accept/ },
    {
      name: 'a 101 whose Sec-WebSocket-Accept answers another key',
      respond: flawed((lines) =>
        lines.map((line) => (line.startsWith('Sec-WebSocket-Accept:') ? 'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=' : line)),
      ),
      message: /Sec-WebSocket-Accept/,
    },
    {
      name: 'a 101 choosing a subprotocol that was not offered',
      respond: flawed(adding('Sec-WebSocket-Protocol: superchat')),
      protocols: ['chat'],
      message: /superchat/,
    },
    {
      name: 'a 101 choosing a subprotocol when none was offered',
      respond: flawed(adding('Sec-WebSocket-Protocol: chat')),
      message: /chat/,
    },
    {
      name: 'a 101 choosing a subprotocol that differs from the offer in case',
      respond: flawed(adding('Sec-WebSocket-Protocol: Chat')),
      protocols: ['chat'],
      message: /Chat/,
    },
    {
      name: 'a 101 choosing an extension when none was offered',
      respond: flawed(adding('Sec-WebSocket-Extensions: permessage-deflate')),
      message: /extension/i,
    },
  ]
  for (const { name, respond, protocols, message } of cases) {
    t.test(`${name} rejects with a HandshakeError, and the connection is closed`, async (t) => {
      const server = await serverAnswering(t, respond)
      const error = await rejection(connect(server.url, { protocols }))
      t.type(error, HandshakeError)
      t.match(error.code, /^WS_ERR_/)
      t.match(error.message, message, 'the message names what is wrong')
      t.equal(server.requests.length, 1)
      await endOf(server.requests[0].socket)
      t.pass('the client closed the TCP connection')
    })
  }
})

t.test('a refusal says why: status, headers and the start of the body', async (t) => {
  /** A real http server answering every upgrade request with `respond`; closed after the test. */
  async function refusing(t: Test, respond: (req: IncomingMessage, res: http.ServerResponse) => void) {
    const sockets = new Set<Socket>()
    const server = http.createServer(respond)
    server.on('connection', (socket: Socket) => {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    t.teardown(() => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy()
      server.close(() => resolve())
    }))
    return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`, sockets }
  }

  t.test('a 401 gives its WWW-Authenticate header and its JSON body', async (t) => {
    const body = JSON.stringify({ error: 'invalid_token', detail: 'the token has expired' })
    const server = await refusing(t, (_req, res) => {
      res.writeHead(401, { 'WWW-Authenticate': 'Bearer realm="chat", error="invalid_token"', 'Content-Type': 'application/json' })
      res.end(body)
    })
    const error = (await rejection(connect(server.url))) as HandshakeError
    t.type(error, HandshakeError)
    t.equal(error.code, 'WS_ERR_UNEXPECTED_RESPONSE')
    t.equal(error.statusCode, 401)
    t.equal(error.headers['www-authenticate'], 'Bearer realm="chat", error="invalid_token"')
    t.equal(error.headers['content-type'], 'application/json')
    t.equal(error.body, body)
    t.same(JSON.parse(error.body ?? ''), { error: 'invalid_token', detail: 'the token has expired' })
  })

  t.test('a 302 gives its Location', async (t) => {
    const server = await refusing(t, (_req, res) => {
      res.writeHead(302, { Location: 'wss://elsewhere.example/chat' })
      res.end()
    })
    const error = (await rejection(connect(server.url))) as HandshakeError
    t.equal(error.code, 'WS_ERR_UNEXPECTED_RESPONSE')
    t.equal(error.statusCode, 302)
    t.equal(error.headers.location, 'wss://elsewhere.example/chat')
    t.equal(error.body, '')
  })

  t.test('repeated header fields are joined', async (t) => {
    const server = await refusing(t, (_req, res) => {
      res.setHeader('Set-Cookie', ['a=1', 'b=2'])
      res.writeHead(403).end('no')
    })
    const error = (await rejection(connect(server.url))) as HandshakeError
    t.equal(error.headers['set-cookie'], 'a=1, b=2')
    t.equal(error.body, 'no')
  })

  t.test('an endless body is read up to 4 KiB, and the connection is closed', async (t) => {
    let sent = 0
    let ended!: () => void
    const closed = new Promise<void>((resolve) => {
      ended = resolve
    })
    const server = await refusing(t, (req, res) => {
      res.writeHead(503, { 'Content-Type': 'text/plain' })
      const chunk = Buffer.alloc(1024, 'x')
      const pour = () => {
        while (!res.destroyed && res.write(chunk)) sent += chunk.length
        if (!res.destroyed) res.once('drain', pour)
      }
      req.socket.on('close', ended)
      pour()
    })
    const started = Date.now()
    const error = (await rejection(connect(server.url))) as HandshakeError
    t.equal(error.statusCode, 503)
    t.ok(Date.now() - started < 2000, `refused after ${Date.now() - started} ms, long before the handshake timeout`)
    t.equal(error.body, 'x'.repeat(4096), 'the first 4 KiB of the body')
    await within(closed, 5000, "the server's socket to close")
    t.ok(sent > 0, `the server had sent ${sent} bytes`)
  })

  t.test('a body trickled without end is cut short by the handshake timeout', async (t) => {
    const server = await refusing(t, (_req, res) => {
      res.writeHead(429, { 'Retry-After': '30' })
      res.write('slow')
      const timer = setInterval(() => res.write('.'), 20)
      res.on('close', () => clearInterval(timer))
    })
    const started = Date.now()
    const error = (await rejection(connect(server.url, { handshakeTimeout: 300 }))) as HandshakeError
    const took = Date.now() - started
    t.equal(error.code, 'WS_ERR_UNEXPECTED_RESPONSE')
    t.equal(error.statusCode, 429)
    t.equal(error.headers['retry-after'], '30')
    t.match(error.body, /^slow\.*$/, 'what arrived before the timeout')
    t.ok(took >= 250 && took < 2000, `refused after ${took} ms`)
  })

  t.test('an abort while the body is read rejects with its reason', async (t) => {
    const server = await refusing(t, (_req, res) => {
      res.writeHead(500)
      res.write('partial')
    })
    const controller = new AbortController()
    const pending = connect(server.url, { signal: controller.signal })
    await delay(100)
    const reason = new Error('gave up')
    controller.abort(reason)
    t.equal(await rejection(pending), reason)
  })
})

t.test('a valid 101', async (t) => {
  t.test('choosing an offered subprotocol resolves with that protocol', async (t) => {
    const server = await serverAnswering(t, (request) => switchingProtocols(request, ['Sec-WebSocket-Protocol: superchat']))
    const ws = await connected(t, connect(server.url, { protocols: ['chat', 'superchat'] }))
    t.equal(ws.protocol, 'superchat')
    t.equal(ws.role, 'client')
  })

  t.test('choosing no subprotocol resolves with protocol null', async (t) => {
    const server = await serverAnswering(t, (request) => switchingProtocols(request))
    const ws = await connected(t, connect(server.url, { protocols: ['chat'] }))
    t.equal(ws.protocol, null)
  })

  t.test('with Upgrade and Connection in other letter cases and token lists is accepted', async (t) => {
    const server = await serverAnswering(t, (request) =>
      switchingProtocols(request)
        .replace('Upgrade: websocket', 'Upgrade: WebSocket')
        .replace('Connection: Upgrade', 'Connection: keep-alive, UPGRADE'),
    )
    const ws = await connected(t, connect(server.url))
    t.equal(ws.role, 'client')
  })

  t.test("the 101's status and headers are kept on the connection as `response`", async (t) => {
    const server = await serverAnswering(t, (request) =>
      switchingProtocols(request, ['Set-Cookie: session=abc', 'X-Served-By: node-7', 'X-Served-By: node-8']))
    const ws = await connected(t, connect(server.url))
    const response = ws.response
    if (response === null) return t.fail('a client connection has its response')
    t.equal(response.statusCode, 101)
    t.equal(response.statusMessage, 'Switching Protocols')
    t.strictSame(response.headers['set-cookie'], ['session=abc'])
    t.equal(response.headers['x-served-by'], 'node-7, node-8', 'repeated fields joined as Node joins them')
    t.equal(response.headers['sec-websocket-accept'], acceptFor(header(server.requests[0], 'sec-websocket-key') ?? ''))
    t.strictSame(response.rawHeaders.slice(0, 2), ['Upgrade', 'websocket'], 'the raw names and values, in order')
    t.equal(response.url, server.url, 'the URL that answered')
    t.ok(Object.isFrozen(response), 'read-only')
  })

  t.test('a server-side connection has no response', async (t) => {
    const server = await upgradeServer((req, socket, head) => {
      const ws = accept(req, socket, head)
      ws.on('error', () => {})
      ws.write(String(ws.response))
    })
    t.teardown(() => server.close())
    const ws = await connected(t, connect(`ws://127.0.0.1:${server.port}/`))
    const [seen] = await nextEvent<[string]>(ws, 'data')
    t.equal(seen, 'null')
  })
})

t.test('the upgrade request', async (t) => {
  /** Connects once to a server that accepts, and returns the request it saw. */
  async function requestSeen(t: Test, options: Parameters<typeof connect>[1] = {}, path = '/') {
    const server = await serverAnswering(t, (request) => switchingProtocols(request))
    await connected(t, connect(`${server.url.slice(0, -1)}${path}`, options))
    t.equal(server.requests.length, 1)
    return server.requests[0]
  }

  t.test('is a GET for the URL path and query over HTTP/1.1 with the handshake headers', async (t) => {
    const request = await requestSeen(t, {}, '/chat/room?id=7')
    t.equal(request.startLine, 'GET /chat/room?id=7 HTTP/1.1')
    t.equal(header(request, 'upgrade')?.toLowerCase(), 'websocket')
    t.match(header(request, 'connection'), /upgrade/i)
    t.equal(header(request, 'sec-websocket-version'), '13')
    t.equal(header(request, 'host'), `127.0.0.1:${request.socket.localPort}`)
    t.equal(header(request, 'sec-websocket-protocol'), undefined, 'no subprotocol offered unless asked')
    t.equal(header(request, 'sec-websocket-extensions'), undefined, 'no extension offered')
  })

  t.test('carries a fresh key each time: base64 of 16 random bytes', async (t) => {
    const keys: string[] = []
    for (let i = 0; i < 3; i++) keys.push(header(await requestSeen(t), 'sec-websocket-key') ?? '')
    for (const key of keys) {
      const bytes = Buffer.from(key, 'base64')
      t.equal(bytes.length, 16, `${key} decodes to 16 bytes`)
      t.equal(bytes.toString('base64'), key, `${key} is canonical base64`)
    }
    t.equal(new Set(keys).size, keys.length, 'no key repeats')
  })

  t.test('offers the given subprotocols in order', async (t) => {
    const request = await requestSeen(t, { protocols: ['v2.chat', 'v1.chat'] })
    t.equal(header(request, 'sec-websocket-protocol'), 'v2.chat, v1.chat')
  })

  t.test('carries extra headers', async (t) => {
    const request = await requestSeen(t, { headers: { Origin: 'https://example.com', Authorization: 'Bearer abc' } })
    t.equal(header(request, 'origin'), 'https://example.com')
    t.equal(header(request, 'authorization'), 'Bearer abc')
  })

  t.test('extra headers cannot override the handshake headers', async (t) => {
    const request = await requestSeen(t, {
      headers: {
        Upgrade: 'h2c',
        connection: 'close',
        'SEC-WEBSOCKET-KEY': 'AAAAAAAAAAAAAAAAAAAAAA==',
        'Sec-WebSocket-Version': '8',
        'X-Kept': 'yes',
      },
    })
    t.equal(header(request, 'upgrade')?.toLowerCase(), 'websocket')
    t.match(header(request, 'connection'), /upgrade/i)
    t.not(header(request, 'sec-websocket-key'), 'AAAAAAAAAAAAAAAAAAAAAA==')
    t.equal(header(request, 'sec-websocket-version'), '13')
    t.equal(header(request, 'x-kept'), 'yes', 'other headers pass through')
  })

  t.test('invalid or repeated subprotocol names are refused before anything is sent', async (t) => {
    const server = await serverAnswering(t, (request) => switchingProtocols(request))
    for (const protocols of [['chat', 'chat'], ['two words'], [''], ['a,b']]) {
      const error = await rejection(connect(server.url, { protocols }))
      t.type(error, SyntaxError, JSON.stringify(protocols))
    }
    t.equal(server.connections(), 0)
  })
})

t.test('a bad option rejects connect() before a TCP connection is made', async (t) => {
  const server = await serverAnswering(t, (request) => switchingProtocols(request))
  const bad: Array<[ConnectOptions, typeof TypeError | typeof RangeError, RegExp]> = [
    [{ heartbeat: -1 }, RangeError, /heartbeat/],
    [{ fragmentSize: 0 }, RangeError, /fragmentSize/],
    [{ maxMessageSize: 1.5 }, RangeError, /maxMessageSize/],
    [{ closeTimeout: NaN }, RangeError, /closeTimeout/],
    [{ handshakeTimeout: 0 }, RangeError, /handshakeTimeout/],
    [{ maxResponseHeaders: 0 }, RangeError, /maxResponseHeaders/],
    [{ textAsBytes: 'yes' as never }, TypeError, /textAsBytes/],
  ]
  for (const [options, type, names] of bad) {
    const error = await rejection(connect(server.url, options))
    t.type(error, type, JSON.stringify(options))
    t.match(error.message, names, `${JSON.stringify(options)}: the message names the option`)
  }
  // A good connect afterwards is the first the server sees.
  await connected(t, connect(server.url))
  t.equal(server.connections(), 1, 'only the good connect reached the server')
  t.equal(server.requests.length, 1)
})

t.test('giving up on a handshake', async (t) => {
  t.test('a server that never answers fails with WS_ERR_HANDSHAKE_TIMEOUT after handshakeTimeout', async (t) => {
    const server = await serverAnswering(t, () => null)
    const error = await rejection(connect(server.url, { handshakeTimeout: 100 }))
    t.type(error, WebSocketError)
    t.equal(error.code, 'WS_ERR_HANDSHAKE_TIMEOUT')
    await endOf(server.requests[0].socket)
    t.pass('the client closed the TCP connection')
  })

  t.test('an AbortSignal aborts a pending handshake with its reason', async (t) => {
    const server = await serverAnswering(t, () => null)
    const controller = new AbortController()
    const pending = connect(server.url, { signal: controller.signal })
    await until(() => server.requests.length > 0, 5000, 'the request to arrive')
    const reason = new Error('user navigated away')
    controller.abort(reason)
    const error = await rejection(pending)
    t.equal(error, reason)
    await endOf(server.requests[0].socket)
    t.pass('the client closed the TCP connection')
  })

  t.test('an abort without a reason rejects with an AbortError', async (t) => {
    const server = await serverAnswering(t, () => null)
    const controller = new AbortController()
    const pending = connect(server.url, { signal: controller.signal })
    await until(() => server.requests.length > 0, 5000, 'the request to arrive')
    controller.abort()
    const error = await rejection(pending)
    t.equal(error.name, 'AbortError')
  })

  t.test('an already aborted signal rejects at once, without connecting', async (t) => {
    const server = await serverAnswering(t, (request) => switchingProtocols(request))
    const reason = new Error('too late')
    const error = await rejection(connect(server.url, { signal: AbortSignal.abort(reason) }))
    t.equal(error, reason)
    await delay(50) // room for a connection that should not come
    t.equal(server.connections(), 0)
  })

  t.test('an abort after the handshake completed changes nothing', async (t) => {
    const server = await serverAnswering(t, (request) => switchingProtocols(request))
    const controller = new AbortController()
    const ws = await connected(t, connect(server.url, { signal: controller.signal }))
    controller.abort()
    await delay(20)
    t.notOk(ws.destroyed)
    t.notOk(ws.socket.destroyed)
  })
})

t.test('URLs', async (t) => {
  for (const url of ['ftp://127.0.0.1/', 'file:///tmp/socket', 'mailto:a@b.c', 'ws+tcp://127.0.0.1/']) {
    const scheme = url.slice(0, url.indexOf(':'))
    t.test(`${scheme}: is an unsupported scheme and rejects, naming it and every accepted one`, async (t) => {
      const error = await rejection(connect(url))
      t.type(error, SyntaxError)
      t.equal(error.message, `unsupported URL scheme "${scheme}": expected one of ws: wss: http: https: ws+unix: wss+unix:`)
    })
  }

  t.test('http: and https: URLs are taken as ws: and wss:', async (t) => {
    const server = await serverAnswering(t, (request) => switchingProtocols(request))
    const ws = await connected(t, connect(`http://127.0.0.1:${server.port}/plain`))
    t.equal(server.requests[0].startLine, 'GET /plain HTTP/1.1')
    t.equal(ws.socket.constructor.name, 'Socket')
  })

  t.test('a string that is not a URL rejects', async (t) => {
    const error = await rejection(connect('not a url'))
    t.type(error, TypeError)
  })
})

t.test('wss:// to an https server with a self-signed certificate', async (t) => {
  const credentials = selfSignedCertificate((message) => t.comment(message))
  const server = await upgradeServer((req, socket, head) => {
    try {
      const ws = accept(req, socket, head, { protocols: ['chat'] })
      ws.on('error', () => {})
      ws.on('data', (message: string | Buffer) => ws.write(message))
    } catch (error) {
      rejectUpgrade(socket, error as Error)
    }
  }, https.createServer(credentials))
  t.teardown(() => server.close())
  const url = `wss://127.0.0.1:${server.port}/secure`

  t.test('is refused when the certificate is not trusted', async (t) => {
    const error = await rejection(connect(url))
    t.match(error.code, /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/)
  })

  t.test('connects when the certificate is given as the CA, and messages flow', async (t) => {
    const ws = await connected(t, connect(url, { protocols: ['chat'], requestOptions: { ca: credentials.cert } }))
    t.equal(ws.protocol, 'chat')
    t.equal(ws.socket.constructor.name, 'TLSSocket')
    ws.write('over TLS')
    const [echo] = await nextEvent<[string]>(ws, 'data')
    t.equal(echo, 'over TLS')
  })

  t.test('connects with rejectUnauthorized: false', async (t) => {
    const ws = await connected(t, connect(url, { requestOptions: { rejectUnauthorized: false } }))
    ws.write(Buffer.from([1, 2, 3]))
    const [echo] = await nextEvent<[Buffer]>(ws, 'data')
    t.strictSame(echo, Buffer.from([1, 2, 3]))
  })
})

t.test('clientFromUpgrade, the low-level form', async (t) => {
  /** Sends an upgrade request with http.request and resolves with its 'upgrade' event. */
  async function upgradeWith(t: Test, respond: (request: SeenRequest) => string | Buffer, extraHeaders: Record<string, string> = {}) {
    const server = await serverAnswering(t, respond)
    const key = generateKey()
    const request = http.request({
      host: '127.0.0.1',
      port: server.port,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13', ...extraHeaders },
    })
    const upgraded = nextEvent<[IncomingMessage, Socket, Buffer]>(request, 'upgrade')
    request.end()
    const [res, socket, head] = await upgraded
    t.teardown(() => socket.destroy())
    return { res, socket, head, key }
  }

  t.test('bytes that arrive in the same packet as the 101 are the first message', async (t) => {
    const early = frame({ opcode: 0x1, payload: 'sent with the 101' })
    const { res, socket, head, key } = await upgradeWith(t, (request) =>
      Buffer.concat([Buffer.from(switchingProtocols(request)), early, frame({ opcode: 0x2, payload: Buffer.from([9, 8]) })]),
    )
    t.ok(head.length > 0, 'the frames came as head bytes')
    const ws = clientFromUpgrade(res, socket, head, key)
    t.teardown(() => ws.destroy())
    const messages: Array<string | Buffer> = []
    ws.on('data', (message: string | Buffer) => messages.push(message))
    await within(
      (async () => {
        while (messages.length < 2) await delay(5)
      })(),
      5000,
      'two messages',
    )
    t.strictSame(messages, ['sent with the 101', Buffer.from([9, 8])])
  })

  // Node's 'upgrade' event gives no way back to the request, so what it offered is unknown here.
  t.test('without protocols given, takes the server\'s choice as it is', async (t) => {
    const { res, socket, head, key } = await upgradeWith(
      t,
      (request) => switchingProtocols(request, ['Sec-WebSocket-Protocol: chat']),
      { 'Sec-WebSocket-Protocol': 'superchat, chat' },
    )
    const ws = clientFromUpgrade(res, socket, head, key)
    t.teardown(() => ws.destroy())
    t.equal(ws.protocol, 'chat')
  })

  t.test('keeps the 101 as `response`, without a URL', async (t) => {
    const { res, socket, head, key } = await upgradeWith(t, (request) => switchingProtocols(request, ['X-Node: a']))
    const ws = clientFromUpgrade(res, socket, head, key)
    t.teardown(() => ws.destroy())
    t.equal(ws.response?.statusCode, 101)
    t.equal(ws.response?.headers['x-node'], 'a')
    t.equal(ws.response?.url, undefined)
  })

  t.test('a bad option makes it throw before anything is attached to the socket', async (t) => {
    const { res, socket, head, key } = await upgradeWith(t, (request) => switchingProtocols(request))
    const events = ['data', 'end', 'close', 'error', 'drain'] as const
    const before = events.map((event) => socket.listenerCount(event))
    t.throws(() => clientFromUpgrade(res, socket, head, key, { heartbeat: -1 }), RangeError)
    t.throws(() => clientFromUpgrade(res, socket, head, key, { fragmentSize: 0 }), RangeError)
    t.throws(() => clientFromUpgrade(res, socket, head, key, { raw: 'yes' as never }), TypeError)
    t.same(events.map((event) => socket.listenerCount(event)), before, 'no listener was attached')
    t.notOk(socket.destroyed, 'the socket is left to the caller')
  })

  t.test('throws a HandshakeError when the key given is not the one the 101 answers', async (t) => {
    const { res, socket, head } = await upgradeWith(t, (request) => switchingProtocols(request))
    t.throws(() => clientFromUpgrade(res, socket, head, generateKey()), HandshakeError)
  })

  t.test('throws a HandshakeError when the 101 picks a protocol not among those given as offered', async (t) => {
    const { res, socket, head, key } = await upgradeWith(
      t,
      (request) => switchingProtocols(request, ['Sec-WebSocket-Protocol: superchat']),
      { 'Sec-WebSocket-Protocol': 'chat' },
    )
    t.throws(() => clientFromUpgrade(res, socket, head, key, { protocols: ['chat'] }), HandshakeError)
  })

  t.test('with raw returns the socket itself, head bytes put back', async (t) => {
    const early = frame({ opcode: 0x1, payload: 'raw bytes' })
    const { res, socket, head, key } = await upgradeWith(t, (request) =>
      Buffer.concat([Buffer.from(switchingProtocols(request)), early]),
    )
    const raw = clientFromUpgrade(res, socket, head, key, { raw: true })
    t.equal(raw, socket)
    const [chunk] = await nextEvent<[Buffer]>(raw, 'data')
    t.strictSame(chunk, early)
  })
})

t.test('the answer as connect() reads it off the socket', async (t) => {
  t.test('interim answers (103 Early Hints) before the 101 are passed over', async (t) => {
    const server = await serverAnswering(t, (request) => 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n' + switchingProtocols(request))
    const ws = await connected(t, connect(server.url))
    t.equal(ws.response?.statusCode, 101)
    t.equal(ws.response?.headers.link, undefined, "the interim answer's fields are not the 101's")
  })

  t.test('a 101 whose lines end in bare LFs is taken (RFC 9112 section 2.2)', async (t) => {
    const server = await serverAnswering(t, (request) => switchingProtocols(request).replaceAll('\r\n', '\n'))
    const ws = await connected(t, connect(server.url))
    t.equal(ws.response?.statusCode, 101)
  })

  t.test('a 101 arriving a few bytes at a time, with the first frame behind it, is whole', async (t) => {
    const server = await craftedServer((request) => {
      const bytes = Buffer.concat([Buffer.from(switchingProtocols(request)), frame({ opcode: 0x1, payload: 'first' })])
      let at = 0
      const timer = setInterval(() => {
        request.socket.write(bytes.subarray(at, (at += 7)))
        if (at >= bytes.length) clearInterval(timer)
      }, 1)
    })
    t.teardown(() => server.close())
    const ws = await connected(t, connect(server.url))
    t.same(await nextEvent(ws, 'data'), ['first'])
  })

  t.test('a connection closed before the head is whole rejects with ECONNRESET', async (t) => {
    const server = await serverAnswering(t, (request) => {
      request.socket.end('HTTP/1.1 101 Switching')
      return null
    })
    const error = await rejection(connect(server.url))
    t.equal(error.code, 'ECONNRESET')
    t.match(error.message, /closed before a complete HTTP response head/)
  })

  t.test('a malformed head rejects with a HandshakeError, and the connection is closed', async (t) => {
    const server = await serverAnswering(t, () => 'HTTP/1.1 101 Switching Protocols\r\nUpgrade websocket\r\n\r\n')
    const error = await rejection(connect(server.url))
    t.type(error, HandshakeError)
    t.match(error.message, /malformed HTTP response/)
    await endOf(server.requests[0].socket)
    t.pass('the client closed the TCP connection')
  })

  t.test('a Host header given replaces the one made from the URL', async (t) => {
    const server = await serverAnswering(t, (request) => switchingProtocols(request))
    await connected(t, connect(server.url, { headers: { host: 'chat.example' } }))
    t.same(server.requests[0].headers.host, ['chat.example'], 'one Host field, the given one')
  })
})
