/**
 * Backpressure end to end: a reader that stops reading stops the pipeline and,
 * through TCP flow control, the peer; a socket that cannot take more makes
 * write() return false; and what a connection buffers stays bounded however
 * much the peer sends, pings included.
 */
import { setImmediate as tick } from 'node:timers/promises'
import t, { type Test } from 'tap'
import WebSocket from 'ws'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { clientFrame } from '../helpers/frames'
import { pair, serve } from '../helpers/ws-pair'
import { rawConnect, WireReader } from '../helpers/ws-raw'
import { nextEvent, until, within } from '../helpers/ws-wait'

const CHUNK = 64 * 1024
const MAX_MESSAGES = 2000

/** Message `i`: 64 KiB that carry their index, so order and integrity can be checked. */
function numbered(i: number): Buffer {
  const message = Buffer.alloc(CHUNK, i & 0xff)
  message.writeUInt32BE(i, 0)
  return message
}

function checkNumbered(t: Test, messages: Array<string | Buffer>, count: number): void {
  t.equal(messages.length, count, `all ${count} messages arrived`)
  const wrong = messages.findIndex((m, i) => !Buffer.isBuffer(m) || !m.equals(numbered(i)))
  t.equal(wrong, -1, 'every message intact and in order')
}

/** True if 'drain' comes within `ms`, false if the writer is stuck. */
function drainWithin(ws: WebSocketDuplex, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const onDrain = () => {
      clearTimeout(timer)
      resolve(true)
    }
    const timer = setTimeout(() => {
      ws.off('drain', onDrain)
      resolve(false)
    }, ms)
    ws.once('drain', onDrain)
  })
}

/** The socket is not being read from: paused by a pipe, or not flowing. */
const isStopped = (ws: WebSocketDuplex) => ws.socket.isPaused() || ws.socket.readableFlowing === false

/** A server accepting one connection, whose duplex is handed over unread. */
async function acceptOne(options: Parameters<typeof serve>[0] = {}) {
  let resolveServer!: (ws: WebSocketDuplex) => void
  const accepted = new Promise<WebSocketDuplex>((resolve) => {
    resolveServer = resolve
  })
  const listening = await serve(options, (ws) => resolveServer(ws))
  return { listening, accepted: within(accepted, 5000, 'accept') }
}

t.test('a server that stops reading stalls our client; every message arrives once it reads again', async (t) => {
  const p = await pair()
  t.teardown(p.cleanup)
  // The server duplex is not read at all until the writer has stalled.
  let written = 0
  let stalled = false
  const deadline = Date.now() + 30000
  while (written < MAX_MESSAGES && Date.now() < deadline) {
    const ok = p.client.write(numbered(written++))
    if (!ok && !(await drainWithin(p.client, 500))) {
      stalled = true
      break
    }
  }
  t.ok(stalled, `the writer stalled (after ${written} messages)`)
  t.ok(written < MAX_MESSAGES, 'before the message bound')
  t.ok(isStopped(p.server), 'the server socket is paused')
  t.ok(p.client.bufferedAmount > 0, "the client's bufferedAmount holds what could not be sent")
  t.ok(p.server.readableLength <= p.server.readableHighWaterMark, 'the unread messages stay within the high-water mark')

  const received: Array<string | Buffer> = []
  p.server.on('data', (message: string | Buffer) => received.push(message))
  await until(() => received.length === written, 30000, 'every message after resuming')
  checkNumbered(t, received, written)
})

t.test('a server that stops reading makes a ws client’s bufferedAmount grow; nothing is lost', async (t) => {
  const { listening, accepted } = await acceptOne()
  t.teardown(() => listening.close())
  const ws = new WebSocket(listening.url)
  t.teardown(() => ws.terminate())
  await nextEvent(ws, 'open')
  const server = await accepted
  server.on('error', () => {})

  // Growth past what the kernel can hold means the server stopped taking bytes.
  const GROWN = 1024 * 1024
  let sent = 0
  const deadline = Date.now() + 30000
  while (sent < MAX_MESSAGES && ws.bufferedAmount < GROWN && Date.now() < deadline) {
    ws.send(numbered(sent++))
    await tick() // let the socket flush what it can
  }
  t.ok(ws.bufferedAmount >= GROWN, `bufferedAmount grew to ${ws.bufferedAmount} after ${sent} messages`)
  t.ok(isStopped(server), 'the server socket is paused')
  t.ok(server.readableLength <= server.readableHighWaterMark, 'the unread messages stay within the high-water mark')

  const received: Array<string | Buffer> = []
  server.on('data', (message: string | Buffer) => received.push(message))
  await until(() => received.length === sent, 30000, 'every message after resuming')
  checkNumbered(t, received, sent)
  server.destroy()
})

