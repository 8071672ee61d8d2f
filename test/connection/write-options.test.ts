/**
 * Per-message write options, as a specification, seen on the wire by a raw
 * client: `write(message, { compress })` overrides the threshold for one
 * message when permessage-deflate was negotiated, changes nothing when it
 * was not, keeps text as text and binary as binary, and a bad option is
 * refused before anything is written. The original API's send() takes the
 * same options.
 */
import { constants, inflateRawSync } from 'node:zlib'
import t, { type Test } from 'tap'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import type { WatershedConnection } from '../../lib/compat/watershed'
import { asText } from '../../lib/protocol/text-bytes'
import { TAIL } from '../helpers/compression'
import { documentedServer } from '../helpers/original-api'
import { serve } from '../helpers/ws-pair'
import { type WireFrame, WireReader, rawConnect } from '../helpers/ws-raw'
import { until } from '../helpers/ws-wait'

const BIG = JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ id: i, name: `item ${i}` })))

// Each compressed message inflates alone: the client asks the server not to take its context over.
const OFFER = { 'Sec-WebSocket-Extensions': 'permessage-deflate; server_no_context_takeover' }

/** A server connection of ours, and a raw client reading its frames. */
async function connection(t: Test, perMessageDeflate: boolean, offer: Record<string, string> = OFFER) {
  const accepted: WebSocketDuplex[] = []
  const listening = await serve({ perMessageDeflate }, (ws) => {
    ws.on('error', () => {})
    accepted.push(ws)
  })
  t.teardown(() => listening.close())
  const raw = await rawConnect(listening.port, offer)
  t.teardown(() => raw.socket.destroy())
  const reader = new WireReader(raw.socket, 'client', { allowRsv1: true })
  await until(() => accepted.length === 1, 5000, 'accepted')
  return { ws: accepted[0], reader, response: raw.response }
}

/** What a frame says: type, whether compressed, and its message. */
function seen(frame: WireFrame): string {
  const type = frame.opcode === 1 ? 'text' : frame.opcode === 2 ? 'binary' : `opcode ${frame.opcode}`
  const bytes = frame.rsv1 ? inflateRawSync(Buffer.concat([frame.payload, TAIL]), { finishFlush: constants.Z_SYNC_FLUSH }) : frame.payload
  const body = bytes.length > 16 ? `${bytes.length} B` : bytes.toString()
  return `${type} ${frame.rsv1 ? 'compressed' : 'plain'} ${body}`
}

t.test('with permessage-deflate: { compress } decides for one message, the threshold for the rest', async (t) => {
  const { ws, reader, response } = await connection(t, true)
  t.match(response, /\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover(\r\n|$)/i)
  t.equal(ws.extensions, 'permessage-deflate; server_no_context_takeover', 'the connection says what was settled')
  const bytes = Buffer.alloc(4096, 7)
  const callbacks: unknown[] = []
  ws.write(BIG, { compress: false }, (error) => callbacks.push(error ?? 'ok'))
  ws.write(BIG)
  ws.write('tiny', { compress: true })
  ws.write('tiny')
  ws.write(bytes, { compress: false })
  ws.write(bytes)
  ws.write(bytes, {})
  ws.write(asText(Buffer.from('héllo')), { compress: true })
  await reader.waitFor(() => reader.frames.length === 8, 5000, 'eight frames')
  t.same(reader.frames.map(seen), [
    `text plain ${Buffer.byteLength(BIG)} B`,
    `text compressed ${Buffer.byteLength(BIG)} B`,
    'text compressed tiny',
    'text plain tiny',
    'binary plain 4096 B',
    'binary compressed 4096 B',
    'binary compressed 4096 B',
    'text compressed héllo',
  ])
  t.same(callbacks, ['ok'], 'the write callback is called')
})

t.test('the same Buffer written twice with two choices keeps each choice', async (t) => {
  const { ws, reader } = await connection(t, true)
  const bytes = Buffer.alloc(2000, 1)
  ws.write(bytes, { compress: true })
  ws.write(bytes, { compress: false })
  ws.write(bytes, { compress: true })
  await reader.waitFor(() => reader.frames.length === 3, 5000, 'three frames')
  t.same(reader.frames.map((f) => f.rsv1), [true, false, true])
  t.same(reader.frames.map(seen), ['binary compressed 2000 B', 'binary plain 2000 B', 'binary compressed 2000 B'])
})

t.test('without permessage-deflate the option changes nothing', async (t) => {
  const { ws, reader, response } = await connection(t, false)
  t.notMatch(response, /permessage-deflate/)
  t.equal(ws.extensions, '')
  ws.write(BIG, { compress: true })
  ws.write('tiny', { compress: false })
  await reader.waitFor(() => reader.frames.length === 2, 5000, 'two frames')
  t.same(reader.frames.map(seen), [`text plain ${Buffer.byteLength(BIG)} B`, 'text plain tiny'])
})

t.test('a bad option is refused before anything is written', async (t) => {
  const { ws, reader } = await connection(t, true)
  for (const compress of ['no', 1, null]) {
    t.throws(() => ws.write('x', { compress } as never), TypeError, `compress: ${String(compress)}`)
  }
  ws.write('after')
  await reader.waitFor(() => reader.frames.length === 1, 5000, 'one frame')
  t.same(reader.frames.map(seen), ['text plain after'], 'only the good write went out')
})

t.test("the original API's send() takes the same options", async (t) => {
  const sent: boolean[] = []
  const server = await documentedServer(t, {
    options: { perMessageDeflate: true },
    onConnection: (wsc: WatershedConnection) => {
      sent.push(wsc.send(BIG, { compress: false }), wsc.send(BIG), wsc.send('tiny', { compress: true }))
    },
  })
  const raw = await rawConnect(server.port, OFFER)
  t.teardown(() => raw.socket.destroy())
  const reader = new WireReader(raw.socket, 'client', { allowRsv1: true })
  await reader.waitFor(() => reader.frames.length === 3, 5000, 'three frames')
  t.same(reader.frames.map(seen), [
    `text plain ${Buffer.byteLength(BIG)} B`,
    `text compressed ${Buffer.byteLength(BIG)} B`,
    'text compressed tiny',
  ])
  t.same(sent, [true, true, true])
})
