/**
 * How a connection ends: 'close' exactly once per duplex however it ends, and
 * nothing of ours left behind afterwards: no listeners on the socket, no
 * timers or sockets keeping the process alive.
 */
import http, { type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import t, { type Test } from 'tap'
import { clientFromUpgrade } from '../../lib/handshake/client'
import { generateKey } from '../../lib/handshake/key'
import { accept } from '../../lib/handshake/server'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { frame } from '../helpers/frames'
import { listen } from '../helpers/ws-pair'
import { delay, nextEvent, record, until, within, type Recording } from '../helpers/ws-wait'

const SOCKET_EVENTS = ['data', 'end', 'close', 'error', 'drain', 'readable', 'finish', 'timeout'] as const

const listenerCounts = (socket: Socket) => Object.fromEntries(SOCKET_EVENTS.map((event) => [event, socket.listenerCount(event)]))

/** How many of each resource type keep the event loop alive. */
function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1
  return counts
}

interface End {
  ws: WebSocketDuplex
  rec: Recording
  socket: Socket
  /** The socket's listener counts just before the library touched it. */
  before: Record<string, number>
}

/**
 * Our server and our client, built with accept() and clientFromUpgrade() so
 * that each socket's listeners can be counted before the library sees it.
 */
async function connection(t: Test) {
  const resourcesBefore = activeResources()
  let resolveServer!: (end: Omit<End, 'rec'>) => void
  const accepted = new Promise<Omit<End, 'rec'>>((resolve) => {
    resolveServer = resolve
  })
  const listening = await listen((req, socket, head) => {
    const before = listenerCounts(socket)
    resolveServer({ ws: accept(req, socket, head), socket, before })
  })
  t.teardown(() => listening.close())

  const key = generateKey()
  const request = http.request({
    host: '127.0.0.1',
    port: listening.port,
    headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13' },
  })
  const upgraded = nextEvent<[IncomingMessage, Socket, Buffer]>(request, 'upgrade')
  request.end()
  const [res, clientSocket, head] = await upgraded
  const clientBefore = listenerCounts(clientSocket)
  const clientWs = clientFromUpgrade(res, clientSocket, head, key)
  const serverEnd = await within(accepted, 5000, 'accept')

  const server: End = { ...serverEnd, rec: record(serverEnd.ws) }
  const client: End = { ws: clientWs, socket: clientSocket, before: clientBefore, rec: record(clientWs) }
  t.teardown(() => {
    for (const end of [server, client]) if (!end.ws.destroyed) end.ws.destroy()
  })
  return { server, client, listening, resourcesBefore }
}

/** Waits for both ends to close, then checks what each left behind. */
async function checkEnded(t: Test, ends: End[], resourcesBefore: Record<string, number>) {
  await until(() => ends.every((end) => end.rec.closes.length > 0), 5000, "'close' on both ends")
  await delay(50) // room for a second 'close' or a late 'error'
  for (const end of ends) {
    const role = end.ws.role
    t.equal(end.rec.closes.length, 1, `${role}: 'close' exactly once`)
    t.ok(end.rec.errors.length <= 1, `${role}: 'error' at most once`)
    if (end.rec.errors.length > 0) {
      t.ok(end.rec.order.indexOf('error') < end.rec.order.indexOf('close'), `${role}: 'error' before 'close'`)
    }
    t.ok(end.socket.destroyed, `${role}: the socket is destroyed`)
    t.strictSame(listenerCounts(end.socket), end.before, `${role}: no listeners of ours left on the socket`)
  }
  await until(() => (activeResources().TCPSocketWrap ?? 0) <= (resourcesBefore.TCPSocketWrap ?? 0), 5000, 'sockets released')
  const after = activeResources()
  t.ok((after.Timeout ?? 0) <= (resourcesBefore.Timeout ?? 0), `no timers left (${after.Timeout ?? 0} vs ${resourcesBefore.Timeout ?? 0})`)
  t.ok((after.TCPSocketWrap ?? 0) <= (resourcesBefore.TCPSocketWrap ?? 0), 'no sockets left')
}