t.test('write() returns false once the socket is full, and drain comes when the peer reads', async (t) => {
  // A high-water mark of 1 MiB: write() only refuses once the socket has backed up.
  const { listening, accepted } = await acceptOne({ writableHighWaterMark: 1024 * 1024 })
  t.teardown(() => listening.close())
  const raw = await rawConnect(listening.port) // paused: the peer reads nothing yet
  t.teardown(() => raw.socket.destroy())
  const server = await accepted
  server.on('error', () => {})

  let written = 0
  let accepting = true
  const deadline = Date.now() + 30000
  while (accepting && written < MAX_MESSAGES && Date.now() < deadline) {
    accepting = server.write(numbered(written++))
    await tick()
  }
  t.equal(accepting, false, `write() returned false (after ${written} messages)`)
  t.ok(written > 16, 'not before the buffer was full')
  t.ok(server.bufferedAmount >= 1024 * 1024, 'bufferedAmount reflects the backlog')

  const drained = nextEvent(server, 'drain', 10000)
  const wire = new WireReader(raw.socket, 'client')
  await drained
  t.pass("'drain' came once the peer read")
  await wire.waitFor(() => wire.frames.length === written, 30000, 'every frame at the peer')
  checkNumbered(t, wire.frames.map((f) => f.payload), written)
  t.ok(wire.frames.every((f) => f.opcode === 2 && f.fin), 'one binary frame per message')
})

t.test('with the reader stopped, the server buffers no more than its high-water marks', async (t) => {
  const floods = {
    '64 KiB messages': Array.from({ length: 200 }, (_, i) => clientFrame({ opcode: 2, payload: numbered(i) })),
    'tiny messages': Array.from({ length: 100_000 }, (_, i) => clientFrame({ opcode: 1, payload: String(i) })),
  }
  for (const [name, frames] of Object.entries(floods)) {
    for (const readableHighWaterMark of [16, 4]) {
      t.test(`${name}, readableHighWaterMark ${readableHighWaterMark}`, async (t) => {
        const { listening, accepted } = await acceptOne({ readableHighWaterMark })
        t.teardown(() => listening.close())
        const raw = await rawConnect(listening.port)
        t.teardown(() => raw.socket.destroy())
        const server = await accepted
        server.on('error', () => {})
        t.equal(server.readableHighWaterMark, readableHighWaterMark)

        let most = 0
        let mostSocket = 0
        const sample = () => {
          most = Math.max(most, server.readableLength)
          mostSocket = Math.max(mostSocket, server.socket.readableLength)
        }
        const sampler = setInterval(sample, 1)
        t.teardown(() => clearInterval(sampler))
        raw.socket.write(Buffer.concat(frames))
        await until(() => isStopped(server) && server.readableLength >= readableHighWaterMark, 10000, 'the pipeline to fill')
        await new Promise((resolve) => setTimeout(resolve, 200)) // the flood keeps pressing meanwhile
        sample()
        clearInterval(sampler)
        t.ok(isStopped(server), 'the socket stays paused')
        t.ok(most <= readableHighWaterMark, `readableLength peaked at ${most} messages`)
        // A paused socket holds at most its high-water mark plus the one read in flight.
        t.ok(mostSocket <= server.socket.readableHighWaterMark + CHUNK, `socket buffer peaked at ${mostSocket} bytes`)

        let count = 0
        let inOrder = true
        server.on('data', (message: string | Buffer) => {
          const expected = name === 'tiny messages' ? String(count) : numbered(count)
          if (typeof expected === 'string' ? message !== expected : !expected.equals(message as Buffer)) inOrder = false
          count++
        })
        await until(() => count === frames.length, 30000, 'the whole flood after resuming')
        t.equal(count, frames.length, 'every message arrived')
        t.ok(inOrder, 'intact and in order')
      })
    }
  }
})

t.test('a ping flood from a peer that never reads does not grow the server’s queue', async (t) => {
  const { listening, accepted } = await acceptOne()
  t.teardown(() => listening.close())
  const raw = await rawConnect(listening.port) // never reads until the flood is over
  t.teardown(() => raw.socket.destroy())
  const server = await accepted
  const errors: Error[] = []
  server.on('error', (error: Error) => errors.push(error))
  server.resume()
  // Sampled as each ping is handled, so no burst goes unseen.
  let pings = 0
  let most = 0
  server.on('ping', () => {
    pings++
    most = Math.max(most, server.bufferedAmount)
  })
  const COUNT = 10_000
  const payload = Buffer.alloc(125, 0x70)
  raw.socket.write(Buffer.concat(Array.from({ length: COUNT }, () => clientFrame({ opcode: 9, payload }))))
  await until(() => pings === COUNT, 30000, 'every ping processed')
  most = Math.max(most, server.bufferedAmount)
  t.equal(pings, COUNT, 'every ping was seen')
  t.ok(most <= 64 * 1024 + 4096, `bufferedAmount peaked at ${most} bytes for ${COUNT} pings`)
  t.strictSame(errors, [], 'no error')

  // The connection still works: the peer reads, then closes cleanly.
  const wire = new WireReader(raw.socket, 'client')
  raw.socket.write(clientFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) }))
  await wire.waitFor(() => wire.frames.some((f) => f.opcode === 8), 10000, 'the CLOSE reply')
  const pongs = wire.frames.filter((f) => f.opcode === 10)
  t.ok(pongs.length >= 1 && pongs.length <= COUNT, `${pongs.length} pongs reached the peer`)
  t.ok(pongs.every((f) => f.payload.equals(payload)), 'each pong echoes a ping')
  t.equal(wire.frames.at(-1)?.opcode, 8, 'the CLOSE comes last')
  await until(() => server.destroyed, 5000, 'the server to close')
  t.strictSame(errors, [], 'no error')
})
