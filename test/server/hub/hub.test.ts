/**
 * The hub in one process, with no broker: groups of real connections (our
 * server, our client, over TCP), publish to members only, join and leave,
 * leaving on close, text and binary, one encoding per publish.
 */
import type { IncomingMessage } from 'node:http'
import t, { type Test } from 'tap'
import { connect } from '../../../lib/handshake/client'
import type { WebSocketDuplex } from '../../../lib/connection/websocket-duplex'
import { Hub } from '../../../lib/server/hub/hub'
import { PreparedMessage } from '../../../lib/protocol/prepared-message'
import { asText } from '../../../lib/protocol/text-bytes'
import { channels } from '../../../lib/connection/diagnostics'
import { serve } from '../../helpers/ws-pair'
import { rawConnect, WireReader } from '../../helpers/ws-raw'
import { nextEvent, record, until, within } from '../../helpers/ws-wait'

/** A server whose connections the test gets by the path they asked for, and clients that record what they read. */
async function room(t: Test, accept: { perMessageDeflate?: boolean } = {}) {
  const accepted = new Map<string, WebSocketDuplex>()
  const listening = await serve(accept, (ws: WebSocketDuplex, req: IncomingMessage) => {
    ws.on('error', () => {})
    accepted.set(req.url!, ws)
  })
  t.teardown(() => listening.close())
  /** Connects as `name`; returns the client's recording and the server's end of it. */
  const client = async (name: string) => {
    const ws = await within(connect(`${listening.url}${name}`), 5000, `connect ${name}`)
    t.teardown(() => void ws.destroy())
    await until(() => accepted.has(`/${name}`), 5000, `the server accepts ${name}`)
    return { client: ws, rec: record(ws), server: accepted.get(`/${name}`)! }
  }
  return { listening, accepted, client }
}

t.test('publish reaches the members of the topic, and nobody else', async (t) => {
  const hub = new Hub()
  const { client } = await room(t)
  const alice = await client('alice')
  const bob = await client('bob')
  const carol = await client('carol')
  await hub.join(alice.server, 'news')
  await hub.join(bob.server, 'news')
  await hub.join(carol.server, 'sport')

  t.equal(hub.publish('news', 'extra! extra!'), 2, 'publish says how many connections it wrote to')
  t.equal(hub.publish('sport', 'goal'), 1)
  t.equal(hub.publish('weather', 'rain'), 0, 'a topic without members reaches no one')
  await until(() => alice.rec.messages.length === 1 && bob.rec.messages.length === 1 && carol.rec.messages.length === 1, 5000, 'every member has its message')
  t.same(alice.rec.messages, ['extra! extra!'])
  t.same(bob.rec.messages, ['extra! extra!'])
  t.same(carol.rec.messages, ['goal'])
  t.equal(hub.size('news'), 2)
  t.same(hub.topicsOf(carol.server), ['sport'])
  t.match(hub.stats, { published: 3, delivered: 3, dropped: 0 })
})

t.test('text stays text and binary stays binary, in publish order', async (t) => {
  const hub = new Hub()
  const { client } = await room(t)
  const a = await client('a')
  await hub.join(a.server, 'mixed')
  hub.publish('mixed', 'ünïcödé ✓')
  hub.publish('mixed', Buffer.from([0xde, 0xad, 0xbe, 0xef]))
  hub.publish('mixed', new Uint8Array([1, 2, 3]))
  hub.publish('mixed', asText(Buffer.from('bytes marked as text')))
  hub.publish('mixed', new PreparedMessage(asText(Buffer.alloc(100_000, 0x61))))
  hub.publish('mixed', '')
  await until(() => a.rec.messages.length === 6, 5000, 'six messages')
  const [text, binary, bytes, marked, large, empty] = a.rec.messages
  t.equal(text, 'ünïcödé ✓')
  t.ok(Buffer.isBuffer(binary) && (binary as Buffer).equals(Buffer.from([0xde, 0xad, 0xbe, 0xef])), 'a Buffer is binary')
  t.ok(Buffer.isBuffer(bytes) && (bytes as Buffer).equals(Buffer.from([1, 2, 3])), 'a Uint8Array is binary')
  t.equal(marked, 'bytes marked as text')
  t.equal(large, 'a'.repeat(100_000), 'a prepared 100 KB message arrives whole')
  t.equal(empty, '')
})

t.test('leave(ws, topic) leaves one topic, leave(ws) every topic; joining twice is joining once', async (t) => {
  const hub = new Hub()
  const { client } = await room(t)
  const a = await client('a')
  await hub.join(a.server, 'one')
  await hub.join(a.server, 'one')
  await hub.join(a.server, 'two')
  await hub.join(a.server, 'three')
  t.equal(hub.publish('one', '1'), 1, 'one delivery for a connection that joined twice')
  hub.leave(a.server, 'one')
  t.equal(hub.publish('one', 'lost'), 0)
  t.same(hub.topicsOf(a.server).sort(), ['three', 'two'])
  hub.publish('two', '2')
  hub.leave(a.server)
  t.same(hub.topicsOf(a.server), [])
  t.equal(hub.publish('three', 'lost too'), 0)
  t.equal(hub.size('two') + hub.size('three'), 0)
  await until(() => a.rec.messages.length === 2, 5000, 'two messages')
  // Anything published after leaving would have arrived by the time this echo-free round trip ends.
  a.client.ping('x')
  await nextEvent(a.client, 'pong')
  t.same(a.rec.messages, ['1', '2'])
  hub.leave(a.server, 'never joined')
  t.pass('leaving a topic never joined is no error')
})

