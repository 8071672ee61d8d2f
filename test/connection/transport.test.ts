/**
 * What differs between carriers, as a specification of closing over HTTP/2
 * (RFC 8441 section 5): the closing handshake ends the WebSocket's stream
 * (END_STREAM both ways) and not the session, whose other WebSockets go on;
 * an RST_STREAM is a TCP reset (an ECONNRESET error, closed as 1006), and
 * our own reset of a stream is RST_STREAM with CANCEL; a session that goes
 * away fails all its WebSockets with 1006. Over TCP the server still closes
 * first (RFC 6455 section 7.1.1).
 */
import http2, { type ClientHttp2Session } from 'node:http2'
import t, { type Test } from 'tap'
import { connect } from '../../lib/handshake/client'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import type { Carrier } from '../../lib/connection/transport'
import { tcp, http2Stream } from '../../lib/connection/transport'
import { echoAll, serveH2c, type H2Listening } from '../helpers/h2-server'
import type { Http2Server } from 'node:http2'
import { nextEvent, record, within } from '../helpers/ws-wait'

type AnyDuplex = WebSocketDuplex<string | Buffer, Carrier>

async function echoOnce(ws: AnyDuplex, message: string): Promise<string | Buffer> {
  const answer = nextEvent<[string | Buffer]>(ws, 'data')
  ws.write(message)
  return (await answer)[0]
}

/** An h2c server (echoing, its connections kept) and one client session to it. */
async function oneSession(t: Test): Promise<{ listening: H2Listening<Http2Server>; session: ClientHttp2Session; servers: AnyDuplex[] }> {
  const listening = await serveH2c(t)
  const servers: AnyDuplex[] = []
  listening.wss.on('connection', (ws) => servers.push(ws))
  echoAll(listening)
  const session = http2.connect(listening.url.replace(/^ws/, 'http'))
  session.on('error', () => {})
  t.teardown(() => session.destroy())
  return { listening, session, servers }
}

t.test('the closing handshake ends one stream; the session and its other WebSockets go on', async (t) => {
  const { session, servers, listening } = await oneSession(t)
  const sockets = await Promise.all([1, 2, 3].map(() => connect(listening.url, { http2: session })))
  t.equal(servers.length, 3)
  for (const [i, ws] of sockets.entries()) t.equal(await echoOnce(ws, `hello ${i}`), `hello ${i}`)
  const [first, ...others] = sockets
  const serverFirst = servers[0]!
  const serverRec = record(serverFirst)
  first!.close(1000, 'one done')
  t.same(await nextEvent(first!, 'close'), [1000, ''], 'the client side closed cleanly')
  t.same(await within(serverRec.closed, 5000, 'server close'), [1000, 'one done'], 'so did the server side')
  t.equal(first!.socket.rstCode, http2.constants.NGHTTP2_NO_ERROR, 'the stream ended both ways without a reset')
  t.notOk(session.closed || session.destroyed, 'the session is still open')
  for (const [i, ws] of others.entries()) {
    for (let n = 0; n < 20; n++) t.equal(await echoOnce(ws, `still ${i}.${n}`), `still ${i}.${n}`)
  }
  const later = await connect(listening.url, { http2: session })
  t.equal(await echoOnce(later, 'new'), 'new', 'and takes new WebSockets')
  for (const ws of [...others, later]) ws.close()
  await Promise.all([...others, later].map((ws) => nextEvent(ws, 'close')))
})

t.test('an RST_STREAM from the peer is a reset: ECONNRESET, 1006; the neighbours are untouched', async (t) => {
  const { session, servers, listening } = await oneSession(t)
  const url = listening.url
  const [victim, neighbour] = await Promise.all([connect(url, { http2: session }), connect(url, { http2: session })])
  const victimServer = record(servers.find((ws) => (ws.socket as http2.ServerHttp2Stream).id === (victim!.socket as http2.ClientHttp2Stream).id)!)
  const victimClient = record(victim!)
  victim!.socket.close(http2.constants.NGHTTP2_CANCEL)
  const [code] = await within(victimServer.closed, 5000, 'server close')
  t.equal(code, 1006, 'no CLOSE frame came: abnormal closure')
  t.match(victimServer.errors, [{ code: 'ECONNRESET', message: /HTTP\/2 stream was reset \(RST_STREAM code 8\)/ }])
  t.equal((await within(victimClient.closed, 5000, 'client close'))[0], 1006, 'the side that reset it closes as 1006 too')
  t.equal(await echoOnce(neighbour!, 'unharmed'), 'unharmed')
  neighbour!.close()
  await nextEvent(neighbour!, 'close')
})

t.test('our own reset of a stream is RST_STREAM with CANCEL, which the peer takes as a reset', async (t) => {
  const { session, servers, listening } = await oneSession(t)
  const ws = await connect(listening.url, { http2: session })
  const client = record(ws)
  servers[0]!.destroy()
  t.same(await within(client.closed, 5000, 'client close'), [1006, ''])
  t.equal(ws.socket.rstCode, http2.constants.NGHTTP2_CANCEL, 'the stream was cancelled (RFC 8441 section 5)')
  t.match(client.errors, [{ code: 'ECONNRESET' }])
  t.notOk(session.closed || session.destroyed, 'the session lives on')
})

t.test('a session that goes away fails every WebSocket on it with 1006', async (t) => {
  for (const how of ['destroyed', 'GOAWAY with an error'] as const) {
    const { session, servers, listening } = await oneSession(t)
    const sockets = await Promise.all([1, 2].map(() => connect(listening.url, { http2: session })))
    const clients = sockets.map((ws) => record(ws))
    const serverSides = servers.map((ws) => record(ws))
    if (how === 'destroyed') listening.sessions[0]!.destroy()
    else listening.sessions[0]!.goaway(http2.constants.NGHTTP2_INTERNAL_ERROR)
    const closes = await within(Promise.all([...clients, ...serverSides].map((rec) => rec.closed)), 5000, 'every close')
    t.same(closes.map(([code]) => code), [1006, 1006, 1006, 1006], `session ${how}: 1006 on both sides`)
    // Destroyed: the reset made ECONNRESET; a GOAWAY's error code comes as Node's session error.
    t.match(clients[0]!.errors, [{ code: how === 'destroyed' ? 'ECONNRESET' : 'ERR_HTTP2_SESSION_ERROR' }], `session ${how}: the client heard why`)
  }
})

t.test('who ends first: on TCP the server, then the client after its FIN; on HTTP/2 either end at once', async (t) => {
  const tcpSocket = { readableEnded: false } as Parameters<typeof tcp.endsFirst>[0]
  t.equal(tcp.endsFirst(tcpSocket, 'server'), true)
  t.equal(tcp.endsFirst(tcpSocket, 'client'), false, 'a client waits for the server to close TCP')
  t.equal(tcp.endsFirst({ readableEnded: true } as typeof tcpSocket, 'client'), true, 'and then ends its side')
  const stream = {} as Parameters<typeof http2Stream.endsFirst>[0]
  t.equal(http2Stream.endsFirst(stream, 'client'), true, 'no TIME_WAIT to place: END_STREAM at once')
  t.equal(http2Stream.endsFirst(stream, 'server'), true)
})
