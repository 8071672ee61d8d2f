/**
 * A WebSocketServer given a port instead of a server, as a specification:
 * it listens with an http server of its own, takes upgrades from any client,
 * answers ordinary requests 426, reports where and whether it listens, and
 * stops listening when closed. Real sockets on 127.0.0.1 throughout.
 */
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import t from 'tap'
import WebSocket from 'ws'
import { accept } from '../../lib/handshake/server'
import { connect } from '../../lib/handshake/client'
import { WebSocketServer, type WebSocketServerOptions } from '../../lib/server/websocket-server'
import { wsClosed, wsReceived } from '../helpers/ws-peer'
import { nextEvent, record, until, within } from '../helpers/ws-wait'

type ErrnoError = Error & { code?: string }

/** Resolves with the error of a TCP connection to `port`, or null if it connected. */
function tryConnect(port: number): Promise<ErrnoError | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(null)
    })
    socket.once('error', (error: ErrnoError) => resolve(error))
  })
}

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const probe = net.createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}

t.test('with a port it listens on its own, takes upgrades from any client, and stops listening on close()', async (t) => {
  let called = 0
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' }, () => called++)
  t.equal(wss.address(), null, 'nothing to report before it listens')
  await nextEvent(wss, 'listening')
  t.equal(called, 1, 'the callback was called once it listened')
  const { port, address } = wss.address() as AddressInfo
  t.equal(address, '127.0.0.1')
  t.ok(port > 0, 'an ephemeral port was chosen')
  wss.on('connection', (ws) => {
    ws.on('error', () => {})
    ws.on('data', (message: string | Buffer) => ws.write(message))
  })

  const ours = await within(connect(`ws://127.0.0.1:${port}/`), 5000, 'our client')
  const oursRec = record(ours)
  ours.write('from watershed')
  await until(() => oursRec.messages.includes('from watershed'), 5000, 'our echo')

  const theirs = new WebSocket(`ws://127.0.0.1:${port}/anywhere`)
  theirs.on('error', () => {})
  const received = wsReceived(theirs)
  await nextEvent(theirs, 'open')
  theirs.send('from ws')
  await until(() => received.includes('from ws'), 5000, 'the ws echo')
  t.equal(wss.clients.size, 2)

  const theirsClosed = wsClosed(theirs)
  let closeEvents = 0
  wss.on('close', () => closeEvents++)
  await within(wss.close(), 5000, 'close()')
  t.equal(closeEvents, 1, "'close' once everything closed")
  t.same((await theirsClosed)[0], 1001, 'the clients were told 1001 (going away)')
  const [code] = await within(oursRec.closed, 5000, 'our client closed')
  t.equal(code, 1001)
  t.equal(wss.address(), null, 'no longer listening')
  t.equal((await tryConnect(port))?.code, 'ECONNREFUSED', 'the port is closed')
})

t.test('an ordinary request gets 426 Upgrade Required, naming websocket, and the connection may stay open', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  t.teardown(() => wss.close())
  await nextEvent(wss, 'listening')
  const { port } = wss.address() as AddressInfo
  const agent = new http.Agent({ keepAlive: true })
  t.teardown(() => agent.destroy())
  for (const method of ['GET', 'POST']) {
    const response = await new Promise<http.IncomingMessage & { body?: string }>((resolve, reject) => {
      const request = http.request({ host: '127.0.0.1', port, path: '/', method, agent }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => resolve(Object.assign(res, { body })))
      })
      request.on('error', reject)
      request.end(method === 'POST' ? 'a body nobody reads' : undefined)
    })
    t.equal(response.statusCode, 426, `${method}: 426`)
    t.equal(response.headers.upgrade, 'websocket', `${method}: Upgrade names the protocol`)
    t.match(response.headers.connection, /upgrade/i, `${method}: Connection lists upgrade`)
    t.match(response.body, /WebSocket/, `${method}: the body says why`)
  }
  // A keep-alive connection of ordinary requests must not hold close() up.
  await within(wss.close(), 5000, 'close() with a keep-alive connection open')
})

