/**
 * WebSocketServer, as a specification. Everything here is real: http and
 * https servers listening on 127.0.0.1, our own client, the `ws` package's
 * client, and raw TCP connections that write upgrade requests by hand when a
 * test needs to see the exact HTTP answer (status line, headers, body) and
 * that the server then closed the connection.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import http, { IncomingMessage } from 'node:http'
import https from 'node:https'
import net, { type AddressInfo, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Duplex as NodeDuplex } from 'node:stream'
import t, { type Test } from 'tap'
import WebSocket from 'ws'
import { connect, type ConnectOptions } from '../../lib/handshake/client'
import { HandshakeError } from '../../lib/protocol/errors'
import { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { WebSocketServer, type WebSocketServerOptions } from '../../lib/server/websocket-server'
import { clientFrame } from '../helpers/frames'
import {
  exchangeHead,
  exchangeUntilClosed,
  header,
  readBytes,
  statusOf,
  upgradeRequest,
  type WholeResponse,
} from '../helpers/http-upgrade'
import { rawConnect } from '../helpers/ws-raw'
import { wsClosed } from '../helpers/ws-peer'
import { delay, record, until, within, type Recording } from '../helpers/ws-wait'

type AnyServer = http.Server | https.Server
type Failure = Error & { code?: string; statusCode?: number }

interface Connection {
  ws: WebSocketDuplex
  req: IncomingMessage
  /** Everything the server-side duplex reported; it also keeps the read side flowing. */
  rec: Recording
}

interface Rejection {
  req: IncomingMessage
  error: HandshakeError
}

/** A WebSocketServer and everything it announced. */
interface Observed {
  wss: WebSocketServer
  connections: Connection[]
  rejections: Rejection[]
  /** How many times 'close' was emitted. */
  closeEvents: number
  /** The next connection not yet taken, within 5 s. */
  nextConnection(): Promise<Connection>
  /** The next rejection not yet taken, within 5 s. */
  nextRejection(): Promise<Rejection>
}

interface ObserveOptions {
  /** Echo every message back on each connection. */
  echo?: boolean
}

function observe(wss: WebSocketServer, { echo = false }: ObserveOptions = {}): Observed {
  const connections: Connection[] = []
  const rejections: Rejection[] = []
  let takenConnections = 0
  let takenRejections = 0
  const observed: Observed = {
    wss,
    connections,
    rejections,
    closeEvents: 0,
    async nextConnection() {
      const index = takenConnections++
      await until(() => connections.length > index, 5000, `'connection' #${index + 1}`)
      return connections[index]
    },
    async nextRejection() {
      const index = takenRejections++
      await until(() => rejections.length > index, 5000, `'rejected' #${index + 1}`)
      return rejections[index]
    },
  }
  wss.on('connection', (ws, req) => {
    const rec = record(ws) // also keeps server-side errors from going unhandled
    if (echo) ws.on('data', (message: string | Buffer) => ws.write(message))
    connections.push({ ws, req, rec })
  })
  wss.on('rejected', (req, error) => rejections.push({ req, error }))
  wss.on('close', () => observed.closeEvents++)
  return observed
}

interface Client {
  ws: WebSocketDuplex
  rec: Recording
}

interface Harness {
  server: AnyServer
  port: number
  url(path?: string): string
  /** A WebSocketServer attached to this http(s) server, closed after the test. */
  attach(options?: Omit<WebSocketServerOptions, 'server'>, observeOptions?: ObserveOptions): Observed
  /** A WebSocketServer without `server` (for handleUpgrade), closed after the test. */
  detached(options?: Omit<WebSocketServerOptions, 'server'>, observeOptions?: ObserveOptions): Observed
  /** Our client, connected, recorded, destroyed after the test. */
  client(path?: string, options?: ConnectOptions): Promise<Client>
  /** Our client, expecting the upgrade to be refused; the error. */
  refused(path?: string, options?: ConnectOptions): Promise<Failure>
  /** A raw upgrade request (the RFC example, with `changes`) to `path`; the whole answer, read until the server closed. */
  raw(path: string, changes?: Record<string, string | string[] | null>, method?: string): Promise<WholeResponse>
}

/**
 * Listens on 127.0.0.1 with an ephemeral port. After the test: every TCP
 * connection is destroyed, every WebSocketServer made here is closed, and
 * the http server is closed, so tap can exit.
 */
