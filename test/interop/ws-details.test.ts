/**
 * Interoperability with the `ws` package: our server with a ws client, and
 * our client with a ws server.
 */
import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import WebSocket, { WebSocketServer } from 'ws'
import { connect } from '../../lib/handshake/client'
import type { AcceptOptions } from '../../lib/handshake/server'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { serve } from '../helpers/ws-pair'
import { closedWithin, nextEvent, record, until, within } from '../helpers/ws-wait'
import { wsClosed, wsReceived } from '../helpers/ws-peer'



/** Our server and a ws client connected to it. */
async function ourServerWsClient(options: AcceptOptions = {}, protocols?: string[]) {
  let resolveServer!: (ws: WebSocketDuplex) => void
  const accepted = new Promise<WebSocketDuplex>((resolve) => {
    resolveServer = resolve
  })
  const listening = await serve(options, (ws) => resolveServer(ws))
  const client = new WebSocket(listening.url, protocols)
  client.on('error', () => {})
  await nextEvent(client, 'open')
  const server = await within(accepted, 5000, 'accept')
  const cleanup = async () => {
    client.terminate()
    server.on('error', () => {})
    server.destroy()
    await listening.close()
  }
  return { server, client, cleanup }
}

/** A ws server and our client connected to it. */
async function wsServerOurClient(serverOptions: ConstructorParameters<typeof WebSocketServer>[0] = {}, protocols?: string[]) {
  const wss = new WebSocketServer({ ...serverOptions, host: '127.0.0.1', port: 0 })
  await nextEvent(wss, 'listening')
  const accepted = nextEvent<[WebSocket]>(wss, 'connection')
  const port = (wss.address() as AddressInfo).port
  const client = await within(connect(`ws://127.0.0.1:${port}/`, { protocols }), 5000, 'connect')
  const [server] = await accepted
  server.on('error', () => {})
  const cleanup = async () => {
    client.on('error', () => {})
    client.destroy()
    for (const ws of wss.clients) ws.terminate()
    await new Promise((resolve) => wss.close(resolve))
  }
  return { server, client, cleanup }
}

t.test('our server with a ws client', async (t) => {
  t.test('text, binary and 1 MiB messages both ways', async (t) => {
    const { server, client, cleanup } = await ourServerWsClient()
    t.teardown(cleanup)
    const s = record(server)
    const c = wsReceived(client)
    const large = randomBytes(1024 * 1024)
    const largeText = 'ü'.repeat(512 * 1024)
    client.send('hello from ws')
    client.send(Buffer.from([1, 2, 3]))
    client.send(large)
    client.send(largeText)
    server.write('hello from watershed')
    server.write(Buffer.from([4, 5]))
    server.write(large)
    server.write(largeText)
    await until(() => s.messages.length === 4 && c.length === 4, 10000, 'all messages')
    t.strictSame(s.messages.slice(0, 2), ['hello from ws', Buffer.from([1, 2, 3])])
    t.ok(large.equals(s.messages[2] as Buffer), '1 MiB binary to our server')
    t.equal(s.messages[3], largeText, '1 MiB text to our server')
    t.strictSame(c.slice(0, 2), ['hello from watershed', Buffer.from([4, 5])])
    t.ok(large.equals(c[2] as Buffer), '1 MiB binary to the ws client')
    t.equal(c[3], largeText, '1 MiB text to the ws client')
  })

  t.test('fragmented messages from ws are joined', async (t) => {
    const { server, client, cleanup } = await ourServerWsClient()
    t.teardown(cleanup)
    const s = record(server)
    client.send('frag', { fin: false })
    client.send('men', { fin: false })
    client.ping('between the fragments')
    client.send('ted', { fin: true })
    client.send(Buffer.from([1, 2]), { binary: true, fin: false })
    client.send(Buffer.from([3]), { binary: true, fin: true })
    await until(() => s.messages.length === 2, 5000, 'two messages')
    t.strictSame(s.messages, ['fragmented', Buffer.from([1, 2, 3])])
    t.strictSame(s.pings.map(String), ['between the fragments'])
  })

  t.test('pings from either side get the other side’s pong', async (t) => {
    const { server, client, cleanup } = await ourServerWsClient()
    t.teardown(cleanup)
    server.resume()
    const serverPing = nextEvent<[Buffer]>(server, 'ping')
    const clientPong = nextEvent<[Buffer]>(client, 'pong')
    client.ping('from ws')
    t.equal((await serverPing)[0].toString(), 'from ws')
    t.equal((await clientPong)[0].toString(), 'from ws', 'ws saw our automatic pong')
    const clientPing = nextEvent<[Buffer]>(client, 'ping')
    const serverPong = nextEvent<[Buffer]>(server, 'pong')
    server.ping('from watershed')
    t.equal((await clientPing)[0].toString(), 'from watershed')
    t.equal((await serverPong)[0].toString(), 'from watershed', "we saw ws's pong")
  })

  t.test('the ws client closes with a code and reason', async (t) => {
    const { server, client, cleanup } = await ourServerWsClient()
    t.teardown(cleanup)
    const s = record(server)
    const clientClosed = wsClosed(client)
    client.close(4001, 'ws says bye')
    t.strictSame(await closedWithin(s), [4001, 'ws says bye'], "our server's close")
    t.strictSame(s.closing, [[4001, 'ws says bye']])
    const [code] = await clientClosed
    t.equal(code, 4001, 'ws got our echo of its code')
  })

  t.test('our server closes with a code and reason', async (t) => {
    const { server, client, cleanup } = await ourServerWsClient()
    t.teardown(cleanup)
    const s = record(server)
    const clientClosed = wsClosed(client)
    server.close(4002, 'watershed says bye')
    t.strictSame(await clientClosed, [4002, 'watershed says bye'], "the ws client's close")
    const [code, reason] = await closedWithin(s)
    t.equal(code, 4002, "ws's echoed code")
    t.equal(reason, 'watershed says bye', "ws's echoed reason")
  })

  t.test('subprotocol negotiation', async (t) => {
    const chosen = await ourServerWsClient({ protocols: ['chat.v2', 'chat.v1'] }, ['chat.v1', 'chat.v2'])
    t.equal(chosen.server.protocol, 'chat.v1', "the client's first supported choice")
    t.equal(chosen.client.protocol, 'chat.v1')
    await chosen.cleanup()
    // (ws itself refuses a 101 without a protocol when it offered some, so it offers none here.)
    const none = await ourServerWsClient({ protocols: ['chat.v1'] })
    t.equal(none.server.protocol, null, 'none offered: none chosen')
    t.equal(none.client.protocol, '')
    await none.cleanup()
    const picked = await ourServerWsClient({ protocols: (offered) => offered.at(-1) ?? null }, ['a', 'b', 'c'])
    t.equal(picked.server.protocol, 'c', 'a selector function picks')
    t.equal(picked.client.protocol, 'c')
    await picked.cleanup()
  })
})

