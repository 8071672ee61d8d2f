/**
 * Receiving messages as streams over real TCP, as a specification: a
 * connection with `streamMessages` hands out a MessageStream per message as
 * its first frame arrives; a 1 GiB message arrives in constant memory with
 * its hash verified; pings are answered while a message streams; an unread
 * stream holds the peer back through TCP; invalid UTF-8 midway closes with
 * 1007; a peer vanishing midway aborts the stream; smaller messages come
 * whole with a threshold.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { promisify } from 'node:util'
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { type MessageStream, isMessageStream } from '../../lib/stages/message-stream'
import { type AcceptOptions, accept } from '../../lib/handshake/server'
import { clientFrame, frame } from '../helpers/frames'
import { MiB, STREAMING_RSS_BOUND_MIB, retained } from '../helpers/memory'
import { serve } from '../helpers/ws-pair'
import { WireReader, closeCodeOf, rawConnect } from '../helpers/ws-raw'
import { until } from '../helpers/ws-wait'

const execFileAsync = promisify(execFile)

/** Our server with the given options; its connections and everything they read. */
async function server(t: Test, options: AcceptOptions) {
  const connections: WebSocketDuplex[] = []
  const items: unknown[] = []
  const listening = await serve(options, (ws) => {
    connections.push(ws)
    ws.on('error', () => {})
    ws.on('data', (item) => items.push(item))
  })
  t.teardown(() => listening.close())
  const raw = await rawConnect(listening.port)
  t.teardown(() => raw.socket.destroy())
  await until(() => connections.length === 1, 5000, 'accepted')
  return { ws: connections[0], items, socket: raw.socket, reader: new WireReader(raw.socket, 'client', { endOnFin: false }) }
}

/** The nth item once it is there. */
async function item<T>(items: unknown[], n: number): Promise<T> {
  await until(() => items.length > n, 5000, `item ${n}`)
  return items[n] as T
}

const text = async (stream: MessageStream) => {
  stream.setEncoding('utf8')
  let all = ''
  for await (const chunk of stream) all += chunk
  return all
}

t.test('each message is a stream as soon as its first frame arrives; pings are answered meanwhile', async (t) => {
  const { items, socket, reader } = await server(t, { streamMessages: true })
  socket.write(clientFrame({ opcode: 1, payload: 'streamed ', fin: false }))
  const stream = await item<MessageStream>(items, 0)
  t.ok(isMessageStream(stream), 'a MessageStream')
  t.equal(stream.text, true)
  socket.write(clientFrame({ opcode: 9, payload: 'still there?' }))
  await reader.waitFor(() => reader.frames.some((f) => f.opcode === 0xa), 5000, 'the PONG')
  t.equal(reader.frameWith(0xa)!.payload.toString(), 'still there?', 'answered while the message is unfinished')
  const body = text(stream)
  socket.write(clientFrame({ opcode: 0, payload: 'text' }))
  t.equal(await body, 'streamed text')
  socket.write(clientFrame({ opcode: 2, payload: Buffer.from([7, 8]) }))
  const binary = await item<MessageStream>(items, 1)
  t.equal(binary.binary, true)
})

t.test('with a threshold, messages with a short first frame come whole', async (t) => {
  const { items, socket } = await server(t, { streamMessages: { threshold: 100 }, maxMessageSize: 1000 })
  socket.write(clientFrame({ opcode: 1, payload: 'whole' }))
  socket.write(clientFrame({ opcode: 2, payload: Buffer.alloc(5000, 3) }))
  t.equal(await item(items, 0), 'whole')
  const stream = await item<MessageStream>(items, 1)
  t.ok(isMessageStream(stream), 'over the threshold: a stream, even past maxMessageSize')
  let size = 0
  for await (const chunk of stream) size += (chunk as Buffer).length
  t.equal(size, 5000)
})

/**
 * A peer in a child process (so that its memory is not ours): upgrades, then sends one binary
 * frame of `total` bytes, masked with the all-zero key (a valid key that leaves the bytes as they
 * are), the same 1 MiB block again and again; prints the SHA-256 of what it sent.
 */
/**
 * A raw client in its own process: sends TOTAL bytes as one binary message
 * in 1 MiB fragments (mask key 0), a PING after every 64th, and prints the
 * SHA-256 of what it sent and how many PONGs came back.
 */