async function harness(t: Test, server: AnyServer = http.createServer(), clientDefaults: ConnectOptions = {}): Promise<Harness> {
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const scheme = server instanceof https.Server ? 'wss' : 'ws'
  const made: WebSocketServer[] = []
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy()
    // A test that shows close() hanging has already failed on its own assertion.
    await within(Promise.all(made.map((wss) => wss.close())), 5000, 'close() in teardown').catch((error: Error) =>
      t.comment(`teardown: ${error.message}`),
    )
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  const url = (path = '/') => `${scheme}://127.0.0.1:${port}${path}`
  const h: Harness = {
    server,
    port,
    url,
    attach(options = {}, observeOptions) {
      const wss = new WebSocketServer({ ...options, server })
      made.push(wss)
      return observe(wss, observeOptions)
    },
    detached(options = {}, observeOptions) {
      const wss = new WebSocketServer(options)
      made.push(wss)
      return observe(wss, observeOptions)
    },
    async client(path = '/', options = {}) {
      const ws = await within(connect(url(path), { ...clientDefaults, ...options }), 5000, `connect to ${path}`)
      const rec = record(ws)
      t.teardown(() => {
        if (!ws.destroyed) ws.destroy()
      })
      return { ws, rec }
    },
    async refused(path = '/', options = {}) {
      let ws: WebSocketDuplex
      try {
        ws = await within(connect(url(path), { ...clientDefaults, ...options }), 5000, `connect to ${path}`)
      } catch (error) {
        return error as Failure
      }
      ws.on('error', () => {})
      ws.destroy()
      throw new Error(`the upgrade to ${path} was accepted, but it should have been refused`)
    },
    raw(path, changes = {}, method = 'GET') {
      return exchangeUntilClosed(port, upgradeRequest(changes, { path, method }))
    },
  }
  return h
}

/** A promise resolved from outside, for a verify() that answers when the test says so. */
function gate<T>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** Records calls; `reached()` waits (at most 5 s) until there have been that many. */
function calls<A extends unknown[]>() {
  const seen: A[] = []
  return {
    seen,
    record: (...args: A) => {
      seen.push(args)
    },
    reached: (count = 1) => until(() => seen.length >= count, 5000, `${count} call(s)`),
  }
}

/** Writes `text` from `from` and waits for `to` to have received it. */
async function roundTrip(from: WebSocketDuplex, to: Recording, text: string): Promise<void> {
  from.write(text)
  await until(() => to.messages.includes(text), 5000, `message ${JSON.stringify(text)} to arrive`)
}

/** A raw TCP connection to `port`, destroyed after the test. */
function rawSocket(t: Test, port: number): Socket {
  const socket = net.connect({ host: '127.0.0.1', port })
  socket.on('error', () => {}) // resets caused by the test itself are not under test
  t.teardown(() => socket.destroy())
  return socket
}

const bodyOf = (response: WholeResponse) => response.rest.toString('utf8')

/** A throw-away self-signed certificate for 127.0.0.1, made with openssl at test time. */
function testCertificate(t: Test): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'watershed-wss-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const keyFile = join(dir, 'key.pem')
  const certFile = join(dir, 'cert.pem')
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile],
    { stdio: 'ignore' },
  )
  return { key: readFileSync(keyFile), cert: readFileSync(certFile) }
}

// ---------------------------------------------------------------------------

t.test('bad options throw from new WebSocketServer(), before the http server is touched', async (t) => {
  const server = http.createServer()
  const bad: Array<[WebSocketServerOptions, typeof TypeError | typeof RangeError, RegExp]> = [
    [{ heartbeat: -1 }, RangeError, /heartbeat/],
    [{ fragmentSize: 0 }, RangeError, /fragmentSize/],
    [{ maxMessageSize: -5 }, RangeError, /maxMessageSize/],
    [{ handshakeTimeout: -1 }, RangeError, /handshakeTimeout/],
    [{ verify: 'yes' as never }, TypeError, /verify/],
    [{ protocols: 'chat' as never }, TypeError, /protocols/],
  ]
  for (const [options, type, names] of bad) {
    const what = JSON.stringify(options)
    t.throws(() => new WebSocketServer({ ...options, server }), type, what)
    t.throws(() => new WebSocketServer({ ...options, server }), names, `${what}: the message names the option`)
  }
  t.equal(server.listenerCount('upgrade'), 0, "no 'upgrade' listener was attached")
})