t.test('our client with a ws server', async (t) => {
  t.test('text, binary and 1 MiB messages both ways', async (t) => {
    const { server, client, cleanup } = await wsServerOurClient()
    t.teardown(cleanup)
    const s = wsReceived(server)
    const c = record(client)
    const large = randomBytes(1024 * 1024)
    client.write('hello from watershed')
    client.write(Buffer.from([1, 2, 3]))
    client.write(large)
    server.send('hello from ws')
    server.send(Buffer.from([4, 5]))
    server.send(large)
    await until(() => s.length === 3 && c.messages.length === 3, 10000, 'all messages')
    t.strictSame(s.slice(0, 2), ['hello from watershed', Buffer.from([1, 2, 3])])
    t.ok(large.equals(s[2] as Buffer), '1 MiB to the ws server')
    t.strictSame(c.messages.slice(0, 2), ['hello from ws', Buffer.from([4, 5])])
    t.ok(large.equals(c.messages[2] as Buffer), '1 MiB to our client')
  })

  t.test('fragmented messages from ws are joined', async (t) => {
    const { server, client, cleanup } = await wsServerOurClient()
    t.teardown(cleanup)
    const c = record(client)
    server.send('a', { fin: false })
    server.send('b', { fin: false })
    server.send('c', { fin: true })
    await until(() => c.messages.length === 1, 5000, 'the message')
    t.strictSame(c.messages, ['abc'])
  })

  t.test('pings from either side get the other side’s pong', async (t) => {
    const { server, client, cleanup } = await wsServerOurClient()
    t.teardown(cleanup)
    client.resume()
    const clientPing = nextEvent<[Buffer]>(client, 'ping')
    const serverPong = nextEvent<[Buffer]>(server, 'pong')
    server.ping('from ws')
    t.equal((await clientPing)[0].toString(), 'from ws')
    t.equal((await serverPong)[0].toString(), 'from ws', 'ws saw our automatic pong')
    const serverPing = nextEvent<[Buffer]>(server, 'ping')
    const clientPong = nextEvent<[Buffer]>(client, 'pong')
    client.ping('from watershed')
    t.equal((await serverPing)[0].toString(), 'from watershed')
    t.equal((await clientPong)[0].toString(), 'from watershed', "we saw ws's pong")
  })

  t.test('our client closes with a code and reason', async (t) => {
    const { server, client, cleanup } = await wsServerOurClient()
    t.teardown(cleanup)
    const c = record(client)
    const serverClosed = wsClosed(server)
    client.close(4003, 'watershed client leaves')
    t.strictSame(await serverClosed, [4003, 'watershed client leaves'], "the ws server's close")
    const [code, reason] = await closedWithin(c)
    t.equal(code, 4003, "ws's echoed code")
    t.equal(reason, 'watershed client leaves', "ws's echoed reason")
  })

  t.test('the ws server closes with a code and reason', async (t) => {
    const { server, client, cleanup } = await wsServerOurClient()
    t.teardown(cleanup)
    const c = record(client)
    const serverClosed = wsClosed(server)
    server.close(4004, 'ws server leaves')
    t.strictSame(await closedWithin(c), [4004, 'ws server leaves'], "our client's close")
    t.strictSame(c.closing, [[4004, 'ws server leaves']])
    const [code] = await serverClosed
    t.equal(code, 4004, 'ws got our echo of its code')
  })

  t.test('subprotocol negotiation', async (t) => {
    const chosen = await wsServerOurClient({ handleProtocols: (offered) => (offered.has('v2') ? 'v2' : false) }, ['v1', 'v2'])
    t.equal(chosen.client.protocol, 'v2', 'the server’s choice')
    t.equal(chosen.server.protocol, 'v2')
    await chosen.cleanup()
    const none = await wsServerOurClient({ handleProtocols: () => false }, ['v1'])
    t.equal(none.client.protocol, null, 'the server chose none')
    t.equal(none.server.protocol, '')
    await none.cleanup()
  })

  t.test('a ws server choosing a protocol we did not offer fails the handshake', async (t) => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => 'unoffered' })
    t.teardown(() => new Promise((resolve) => wss.close(resolve)))
    await nextEvent(wss, 'listening')
    wss.on('connection', (ws) => ws.on('error', () => {}))
    const port = (wss.address() as AddressInfo).port
    await t.rejects(within(connect(`ws://127.0.0.1:${port}/`, { protocols: ['offered'] }), 5000, 'connect'), {
      code: 'WS_ERR_HANDSHAKE',
    })
    for (const ws of wss.clients) ws.terminate()
  })
})
