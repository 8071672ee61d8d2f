/**
 * WebSockets over HTTP/2 (RFC 8441), client and server both ours, as a
 * specification: connect() with `http2` opens a session (or takes the one it
 * is given), waits for the server's SETTINGS, sends an extended CONNECT and
 * takes the 200 as the opening; the WebSocketServer attached to an HTTP/2
 * server (TLS or h2c) hands out the same WebSocketDuplex, with the same
 * negotiation of subprotocols and permessage-deflate. A server that does
 * not enable the extended CONNECT protocol is refused with a clear error,
 * or, when asked, left for HTTP/1.1.
 */
import http2, { type ClientHttp2Session } from 'node:http2'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { connect } from '../../lib/handshake/client'
import { WebSocketServer } from '../../lib/server/websocket-server'
import { stageSweeper } from '../../lib/connection/stage-sweeper'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import type { Carrier } from '../../lib/connection/transport'
import { echoAll, serveH2c, serveH2Secure, testCredentials } from '../helpers/h2-server'
import { nextEvent } from '../helpers/ws-wait'

type AnyDuplex = WebSocketDuplex<string | Buffer, Carrier>

async function echoOnce(ws: AnyDuplex, message: string | Buffer): Promise<string | Buffer> {
  const answer = nextEvent<[string | Buffer]>(ws, 'data')
  ws.write(message)
  return (await answer)[0]
}

function sessionTo(t: Test, url: string, ca?: string): ClientHttp2Session {
  const session = http2.connect(url.replace(/^ws/, 'http'), ca === undefined ? {} : { ca })
  t.teardown(() => session.destroy())
  return session
}

for (const secure of [false, true]) {
  const scheme = secure ? 'h2 (TLS)' : 'h2c'
  t.test(`${scheme}: a WebSocket is one stream, answered 200, and echoes text and binary`, async (t) => {
    const listening = secure ? await serveH2Secure(t) : await serveH2c(t)
    echoAll(listening)
    const seen = nextEvent<[AnyDuplex, { httpVersion: string; method: string; headers: Record<string, unknown> }]>(listening.wss, 'connection')
    const ws = await connect(`${listening.url}/chat?room=1`, { http2: true, requestOptions: { ca: listening.credentials?.cert } })
    const [serverSide, req] = await seen
    t.equal(req.httpVersion, '2.0', 'the server saw an HTTP/2 request')
    t.equal(req.method, 'CONNECT')
    t.equal(req.headers[':protocol'], 'websocket')
    t.equal(req.headers[':path'], '/chat?room=1')
    t.ok('session' in serverSide.socket, 'the server side runs on an HTTP/2 stream')
    t.ok('session' in ws.socket, 'so does the client side')
    t.equal(await echoOnce(ws, 'hello'), 'hello')
    const big = Buffer.alloc(1 << 20, 7)
    t.same(await echoOnce(ws, big), big, 'a 1 MiB binary message crosses the stream whole, past flow-control windows')
    const closing = nextEvent(serverSide, 'closing')
    ws.close(1000, 'bye')
    t.same(await closing, [1000, 'bye'], 'the server reads the CLOSE')
    t.same(await nextEvent(ws, 'close'), [1000, ''], 'and echoes its code')
  })
}

t.test('subprotocol and permessage-deflate are negotiated as over HTTP/1.1', async (t) => {
  const listening = await serveH2c(t, { protocols: ['v2', 'v1'], perMessageDeflate: true })
  echoAll(listening)
  const ws = await connect(listening.url, { http2: true, protocols: ['v1', 'v2'], perMessageDeflate: true })
  t.equal(ws.protocol, 'v1', 'the first the client offered that the server speaks')
  t.match(ws.extensions, /^permessage-deflate/, 'compression agreed')
  const text = 'compressible '.repeat(5000)
  t.equal(await echoOnce(ws, text), text, 'compressed messages round-trip')
  ws.close()
  await nextEvent(ws, 'close')
})

t.test('a refusal keeps its status, headers and body; the session survives it', async (t) => {
  const listening = await serveH2c(t, {
    verify: (req) => req.headers.authorization === 'Bearer yes' || { status: 401, body: 'who are you?', headers: { 'www-authenticate': 'Bearer' } },
  })
  echoAll(listening)
  const rejected = nextEvent(listening.wss, 'rejected')
  const session = sessionTo(t, listening.url)
  const refused = await connect(listening.url, { http2: session }).then(() => null, (error: Error) => error)
  t.match(refused, { code: 'WS_ERR_UNEXPECTED_RESPONSE', statusCode: 401, body: 'who are you?', headers: { 'www-authenticate': 'Bearer' } })
  await rejected
  const ws = await connect(listening.url, { http2: session, headers: { Authorization: 'Bearer yes' } })
  t.equal(await echoOnce(ws, 'in'), 'in', 'the same session then carries an accepted WebSocket')
  ws.close()
  await nextEvent(ws, 'close')
})