t.test('path', async (t) => {
  t.test('a string matches that exact pathname, whatever the query string', async (t) => {
    const h = await harness(t)
    const chat = h.attach({ path: '/chat' })
    await h.client('/chat')
    await h.client('/chat?room=7&token=abc')
    t.equal(chat.connections.length, 2)
    t.same(chat.connections.map((c) => c.req.url), ['/chat', '/chat?room=7&token=abc'], 'req.url keeps the query')
    for (const other of ['/chat/', '/chatroom', '/Chat', '/']) {
      t.equal(statusOf(await h.raw(other)), 404, `${other} is not /chat`)
    }
    t.equal(chat.connections.length, 2, 'no connection for the other paths')
  })

  t.test('an array matches any of its pathnames', async (t) => {
    const h = await harness(t)
    const s = h.attach({ path: ['/a', '/b'] })
    await h.client('/a')
    await h.client('/b?x=1')
    t.equal(s.connections.length, 2)
    t.equal(statusOf(await h.raw('/c')), 404)
    t.equal(s.connections.length, 2)
  })

  t.test('a function gets the pathname without the query, and the request', async (t) => {
    const h = await harness(t)
    const seen: Array<[string, string | undefined]> = []
    const s = h.attach({
      path: (pathname, req) => {
        seen.push([pathname, req.url])
        return pathname.startsWith('/rooms/')
      },
    })
    await h.client('/rooms/42?token=abc')
    t.equal(statusOf(await h.raw('/lobby?rooms/')), 404)
    t.same(seen, [
      ['/rooms/42', '/rooms/42?token=abc'],
      ['/lobby', '/lobby?rooms/'],
    ])
    t.equal(s.connections.length, 1)
  })

  t.test('without a path every upgrade is taken', async (t) => {
    const h = await harness(t)
    const s = h.attach()
    await h.client('/')
    await h.client('/anything/at/all?q')
    t.equal(s.connections.length, 2)
  })

  t.test('an upgrade no WebSocketServer takes, with no other upgrade listener: 404, then closed', async (t) => {
    const h = await harness(t)
    const s = h.attach({ path: '/chat' })
    // exchangeUntilClosed only resolves once the server has ended the connection.
    const response = await h.raw('/nowhere?x=1')
    t.equal(response.startLine, 'HTTP/1.1 404 Not Found')
    t.equal(header(response, 'connection'), 'close')
    t.equal(Number(header(response, 'content-length')), response.rest.length, 'Content-Length is the body length')
    t.equal(s.connections.length, 0)
    const refusal = await h.refused('/nowhere')
    t.equal(refusal.statusCode, 404, 'our client sees the 404 too')
  })

  t.test("an upgrade no WebSocketServer takes is left to the server's other 'upgrade' listener", async (t) => {
    const h = await harness(t)
    const s = h.attach({ path: '/chat' })
    const mine: string[] = []
    h.server.on('upgrade', (req: IncomingMessage, socket: NodeDuplex) => {
      if (s.wss.shouldHandle(req)) return // the WebSocketServer's
      mine.push(req.url ?? '')
      socket.end("HTTP/1.1 418 I'm a Teapot\r\nConnection: close\r\nContent-Length: 6\r\n\r\nteapot")
    })
    const response = await h.raw('/elsewhere')
    t.equal(response.startLine, "HTTP/1.1 418 I'm a Teapot", 'the other listener answered')
    t.equal(bodyOf(response), 'teapot')
    t.equal(response.bytes.toString('latin1').match(/HTTP\/1\.1 /g)?.length, 1, 'and nothing else did: no 404 was written')
    t.same(mine, ['/elsewhere'])
    await h.client('/chat')
    t.equal(s.connections.length, 1, 'its own path still goes to the WebSocketServer')
    t.same(mine, ['/elsewhere'])
  })

  t.test('two WebSocketServers on one http server each get only their own connections', async (t) => {
    const h = await harness(t)
    const a = h.attach({ path: '/a' }, { echo: true })
    const b = h.attach({ path: '/b' }, { echo: true })
    t.equal(h.server.listenerCount('upgrade'), 1, 'one upgrade listener dispatches for both')
    const clientA = await h.client('/a')
    const clientB1 = await h.client('/b')
    const clientB2 = await h.client('/b?second')
    t.equal(a.connections.length, 1)
    t.equal(b.connections.length, 2)
    t.same([...a.wss.clients], [a.connections[0].ws])
    t.same([...b.wss.clients], b.connections.map((c) => c.ws))
    await roundTrip(clientA.ws, clientA.rec, 'to a')
    await roundTrip(clientB1.ws, clientB1.rec, 'to b')
    t.same(a.connections[0].rec.messages, ['to a'])
    t.same(b.connections[0].rec.messages, ['to b'])

    // Closing one leaves the other working.
    await within(a.wss.close(), 5000, 'a.close()')
    t.equal(clientA.ws.closeCode, 1001, "a's client was closed")
    t.equal(statusOf(await h.raw('/a')), 404, '/a is no longer served')
    t.equal(h.server.listenerCount('upgrade'), 1, 'b still listens')
    await roundTrip(clientB2.ws, clientB2.rec, 'b still echoes')
    const clientB3 = await h.client('/b')
    await roundTrip(clientB3.ws, clientB3.rec, 'and takes new connections')
    t.equal(b.connections.length, 3)
    t.equal(a.connections.length, 1)
    t.equal(b.wss.clients.size, 3)

    await within(b.wss.close(), 5000, 'b.close()')
    t.equal(b.connections.length, 3)
  })
})

