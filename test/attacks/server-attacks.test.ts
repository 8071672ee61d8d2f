/**
 * The attacks known from other Node WebSocket servers, each against a real
 * WebSocketServer over TCP. Every one must end in a clear error or HTTP
 * answer and a closed connection, with memory bounded, this process alive,
 * and a bystander connection served throughout.
 */
import net, { type Socket } from 'node:net'
import t from 'tap'
import { Opcode } from '../../lib/protocol/frame'
import { clientFrame, MASK } from '../helpers/frames'
import { RFC_KEY, exchangeUntilClosed, statusOf, upgradeRequest } from '../helpers/http-upgrade'
import { closeCodeOf, rawConnect, WireReader } from '../helpers/ws-raw'
import { closedWithin, delay, until, within } from '../helpers/ws-wait'
import { MiB, memorySampler, retained, target } from './target'

/** The next connection the target accepts. */
async function nextAccepted(accepted: unknown[], count: number) {
  await until(() => accepted.length >= count, 5000, 'the connection to be accepted')
}

/** A raw client that has completed the handshake, reading what the server sends. */
async function attacker(port: number) {
  const raw = await rawConnect(port)
  const wire = new WireReader(raw.socket, 'client')
  return { socket: raw.socket, wire }
}

t.test('a Sec-WebSocket-Protocol value crafted for catastrophic regex backtracking is judged in linear time', async (t) => {
  const server = await target(t, { protocols: ['chat'] })
  // Shapes that make backtracking token-list patterns explode: long runs of
  // white space and separators with a stray character at the end.
  const crafted = [
    'b' + ' '.repeat(14_000) + 'x',
    ', '.repeat(7_000) + 'a b',
    'chat,' + ' \t'.repeat(7_000) + ';',
    'a'.repeat(14_000) + ' ,',
  ]
  const started = Date.now()
  for (const value of crafted) {
    const response = await exchangeUntilClosed(server.port, upgradeRequest({ 'Sec-WebSocket-Protocol': value }))
    t.equal(statusOf(response), 400, `a ${value.length}-character crafted list is refused with 400`)
  }
  // A backtracking parser takes minutes on these; a linear one microseconds.
  t.ok(Date.now() - started < 5000, `all answered in ${Date.now() - started} ms`)
  t.equal(server.accepted.length, 0, 'none was accepted')
  t.equal(server.rejected.length, crafted.length, "each was announced as 'rejected'")
  await server.bystanderStillServed(t)
})

