/**
 * Sending a message from a stream over real TCP, as a specification: a
 * Readable, an async generator or a WHATWG ReadableStream written to a
 * connection goes out as one fragmented message (frames as the bytes come,
 * an empty final frame), text or binary, split at fragmentSize; writes
 * after it wait; pongs interleave between its fragments; a reader that does
 * not read holds the source back; a source that fails, or bad text, closes
 * the connection with 1011 after the fragments already sent; a connection
 * that goes stops the source; 1 GiB each way in constant memory.
 */
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import t, { type Test } from 'tap'
import WebSocket from 'ws'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { connect } from '../../lib/handshake/client'
import type { AcceptOptions } from '../../lib/handshake/server'
import type { MessageStream } from '../../lib/stages/message-stream'
import { clientFrame } from '../helpers/frames'
import { gigabyteEachWay } from '../helpers/gigabyte'
import { MiB } from '../helpers/memory'
import { serve } from '../helpers/ws-pair'
import { WireReader, closeCodeOf, rawConnect } from '../helpers/ws-raw'
import { nextEvent, until } from '../helpers/ws-wait'

/** Our server; `onConnection` gets each connection. */
async function ourServer(t: Test, options: AcceptOptions, onConnection: (ws: WebSocketDuplex) => void) {
  const listening = await serve(options, (ws) => {
    ws.on('error', () => {})
    onConnection(ws)
  })
  t.teardown(() => listening.close())
  return listening
}

/** A raw client of our server reading its frames, and the server's side of the connection. */
async function rawPeer(t: Test, options: AcceptOptions = {}) {
  let server: WebSocketDuplex | null = null
  const listening = await ourServer(t, options, (ws) => (server = ws))
  const raw = await rawConnect(listening.port)
  t.teardown(() => raw.socket.destroy())
  await until(() => server !== null, 5000, 'accepted')
  return { ws: server! as WebSocketDuplex, socket: raw.socket, reader: new WireReader(raw.socket, 'client') }
}

/** A ws client of our server, collecting whole messages. */
async function wsPeer(t: Test, options: AcceptOptions = {}) {
  let server: WebSocketDuplex | null = null
  const listening = await ourServer(t, options, (ws) => (server = ws))
  const client = new WebSocket(listening.url)
  t.teardown(() => client.terminate())
  const messages: Array<string | Buffer> = []
  client.on('message', (data: Buffer, isBinary: boolean) => messages.push(isBinary ? data : data.toString()))
  await nextEvent(client, 'open')
  await until(() => server !== null, 5000, 'accepted')
  return { ws: server! as WebSocketDuplex, client, messages }
}

const describe = (f: { fin: boolean; opcode: number; payload: Buffer }) => `${f.opcode}${f.fin ? ' fin' : ''} ${f.payload.length}`

t.test('a Readable of Buffers goes out as one binary message, a frame per chunk, then an empty final frame', async (t) => {
  const { ws, reader } = await rawPeer(t)
  const done = new Promise<unknown>((resolve) => ws.write(Readable.from([Buffer.alloc(3, 1), Buffer.alloc(5, 2)]), resolve))
  t.equal(await done, undefined, 'the write callback: no error, once the message is out')
  await reader.waitFor(() => reader.frames.length === 3, 5000, 'three frames')
  t.same(reader.frames.map(describe), ['2 3', '0 5', '0 fin 0'])
})

t.test('strings make a text message; a surrogate pair cut between chunks arrives whole', async (t) => {
  const { ws, messages } = await wsPeer(t)
  async function* lines() {
    yield 'one, '
    yield 'two \ud83d'
    yield '\ude00 three'
  }
  ws.write(lines())
  await until(() => messages.length === 1, 5000, 'the message')
  t.equal(messages[0], 'one, two 😀 three')
})