t.test('verify', async (t) => {
  t.test('true, or nothing at all, accepts', async (t) => {
    const h = await harness(t)
    const yes = h.attach({ path: '/true', verify: () => true }, { echo: true })
    const nothing = h.attach({ path: '/nothing', verify: () => {} }, { echo: true })
    const undef = h.attach({ path: '/undefined', verify: () => undefined }, { echo: true })
    for (const [path, s] of [['/true', yes], ['/nothing', nothing], ['/undefined', undef]] as const) {
      const client = await h.client(path)
      await roundTrip(client.ws, client.rec, `hello ${path}`)
      t.equal(s.connections.length, 1, `${path}: a connection`)
      t.equal(s.rejections.length, 0)
    }
  })

  t.test('false answers 403 and closes', async (t) => {
    const h = await harness(t)
    const s = h.attach({ verify: () => false })
    const response = await h.raw('/')
    t.equal(response.startLine, 'HTTP/1.1 403 Forbidden')
    t.equal(header(response, 'connection'), 'close')
    t.equal(s.connections.length, 0)
    const { error } = await s.nextRejection()
    t.ok(error instanceof HandshakeError)
    t.equal(error.statusCode, 403)
    t.equal((await h.refused('/')).statusCode, 403)
  })

  t.test('a refusal object is answered with exactly its status, body and headers', async (t) => {
    const h = await harness(t)
    const s = h.attach({
      verify: () => ({ status: 401, body: 'a valid token is required\n', headers: { 'WWW-Authenticate': 'Bearer' } }),
    })
    const response = await h.raw('/chat')
    t.equal(response.startLine, 'HTTP/1.1 401 Unauthorized')
    t.equal(header(response, 'www-authenticate'), 'Bearer')
    t.equal(bodyOf(response), 'a valid token is required\n')
    t.equal(Number(header(response, 'content-length')), Buffer.byteLength('a valid token is required\n'))
    t.equal(header(response, 'content-type'), 'text/plain; charset=utf-8', 'the default content type')
    t.equal(header(response, 'connection'), 'close')
    const { error, req } = await s.nextRejection()
    t.equal(error.statusCode, 401)
    t.equal(req.url, '/chat')
  })

  t.test("a refusal's Content-Type replaces the default one, in any letter case", async (t) => {
    for (const name of ['Content-Type', 'content-type']) {
      const h = await harness(t)
      const body = JSON.stringify({ error: 'forbidden', reason: 'é' })
      h.attach({ verify: () => ({ status: 403, body, headers: { [name]: 'application/json' } }) })
      const response = await h.raw('/')
      t.equal(statusOf(response), 403)
      t.same(response.headers['content-type'], ['application/json'], `${name}: sent once, ours`)
      t.equal(bodyOf(response), body)
      t.equal(Number(header(response, 'content-length')), Buffer.byteLength(body), 'length in bytes, not characters')
    }
  })

  t.test('a refusal with a status that is not an error is answered 500', async (t) => {
    const h = await harness(t)
    h.attach({ verify: () => ({ status: 200, body: 'fine?' }) })
    const response = await h.raw('/')
    t.equal(statusOf(response), 500)
  })

  t.test('an async verify that resolves later accepts or refuses then', async (t) => {
    const h = await harness(t)
    const later = h.attach({ path: '/later', verify: async () => { await delay(50); return true } }, { echo: true })
    h.attach({ path: '/no', verify: async () => { await delay(50); return { status: 429, body: 'slow down' } } })
    const client = await h.client('/later')
    await roundTrip(client.ws, client.rec, 'after an async verify')
    t.equal(later.connections.length, 1)
    const response = await h.raw('/no')
    t.equal(response.startLine, 'HTTP/1.1 429 Too Many Requests')
    t.equal(bodyOf(response), 'slow down')
  })

  t.test('a verify that throws answers 500 without leaking the message; the thrown error is the cause', async (t) => {
    const h = await harness(t)
    const thrown = new Error('database password hunter2 rejected')
    const sync = h.attach({ path: '/sync', verify: () => { throw thrown } })
    const rejected = new Error('async hunter2 failure')
    const async = h.attach({ path: '/async', verify: async () => { throw rejected } })
    for (const [path, s, cause] of [['/sync', sync, thrown], ['/async', async, rejected]] as const) {
      const response = await h.raw(path)
      t.equal(response.startLine, 'HTTP/1.1 500 Internal Server Error', path)
      t.notMatch(bodyOf(response), /hunter2/, 'the body does not repeat the thrown message')
      t.notMatch(response.bytes.toString('latin1'), /hunter2/, 'nor does any header')
      const { error } = await s.nextRejection()
      t.ok(error instanceof HandshakeError)
      t.equal(error.statusCode, 500)
      t.equal(error.cause, cause, "'rejected' carries the thrown error as cause")
      t.equal(s.connections.length, 0)
    }
  })

  t.test('a verify that never resolves is answered 503 after handshakeTimeout', async (t) => {
    const h = await harness(t)
    const s = h.attach({ handshakeTimeout: 200, verify: () => new Promise<boolean>(() => {}) })
    const started = Date.now()
    const response = await h.raw('/')
    const elapsed = Date.now() - started
    t.equal(response.startLine, 'HTTP/1.1 503 Service Unavailable')
    t.ok(elapsed >= 190, `not before the timeout (${elapsed} ms)`)
    t.ok(elapsed < 4000, `but soon after it (${elapsed} ms)`)
    const { error } = await s.nextRejection()
    t.equal(error.statusCode, 503)
    t.equal(error.code, 'WS_ERR_HANDSHAKE_TIMEOUT')
    t.equal(s.connections.length, 0)
  })

  t.test('a malformed upgrade never reaches verify, is refused over HTTP and emits rejected', async (t) => {
    const cases: Array<{ name: string; changes: Record<string, string | null>; method?: string; status: number; headers?: Record<string, string> }> = [
      { name: 'no Sec-WebSocket-Key', changes: { 'Sec-WebSocket-Key': null }, status: 400 },
      { name: 'a key that is not 16 bytes', changes: { 'Sec-WebSocket-Key': 'c2hvcnQ=' }, status: 400 },
      { name: 'version 8', changes: { 'Sec-WebSocket-Version': '8' }, status: 426, headers: { 'sec-websocket-version': '13' } },
      { name: 'no version', changes: { 'Sec-WebSocket-Version': null }, status: 426, headers: { 'sec-websocket-version': '13' } },
      { name: 'a POST', changes: {}, method: 'POST', status: 405, headers: { allow: 'GET' } },
    ]
    for (const withVerify of [true, false]) {
      const h = await harness(t)
      const verify = calls<[IncomingMessage]>()
      const s = h.attach(withVerify ? { verify: (req) => { verify.record(req); return true } } : {})
      for (const c of cases) {
        const label = `${c.name}, ${withVerify ? 'with' : 'without'} verify`
        const response = await h.raw('/', c.changes, c.method)
        t.equal(statusOf(response), c.status, label)
        for (const [name, value] of Object.entries(c.headers ?? {})) t.equal(header(response, name), value, `${label}: ${name}`)
        const { error } = await s.nextRejection()
        t.equal(error.statusCode, c.status, `${label}: 'rejected' with that status`)
      }
      t.equal(verify.seen.length, 0, 'verify was never called')
      t.equal(s.connections.length, 0)
    }
  })

  t.test('verify sees the request: a bearer token in a header (the README example)', async (t) => {
    const h = await harness(t)
    const s = h.attach(
      {
        path: '/chat',
        verify(req) {
          if (req.headers.authorization !== 'Bearer secret-token') {
            return { status: 401, body: 'a valid token is required\n', headers: { 'WWW-Authenticate': 'Bearer' } }
          }
        },
      },
      { echo: true },
    )
    const wrong = await h.refused('/chat', { headers: { Authorization: 'Bearer wrong' } })
    t.equal(wrong.statusCode, 401)
    t.equal(wrong.code, 'WS_ERR_UNEXPECTED_RESPONSE')
    const none = await h.refused('/chat')
    t.equal(none.statusCode, 401)
    const client = await h.client('/chat', { headers: { Authorization: 'Bearer secret-token' } })
    await roundTrip(client.ws, client.rec, 'authenticated')
    t.equal(s.connections.length, 1)
    t.same(s.rejections.map((r) => r.error.statusCode), [401, 401])
  })

  t.test('verify sees the request: a token in the query string, and the same req reaches connection', async (t) => {
    const h = await harness(t)
    const seen: IncomingMessage[] = []
    const s = h.attach({
      path: '/live',
      verify(req) {
        seen.push(req)
        const token = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token')
        return token === 'abc123'
      },
    })
    t.equal((await h.refused('/live?token=nope')).statusCode, 403)
    await h.client('/live?token=abc123')
    const { req } = await s.nextConnection()
    t.equal(seen.length, 2)
    t.equal(req, seen[1], "verify and 'connection' see the same IncomingMessage")
  })

  t.test('bytes sent with the upgrade request are not lost while an async verify runs', async (t) => {
    const h = await harness(t)
    const s = h.attach({ verify: async () => { await delay(50); return true } })
    // A complete masked text frame in the same TCP write as the request.
    const early = clientFrame({ opcode: 0x1, payload: 'sent with the request' })
    const raw = await rawConnect(h.port, {}, early)
    t.teardown(() => raw.socket.destroy())
    const { rec } = await s.nextConnection()
    await until(() => rec.messages.length > 0, 5000, 'the early message')
    t.same(rec.messages, ['sent with the request'])
  })

  t.test('bytes sent while verify is still pending are not lost either', async (t) => {
    const h = await harness(t)
    const verify = calls<[]>()
    const answer = gate<boolean>()
    const s = h.attach({ verify: () => { verify.record(); return answer.promise } })
    const socket = rawSocket(t, h.port)
    socket.write(upgradeRequest({}, { path: '/' }))
    await verify.reached()
    socket.write(clientFrame({ opcode: 0x1, payload: 'sent during verify' }))
    await delay(50) // let them arrive at the server before it decides
    answer.resolve(true)
    const { rec } = await s.nextConnection()
    await until(() => rec.messages.length > 0, 5000, 'the message sent during verify')
    t.same(rec.messages, ['sent during verify'])
  })

  t.test('an upgrade whose verify is pending when close() is called is answered 503', async (t) => {
    const h = await harness(t)
    const verify = calls<[]>()
    const answer = gate<boolean>()
    const s = h.attach({ verify: () => { verify.record(); return answer.promise } })
    const responding = h.raw('/')
    await verify.reached()
    await within(s.wss.close(), 5000, 'close()')
    answer.resolve(true)
    const response = await responding
    t.equal(statusOf(response), 503)
    t.equal(s.connections.length, 0)
  })
})