t.test('a path nobody serves is answered 404; a subprotocol not offered fails the client', async (t) => {
  const listening = await serveH2c(t, { path: '/ws', headers: {} })
  echoAll(listening)
  const missing = await connect(`${listening.url}/elsewhere`, { http2: true }).then(() => null, (error: Error) => error)
  t.match(missing, { code: 'WS_ERR_UNEXPECTED_RESPONSE', statusCode: 404 })
  // A server that names a subprotocol the client never offered.
  const rogue = http2.createServer({ settings: { enableConnectProtocol: true } })
  rogue.on('stream', (stream) => stream.respond({ ':status': 200, 'sec-websocket-protocol': 'other' }))
  await new Promise<void>((resolve) => rogue.listen(0, '127.0.0.1', resolve))
  t.teardown(() => rogue.close())
  const port = (rogue.address() as AddressInfo).port
  const failed = await connect(`ws://127.0.0.1:${port}/`, { http2: true, protocols: ['mine'] }).then(() => null, (error: Error) => error)
  t.match(failed, { code: 'WS_ERR_HANDSHAKE', message: /not offered/ })
})

t.test('a server without the extended CONNECT protocol is refused clearly, or left for HTTP/1.1 when asked', async (t) => {
  const credentials = testCredentials(t)
  // An HTTP/2 server that never announces SETTINGS_ENABLE_CONNECT_PROTOCOL.
  const plain = http2.createServer()
  plain.on('stream', (stream) => stream.respond({ ':status': 200 }))
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve))
  t.teardown(() => plain.close())
  const refused = await connect(`ws://127.0.0.1:${(plain.address() as AddressInfo).port}/`, { http2: true })
    .then(() => null, (error: Error) => error)
  t.match(refused, { code: 'WS_ERR_HTTP2_UNSUPPORTED', message: /extended CONNECT/ })
  // An HTTP/1.1-only TLS server: no h2 in its ALPN.
  const server = https.createServer(credentials)
  const wss = new WebSocketServer({ server })
  wss.on('connection', (ws) => ws.on('data', (message: string | Buffer) => ws.write(message)))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const url = `wss://127.0.0.1:${(server.address() as AddressInfo).port}/`
  const noH2 = await connect(url, { http2: true, requestOptions: { ca: credentials.cert } }).then(() => null, (error: Error) => error)
  t.match(noH2, { code: 'WS_ERR_HTTP2_UNSUPPORTED' }, 'a server that does not speak HTTP/2 at all')
  const ws = await connect(url, { http2: true, http2Fallback: true, requestOptions: { ca: credentials.cert } })
  t.notOk('session' in ws.socket, 'the fallback is a plain TLS socket')
  t.equal(await echoOnce(ws, 'over 1.1'), 'over 1.1')
  ws.close()
  await nextEvent(ws, 'close')
})

t.test('one WebSocketServer on an allowHTTP1 server serves both transports through one handler', async (t) => {
  const listening = await serveH2Secure(t, {}, { allowHTTP1: true })
  const versions: string[] = []
  listening.wss.on('connection', (ws, req) => {
    versions.push(req.httpVersion)
    ws.on('data', (message: string | Buffer) => ws.write(message))
  })
  const ca = listening.credentials!.cert
  const overH2 = await connect(listening.url, { http2: true, requestOptions: { ca } })
  const overH1 = await connect(listening.url, { requestOptions: { ca } })
  t.equal(await echoOnce(overH2, 'two'), 'two')
  t.equal(await echoOnce(overH1, 'one'), 'one')
  t.same(versions.sort(), ['1.1', '2.0'])
  overH2.close()
  overH1.close()
  await Promise.all([nextEvent(overH2, 'close'), nextEvent(overH1, 'close')])
})

t.test('an idle WebSocket over HTTP/2 gives its stages back: the stream counts its bytes', async (t) => {
  const listening = await serveH2c(t)
  echoAll(listening)
  const ws = await connect(listening.url, { http2: true })
  t.equal(await echoOnce(ws, 'warm'), 'warm')
  t.ok(stageSweeper.has(ws), 'stages built for the message')
  stageSweeper.sweep()
  t.ok(stageSweeper.has(ws), 'the first sweep only notes the counts')
  t.equal(await echoOnce(ws, 'again'), 'again')
  stageSweeper.sweep()
  t.ok(stageSweeper.has(ws), 'bytes moved since: the stages stay')
  stageSweeper.sweep()
  t.notOk(stageSweeper.has(ws), 'quiet for a whole sweep: they are given back')
  t.equal(await echoOnce(ws, 'after'), 'after', 'and built again for the next message')
  ws.close()
  await nextEvent(ws, 'close')
})

t.test('bad http2 options are refused before anything is connected', async (t) => {
  await t.rejects(connect('ws://127.0.0.1:1/', { http2: 'yes' as unknown as boolean }), TypeError)
  await t.rejects(connect('ws://127.0.0.1:1/', { http2: true, http2Fallback: 1 as unknown as boolean }), TypeError)
})
