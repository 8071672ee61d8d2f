/**
 * readyState: a connection's state as WHATWG's numbers, on both ends of a
 * real connection over 127.0.0.1, through each way of closing: our close(),
 * the peer's CLOSE, a protocol failure, and a dropped TCP connection.
 */
import t from 'tap'
import { ReadyState, readyStateOf } from '../../lib/connection/ready-state'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { pair, serve } from '../helpers/ws-pair'
import { rawConnect } from '../helpers/ws-raw'
import { closedWithin, nextEvent, record, within } from '../helpers/ws-wait'

t.test('the numbers are those of the WHATWG WebSocket', async (t) => {
  t.strictSame({ ...ReadyState }, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 })
  t.equal(readyStateOf(false, false), ReadyState.OPEN)
  t.equal(readyStateOf(false, true), ReadyState.CLOSING)
  t.equal(readyStateOf(true, false), ReadyState.CLOSED)
  t.equal(readyStateOf(true, true), ReadyState.CLOSED)
})

t.test('close() from the client: OPEN, then CLOSING on both ends, then CLOSED on both', async (t) => {
  const { client, server, cleanup } = await pair()
  t.teardown(cleanup)
  t.equal(client.readyState, ReadyState.OPEN, 'the client is OPEN once connect() resolves')
  t.equal(server.readyState, ReadyState.OPEN, 'the server is OPEN once accept() returns')
  const clientRec = record(client)
  const serverRec = record(server)
  client.close(4000, 'bye')
  t.equal(client.readyState, ReadyState.CLOSING, 'the client is CLOSING as soon as close() is called')
  await nextEvent(server, 'closing')
  t.equal(server.readyState, ReadyState.CLOSING, "the server is CLOSING when the client's CLOSE arrives")
  await closedWithin(serverRec)
  await closedWithin(clientRec)
  t.equal(server.readyState, ReadyState.CLOSED, "the server is CLOSED at its 'close'")
  t.equal(client.readyState, ReadyState.CLOSED, "the client is CLOSED at its 'close'")
})

t.test("a CLOSE from the peer makes the receiver CLOSING before it answers", async (t) => {
  const { client, server, cleanup } = await pair()
  t.teardown(cleanup)
  // Not reading: the answer waits for the reader, the state does not.
  server.close(1001, 'going away')
  const [code] = await nextEvent<[number]>(client, 'closing')
  t.equal(code, 1001)
  t.equal(client.readyState, ReadyState.CLOSING, "CLOSING while the client has not answered yet")
  const rec = record(client)
  await closedWithin(rec)
  t.equal(client.readyState, ReadyState.CLOSED)
})

t.test('a protocol failure makes the connection CLOSING, then CLOSED', async (t) => {
  let accepted!: (ws: WebSocketDuplex) => void
  const serverSide = new Promise<WebSocketDuplex>((resolve) => (accepted = resolve))
  const listening = await serve({}, (ws) => accepted(ws))
  t.teardown(() => listening.close())
  const peer = await rawConnect(listening.port)
  t.teardown(() => peer.socket.destroy())
  const server = await within(serverSide, 5000, 'accept')
  t.equal(server.readyState, ReadyState.OPEN)
  const rec = record(server)
  const disconnected = nextEvent<[number, string, Error | null]>(server, 'disconnect')
  // A masked text frame with reserved bit 2 set: no extension defines it.
  peer.socket.write(Buffer.from([0xa1, 0x81, 0, 0, 0, 0, 0x61]))
  const [, , error] = await disconnected
  t.match(error, { code: 'WS_ERR_UNEXPECTED_RSV' })
  // The server has sent its CLOSE (1002) and its FIN; the raw peer has answered neither yet.
  t.equal(server.readyState, ReadyState.CLOSING, 'CLOSING while the failed connection waits for the peer to go')
  peer.socket.destroy()
  await closedWithin(rec)
  t.equal(server.readyState, ReadyState.CLOSED)
  t.equal(rec.errors[0]?.code, 'WS_ERR_UNEXPECTED_RSV', "the failure is reported by 'error'")
})

t.test('a TCP connection dropped without a CLOSE makes the connection CLOSED', async (t) => {
  const { client, server, cleanup } = await pair()
  t.teardown(cleanup)
  const rec = record(client)
  server.socket.destroy()
  await closedWithin(rec)
  t.equal(client.readyState, ReadyState.CLOSED)
  t.equal(client.closeCode, 1006)
})

t.test('destroy() makes the connection CLOSED at once', async (t) => {
  const { client, cleanup } = await pair()
  t.teardown(cleanup)
  client.destroy()
  t.equal(client.readyState, ReadyState.CLOSED)
})