t.test('a client that leaves while verify is pending', async (t) => {
  for (const how of ['closes its connection (FIN)', 'resets its connection (RST)'] as const) {
    t.test(how, async (t) => {
      const h = await harness(t)
      const verify = calls<[]>()
      const answer = gate<boolean>()
      const s = h.detached({ verify: () => { verify.record(); return answer.promise } })
      let serverSocket: NodeDuplex | undefined
      let result: Promise<WebSocketDuplex | null> | undefined
      h.server.on('upgrade', (req: IncomingMessage, socket: NodeDuplex, head: Buffer) => {
        serverSocket = socket
        result = s.wss.handleUpgrade(req, socket, head)
      })
      const socket = rawSocket(t, h.port)
      socket.write(upgradeRequest({}, { path: '/' }))
      await verify.reached()
      if (how === 'closes its connection (FIN)') socket.destroy()
      else socket.resetAndDestroy()
      await delay(100) // the FIN or RST reaches the server
      answer.resolve(true)
      t.equal(await within(result!, 5000, 'handleUpgrade()'), null, 'handleUpgrade() resolves to null')
      t.equal(s.connections.length, 0, "no 'connection' for a client that is gone")
      t.equal(s.wss.clients.size, 0)
      await until(() => serverSocket!.destroyed, 5000, "the server's socket to be destroyed")
      t.pass('no crash, no unhandled error')
    })
  }
})