const SENDER = `
const net = require('node:net'), crypto = require('node:crypto')
const [port, total] = process.argv.slice(1).map(Number)
const socket = net.connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\\r\\nHost: x\\r\\nUpgrade: websocket\\r\\n' +
  'Connection: Upgrade\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n'))
let pongs = 0
let pending = Buffer.alloc(0)
function countPongs(data) {
  pending = Buffer.concat([pending, data])
  while (pending.length >= 2 && pending.length >= 2 + (pending[1] & 0x7f)) {
    if ((pending[0] & 0x0f) === 0xa) pongs++
    pending = pending.subarray(2 + (pending[1] & 0x7f))
  }
}
socket.once('data', async (head) => {
  if (!String(head).startsWith('HTTP/1.1 101')) throw new Error('no 101')
  socket.on('data', countPongs)
  const block = Buffer.alloc(1 << 20)
  for (let i = 0; i < block.length; i++) block[i] = (i * 7 + 3) & 0xff
  const header = Buffer.alloc(14)
  header[1] = 0x80 | 127
  header.writeBigUInt64BE(BigInt(block.length), 2)
  const ping = Buffer.from([0x89, 0x80, 0, 0, 0, 0])
  const hash = crypto.createHash('sha256')
  for (let sent = 0; sent < total; sent += block.length) {
    header[0] = (sent === 0 ? 0x02 : 0x00) | (sent + block.length >= total ? 0x80 : 0)
    hash.update(block)
    socket.write(Buffer.from(header))
    if (!socket.write(block)) await new Promise((resolve) => socket.once('drain', resolve))
    if ((sent >> 20) % 64 === 63) socket.write(ping)
  }
  // The last PONG may still be on its way: wait for it, or give up after 5 s and report what came.
  const expected = Math.floor(total / block.length / 64)
  await new Promise((resolve) => {
    const check = () => (pongs >= expected ? resolve() : null)
    socket.on('data', check)
    check()
    setTimeout(resolve, 5000).unref()
  })
  console.log(hash.digest('hex'), pongs)
  socket.end()
})
`

t.test('1 GiB from a peer in 1 MiB fragments, in constant memory, every byte hashed, its pings answered', async (t) => {
  const items: unknown[] = []
  const listening = await serve({ streamMessages: true, maxMessageSize: MiB }, (ws) => {
    ws.on('error', () => {})
    ws.on('data', (message) => items.push(message))
  })
  t.teardown(() => listening.close())
  const total = 1024 * MiB
  const rssBefore = process.memoryUsage().rss
  let peak = rssBefore
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
  const sender = execFileAsync(process.execPath, ['-e', SENDER, String(listening.port), String(total)], { timeout: 60_000 })
  const stream = await item<MessageStream>(items, 0)
  const hash = createHash('sha256')
  let received = 0
  const base = retained()
  let held = -1
  await pipeline(stream, new Writable({
    write(chunk: Buffer, _encoding, callback) {
      received += chunk.length
      hash.update(chunk)
      // Halfway, after a full collection: what the connection really holds, garbage aside.
      if (held === -1 && received >= total / 2) held = (retained() - base) / MiB
      callback()
    },
  }))
  clearInterval(sampler)
  const [sentHash, pongs] = (await sender).stdout.trim().split(' ')
  t.equal(received, total, 'every byte')
  t.equal(hash.digest('hex'), sentHash, 'the same bytes as the peer sent')
  t.equal(Number(pongs), total / MiB / 64, 'every PING between its fragments answered while it streamed in')
  const growth = (peak - rssBefore) / MiB
  t.ok(growth < STREAMING_RSS_BOUND_MIB, `our RSS grew by ${growth.toFixed(1)} MiB while 1 GiB went through`)
  t.ok(held < 8, `halfway through, the process held ${held.toFixed(1)} MiB more than before (heap and buffers after a full collection)`)
})