for (const closer of ['client', 'server'] as const) {
  t.test(`a clean close started by the ${closer}`, async (t) => {
    const c = await connection(t)
    const [a, b] = closer === 'client' ? [c.client, c.server] : [c.server, c.client]
    a.ws.close(4000, 'bye')
    await checkEnded(t, [c.server, c.client], c.resourcesBefore)
    t.strictSame(b.rec.closes, [[4000, 'bye']])
    t.strictSame(a.rec.closes.map(([code]) => code), [4000])
    t.strictSame([...c.server.rec.errors, ...c.client.rec.errors], [], 'no errors')
  })
}

for (const dropped of ['client', 'server'] as const) {
  t.test(`the ${dropped}'s TCP connection is dropped without a CLOSE`, async (t) => {
    const c = await connection(t)
    const [a, b] = dropped === 'client' ? [c.client, c.server] : [c.server, c.client]
    a.socket.destroy()
    await checkEnded(t, [c.server, c.client], c.resourcesBefore)
    t.strictSame(b.rec.closes, [[1006, '']], 'the peer sees 1006')
    t.strictSame(b.rec.errors, [], 'a FIN without CLOSE is not an error')
  })

  t.test(`the ${dropped}'s TCP connection is reset`, async (t) => {
    const c = await connection(t)
    const [a, b] = dropped === 'client' ? [c.client, c.server] : [c.server, c.client]
    a.socket.resetAndDestroy()
    await checkEnded(t, [c.server, c.client], c.resourcesBefore)
    t.strictSame(b.rec.closes, [[1006, '']], 'the peer sees 1006')
    t.ok(b.rec.errors.every((error) => error.code === 'ECONNRESET'), 'only a reset error, if any')
  })
}

for (const side of ['client', 'server'] as const) {
  t.test(`destroy() on the ${side}, without an error`, async (t) => {
    const c = await connection(t)
    const [a, b] = side === 'client' ? [c.client, c.server] : [c.server, c.client]
    a.ws.destroy()
    await checkEnded(t, [c.server, c.client], c.resourcesBefore)
    t.strictSame(a.rec.errors, [], "no 'error'")
    t.strictSame(b.rec.closes, [[1006, '']], 'the peer sees 1006')
  })

  t.test(`destroy(err) on the ${side} emits that error, then 'close'`, async (t) => {
    const c = await connection(t)
    const a = side === 'client' ? c.client : c.server
    const boom = new Error('boom')
    a.ws.destroy(boom)
    await checkEnded(t, [c.server, c.client], c.resourcesBefore)
    t.equal(a.rec.errors.length, 1)
    t.equal(a.rec.errors[0], boom, 'the very error given')
    t.strictSame(a.rec.order.slice(-2), ['error', 'close'])
  })
}

t.test('a protocol error from the peer', async (t) => {
  t.test('seen by the server', async (t) => {
    const c = await connection(t)
    // Our client's socket carries a hand-made unmasked frame, which the server must refuse.
    c.client.socket.write(frame({ opcode: 1, payload: 'unmasked' }))
    await checkEnded(t, [c.server, c.client], c.resourcesBefore)
    t.equal(c.server.rec.errors.length, 1)
    t.equal(c.server.rec.errors[0].code, 'WS_ERR_MASK_REQUIRED')
    t.strictSame(c.client.rec.closes.map(([code]) => code), [1002], 'the client got CLOSE 1002')
  })

  t.test('seen by the client', async (t) => {
    const c = await connection(t)
    c.server.socket.write(frame({ opcode: 0x3 })) // a reserved opcode
    await checkEnded(t, [c.server, c.client], c.resourcesBefore)
    t.equal(c.client.rec.errors.length, 1)
    t.equal(c.client.rec.errors[0].code, 'WS_ERR_INVALID_OPCODE')
    t.strictSame(c.server.rec.closes.map(([code]) => code), [1002], 'the server got CLOSE 1002')
  })
})