t.test('{ text: true } sends bytes as text, checked as UTF-8; { text: false } strings as binary', async (t) => {
  const { ws, messages } = await wsPeer(t)
  ws.write(Readable.from([Buffer.from('h\xc3'.slice(0, 1)), Buffer.from([0xc3]), Buffer.from([0xa9])]), { text: true })
  ws.write(Readable.from(['as bytes']), { text: false })
  await until(() => messages.length === 2, 5000, 'two messages')
  t.equal(messages[0], 'hé', 'a character cut between chunks is fine')
  t.same(messages[1], Buffer.from('as bytes'))
})

t.test('bad text from a source closes with 1011 after the fragments already sent', async (t) => {
  const { ws, reader } = await rawPeer(t)
  const errors: Array<Error & { code?: string }> = []
  ws.on('error', (error) => errors.push(error))
  const callback = new Promise<Error & { code?: string }>((resolve) =>
    ws.write(Readable.from([Buffer.from('fine'), Buffer.from([0xff])]), { text: true }, (error) => resolve(error as Error)),
  )
  t.equal((await callback).code, 'WS_ERR_SOURCE_FAILED')
  await reader.waitFor(() => reader.frameWith(0x8) !== undefined, 5000, 'the CLOSE')
  t.same(reader.frames.map(describe), ['1 4', '8 fin 2'], 'the good fragment, then CLOSE; never the bad bytes nor a FIN')
  t.equal(closeCodeOf(reader.frameWith(0x8)!), 1011)
  await until(() => errors.length > 0, 5000, 'the error')
  t.equal(errors[0].code, 'WS_ERR_SOURCE_FAILED')
})

t.test('a source that fails midway: the peer sees the message cut by a CLOSE 1011', async (t) => {
  const { ws, client, messages } = await wsPeer(t)
  async function* failing() {
    yield Buffer.alloc(100)
    throw new Error('disk on fire')
  }
  const failed = new Promise<Error & { code?: string; cause?: Error }>((resolve) => ws.write(failing(), (error) => resolve(error as never)))
  const [code] = await nextEvent<[number, Buffer]>(client, 'close')
  t.equal(code, 1011, 'the peer is told the message could not be finished')
  t.same(messages, [], 'and receives no truncated message')
  const error = await failed
  t.equal(error.code, 'WS_ERR_SOURCE_FAILED')
  t.equal(error.cause?.message, 'disk on fire')
})

t.test('fragmentSize splits chunks; writes after a streamed message wait for it', async (t) => {
  const { ws, reader } = await rawPeer(t, { fragmentSize: 4 })
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  async function* slow() {
    yield Buffer.alloc(10)
    await gate
    yield Buffer.alloc(2)
  }
  ws.write(slow())
  ws.write(Buffer.from('after'))
  await reader.waitFor(() => reader.frames.length === 3, 5000, 'the first chunk')
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.same(reader.frames.map(describe), ['2 4', '0 4', '0 2'], 'the first chunk in frames of 4; nothing else yet')
  release()
  await reader.waitFor(() => reader.frames.length === 7, 5000, 'the rest')
  t.same(reader.frames.slice(3).map(describe), ['0 2', '0 fin 0', '2 4', '0 fin 1'], 'the message ends, then the next one')
})

t.test('a PING arriving while a message streams out is answered between its fragments', async (t) => {
  const { ws, socket, reader } = await rawPeer(t)
  let release!: () => void
  const gate = new Promise<void>((resolve) => (release = resolve))
  async function* waiting() {
    yield Buffer.from('part one')
    await gate
    yield Buffer.from('part two')
  }
  ws.write(waiting())
  await reader.waitFor(() => reader.frames.length === 1, 5000, 'the first fragment')
  socket.write(clientFrame({ opcode: 9, payload: 'ping' }))
  await reader.waitFor(() => reader.frames.length === 2, 5000, 'the PONG')
  release()
  await reader.waitFor(() => reader.frames.length === 4, 5000, 'the rest')
  t.same(reader.frames.map(describe), ['2 8', '10 fin 4', '0 8', '0 fin 0'])
})