t.test('an upgrade request with thousands of headers', async (t) => {
  t.test('that pushes the handshake headers past what Node keeps is refused, not a crash', async (t) => {
    const server = await target(t)
    // Node keeps the first 2,000 header fields; the key, version and the
    // rest come after them and are dropped. Reading a missing key must not throw.
    const filler = Array.from({ length: 3_000 }, (_, i) => `x${i % 10}: 1\r\n`).join('')
    const request = Buffer.from(
      'GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' + filler +
        `Sec-WebSocket-Key: ${RFC_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      'latin1',
    )
    const response = await exchangeUntilClosed(server.port, request)
    // The version is the first thing missing: 426 names the one spoken (RFC 6455 section 4.4).
    t.equal(statusOf(response), 426, response.startLine)
    t.equal(response.headers['sec-websocket-version']?.[0], '13')
    t.equal(server.accepted.length, 0)
    t.equal(server.rejected[0]?.code, 'WS_ERR_UNSUPPORTED_VERSION', 'reported as a refused handshake')
    await server.bystanderStillServed(t)
  })

  t.test('beyond the head size limit is answered 431 by the http server and closed', async (t) => {
    const server = await target(t)
    const filler = Array.from({ length: 20_000 }, () => 'x: 1\r\n').join('')
    const request = Buffer.from(`GET / HTTP/1.1\r\nHost: a\r\n${filler}\r\n`, 'latin1')
    const response = await exchangeUntilClosed(server.port, request)
    t.equal(statusOf(response), 431)
    t.equal(server.accepted.length, 0)
    await server.bystanderStillServed(t)
  })
})

t.test("an upgrade request trickled too slowly is dropped at the http server's headersTimeout", async (t) => {
  // The request is not ours until its head is complete: slow heads are the
  // http server's to bound (headersTimeout, checked every connectionsCheckingInterval).
  const server = await target(t, {}, { headersTimeout: 300, requestTimeout: 600, connectionsCheckingInterval: 50 })
  const socket = net.connect(server.port, '127.0.0.1')
  socket.on('error', () => {})
  t.teardown(() => socket.destroy())
  const request = upgradeRequest()
  let at = 0
  const trickle = setInterval(() => {
    if (at < request.length && !socket.destroyed) socket.write(request.subarray(at, ++at))
  }, 50)
  t.teardown(() => clearInterval(trickle))
  const answer: Buffer[] = []
  socket.on('data', (chunk: Buffer) => answer.push(chunk))
  await within(new Promise((resolve) => socket.on('close', resolve)), 5000, 'the slow client to be dropped')
  t.ok(at < request.length, `dropped after ${at} of ${request.length} bytes`)
  t.match(Buffer.concat(answer).toString('latin1'), /^HTTP\/1\.1 408 /, 'answered 408 Request Timeout')
  t.equal(server.accepted.length, 0)
  await server.bystanderStillServed(t)
})

t.test('a frame length of 2^63 or near it is refused from the header, before anything is allocated', async (t) => {
  const cases = [
    { name: '2^63 - 1 (top bit clear, far over the limit)', high: 0x7fffffff, code: 1009 },
    { name: '2^63 (top bit set)', high: 0x80000000, code: 1002 },
    { name: '2^64 - 1', high: 0xffffffff, code: 1002 },
  ]
  for (const { name, high, code } of cases) {
    t.test(name, async (t) => {
      const server = await target(t)
      const { socket, wire } = await attacker(server.port)
      await nextAccepted(server.accepted, 1)
      const header = Buffer.alloc(14)
      header[0] = 0x82
      header[1] = 0x80 | 127
      header.writeUInt32BE(high, 2)
      header.writeUInt32BE(0xffffffff, 6)
      MASK.copy(header, 10)
      const memory = memorySampler()
      socket.write(Buffer.concat([header, Buffer.alloc(1024)]))
      await wire.waitFor(() => wire.closed, 5000, 'the connection to be closed')
      const grew = memory.stop()
      t.equal(closeCodeOf(wire.frames.at(-1)!), code, `answered with CLOSE ${code}`)
      t.ok(grew < 8 * MiB, `buffer memory grew by ${(grew / MiB).toFixed(1)} MiB`)
      const { rec } = server.accepted[0]
      await closedWithin(rec)
      t.equal(rec.errors[0]?.status, code, 'the error carries the close code')
      await server.bystanderStillServed(t)
    })
  }
})

t.test('control frames with 126-byte payloads are protocol errors (1002)', async (t) => {
  for (const opcode of [Opcode.PING, Opcode.PONG, Opcode.CLOSE]) {
    t.test(`opcode ${opcode}`, async (t) => {
      const server = await target(t)
      const { socket, wire } = await attacker(server.port)
      await nextAccepted(server.accepted, 1)
      socket.write(clientFrame({ opcode, payload: Buffer.alloc(126, 0x41) }))
      await wire.waitFor(() => wire.closed, 5000, 'the connection to be closed')
      t.equal(closeCodeOf(wire.frames.at(-1)!), 1002)
      t.notOk(wire.frames.some((f) => f.opcode === Opcode.PONG), 'the bad ping was not answered')
      // The peer may see TCP close before the server's 'error' has been emitted: wait for its 'close'.
      const { rec } = server.accepted[0]
      await closedWithin(rec)
      t.equal(rec.errors[0]?.code, 'WS_ERR_CONTROL_TOO_LONG')
      await server.bystanderStillServed(t)
    })
  }
})

/** A binary message as `count` one-byte fragments, built straight into one buffer. */
function oneByteFragments(count: number): Buffer {
  const FRAME = 7 // 2 header bytes, 4 mask bytes, 1 payload byte
  const bytes = Buffer.alloc(count * FRAME)
  for (let i = 0; i < count; i++) {
    const at = i * FRAME
    bytes[at] = (i === 0 ? Opcode.BINARY : Opcode.CONTINUATION) | (i === count - 1 ? 0x80 : 0)
    bytes[at + 1] = 0x80 | 1
    MASK.copy(bytes, at + 2)
    bytes[at + 6] = (i & 0xff) ^ MASK[0]
  }
  return bytes
}

t.test('a million 1-byte fragments', async (t) => {
  const COUNT = 1_000_000
  const flood = oneByteFragments(COUNT)

  t.test('under the default limits make one message, with memory following the bytes, not the frames', async (t) => {
    const server = await target(t)
    const { socket, wire } = await attacker(server.port)
    await nextAccepted(server.accepted, 1)
    const memory = memorySampler()
    socket.write(flood)
    await wire.waitFor(() => wire.frames.some((f) => f.opcode === Opcode.BINARY), 60_000, 'the echo of the message')
    const grew = memory.stop()
    const echo = wire.frames.find((f) => f.opcode === Opcode.BINARY)!
    t.equal(echo.payload.length, COUNT, 'one message of a million bytes')
    t.ok(echo.payload.every((byte, i) => byte === (i & 0xff)), 'every byte in its place')
    // A slice per fragment would pin each 64 KiB socket read many times over.
    t.ok(grew < 64 * MiB, `buffer memory grew by ${(grew / MiB).toFixed(1)} MiB for ${(flood.length / MiB).toFixed(1)} MiB of frames`)
    t.same(server.accepted[0].rec.errors, [])
    await server.bystanderStillServed(t)
  })

  t.test('with maxFragments fail with 1009 at the first fragment over it', async (t) => {
    const server = await target(t, { maxFragments: 1000 })
    const { socket, wire } = await attacker(server.port)
    await nextAccepted(server.accepted, 1)
    socket.write(flood)
    await wire.waitFor(() => wire.closed, 10_000, 'the connection to be closed')
    t.equal(closeCodeOf(wire.frames.at(-1)!), 1009)
    const { rec } = server.accepted[0]
    await closedWithin(rec)
    t.equal(rec.errors[0]?.code, 'WS_ERR_TOO_MANY_FRAGMENTS')
    await server.bystanderStillServed(t)
  })
})

t.test('a flood of pings from a peer that never reads our pongs queues no more than one pong', async (t) => {
  const server = await target(t)
  const { socket } = await rawConnect(server.port) // never read
  await nextAccepted(server.accepted, 1)
  const { ws } = server.accepted[0]
  let pings = 0
  let mostBuffered = 0
  ws.on('ping', () => {
    pings++
    mostBuffered = Math.max(mostBuffered, ws.bufferedAmount)
  })
  const COUNT = 200_000
  const ping = clientFrame({ opcode: Opcode.PING, payload: Buffer.alloc(125, 0x70) })
  const flood = Buffer.concat(Array.from({ length: 2000 }, () => ping))
  const before = retained()
  for (let sent = 0; sent < COUNT; sent += 2000) {
    if (!socket.write(flood)) await new Promise((resolve) => socket.once('drain', resolve))
  }
  await until(() => pings === COUNT, 60_000, 'every ping handled')
  // Measured while the peer still reads nothing: a pong per ping would all be
  // waiting now. (The test's own record of the pings is let go first.)
  server.accepted[0].rec.pings.length = 0
  const held = retained() - before
  t.equal(pings, COUNT, `${COUNT} pings (${((COUNT * ping.length) / MiB).toFixed(0)} MiB) were handled`)
  // The bound is the high-water marks (256 KiB in the socket, 16 KiB in the
  // encoder) plus one waiting pong; answering every ping would need 25 MiB.
  t.ok(mostBuffered <= 300 * 1024, `our unsent bytes peaked at ${(mostBuffered / 1024).toFixed(0)} KiB`)
  t.ok(held < 8 * MiB, `the flood left ${(held / MiB).toFixed(1)} MiB held in this process`)
  t.same(server.accepted[0].rec.errors, [], 'the peer did nothing forbidden: no error')
  await server.bystanderStillServed(t)
})

t.test('a peer that never reads', async (t) => {
  t.test('stops our writes at the high-water mark: a piped source is not read further', async (t) => {
    const server = await target(t)
    const { socket } = await rawConnect(server.port) // never read
    await nextAccepted(server.accepted, 1)
    const { ws } = server.accepted[0]
    ws.unpipe(ws)
    let produced = 0
    const source = new (await import('readable-stream')).Readable({
      objectMode: true,
      read() {
        produced++
        this.push(Buffer.alloc(16 * 1024, produced & 0xff))
      },
    })
    source.pipe(ws)
    await delay(500)
    const early = { produced, buffered: ws.bufferedAmount }
    await delay(500)
    t.equal(produced, early.produced, `the source stopped after ${produced} messages`)
    t.equal(ws.bufferedAmount, early.buffered, 'nothing more was buffered')
    t.ok(ws.bufferedAmount < 2 * MiB, `${(ws.bufferedAmount / 1024).toFixed(0)} KiB wait in our buffers`)
    source.unpipe()
    socket.destroy()
    await server.bystanderStillServed(t)
  })

  t.test('while sending to an echo makes us stop reading its socket: TCP pushes back on it', async (t) => {
    const server = await target(t)
    const { socket } = await rawConnect(server.port)
    await nextAccepted(server.accepted, 1)
    const { ws } = server.accepted[0]
    const message = clientFrame({ opcode: Opcode.BINARY, payload: Buffer.alloc(64 * 1024, 1) })
    let sent = 0
    let blocked = false
    // Write as long as the connection takes it, without reading the echoes.
    const pump = async () => {
      while (sent < 4000) {
        sent++
        if (!socket.write(message)) {
          blocked = true
          return
        }
        if (sent % 50 === 0) await delay(1)
      }
    }
    await pump()
    await delay(500)
    const read = ws.socket.bytesRead
    await delay(300)
    t.ok(blocked, `the attacker's writes were blocked after ${sent} messages`)
    t.equal(ws.socket.bytesRead, read, 'the server stopped reading that socket')
    t.ok(ws.bufferedAmount < 4 * MiB, `our echo buffers hold ${(ws.bufferedAmount / 1024).toFixed(0)} KiB`)
    socket.destroy()
    await server.bystanderStillServed(t)
  })
})

t.test('a half-open TCP connection is found by the heartbeat and closed', async (t) => {
  const server = await target(t, { heartbeat: { interval: 100, timeout: 100 } })
  // The peer's host has gone: nothing it sends, nothing it reads, no FIN or RST.
  const { socket } = await rawConnect(server.port)
  t.teardown(() => socket.destroy())
  await nextAccepted(server.accepted, 1)
  const { rec } = server.accepted[0]
  const [code] = await closedWithin(rec, 3000, 'the heartbeat to give up')
  t.equal(code, 1006)
  t.equal(rec.errors[0]?.code, 'WS_ERR_HEARTBEAT_TIMEOUT')
  t.equal(server.wss.clients.size, 1, 'only the bystander is left')
  await server.bystanderStillServed(t)
})

t.test('a reset in the middle of', async (t) => {
  /** Writes `bytes`, then resets the connection (RST, not FIN). */
  const resetAfter = async (socket: Socket, bytes: Buffer) => {
    await new Promise<void>((resolve) => socket.write(bytes, () => resolve()))
    await delay(20)
    socket.resetAndDestroy()
  }

  t.test('the handshake request: no connection, no socket left', async (t) => {
    const server = await target(t)
    const socket = net.connect(server.port, '127.0.0.1')
    socket.on('error', () => {})
    await new Promise((resolve) => socket.once('connect', resolve))
    await resetAfter(socket, upgradeRequest().subarray(0, 60))
    await until(() => server.openSockets() === 1, 3000, 'the half request to be dropped')
    t.equal(server.accepted.length, 0)
    await server.bystanderStillServed(t)
  })

  t.test('the handshake, while verify() is still deciding', async (t) => {
    let verifying = 0
    const server = await target(t, {
      verify: async () => {
        verifying++
        await delay(200)
        return true
      },
    })
    await until(() => verifying === 1, 3000, 'the bystander verified')
    await delay(250)
    const socket = net.connect(server.port, '127.0.0.1')
    socket.on('error', () => {})
    await new Promise((resolve) => socket.once('connect', resolve))
    await resetAfter(socket, upgradeRequest({}, { path: '/' }))
    await delay(400)
    t.equal(verifying, 2, 'verify was running when the reset came')
    t.equal(server.accepted.length, 0, 'only the bystander was accepted')
    t.equal(server.openSockets(), 1)
    await server.bystanderStillServed(t)
  })

  const midway = {
    'a frame header': clientFrame({ opcode: Opcode.BINARY, payload: Buffer.alloc(70_000) }).subarray(0, 5),
    'a payload': clientFrame({ opcode: Opcode.BINARY, payload: Buffer.alloc(70_000) }).subarray(0, 30_000),
  }
  for (const [where, bytes] of Object.entries(midway)) {
    t.test(where, async (t) => {
      const server = await target(t)
      const { socket } = await rawConnect(server.port)
      await nextAccepted(server.accepted, 1)
      const { rec } = server.accepted[0]
      await resetAfter(socket, bytes)
      const [code] = await closedWithin(rec, 3000)
      t.equal(code, 1006, 'closed abnormally')
      t.equal(rec.errors[0]?.code, 'ECONNRESET', 'the reset is the reported error')
      await until(() => server.wss.clients.size === 1, 3000, 'the connection to leave clients')
      await server.bystanderStillServed(t)
    })
  }

  t.test('the closing handshake: the CLOSE that came first decides, and nothing is left', async (t) => {
    const server = await target(t)
    const { socket } = await rawConnect(server.port)
    await nextAccepted(server.accepted, 1)
    const { rec } = server.accepted[0]
    await resetAfter(socket, clientFrame({ opcode: Opcode.CLOSE, payload: Buffer.from([0x0f, 0xa1]) }))
    const [code] = await closedWithin(rec, 3000)
    t.equal(code, 4001, "the peer's close code")
    t.same(rec.errors, [], 'a reset after the CLOSE is no failure')
    await until(() => server.wss.clients.size === 1, 3000, 'the connection to leave clients')
    await server.bystanderStillServed(t)
  })
})

t.test('a text message whose first bytes are invalid UTF-8 fails before the rest is sent', async (t) => {
  const server = await target(t)
  const { socket, wire } = await attacker(server.port)
  await nextAccepted(server.accepted, 1)
  const payload = Buffer.alloc(1 * MiB, 0x61)
  payload[0] = 0xc0 // never valid in UTF-8
  const frame = clientFrame({ opcode: Opcode.TEXT, payload })
  socket.write(frame.subarray(0, 64))
  await wire.waitFor(() => wire.frames.some((f) => f.opcode === Opcode.CLOSE), 3000, 'the CLOSE, with most of the frame unsent')
  t.equal(closeCodeOf(wire.frames.at(-1)!), 1007)
  const { rec } = server.accepted[0]
  await within(rec.closed, 3000, 'the server to close')
  t.equal(rec.errors[0]?.code, 'WS_ERR_INVALID_UTF8')
  await server.bystanderStillServed(t)
})