t.test('a port in use is an error event, and close() still settles', async (t) => {
  const occupier = net.createServer()
  await new Promise<void>((resolve) => occupier.listen(0, '127.0.0.1', resolve))
  t.teardown(() => occupier.close())
  const { port } = occupier.address() as AddressInfo
  const wss = new WebSocketServer({ port, host: '127.0.0.1' })
  let listened = false
  wss.on('listening', () => (listened = true))
  const [error] = await nextEvent<[ErrnoError]>(wss, 'error')
  t.equal(error.code, 'EADDRINUSE')
  t.notOk(listened, "no 'listening'")
  await within(wss.close(), 5000, 'close() after a failed listen')
  t.equal(wss.address(), null)
})

t.test('closed before it listens (still resolving its host), it never listens and close() waits for that', async (t) => {
  const port = await freePort()
  const wss = new WebSocketServer({ port, host: 'localhost' })
  let listened = false
  wss.on('listening', () => (listened = true))
  await within(wss.close(), 5000, 'close() while starting')
  t.notOk(listened, "no 'listening' after close()")
  t.equal(wss.address(), null)
  t.equal((await tryConnect(port))?.code, 'ECONNREFUSED', 'nothing listens on the port')
})

t.test('port, host and backlog are checked before anything listens', async (t) => {
  const server = http.createServer()
  const bad: Array<[WebSocketServerOptions, typeof TypeError | typeof RangeError, RegExp]> = [
    [{ port: -1 }, RangeError, /port/],
    [{ port: 65536 }, RangeError, /port/],
    [{ port: 1.5 }, RangeError, /port/],
    [{ port: '8080' as never }, TypeError, /port/],
    [{ port: 0, server }, TypeError, /port and server/],
    [{ host: '127.0.0.1' }, TypeError, /host goes with port/],
    [{ backlog: 5 }, TypeError, /backlog goes with port/],
    [{ port: 0, host: '' }, TypeError, /host/],
    [{ port: 0, backlog: -1 }, RangeError, /backlog/],
    [{ port: 0, maxMessageSize: 0 }, RangeError, /maxMessageSize/],
  ]
  for (const [options, type, names] of bad) {
    const what = JSON.stringify({ ...options, server: options.server && 'http.Server' })
    t.throws(() => new WebSocketServer(options), type, what)
    t.throws(() => new WebSocketServer(options), names, `${what}: the message names the option`)
  }
  t.throws(() => new WebSocketServer({ port: 0 }, 'later' as never), TypeError, 'the callback must be a function')
  t.equal(server.listenerCount('upgrade'), 0, 'the given server was not touched')
})

t.test("other libraries' names for a limit or a check are refused with ours, not ignored", async (t) => {
  const server = http.createServer()
  const refusedByServer: Array<[Record<string, unknown>, RegExp]> = [
    [{ verifyClient: () => true }, /verifyClient .*use verify/],
    [{ handleProtocols: () => 'chat' }, /handleProtocols .*use protocols/],
    [{ maxPayload: 1024 }, /maxPayload .*use maxMessageSize/],
  ]
  for (const [options, message] of refusedByServer) {
    t.throws(() => new WebSocketServer({ ...options, server } as WebSocketServerOptions), { name: 'TypeError', message })
  }
  t.equal(server.listenerCount('upgrade'), 0, 'nothing was attached')
  await t.rejects(connect('ws://127.0.0.1:1/', { maxPayload: 1024 } as never), { name: 'TypeError', message: /maxMessageSize/ })
  const socket = new net.Socket()
  t.throws(() => accept({ headers: {} } as never, socket, Buffer.alloc(0), { maxPayload: 1024 } as never), /maxMessageSize/)
  t.equal(socket.bytesWritten, 0)
})