t.test('an unread stream holds the peer back through TCP', async (t) => {
  const { ws, items, socket } = await server(t, { streamMessages: true })
  const chunk = Buffer.alloc(64 * 1024, 1)
  socket.write(frame({ opcode: 2, payload: Buffer.alloc(0), declaredLength: 256 * MiB, mask: Buffer.alloc(4) }))
  socket.write(chunk)
  await item<MessageStream>(items, 0)
  // Write as fast as the connection takes it, until it has taken nothing for half a second.
  for (;;) {
    if (socket.write(chunk)) continue
    const drained = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 500)
      socket.once('drain', () => {
        clearTimeout(timer)
        resolve(true)
      })
    })
    if (!drained || socket.bytesWritten > 200 * MiB) break
  }
  const taken = socket.bytesWritten
  t.ok(taken < 64 * MiB, `the connection took ${(taken / MiB).toFixed(1)} MiB, then TCP pushed back`)
  const stream = items[0] as MessageStream
  t.ok(stream.readableLength <= 128 * 1024, `the unread stream holds ${stream.readableLength} bytes`)
  await until(() => ws.socket.isPaused() || ws.socket.readableFlowing === false, 5000, 'our socket paused')
  t.pass('our side stopped reading its socket')
})

t.test('invalid UTF-8 midway: the stream errors and the connection closes with 1007', async (t) => {
  const { items, socket, reader } = await server(t, { streamMessages: true })
  socket.write(clientFrame({ opcode: 1, payload: 'fine so far ', fin: false }))
  const stream = await item<MessageStream>(items, 0)
  const failed = new Promise<Error & { code?: string }>((resolve) => stream.on('error', resolve))
  stream.resume()
  socket.write(clientFrame({ opcode: 0, payload: Buffer.from([0xed, 0xa0, 0x80]), fin: false }))
  t.equal((await failed).code, 'WS_ERR_INVALID_UTF8')
  await reader.waitFor(() => reader.frameWith(0x8) !== undefined, 5000, 'the CLOSE')
  t.equal(closeCodeOf(reader.frameWith(0x8)!), 1007)
})

t.test('a peer that vanishes midway: the stream is aborted, never complete', async (t) => {
  const { ws, items, socket } = await server(t, { streamMessages: true })
  socket.write(clientFrame({ opcode: 2, payload: Buffer.alloc(1000), fin: false }))
  const stream = await item<MessageStream>(items, 0)
  let ended = false
  stream.on('end', () => (ended = true))
  stream.resume()
  const closed = new Promise<number>((resolve) => ws.on('close', (code: number) => resolve(code)))
  const streamClosed = new Promise((resolve) => stream.on('close', resolve))
  socket.destroy()
  t.equal(await closed, 1006)
  await streamClosed
  t.equal(ended, false)
  t.equal(stream.readableAborted, true, 'closed without end')
})

t.test('options are checked before anything happens', async (t) => {
  for (const streamMessages of ['yes', { threshold: -1 }, { threshold: 'big' }, null]) {
    t.throws(() => accept({} as never, {} as never, Buffer.alloc(0), { streamMessages } as never), TypeError, JSON.stringify(streamMessages))
  }
  t.throws(() => accept({} as never, {} as never, Buffer.alloc(0), { maxStreamedMessageSize: 0 }), RangeError)
})

t.test('a slow reader of a message stream is making progress: not cut off after the peer has gone', async (t) => {
  const { ws, items, socket } = await server(t, { streamMessages: true, closeTimeout: 200 })
  const errors: Array<Error & { code?: string }> = []
  ws.on('error', (error) => errors.push(error))
  // Small enough for our buffers to take all of it, so that the FIN is seen while we read.
  const size = 256 * 1024
  // The whole message, then the peer's CLOSE and FIN: everything is on its way before we read.
  socket.end(Buffer.concat([
    clientFrame({ opcode: 2, payload: Buffer.alloc(size, 5) }),
    clientFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) }),
  ]))
  const stream = await item<MessageStream>(items, 0)
  let received = 0
  // 4 KiB every 20 ms: about 1.3 s, several close timeouts long.
  for (;;) {
    const chunk = stream.read(4 * 1024) as Buffer | null
    if (chunk !== null) received += chunk.length
    else if (stream.readableEnded) break
    await new Promise((resolve) => setTimeout(resolve, 20))
    if (stream.destroyed && !stream.readableEnded) break
  }
  t.equal(received, size, 'every byte, however slowly read')
  t.equal(stream.bytesRead, size, 'bytesRead says so too')
  t.same(errors.map((e) => e.code), [], 'no WS_ERR_UNREAD_MESSAGES')
})