t.test("'connection'", async (t) => {
  t.test('gives a working WebSocketDuplex and the IncomingMessage', async (t) => {
    const h = await harness(t)
    const s = h.attach({ path: '/chat' })
    const client = await h.client('/chat?room=7', { headers: { 'X-Client': 'tap' } })
    const { ws, req, rec } = await s.nextConnection()
    t.ok(ws instanceof WebSocketDuplex)
    t.equal(ws.role, 'server')
    t.ok(req instanceof IncomingMessage)
    t.equal(req.url, '/chat?room=7')
    t.equal(req.headers['x-client'], 'tap')
    client.ws.write('text from the client')
    client.ws.write(Buffer.from([1, 2, 3]))
    await until(() => rec.messages.length === 2, 5000, 'two messages at the server')
    t.same(rec.messages, ['text from the client', Buffer.from([1, 2, 3])])
    ws.write('text from the server')
    await until(() => client.rec.messages.length === 1, 5000, 'a message at the client')
    t.same(client.rec.messages, ['text from the server'])
    client.ws.close(1000, 'done')
    t.same(await within(rec.closed, 5000, 'server-side close'), [1000, 'done'])
  })

  t.test('protocols pass through: the client offers chat.v2, chat.v1; the server speaks chat.v1', async (t) => {
    const h = await harness(t)
    const s = h.attach({ protocols: ['chat.v1'] })
    const client = await h.client('/', { protocols: ['chat.v2', 'chat.v1'] })
    const { ws } = await s.nextConnection()
    t.equal(client.ws.protocol, 'chat.v1', 'our client')
    t.equal(ws.protocol, 'chat.v1', 'the server side')

    const other = new WebSocket(h.url('/'), ['chat.v2', 'chat.v1'])
    other.on('error', () => {})
    t.teardown(() => other.terminate())
    await within(new Promise((resolve) => other.once('open', resolve)), 5000, 'ws open')
    t.equal(other.protocol, 'chat.v1', 'the ws client')
    t.equal((await s.nextConnection()).ws.protocol, 'chat.v1')
  })

  t.test('the other accept options pass through: extra 101 headers, connection limits', async (t) => {
    const h = await harness(t)
    const s = h.attach({ headers: { 'X-Served-By': 'watershed' }, maxMessageSize: 8 })
    const response = await exchangeHead(h.port, upgradeRequest())
    t.teardown(() => response.socket.destroy())
    t.equal(statusOf(response), 101)
    t.equal(header(response, 'x-served-by'), 'watershed')
    await s.nextConnection()

    const client = await h.client('/')
    client.ws.write('123456789') // one byte over maxMessageSize
    const [code] = await within(client.rec.closed, 5000, 'client close')
    t.equal(code, 1009, 'the server closed with 1009 (message too big)')
  })
})

t.test('clients holds the open connections and drops them as they close', async (t) => {
  const h = await harness(t)
  const s = h.attach()
  t.equal(s.wss.clients.size, 0)
  const first = await h.client('/')
  const second = await h.client('/')
  const [one, two] = [await s.nextConnection(), await s.nextConnection()]
  t.equal(s.wss.clients.size, 2)
  t.ok(s.wss.clients.has(one.ws) && s.wss.clients.has(two.ws))
  first.ws.close()
  await within(one.rec.closed, 5000, 'first server-side close')
  t.same([...s.wss.clients], [two.ws], 'the closed one is gone')
  second.ws.destroy() // abruptly
  await within(two.rec.closed, 5000, 'second server-side close')
  t.equal(s.wss.clients.size, 0)
})