t.test('a connection that closes leaves every group by itself', async (t) => {
  const hub = new Hub()
  const { client } = await room(t)
  const a = await client('a')
  const b = await client('b')
  await hub.join(a.server, 'room')
  await hub.join(a.server, 'lobby')
  await hub.join(b.server, 'room')
  a.client.close(1000, 'bye')
  await within(a.rec.closed, 5000, 'a closes')
  await until(() => hub.size('room') === 1, 5000, 'a has left room')
  t.equal(hub.size('lobby'), 0, 'and lobby')
  t.same(hub.topicsOf(a.server), [])
  t.equal(hub.publish('room', 'still here'), 1)
  await until(() => b.rec.messages.length === 1, 5000, 'b gets it')

  // A connection that is dropped without a closing handshake leaves too.
  b.client.socket.destroy()
  await until(() => hub.size('room') === 0, 5000, 'b has left room')
  t.equal(hub.publish('room', 'nobody'), 0)
})

t.test('a connection already closing is not joined and not written to', async (t) => {
  const hub = new Hub()
  const { client } = await room(t)
  const a = await client('a')
  await hub.join(a.server, 'room')
  a.server.close(1001, 'going away')
  const errors: Error[] = []
  a.server.on('error', (error: Error) => errors.push(error))
  t.equal(hub.publish('room', 'too late'), 0, 'a member whose write side has ended is skipped')
  await hub.join(a.server, 'other')
  t.equal(hub.size('other'), 0)
  t.same(await within(a.rec.closed, 5000, 'close'), [1001, 'going away'])
  t.same(a.rec.messages, [], 'nothing was sent after the CLOSE')
  t.same(errors, [], 'and no write-after-close error was provoked')
})

t.test('each publish is encoded once: every connection sends the same frame buffer', async (t) => {
  const hub = new Hub()
  const { client } = await room(t)
  const members = await Promise.all(['a', 'b', 'c', 'd'].map(client))
  for (const m of members) await hub.join(m.server, 'room')
  const message = new PreparedMessage('x'.repeat(500))
  const sent: unknown[] = []
  const onSent = ({ data }: { data: unknown }) => sent.push(data)
  channels.sent.subscribe(onSent as never)
  t.teardown(() => channels.sent.unsubscribe(onSent as never))
  // What the sockets are given: the one frame buffer, four times (no per-connection copy).
  const written: Buffer[] = []
  for (const m of members) {
    const original = m.server.socket.write.bind(m.server.socket)
    m.server.socket.write = ((chunk: Buffer, ...rest: never[]) => {
      written.push(chunk)
      return original(chunk, ...rest)
    }) as typeof m.server.socket.write
  }
  hub.publish('room', message)
  const frames = message.frames()
  t.equal(frames.length, 1)
  await until(() => members.every((m) => m.rec.messages.length === 1), 5000, 'everyone has it')
  t.equal(sent.length, 4, 'four sends')
  t.equal(written.length, 4)
  t.ok(written.every((chunk) => chunk === frames[0]), 'each socket was handed the same frame buffer')
})

t.test('connections with permessage-deflate get hub messages uncompressed (RSV1 clear)', async (t) => {
  const hub = new Hub()
  const { listening, accepted } = await room(t, { perMessageDeflate: true })
  const raw = await rawConnect(listening.port, { 'Sec-WebSocket-Extensions': 'permessage-deflate' })
  t.teardown(() => raw.socket.destroy())
  t.match(raw.response, /sec-websocket-extensions: permessage-deflate/i, 'compression was negotiated')
  const reader = new WireReader(raw.socket, 'client', { allowRsv1: true })
  await until(() => accepted.has('/'), 5000, 'the server has the connection')
  const server = accepted.get('/')!
  await hub.join(server, 'room')
  hub.publish('room', 'a'.repeat(4096))
  await reader.waitFor(() => reader.frames.length === 1, 5000, 'the frame')
  t.equal(reader.frames[0].rsv1, false, 'not compressed')
  t.equal(reader.frames[0].payload.toString(), 'a'.repeat(4096))
  // The same connection still compresses what is written to it directly.
  server.write('b'.repeat(4096))
  await reader.waitFor(() => reader.frames.length === 2, 5000, 'the second frame')
  t.equal(reader.frames[1].rsv1, true, 'a direct write is compressed')
  t.ok(reader.frames[1].payload.length < 100)
})

t.test('bad arguments are TypeErrors and RangeErrors, before anything is joined or sent', async (t) => {
  t.throws(() => new Hub({ outboundBudget: 0 }), RangeError)
  t.throws(() => new Hub({ outboundBudget: 1.5 }), RangeError)
  t.throws(() => new Hub({ slowConsumer: 'wait' as never }), TypeError)
  t.throws(() => new Hub({ slowCloseCode: 1000 as never }), RangeError)
  t.throws(() => new Hub({ slowCloseTimeout: -1 }), RangeError)
  t.throws(() => new Hub({ broker: {} as never }), /no start\(\)/)
  t.throws(() => new Hub(null as never), TypeError)
  const hub = new Hub()
  const { client } = await room(t)
  const a = await client('a')
  t.throws(() => hub.join(a.server, ''), TypeError)
  t.throws(() => hub.join(a.server, 7 as never), TypeError)
  t.throws(() => hub.join({} as never, 'x'), TypeError)
  t.throws(() => hub.publish('', 'x'), TypeError)
  t.throws(() => hub.publish('x', 42 as never), TypeError)
  t.throws(() => hub.publish('x', { hello: 1 } as never), TypeError)
  t.same(hub.topicsOf(a.server), [])
  t.match(hub.stats, { published: 0 })
  await hub.close()
  t.throws(() => hub.publish('x', 'y'), /closed/)
})