t.test('a peer that does not read holds the source back', async (t) => {
  const { ws, socket } = await rawPeer(t)
  socket.pause()
  let pulled = 0
  const block = Buffer.alloc(64 * 1024)
  const source = new Readable({
    read() {
      pulled += block.length
      this.push(pulled > 256 * MiB ? null : block)
    },
  })
  ws.write(source)
  // Let the pipeline fill: pulled stops growing once TCP, the socket and the stages are full.
  let last = -1
  while (pulled !== last) {
    last = pulled
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  t.ok(pulled < 32 * MiB, `the source was read for ${(pulled / MiB).toFixed(1)} MiB, then held back`)
  t.equal(ws.writableLength, 0, 'the marker holds no bytes in the duplex')
})

t.test('a connection that goes while a message streams out stops its source', async (t) => {
  const { ws, socket } = await rawPeer(t)
  let pulls = 0
  const source = new Readable({
    read() {
      pulls++
      setTimeout(() => this.push(Buffer.alloc(10)), 5)
    },
  })
  const callback = new Promise<Error & { code?: string }>((resolve) => ws.write(source, (error) => resolve(error as Error)))
  await until(() => pulls > 3, 5000, 'streaming')
  socket.destroy()
  const error = await callback
  t.ok(error instanceof Error, `the write callback fails: ${error.message}`)
  await until(() => source.destroyed, 5000, 'the source destroyed')
  t.pass('the source is destroyed')
})

t.test('a WHATWG ReadableStream is a source too', async (t) => {
  const { ws, messages } = await wsPeer(t)
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('from '))
      controller.enqueue(new TextEncoder().encode('a web stream'))
      controller.close()
    },
  })
  ws.write(stream, { text: true })
  await until(() => messages.length === 1, 5000, 'the message')
  t.equal(messages[0], 'from a web stream')
})

gigabyteEachWay(t, false)

t.test('a message-level proxy in stream mode passes messages through as streams, types kept', async (t) => {
  const { WebSocketServer: WsServer } = await import('ws')
  const backend = new WsServer({ host: '127.0.0.1', port: 0 })
  await nextEvent(backend, 'listening')
  backend.on('connection', (peer) => peer.on('message', (data, isBinary) => peer.send(data, { binary: isBinary })))
  t.teardown(() => new Promise<void>((resolve) => {
    for (const c of backend.clients) c.terminate()
    backend.close(() => resolve())
  }))
  const backendUrl = `ws://127.0.0.1:${(backend.address() as { port: number }).port}/`
  const seen: string[] = []
  const proxy = await ourServer(t, { streamMessages: true, maxMessageSize: 1024 }, (a) => {
    void connect(backendUrl, { streamMessages: true, maxMessageSize: 1024 }).then((b) => {
      b.on('error', () => {})
      pipeline(a, b, a).catch(() => {})
      // Only now: a 'data' listener of our own would start the flow before the pipeline is there.
      a.on('data', (message) => seen.push((message as unknown as MessageStream).constructor.name))
    })
  })
  const client = new WebSocket(proxy.url, { maxPayload: 64 * MiB })
  t.teardown(() => client.terminate())
  const echoes: Array<string | Buffer> = []
  client.on('message', (data: Buffer, isBinary: boolean) => echoes.push(isBinary ? data : data.toString()))
  await nextEvent(client, 'open')
  const big = Buffer.alloc(8 * MiB, 9)
  client.send('héllo')
  client.send(big)
  await until(() => echoes.length === 2, 10_000, 'both echoes')
  t.equal(echoes[0], 'héllo', 'text stays text')
  t.ok(Buffer.isBuffer(echoes[1]) && (echoes[1] as Buffer).equals(big), '8 MiB through a proxy whose maxMessageSize is 1 KiB')
  t.same(seen, ['MessageStream', 'MessageStream'], 'the proxy held streams, not whole messages')
})