t.test('close()', async (t) => {
  t.test('closes every client with 1001 and resolves after they have closed', async (t) => {
    const h = await harness(t)
    const s = h.attach()
    const ours = [await h.client('/'), await h.client('/')]
    const theirs = new WebSocket(h.url('/'))
    theirs.on('error', () => {})
    t.teardown(() => theirs.terminate())
    await within(new Promise((resolve) => theirs.once('open', resolve)), 5000, 'ws open')
    const theirClose = wsClosed(theirs)
    await until(() => s.connections.length === 3, 5000, 'three connections')

    const order: string[] = []
    for (const c of s.connections) c.ws.on('close', () => order.push('a connection closed'))
    s.wss.on('close', () => order.push("'close'"))
    await within(s.wss.close(), 5000, 'close()')
    order.push('close() resolved')

    for (const client of ours) {
      await within(client.rec.closed, 5000, 'our client close')
      t.equal(client.ws.closeCode, 1001)
      t.equal(client.ws.closeReason, 'server shutting down')
    }
    t.same(await theirClose, [1001, 'server shutting down'], 'the ws client')
    t.same(order, ['a connection closed', 'a connection closed', 'a connection closed', "'close'", 'close() resolved'])
    t.equal(s.wss.clients.size, 0)
    t.equal(s.closeEvents, 1)
  })

  t.test('with a code and reason, closes every client with those', async (t) => {
    const h = await harness(t)
    const s = h.attach()
    const client = await h.client('/')
    await s.nextConnection()
    await within(s.wss.close(4000, 'maintenance'), 5000, 'close()')
    t.same(await within(client.rec.closed, 5000, 'client close'), [4000, 'maintenance'])
  })

  t.test('with no clients, resolves and emits close', async (t) => {
    const h = await harness(t)
    const s = h.attach()
    await within(s.wss.close(), 5000, 'close()')
    t.equal(s.closeEvents, 1)
  })

  t.test('twice returns the same promise, and close is emitted once', async (t) => {
    const h = await harness(t)
    const s = h.attach()
    await h.client('/')
    await s.nextConnection()
    const first = s.wss.close()
    const second = s.wss.close(4001, 'ignored')
    t.equal(second, first)
    await within(first, 5000, 'close()')
    t.equal(s.closeEvents, 1)
    t.equal(s.wss.close(), first, 'still the same promise after it resolved')
  })

  t.test('afterwards, upgrades on the http server are no longer handled (404 when it was alone)', async (t) => {
    const h = await harness(t)
    const s = h.attach({ path: '/chat' })
    await h.client('/chat')
    await within(s.wss.close(), 5000, 'close()')
    // exchangeUntilClosed fails after 5 s if nothing answers and closes.
    const response = await h.raw('/chat').catch((error: Error) => error)
    if (response instanceof Error) {
      t.fail(`the upgrade after close() was not answered: ${response.message}`)
    } else {
      t.equal(statusOf(response), 404)
      t.equal(header(response, 'connection'), 'close')
    }
    t.equal(s.connections.length, 1, 'no new connection')
  })

  t.test('afterwards, handleUpgrade() answers 503', async (t) => {
    const h = await harness(t)
    const s = h.detached()
    const results: Array<WebSocketDuplex | null> = []
    h.server.on('upgrade', (req: IncomingMessage, socket: NodeDuplex, head: Buffer) => {
      void s.wss.handleUpgrade(req, socket, head).then((ws) => results.push(ws))
    })
    await within(s.wss.close(), 5000, 'close()')
    const response = await h.raw('/')
    t.equal(response.startLine, 'HTTP/1.1 503 Service Unavailable')
    t.equal(header(response, 'connection'), 'close')
    await until(() => results.length === 1, 5000, 'handleUpgrade() to settle')
    t.same(results, [null])
    const { error } = await s.nextRejection()
    t.equal(error.statusCode, 503)
    t.equal(s.connections.length, 0)
  })

  t.test('resolves even when the application never reads a connection', async (t) => {
    // A broadcast-only server: it writes to its clients and never reads them.
    const h = await harness(t)
    const wss = new WebSocketServer({ server: h.server, closeTimeout: 200 })
    let serverSide: WebSocketDuplex | undefined
    wss.on('connection', (ws) => {
      ws.on('error', () => {})
      serverSide = ws
      ws.write('news')
    })
    t.teardown(() => serverSide?.destroy())
    const client = await h.client('/')
    await until(() => client.rec.messages.length === 1, 5000, 'the broadcast')
    const closing = wss.close()
    t.same(await within(client.rec.closed, 5000, 'the client closed'), [1001, 'server shutting down'])
    const settled = await within(closing, 3000, 'close()').then(
      () => true,
      () => false,
    )
    t.ok(settled, 'close() resolved after the client had closed')
    t.equal(wss.clients.size, 0, 'and the connection left clients')
  })
})

