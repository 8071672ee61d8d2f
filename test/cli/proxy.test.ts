/**
 * `watershed --proxy` in front of a `ws` server: messages, subprotocols,
 * headers, close codes and compression pass through; the target's refusal
 * reaches the client. `--to-tcp`: a WebSocket front for a TCP service.
 */
import { createHash, randomBytes } from 'node:crypto'
import net, { type AddressInfo, type Socket } from 'node:net'
import t from 'tap'
import WebSocket, { WebSocketServer } from 'ws'
import { connect } from '../../lib/handshake/client'
import type { HandshakeError } from '../../lib/protocol/errors'
import { assertBuilt, runCli, startServer } from '../helpers/cli'
import { wsClient, wsServer, wsReceived } from '../helpers/ws-peer'
import { closedWithin, nextEvent, record, until } from '../helpers/ws-wait'

assertBuilt()

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

t.test('a ws client through the proxy to a ws server: messages, subprotocol, headers and the close code pass', async (t) => {
  const target = await wsServer(t, { handleProtocols: (offered) => (offered.has('chat.v1') ? 'chat.v1' : false) })
  const { url } = await startServer(t, ['--proxy', '0', `ws://127.0.0.1:${target.port}/backend`])
  const client = new WebSocket(url, ['chat.v2', 'chat.v1'], { headers: { Authorization: 'Bearer abc' } })
  client.on('error', () => {})
  t.teardown(() => client.terminate())
  const backend = await target.connection()
  await nextEvent(client, 'open')
  t.equal(client.protocol, 'chat.v1', "the client gets the target's choice")
  t.equal(backend.protocol, 'chat.v1')

  const received = wsReceived(backend)
  backend.on('message', (data, isBinary) => backend.send(data, { binary: isBinary }))
  const echoes = wsReceived(client)
  const big = randomBytes(1024 * 1024)
  client.send('hello')
  client.send(big)
  await until(() => echoes.length === 2, 5000, 'the echoes')
  t.strictSame(received[0], 'hello')
  t.equal(sha256(echoes[1] as Buffer), sha256(big), 'a 1 MiB binary message there and back, untouched')

  const closed = nextEvent<[number, Buffer]>(backend, 'close')
  client.close(4001, 'bye')
  const [code, reason] = await closed
  t.strictSame([code, reason.toString()], [4001, 'bye'], "the client's close code and reason reach the target")
})

t.test('the proxy passes the request headers on, with X-Forwarded-For', async (t) => {
  let headers: Record<string, unknown> = {}
  const target = await wsServer(t, { verifyClient: (info: { req: { headers: Record<string, unknown> } }) => ((headers = info.req.headers), true) })
  const { url } = await startServer(t, ['--proxy', '0', '-H', 'X-Proxy: watershed', `ws://127.0.0.1:${target.port}/`])
  await wsClient(t, url, undefined)
  t.equal(headers['x-forwarded-for'], '127.0.0.1')
  t.equal(headers['x-proxy'], 'watershed', '--header is added to the request to the target')
})

t.test('a raw proxy negotiates no extension: a client and a target that both offer compression speak without it', async (t) => {
  const target = await wsServer(t, { perMessageDeflate: true })
  const { url } = await startServer(t, ['--proxy', '0', `ws://127.0.0.1:${target.port}/`])
  const client = new WebSocket(url, { perMessageDeflate: true })
  client.on('error', () => {})
  t.teardown(() => client.terminate())
  const backend = await target.connection()
  await nextEvent(client, 'open')
  t.equal(client.extensions, '', 'the client is told no extension')
  t.equal(backend.extensions, '', 'the target was offered none')
  backend.on('message', (data, isBinary) => backend.send(data, { binary: isBinary }))
  const text = JSON.stringify(Array.from({ length: 2000 }, (_, id) => ({ id, name: `item ${id}` })))
  client.send(text)
  const [echo] = await nextEvent<[Buffer]>(client, 'message')
  t.equal(echo.toString(), text)
})

t.test("the target's refusal is the client's (4); a target that is down is 502", async (t) => {
  const refusing = new WebSocketServer({ host: '127.0.0.1', port: 0, verifyClient: (_info, done) => done(false, 401) })
  await nextEvent(refusing, 'listening')
  t.teardown(() => refusing.close())
  const proxy = await startServer(t, ['--proxy', '0', `ws://127.0.0.1:${(refusing.address() as AddressInfo).port}/`])
  const refused = await runCli([proxy.url])
  t.equal(refused.code, 4)
  t.match(refused.stderr, /refused the upgrade: HTTP 401: the proxy's target refused the upgrade: HTTP 401/)
  await proxy.cli.waitForStderr(/#1 ws:\/\/127\.0\.0\.1:\d+\/ refused the upgrade: HTTP 401/)

  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const freePort = (server.address() as AddressInfo).port
  await new Promise((resolve) => server.close(resolve))
  const down = await startServer(t, ['--proxy', '0', `ws://127.0.0.1:${freePort}/`])
  const error = await connect(down.url).catch((failure: HandshakeError) => failure)
  t.equal((error as HandshakeError).statusCode, 502)
})

t.test('--to-tcp: binary messages are bytes to the service, its bytes come back as messages', async (t) => {
  const echo = net.createServer((socket) => socket.pipe(socket))
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve))
  t.teardown(() => echo.close())
  const front = await startServer(t, ['--proxy', '0', '--to-tcp', `127.0.0.1:${(echo.address() as AddressInfo).port}`])
  const input = randomBytes(2 * 1024 * 1024)
  const run = await runCli(['-b', front.url], input)
  t.equal(run.code, 0, run.stderr)
  t.equal(sha256(run.stdout), sha256(input), 'every byte back, in order')
})

t.test('--to-tcp: the service speaks first and closes; the client gets it all, then 1000', async (t) => {
  const sockets: Socket[] = []
  const service = net.createServer((socket) => {
    sockets.push(socket)
    socket.end('220 hello from the service\r\n')
  })
  await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve))
  t.teardown(() => service.close())
  const front = await startServer(t, ['--proxy', '0', '--to-tcp', `127.0.0.1:${(service.address() as AddressInfo).port}`])
  const ws = await connect(front.url)
  const rec = record(ws)
  t.strictSame(await closedWithin(rec), [1000, ''])
  t.equal(Buffer.concat(rec.messages as Buffer[]).toString(), '220 hello from the service\r\n')
  t.ok(rec.messages.every((m) => Buffer.isBuffer(m)), 'as binary messages')
})

t.test('--to-tcp: a service that cannot be reached closes the connection with 1011', async (t) => {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const freePort = (server.address() as AddressInfo).port
  await new Promise((resolve) => server.close(resolve))
  const front = await startServer(t, ['--proxy', '0', '--to-tcp', `127.0.0.1:${freePort}`])
  const ws = await connect(front.url)
  t.strictSame(await closedWithin(record(ws)), [1011, 'the service is unreachable'])
  await front.cli.waitForStderr(new RegExp(`#1 cannot reach 127\\.0\\.0\\.1:${freePort}: ECONNREFUSED`))
})
