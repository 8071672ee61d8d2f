/**
 * Messages as streams with permessage-deflate, as a specification: a message
 * written from a source is compressed piece by piece (RSV1 on its first frame
 * only, every piece its own frame) and ws inflates it to the exact bytes,
 * with and without context takeover; `{ compress: false }` sends it as is; a
 * compressed message received in stream mode flows out as it inflates; and
 * 1 GiB each way, deflated and inflated as it flows, in constant memory.
 */
import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import WebSocket from 'ws'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import type { AcceptOptions } from '../../lib/handshake/server'
import type { MessageStream } from '../../lib/stages/message-stream'
import { gigabyteEachWay } from '../helpers/gigabyte'
import { MiB } from '../helpers/memory'
import { serve } from '../helpers/ws-pair'
import { WireReader, rawConnect } from '../helpers/ws-raw'
import { nextEvent, until } from '../helpers/ws-wait'

/** JSON-like text, compressible as real traffic is. */
const jsonChunk = (n: number) =>
  Buffer.from(Array.from({ length: n }, (_, i) => `{"id":${i},"name":"item ${i % 97}","tags":["a","b"]}`).join(','))

async function ourServer(t: Test, options: AcceptOptions) {
  const connections: WebSocketDuplex[] = []
  const listening = await serve(options, (ws) => {
    ws.on('error', () => {})
    connections.push(ws)
  })
  t.teardown(() => listening.close())
  return { ...listening, connections }
}

for (const [what, settings] of [
  ['context takeover', true],
  ['no context takeover', { serverNoContextTakeover: true, clientNoContextTakeover: true }],
] as const) {
  t.test(`a streamed message is compressed piece by piece; ws inflates it exactly (${what})`, async (t) => {
    const server = await ourServer(t, { perMessageDeflate: settings })
    const client = new WebSocket(server.url, { perMessageDeflate: true, maxPayload: 64 * MiB })
    t.teardown(() => client.terminate())
    const messages: Array<string | Buffer> = []
    client.on('message', (data: Buffer, isBinary: boolean) => messages.push(isBinary ? data : data.toString()))
    await nextEvent(client, 'open')
    await until(() => server.connections.length === 1, 5000, 'accepted')
    const ws = server.connections[0]
    const chunks = Array.from({ length: 64 }, (_, i) => jsonChunk(1000 + i))
    const before = ws.socket.bytesWritten
    ws.write(Readable.from(chunks), { text: true })
    ws.write(Readable.from(chunks), { text: true })
    await until(() => messages.length === 2, 10_000, 'both messages')
    const expected = Buffer.concat(chunks).toString()
    t.equal(messages[0], expected, 'the first message, exactly')
    t.equal(messages[1], expected, 'the second, after the first (the window carried over, or not, as agreed)')
    const wire = ws.socket.bytesWritten - before
    t.ok(wire < expected.length / 2, `${wire} bytes on the wire for 2 x ${expected.length} of text`)
  })
}

t.test('on the wire: RSV1 on the first frame only, a frame per piece; { compress: false } sends it as is', async (t) => {
  const server = await ourServer(t, { perMessageDeflate: true })
  const raw = await rawConnect(server.port, { 'Sec-WebSocket-Extensions': 'permessage-deflate' })
  t.teardown(() => raw.socket.destroy())
  const reader = new WireReader(raw.socket, 'client', { allowRsv1: true })
  await until(() => server.connections.length === 1, 5000, 'accepted')
  const ws = server.connections[0]
  ws.write(Readable.from([jsonChunk(100), jsonChunk(100)]))
  ws.write(Readable.from([jsonChunk(100)]), { compress: false })
  await reader.waitFor(() => reader.frames.length === 5, 5000, 'five frames')
  t.same(reader.frames.map((f) => `${f.opcode}${f.rsv1 ? ' rsv1' : ''}${f.fin ? ' fin' : ''}`), ['2 rsv1', '0', '0 fin', '2', '0 fin'])
  t.same(reader.frames[2].payload, Buffer.from([0]), 'the compressed message ends with an empty stored block')
  t.equal(reader.frames[3].payload.length, jsonChunk(100).length, 'uncompressed when asked')
})

t.test('a compressed message from ws is received as a stream while it inflates', async (t) => {
  const server = await ourServer(t, { perMessageDeflate: true, streamMessages: true, maxMessageSize: 1024 })
  const received: MessageStream[] = []
  const client = new WebSocket(server.url, { perMessageDeflate: true })
  t.teardown(() => client.terminate())
  await nextEvent(client, 'open')
  await until(() => server.connections.length === 1, 5000, 'accepted')
  server.connections[0].on('data', (message) => received.push(message as unknown as MessageStream))
  const text = jsonChunk(100_000).toString()
  client.send(text)
  await until(() => received.length === 1, 5000, 'the stream')
  t.equal(received[0].text, true)
  let chunks = 0
  let all = ''
  received[0].setEncoding('utf8')
  for await (const chunk of received[0]) {
    chunks++
    all += chunk
  }
  t.equal(all, text, `${text.length} characters, in ${chunks} pieces, past maxMessageSize 1024`)
  t.ok(chunks > 10, 'pieces as they inflated, not one whole message')
})

gigabyteEachWay(t, true)