t.test('handleUpgrade() without a server option, from your own upgrade listener', async (t) => {
  const h = await harness(t)
  const s = h.detached({ path: '/ws', verify: (req) => req.headers['x-let-me-in'] === 'yes' })
  const results: Array<Promise<WebSocketDuplex | null>> = []
  const others: string[] = []
  h.server.on('upgrade', (req: IncomingMessage, socket: NodeDuplex, head: Buffer) => {
    if (s.wss.shouldHandle(req)) results.push(s.wss.handleUpgrade(req, socket, head))
    else {
      others.push(req.url ?? '')
      socket.destroy()
    }
  })
  t.equal(h.server.listenerCount('upgrade'), 1, 'a WebSocketServer without server does not listen itself')

  const client = await h.client('/ws?x', { headers: { 'X-Let-Me-In': 'yes' } })
  const ws = await within(results[0], 5000, 'handleUpgrade()')
  const { ws: announced } = await s.nextConnection()
  t.equal(ws, announced, "it resolves to the connection 'connection' announced")
  t.ok(s.wss.clients.has(announced))
  ws!.write('hello from handleUpgrade')
  await until(() => client.rec.messages.length === 1, 5000, 'a message')
  t.same(client.rec.messages, ['hello from handleUpgrade'])

  t.equal((await h.refused('/ws')).statusCode, 403, 'a refusal is answered over HTTP')
  t.equal(await within(results[1], 5000, 'handleUpgrade()'), null, 'and resolves to null')

  const elsewhere = await connect(h.url('/elsewhere')).then(
    () => 'connected',
    () => 'refused',
  )
  t.equal(elsewhere, 'refused')
  t.same(others, ['/elsewhere'], 'shouldHandle() left the other path to us')
})

t.test('works on an https server (wss://)', async (t) => {
  const credentials = testCertificate(t)
  const h = await harness(t, https.createServer(credentials), { requestOptions: { ca: credentials.cert } })
  const s = h.attach({ path: '/secure', protocols: ['chat.v1'], verify: (req) => req.headers.authorization === 'Bearer tls' }, { echo: true })
  t.equal((await h.refused('/secure')).statusCode, 403)
  const client = await h.client('/secure', { protocols: ['chat.v1'], headers: { Authorization: 'Bearer tls' } })
  t.equal(client.ws.protocol, 'chat.v1')
  await roundTrip(client.ws, client.rec, 'over TLS')
  t.equal(s.connections.length, 1)
  await within(s.wss.close(), 5000, 'close()')
  t.same(await within(client.rec.closed, 5000, 'client close'), [1001, 'server shutting down'])
})

t.test('robustness of the refusal path', async (t) => {
  t.test('a refusal header that cannot be sent (CR LF in a value) still gets an answer, not a crash', async (t) => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    t.teardown(() => {
      process.off('unhandledRejection', onUnhandled)
    })
    const h = await harness(t)
    const s = h.attach({ verify: () => ({ status: 401, headers: { 'X-Note': 'a\r\nSet-Cookie: evil=1' } }) })
    const response = await h.raw('/').catch((error: Error) => error)
    await delay(50) // an unhandled rejection is reported after the microtask queue drains
    t.same(unhandled.map((reason) => String(reason)), [], 'no unhandled rejection')
    if (response instanceof Error) {
      t.fail(`the upgrade was not answered: ${response.message}`)
    } else {
      const status = statusOf(response)
      t.ok(status >= 400 && status <= 599, `an HTTP error answer (${status}), then closed`)
      t.equal(response.headers['set-cookie'], undefined, 'no header was injected')
    }
    t.equal(s.rejections.length, 1, "'rejected' is emitted")
    t.equal(s.connections.length, 0)
  })

  t.test("an exception in a 'connection' listener is not written as HTTP onto the open WebSocket", async (t) => {
    const h = await harness(t)
    const s = h.detached()
    const outcomes: Array<WebSocketDuplex | null | Error> = []
    s.wss.on('connection', () => {
      throw new Error('application bug')
    })
    h.server.on('upgrade', (req: IncomingMessage, socket: NodeDuplex, head: Buffer) => {
      s.wss.handleUpgrade(req, socket, head).then(
        (ws) => outcomes.push(ws),
        (error: Error) => outcomes.push(error),
      )
    })
    const response = await exchangeHead(h.port, upgradeRequest())
    t.teardown(() => response.socket.destroy())
    t.equal(statusOf(response), 101)
    // Whatever follows the 101 is WebSocket: a PING is answered by a PONG.
    response.socket.write(clientFrame({ opcode: 0x9, payload: 'still there?' }))
    const next = await readBytes(response.socket, 14).catch((error: Error) => Buffer.from(error.message))
    t.notMatch(next.toString('latin1'), /^HTTP\//, 'no HTTP answer after the 101')
    t.same(next, Buffer.concat([Buffer.from([0x8a, 12]), Buffer.from('still there?')]), 'a PONG')
    await until(() => outcomes.length === 1, 5000, 'handleUpgrade() to settle')
    t.not(outcomes[0], null, 'handleUpgrade() does not report an accepted connection as refused')
    t.equal(s.rejections.length, 0, "no 'rejected' for a connection that was accepted")
  })
})
