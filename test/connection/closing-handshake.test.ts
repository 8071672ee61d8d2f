/**
 * How the read side's end, the write side's end and the closing handshake fit
 * together: the peer's CLOSE ends the read side, the reader reads past it,
 * and only then does our CLOSE answer it (unless the duplex is half-open).
 */
import { once } from 'node:events'
import t, { type Test } from 'tap'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { clientFrame } from '../helpers/frames'
import { pair, serve } from '../helpers/ws-pair'
import { closeBody, rawConnect } from '../helpers/ws-raw'
import { delay, nextEvent, within } from '../helpers/ws-wait'

t.test('a plain echo loop answers every message that came just before the peer CLOSE', async (t) => {
  const p = await pair()
  t.teardown(p.cleanup)
  const errors: Error[] = []
  p.server.on('error', (error) => errors.push(error))
  const echoing = (async () => {
    for await (const message of p.server) p.server.write(message)
  })()
  const received: unknown[] = []
  p.client.on('data', (message) => received.push(message))
  // Both messages and the CLOSE leave in one burst, so they arrive together.
  p.client.write('a')
  p.client.write(Buffer.from('b'))
  p.client.close(4000, 'bye')
  const [code, reason] = await nextEvent<[number, string]>(p.client, 'close')
  await within(echoing, 5000, 'the echo loop to end')
  t.same(received, ['a', Buffer.from('b')], 'both echoes went out before our CLOSE')
  t.equal(code, 4000, 'the server answered with the client code')
  t.equal(reason, '')
  t.same(errors, [], 'no write failed')
})

t.test('the CLOSE is answered only once the reader has read past it', async (t) => {
  const p = await pair()
  t.teardown(p.cleanup)
  p.client.resume()
  p.client.write('unread')
  p.client.close(1000)
  await nextEvent(p.server, 'closing')
  await delay(50)
  t.equal(p.server.writableEnded, false, 'the write side is still open while a message waits to be read')
  t.equal(p.server.read(), 'unread')
  t.equal(p.server.read(), null)
  await nextEvent(p.server, 'end')
  const [code] = await nextEvent<[number]>(p.client, 'close')
  t.equal(code, 1000)
})

t.test("end()'s callback and 'finish' come once the connection has closed", async (t) => {
  const p = await pair()
  t.teardown(p.cleanup)
  p.server.resume()
  p.client.resume()
  let socketClosedFirst = false
  const closed = nextEvent(p.client, 'close')
  const finished = new Promise<void>((resolve) => p.client.end(() => {
    socketClosedFirst = p.client.socket.destroyed
    resolve()
  }))
  await within(finished, 5000, "end()'s callback")
  t.ok(socketClosedFirst, 'the TCP connection had closed when end() called back')
  await closed
})

t.test('allowHalfOpen keeps the write side open after the peer CLOSE until end()', async (t) => {
  const p = await pair({ server: { allowHalfOpen: true, closeTimeout: 5000 } })
  t.teardown(p.cleanup)
  const received: unknown[] = []
  p.client.on('data', (message) => received.push(message))
  p.server.resume()
  p.client.close(4001, 'done sending')
  await once(p.server, 'end')
  await delay(50)
  t.equal(p.server.writableEnded, false, 'still writable after the read side ended')
  p.server.write('a last word')
  p.server.end()
  const [code] = await nextEvent<[number]>(p.client, 'close')
  t.same(received, ['a last word'], 'sent after the CLOSE arrived, before our answer')
  t.equal(code, 4001)
})

t.test('a half-open duplex that never ends is closed by closeTimeout', async (t) => {
  const p = await pair({ server: { allowHalfOpen: true, closeTimeout: 200 } })
  t.teardown(p.cleanup)
  p.server.resume()
  p.client.resume()
  p.client.close(1000)
  const [code] = await within(once(p.server, 'close'), 3000, "the server's close")
  t.equal(code, 1000, 'it had received the CLOSE')
  t.ok(p.server.socket.destroyed)
})

/** Our server duplex, a raw client socket talking to it, and the errors the duplex emits. */
async function rawClientOfOurServer(t: Test) {
  let accepted!: (ws: WebSocketDuplex) => void
  const connection = new Promise<WebSocketDuplex>((resolve) => (accepted = resolve))
  const listening = await serve({}, (ws) => accepted(ws))
  t.teardown(() => listening.close())
  const raw = await rawConnect(listening.port)
  const server = await within(connection, 5000, 'accept')
  const errors: Error[] = []
  server.on('error', (error: Error) => errors.push(error))
  return { raw, server, errors }
}

t.test('a peer that resets TCP right after its CLOSE (a browser leaving the page) causes no error', async (t) => {
  const { raw, server, errors } = await rawClientOfOurServer(t)
  server.resume()
  // Not events.once(): that would reject on the socket's own reset error.
  const tcpClosed = new Promise<[boolean]>((resolve) => server.socket.once('close', (hadError: boolean) => resolve([hadError])))
  raw.socket.write(clientFrame({ opcode: 0x8, payload: closeBody(1001, 'page gone') }), () => raw.socket.resetAndDestroy())
  const [code, reason] = await nextEvent<[number, string]>(server, 'close')
  const [hadError] = await tcpClosed
  t.equal(code, 1001)
  t.equal(reason, 'page gone')
  t.same(errors, [], "after the peer's CLOSE a reset is not an error")
  t.equal(hadError, true, 'the reset did reach the server (what this test is about)')
})

t.test('a connection nobody reads still answers the CLOSE and gets to close', async (t) => {
  const p = await pair()
  t.teardown(p.cleanup)
  // The server only writes (a broadcast); it never reads, resumes or iterates.
  p.server.write('news')
  const [news] = await nextEvent<[string]>(p.client, 'data')
  t.equal(news, 'news')
  p.client.close(4000, 'leaving')
  const [code] = await nextEvent<[number]>(p.client, 'close')
  t.equal(code, 4000, 'the unread server answered the CLOSE')
  const [serverCode, reason] = await nextEvent<[number, string]>(p.server, 'close')
  t.same([serverCode, reason], [4000, 'leaving'], "the server's 'close' came, with the client's code")
})

t.test('a reset after the peer CLOSE, while our answer waits behind an unread message, is no error', async (t) => {
  const { raw, server, errors } = await rawClientOfOurServer(t)
  const closing = nextEvent(server, 'closing')
  raw.socket.write(Buffer.concat([
    clientFrame({ opcode: 0x1, payload: Buffer.from('last words') }),
    clientFrame({ opcode: 0x8, payload: closeBody(1001) }),
  ]), () => raw.socket.resetAndDestroy())
  await closing
  await new Promise((resolve) => server.socket.once('close', resolve))
  t.equal(server.read(), 'last words', 'the message before the CLOSE is still there to read')
  server.resume()
  const [code] = await nextEvent<[number]>(server, 'close')
  t.equal(code, 1001)
  t.same(errors, [], 'the reset was no error')
})
