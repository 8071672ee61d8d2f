/**
 * WebSocketDuplex over real TCP on 127.0.0.1: our server with our client,
 * and each of them against a raw peer that writes and reads frames by hand.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { connect } from '../../lib/handshake/client'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { clientFrame, frame } from '../helpers/frames'
import { pair, serve } from '../helpers/ws-pair'
import { closeBody, closeCodeOf, rawConnect, rawServe, WireReader } from '../helpers/ws-raw'
import { closedWithin, delay, nextEvent, record, until, within, type WsError } from '../helpers/ws-wait'

const TEXT = 0x1
const BINARY = 0x2
const CLOSE = 0x8
const PING = 0x9
const PONG = 0xa

/** A server accepting one connection with `options`, and a raw client connected to it. */
async function rawClientOf(options: Parameters<typeof serve>[0] = {}, early?: Buffer) {
  let resolveServer!: (ws: WebSocketDuplex) => void
  const accepted = new Promise<WebSocketDuplex>((resolve) => {
    resolveServer = resolve
  })
  const listening = await serve(options, (ws) => resolveServer(ws))
  const raw = await rawConnect(listening.port, {}, early)
  const server = await within(accepted, 5000, 'accept')
  const cleanup = async () => {
    server.on('error', () => {})
    server.destroy()
    raw.socket.destroy()
    await listening.close()
  }
  return { server, socket: raw.socket, cleanup }
}

/** Our client connected to a raw server, and the server's end of the socket. */
async function clientOfRaw(options: Parameters<typeof connect>[1] = {}, early?: Buffer) {
  let resolveSocket!: (socket: import('node:net').Socket) => void
  const serverSide = new Promise<import('node:net').Socket>((resolve) => {
    resolveSocket = resolve
  })
  const raw = await rawServe((socket) => resolveSocket(socket), early)
  const client = await within(connect(raw.url, options), 5000, 'connect')
  const socket = await within(serverSide, 5000, 'raw accept')
  const cleanup = async () => {
    client.on('error', () => {})
    client.destroy()
    socket.destroy()
    await raw.close()
  }
  return { client, socket, cleanup }
}

t.test('text and binary messages travel both ways, in both roles', async (t) => {
  const p = await pair()
  t.teardown(p.cleanup)
  t.equal(p.server.role, 'server')
  t.equal(p.client.role, 'client')
  const s = record(p.server)
  const c = record(p.client)
  p.client.write('from the client')
  p.client.write(Buffer.from([1, 2, 3]))
  p.server.write('from the server: ünïcödé €')
  p.server.write(Buffer.from([4, 5]))
  await until(() => s.messages.length === 2 && c.messages.length === 2, 5000, 'four messages')
  t.strictSame(s.messages, ['from the client', Buffer.from([1, 2, 3])])
  t.strictSame(c.messages, ['from the server: ünïcödé €', Buffer.from([4, 5])])
  t.equal(typeof s.messages[0], 'string', 'text arrives as a string')
  t.ok(Buffer.isBuffer(c.messages[1]), 'binary arrives as a Buffer')
})

t.test('empty text and empty binary messages arrive as such', async (t) => {
  const p = await pair()
  t.teardown(p.cleanup)
  const s = record(p.server)
  const c = record(p.client)
  for (const ws of [p.client, p.server]) {
    ws.write('')
    ws.write(Buffer.alloc(0))
    ws.write('after')
  }
  await until(() => s.messages.length === 3 && c.messages.length === 3, 5000, 'six messages')
  for (const messages of [s.messages, c.messages]) {
    t.equal(messages[0], '')
    t.ok(Buffer.isBuffer(messages[1]) && messages[1].length === 0, 'empty Buffer for an empty binary message')
    t.equal(messages[2], 'after')
  }
})

t.test('a 5 MiB binary message arrives whole in both directions', async (t) => {
  const p = await pair()
  t.teardown(p.cleanup)
  const s = record(p.server)
  const c = record(p.client)
  const up = randomBytes(5 * 1024 * 1024)
  const down = randomBytes(5 * 1024 * 1024)
  p.client.write(up)
  p.server.write(down)
  await until(() => s.messages.length === 1 && c.messages.length === 1, 20000, 'both large messages')
  t.ok(Buffer.isBuffer(s.messages[0]) && up.equals(s.messages[0] as Buffer), 'client to server intact')
  t.ok(Buffer.isBuffer(c.messages[0]) && down.equals(c.messages[0] as Buffer), 'server to client intact')
})

t.test('Uint8Array writes arrive as binary messages, views included', async (t) => {
  const p = await pair()
  t.teardown(p.cleanup)
  const s = record(p.server)
  const c = record(p.client)
  const backing = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  for (const ws of [p.client, p.server]) {
    ws.write(new Uint8Array([9, 8, 7]))
    ws.write(backing.subarray(3, 6))
  }
  await until(() => s.messages.length === 2 && c.messages.length === 2, 5000, 'four messages')
  for (const messages of [s.messages, c.messages]) {
    t.strictSame(messages, [Buffer.from([9, 8, 7]), Buffer.from([3, 4, 5])])
  }
})

t.test('a client-side send leaves the caller’s Buffer untouched', async (t) => {
  const p = await pair()
  t.teardown(p.cleanup)
  const s = record(p.server)
  const small = randomBytes(100)
  const large = randomBytes(200 * 1024)
  const smallCopy = Buffer.from(small)
  const largeCopy = Buffer.from(large)
  p.client.write(small)
  p.client.write(large)
  await until(() => s.messages.length === 2, 5000, 'both messages')
  t.ok(small.equals(smallCopy), 'small buffer not masked in place')
  t.ok(large.equals(largeCopy), 'large buffer not masked in place')
  t.ok(smallCopy.equals(s.messages[0] as Buffer))
  t.ok(largeCopy.equals(s.messages[1] as Buffer))
})

t.test('fragmentSize splits outbound messages into frames of that size', async (t) => {
  t.test('client role: masked fragments, seen by a raw server', async (t) => {
    const { client, socket, cleanup } = await clientOfRaw({ fragmentSize: 1000 })
    t.teardown(cleanup)
    const wire = new WireReader(socket, 'server')
    const binary = randomBytes(2500)
    const text = '€'.repeat(500) // 1500 bytes: the cut falls inside a character
    client.write(binary)
    client.write(text)
    await wire.waitFor(() => wire.frames.length >= 5, 5000, 'five frames')
    t.strictSame(
      wire.frames.map((f) => [f.opcode, f.fin, f.payload.length, f.masked]),
      [
        [BINARY, false, 1000, true],
        [0, false, 1000, true],
        [0, true, 500, true],
        [TEXT, false, 1000, true],
        [0, true, 500, true],
      ],
    )
    t.ok(Buffer.concat(wire.frames.slice(0, 3).map((f) => f.payload)).equals(binary), 'binary payload in order')
    t.equal(Buffer.concat(wire.frames.slice(3).map((f) => f.payload)).toString(), text, 'text payload in order')
  })

  t.test('server role: unmasked fragments, seen by a raw client', async (t) => {
    const { server, socket, cleanup } = await rawClientOf({ fragmentSize: 100 })
    t.teardown(cleanup)
    const wire = new WireReader(socket, 'client')
    server.write(Buffer.alloc(250, 7))
    await wire.waitFor(() => wire.frames.length >= 3, 5000, 'three frames')
    t.strictSame(
      wire.frames.map((f) => [f.opcode, f.fin, f.payload.length, f.masked]),
      [
        [BINARY, false, 100, false],
        [0, false, 100, false],
        [0, true, 50, false],
      ],
    )
  })

  t.test('our server reassembles what our client fragments', async (t) => {
    const p = await pair({ client: { fragmentSize: 7 } })
    t.teardown(p.cleanup)
    const s = record(p.server)
    const text = 'ünïcödé '.repeat(50)
    p.client.write(text)
    p.client.write(Buffer.alloc(100, 1))
    await until(() => s.messages.length === 2, 5000, 'two messages')
    t.equal(s.messages[0], text)
    t.ok(Buffer.alloc(100, 1).equals(s.messages[1] as Buffer))
  })
})

t.test('frames that arrive together with the handshake are not lost', async (t) => {
  t.test('server role: frames right behind the upgrade request', async (t) => {
    const early = Buffer.concat([
      clientFrame({ opcode: TEXT, payload: 'eager' }),
      clientFrame({ opcode: BINARY, payload: Buffer.from([1, 2]) }),
    ])
    const { server, cleanup } = await rawClientOf({}, early)
    t.teardown(cleanup)
    const rec = record(server)
    await until(() => rec.messages.length === 2, 5000, 'the early messages')
    t.strictSame(rec.messages, ['eager', Buffer.from([1, 2])])
  })

  t.test('client role: frames right behind the 101 response', async (t) => {
    const early = Buffer.concat([frame({ opcode: TEXT, payload: 'welcome' }), frame({ opcode: PING, payload: 'hi' })])
    const { client, socket, cleanup } = await clientOfRaw({}, early)
    t.teardown(cleanup)
    // Listeners attached as soon as connect() resolves must see everything.
    const rec = record(client)
    const wire = new WireReader(socket, 'server')
    await until(() => rec.messages.length === 1, 5000, 'the early message')
    t.strictSame(rec.messages, ['welcome'])
    await wire.waitFor(() => wire.frameWith(PONG) !== undefined, 5000, 'the automatic pong')
    t.equal(wire.frameWith(PONG)!.payload.toString(), 'hi', 'the early ping was answered')
    await delay(50)
    t.strictSame(rec.pings.map(String), ['hi'], "and reported through 'ping'")
  })
})

t.test('ping(data) is answered by the peer’s automatic pong', async (t) => {
  const p = await pair()
  t.teardown(p.cleanup)
  p.server.resume()
  p.client.resume()

  const serverPing = nextEvent<[Buffer]>(p.server, 'ping')
  const clientPong = nextEvent<[Buffer]>(p.client, 'pong')
  t.equal(p.client.ping('hello?'), true)
  t.equal((await serverPing)[0].toString(), 'hello?', "the server's 'ping' event carries the payload")
  t.equal((await clientPong)[0].toString(), 'hello?', "the client's 'pong' event echoes it")

  const clientPing = nextEvent<[Buffer]>(p.client, 'ping')
  const serverPong = nextEvent<[Buffer]>(p.server, 'pong')
  p.server.ping(Buffer.from([0, 1, 2, 255]))
  t.strictSame((await clientPing)[0], Buffer.from([0, 1, 2, 255]))
  t.strictSame((await serverPong)[0], Buffer.from([0, 1, 2, 255]))

  const emptyPong = nextEvent<[Buffer]>(p.client, 'pong')
  p.client.ping()
  t.equal((await emptyPong)[0].length, 0, 'an empty ping gets an empty pong')

  const fullPong = nextEvent<[Buffer]>(p.client, 'pong')
  p.client.ping(Buffer.alloc(125, 1))
  t.equal((await fullPong)[0].length, 125, 'a 125-byte ping is fine')
  t.throws(() => p.client.ping(Buffer.alloc(126)), RangeError, 'a 126-byte ping is refused')
  t.throws(() => p.client.pong('€'.repeat(42)), RangeError, '126 bytes of pong payload are refused')
})

for (const closer of ['client', 'server'] as const) {
  t.test(`close(code, reason) by the ${closer}: the peer sees both, the closer sees the echoed code`, async (t) => {
    const p = await pair()
    t.teardown(p.cleanup)
    const [a, b] = closer === 'client' ? [p.client, p.server] : [p.server, p.client]
    const closerRec = record(a)
    const peerRec = record(b)
    a.close(4001, 'done here ✓')
    const [peerCode, peerReason] = await closedWithin(peerRec)
    const [closerCode] = await closedWithin(closerRec)
    t.strictSame(peerRec.closing, [[4001, 'done here ✓']], "peer's 'closing'")
    t.equal(peerCode, 4001, "peer's 'close' code")
    t.equal(peerReason, 'done here ✓', "peer's 'close' reason")
    t.equal(closerCode, 4001, "closer's 'close' carries the echoed code")
    t.equal(a.closeCode, 4001)
    t.equal(b.closeCode, 4001)
    t.equal(b.closeReason, 'done here ✓')
    t.strictSame(closerRec.errors, [])
    t.strictSame(peerRec.errors, [])
  })
}

t.test('both sides closing at once: each sees the other’s code', async (t) => {
  const p = await pair()
  t.teardown(p.cleanup)
  const c = record(p.client)
  const s = record(p.server)
  p.client.close(4010, 'client')
  p.server.close(4020, 'server')
  t.strictSame(await closedWithin(c), [4020, 'server'], "the client's close")
  t.strictSame(await closedWithin(s), [4010, 'client'], "the server's close")
  t.strictSame([...c.errors, ...s.errors], [], 'no errors')
})

t.test('a CLOSE carrying a code that may not be sent is a protocol error (1002)', async (t) => {
  for (const code of [1005, 1006, 999, 2999]) {
    t.test(`code ${code}`, async (t) => {
      const { server, socket, cleanup } = await rawClientOf()
      t.teardown(cleanup)
      const rec = record(server)
      const wire = new WireReader(socket, 'client')
      socket.write(clientFrame({ opcode: CLOSE, payload: closeBody(code) }))
      await wire.waitFor(() => wire.frameWith(CLOSE) !== undefined, 5000, 'CLOSE frame')
      t.equal(closeCodeOf(wire.frameWith(CLOSE)!), 1002)
      await closedWithin(rec)
      t.equal(rec.errors[0]?.code, 'WS_ERR_INVALID_CLOSE_CODE')
      t.equal(rec.errors[0]?.status, 1002)
    })
  }
})

t.test('close() refuses codes and reasons that may not be sent, and stays open', async (t) => {
  const p = await pair()
  t.teardown(p.cleanup)
  const s = record(p.server)
  for (const ws of [p.client, p.server]) {
    for (const code of [1005, 1006, 999, 5000]) t.throws(() => ws.close(code), RangeError, `code ${code}`)
    t.throws(() => ws.close(1000, 'x'.repeat(124)), RangeError, '124-byte reason')
    t.throws(() => ws.close(1000, new Uint16Array(2) as unknown as Uint8Array), TypeError, 'Uint16Array reason')
    t.equal(ws.writableEnded, false, 'a refused close() does not end the stream')
  }
  p.client.write('still open')
  await until(() => s.messages.length === 1, 5000, 'a message after the refused closes')
  t.equal(s.messages[0], 'still open')
  t.doesNotThrow(() => p.client.close(1000, 'x'.repeat(123)), 'a 123-byte reason fits')
})

for (const closer of ['client', 'server'] as const) {
  t.test(`messages written before close() by the ${closer} arrive before the close`, async (t) => {
    const p = await pair()
    t.teardown(p.cleanup)
    const [a, b] = closer === 'client' ? [p.client, p.server] : [p.server, p.client]
    const aRec = record(a)
    const bRec = record(b)
    const sent: Array<string | Buffer> = []
    for (let i = 0; i < 50; i++) sent.push(i % 10 === 9 ? Buffer.alloc(100 * 1024, i) : `message ${i}`)
    for (const message of sent) a.write(message)
    a.close(4000, 'that is all')
    await closedWithin(bRec, 10000)
    await closedWithin(aRec, 10000)
    t.equal(bRec.messages.length, sent.length, 'every message arrived')
    t.strictSame(bRec.messages, sent, 'in order and intact')
    t.strictSame(bRec.closing, [[4000, 'that is all']])
    const lastData = bRec.order.lastIndexOf('data')
    t.ok(lastData < bRec.order.indexOf('closing'), "every message came before 'closing'")
    t.ok(lastData < bRec.order.indexOf('close'), "every message came before 'close'")
  })
}

for (const side of ['client', 'server'] as const) {
  t.test(`a write after close() on the ${side} fails with an error`, async (t) => {
    const p = await pair()
    t.teardown(p.cleanup)
    const [a, b] = side === 'client' ? [p.client, p.server] : [p.server, p.client]
    const aRec = record(a)
    const bRec = record(b)
    a.close()
    const writeError = await within(
      new Promise<Error | null | undefined>((resolve) => a.write('too late', resolve)),
      5000,
      'write callback',
    )
    t.type(writeError, Error, 'the write callback gets an error')
    await until(() => aRec.errors.length > 0 || aRec.closes.length > 0, 5000, 'error or close')
    t.ok(aRec.errors.length > 0, "the duplex emits 'error' for the lost write")
    await closedWithin(bRec)
    t.notOk(bRec.messages.includes('too late'), 'the late message was not sent')
  })
}

t.test('a rejected late write does not cancel the closing handshake', async (t) => {
  const p = await pair()
  t.teardown(p.cleanup)
  const c = record(p.client)
  const s = record(p.server)
  p.client.close(4000, 'closing properly')
  const writeError = await within(
    new Promise<Error | null | undefined>((resolve) => p.client.write('too late', resolve)),
    5000,
    'write callback',
  )
  t.type(writeError, Error, 'the late write fails')
  t.strictSame(await closedWithin(s), [4000, 'closing properly'], 'the peer still gets the CLOSE that close() promised')
  const [code] = await closedWithin(c)
  t.equal(code, 4000, 'and the closer gets its echo')
})

t.test('ping() after close() sends nothing and returns false', async (t) => {
  const p = await pair()
  t.teardown(p.cleanup)
  const c = record(p.client)
  const s = record(p.server)
  p.client.close(1000)
  t.equal(p.client.ping('after close'), false)
  await closedWithin(s)
  await closedWithin(c)
  t.strictSame(s.pings, [], 'no ping reached the server')
})

t.test('for await yields every message and ends after the peer closes', async (t) => {
  const p = await pair()
  t.teardown(p.cleanup)
  const sent = Array.from({ length: 20 }, (_, i) => (i % 2 ? `text ${i}` : Buffer.from([i])))
  for (const message of sent) p.server.write(message)
  p.server.close(1000)
  p.server.resume()
  const received: Array<string | Buffer> = []
  await within(
    (async () => {
      for await (const message of p.client) received.push(message)
    })(),
    5000,
    'the for-await loop to end',
  )
  t.strictSame(received, sent)
  t.equal(p.client.closeCode, 1000)
})

t.test('an empty CLOSE from the peer is answered with an empty CLOSE; close code 1005', async (t) => {
  t.test('server role', async (t) => {
    const { server, socket, cleanup } = await rawClientOf()
    t.teardown(cleanup)
    const rec = record(server)
    const wire = new WireReader(socket, 'client')
    socket.write(clientFrame({ opcode: CLOSE }))
    await wire.waitFor(() => wire.frameWith(CLOSE) !== undefined, 5000, 'the CLOSE reply')
    t.equal(wire.frameWith(CLOSE)!.payload.length, 0, 'the reply is empty too')
    t.strictSame(await closedWithin(rec), [1005, ''])
    t.strictSame(rec.closing, [[1005, '']])
  })

  t.test('client role', async (t) => {
    const { client, socket, cleanup } = await clientOfRaw()
    t.teardown(cleanup)
    const rec = record(client)
    const wire = new WireReader(socket, 'server')
    socket.write(frame({ opcode: CLOSE }))
    await wire.waitFor(() => wire.frameWith(CLOSE) !== undefined, 5000, 'the CLOSE reply')
    t.equal(wire.frameWith(CLOSE)!.payload.length, 0, 'the reply is empty too')
    socket.end()
    t.strictSame(await closedWithin(rec), [1005, ''])
  })
})

t.test('data frames after the peer’s CLOSE are not delivered', async (t) => {
  t.test('server role', async (t) => {
    const { server, socket, cleanup } = await rawClientOf()
    t.teardown(cleanup)
    const rec = record(server)
    new WireReader(socket, 'client')
    socket.write(
      Buffer.concat([
        clientFrame({ opcode: TEXT, payload: 'before' }),
        clientFrame({ opcode: CLOSE, payload: closeBody(1000, 'bye') }),
        clientFrame({ opcode: TEXT, payload: 'after' }),
        clientFrame({ opcode: BINARY, payload: Buffer.from([1]) }),
        clientFrame({ opcode: PING, payload: 'late ping' }),
      ]),
    )
    t.strictSame(await closedWithin(rec), [1000, 'bye'])
    t.strictSame(rec.messages, ['before'])
    t.strictSame(rec.pings, [], 'no ping after CLOSE either')
  })

  t.test('client role', async (t) => {
    const { client, socket, cleanup } = await clientOfRaw()
    t.teardown(cleanup)
    const rec = record(client)
    const wire = new WireReader(socket, 'server')
    socket.write(
      Buffer.concat([
        frame({ opcode: TEXT, payload: 'before' }),
        frame({ opcode: CLOSE, payload: closeBody(1001) }),
        frame({ opcode: TEXT, payload: 'after' }),
      ]),
    )
    await wire.waitFor(() => wire.frameWith(CLOSE) !== undefined, 5000, 'the CLOSE reply')
    socket.end()
    t.strictSame(await closedWithin(rec), [1001, ''])
    t.strictSame(rec.messages, ['before'])
  })
})

t.test('invalid UTF-8 from a raw client: CLOSE 1007, then an error after the earlier messages', async (t) => {
  t.test('in one frame', async (t) => {
    const { server, socket, cleanup } = await rawClientOf()
    t.teardown(cleanup)
    const rec = record(server)
    const wire = new WireReader(socket, 'client')
    socket.write(
      Buffer.concat([
        clientFrame({ opcode: TEXT, payload: 'fine' }),
        clientFrame({ opcode: BINARY, payload: Buffer.from([0xff]) }), // bytes, not text: fine too
        clientFrame({ opcode: TEXT, payload: Buffer.from([0x48, 0xff, 0x49]) }),
      ]),
    )
    await wire.waitFor(() => wire.frameWith(CLOSE) !== undefined, 5000, 'CLOSE frame')
    t.equal(closeCodeOf(wire.frameWith(CLOSE)!), 1007)
    await closedWithin(rec)
    t.strictSame(rec.messages, ['fine', Buffer.from([0xff])])
    t.equal(rec.errors.length, 1, 'one error')
    t.equal(rec.errors[0]?.code, 'WS_ERR_INVALID_UTF8')
    t.equal(rec.errors[0]?.status, 1007)
    t.strictSame(rec.order.filter((e) => e === 'data' || e === 'error'), ['data', 'data', 'error'], 'messages first')
    await wire.waitFor(() => wire.ended, 5000, 'the server closes TCP')
  })

  t.test('split across fragments, with the reader not yet reading', async (t) => {
    const { server, socket, cleanup } = await rawClientOf()
    t.teardown(cleanup)
    const wire = new WireReader(socket, 'client')
    const errors: WsError[] = []
    server.on('error', (error: WsError) => errors.push(error))
    socket.write(
      Buffer.concat([
        clientFrame({ opcode: TEXT, payload: 'first' }),
        clientFrame({ opcode: TEXT, fin: false, payload: Buffer.from([0xe2, 0x82]) }),
        clientFrame({ opcode: 0, payload: Buffer.from([0x28]) }), // not a continuation byte
      ]),
    )
    await wire.waitFor(() => wire.frameWith(CLOSE) !== undefined, 5000, 'CLOSE frame')
    t.equal(closeCodeOf(wire.frameWith(CLOSE)!), 1007, 'the CLOSE goes out without waiting for the reader')
    t.strictSame(errors, [], 'the error waits for the unread message')
    const first = await within(
      new Promise<unknown>((resolve) => server.once('data', resolve)),
      5000,
      'the buffered message',
    )
    t.equal(first, 'first')
    await until(() => errors.length > 0, 5000, 'the error after the message')
    t.equal(errors[0].code, 'WS_ERR_INVALID_UTF8')
    t.equal(errors[0].status, 1007)
  })
})

t.test('invalid UTF-8 from a server fails our client with 1007', async (t) => {
  const { client, socket, cleanup } = await clientOfRaw()
  t.teardown(cleanup)
  const rec = record(client)
  const wire = new WireReader(socket, 'server')
  socket.write(Buffer.concat([frame({ opcode: TEXT, payload: 'ok' }), frame({ opcode: TEXT, payload: Buffer.from([0xc0, 0x80]) })]))
  await wire.waitFor(() => wire.frameWith(CLOSE) !== undefined, 5000, 'CLOSE frame')
  t.equal(closeCodeOf(wire.frameWith(CLOSE)!), 1007)
  socket.end() // the server closes TCP first
  await closedWithin(rec)
  t.strictSame(rec.messages, ['ok'])
  t.equal(rec.errors[0]?.code, 'WS_ERR_INVALID_UTF8')
  t.equal(rec.errors[0]?.status, 1007)
})

t.test('a message over maxMessageSize fails the connection with 1009', async (t) => {
  const tooLarge = ['WS_ERR_MESSAGE_TOO_LARGE', 'WS_ERR_PAYLOAD_TOO_LARGE']

  t.test('one oversized frame from a raw client', async (t) => {
    const { server, socket, cleanup } = await rawClientOf({ maxMessageSize: 1000 })
    t.teardown(cleanup)
    const rec = record(server)
    const wire = new WireReader(socket, 'client')
    socket.write(clientFrame({ opcode: BINARY, payload: Buffer.alloc(1000, 1) })) // at the limit: fine
    socket.write(clientFrame({ opcode: BINARY, payload: Buffer.alloc(1001, 2) }))
    await wire.waitFor(() => wire.frameWith(CLOSE) !== undefined, 5000, 'CLOSE frame')
    t.equal(closeCodeOf(wire.frameWith(CLOSE)!), 1009)
    await closedWithin(rec)
    t.equal(rec.messages.length, 1, 'the message at the limit was delivered')
    t.equal(rec.errors.length, 1)
    t.ok(tooLarge.includes(rec.errors[0]?.code ?? ''), `error code ${rec.errors[0]?.code}`)
    t.equal(rec.errors[0]?.status, 1009)
  })

  t.test('fragments that add up to too much', async (t) => {
    const { server, socket, cleanup } = await rawClientOf({ maxMessageSize: 1000 })
    t.teardown(cleanup)
    const rec = record(server)
    const wire = new WireReader(socket, 'client')
    socket.write(clientFrame({ opcode: TEXT, fin: false, payload: 'a'.repeat(600) }))
    socket.write(clientFrame({ opcode: 0, payload: 'b'.repeat(600) }))
    await wire.waitFor(() => wire.frameWith(CLOSE) !== undefined, 5000, 'CLOSE frame')
    t.equal(closeCodeOf(wire.frameWith(CLOSE)!), 1009)
    await closedWithin(rec)
    t.strictSame(rec.messages, [])
    t.ok(tooLarge.includes(rec.errors[0]?.code ?? ''), `error code ${rec.errors[0]?.code}`)
    t.equal(rec.errors[0]?.status, 1009)
  })

  t.test('our client sees the 1009 close from our server', async (t) => {
    const p = await pair({ server: { maxMessageSize: 1024 } })
    t.teardown(p.cleanup)
    const s = record(p.server)
    const c = record(p.client)
    p.client.write(Buffer.alloc(2048))
    const [code] = await closedWithin(c)
    t.equal(code, 1009)
    await closedWithin(s)
    t.equal(s.errors[0]?.status, 1009)
  })

  t.test('client role: the limit applies to what the server sends', async (t) => {
    const p = await pair({ client: { maxMessageSize: 1024 } })
    t.teardown(p.cleanup)
    const s = record(p.server)
    const c = record(p.client)
    p.server.write('x'.repeat(2048))
    await closedWithin(c)
    t.ok(tooLarge.includes(c.errors[0]?.code ?? ''), `error code ${c.errors[0]?.code}`)
    t.equal(c.errors[0]?.status, 1009)
    await closedWithin(s)
    t.strictSame(s.closing.map(([code]) => code), [1009], 'the server got CLOSE 1009')
  })
})

t.test('masking in the wrong direction fails the connection with 1002', async (t) => {
  t.test('an unmasked frame to the server', async (t) => {
    const { server, socket, cleanup } = await rawClientOf()
    t.teardown(cleanup)
    const rec = record(server)
    const wire = new WireReader(socket, 'client')
    socket.write(frame({ opcode: TEXT, payload: 'not masked' }))
    await wire.waitFor(() => wire.frameWith(CLOSE) !== undefined, 5000, 'CLOSE frame')
    t.equal(closeCodeOf(wire.frameWith(CLOSE)!), 1002)
    await closedWithin(rec)
    t.strictSame(rec.messages, [])
    t.equal(rec.errors[0]?.code, 'WS_ERR_MASK_REQUIRED')
    t.equal(rec.errors[0]?.status, 1002)
  })

  t.test('a masked frame to the client', async (t) => {
    const { client, socket, cleanup } = await clientOfRaw()
    t.teardown(cleanup)
    const rec = record(client)
    const wire = new WireReader(socket, 'server')
    socket.write(clientFrame({ opcode: TEXT, payload: 'masked' }))
    await wire.waitFor(() => wire.frameWith(CLOSE) !== undefined, 5000, 'CLOSE frame')
    t.equal(closeCodeOf(wire.frameWith(CLOSE)!), 1002)
    socket.end()
    await closedWithin(rec)
    t.equal(rec.errors[0]?.code, 'WS_ERR_UNEXPECTED_MASK')
    t.equal(rec.errors[0]?.status, 1002)
  })
})

t.test('after a clean close the server closes TCP first', async (t) => {
  t.test('the client starts the close', async (t) => {
    const { server, socket, cleanup } = await rawClientOf()
    t.teardown(cleanup)
    const rec = record(server)
    const wire = new WireReader(socket, 'client', { endOnFin: false })
    socket.write(clientFrame({ opcode: CLOSE, payload: closeBody(1000) }))
    await wire.waitFor(() => wire.ended, 5000, "the server's FIN")
    t.equal(wire.endedBeforePeer, false, 'the raw client had not sent its FIN')
    t.strictSame(wire.order, ['frame', 'end'], 'the CLOSE reply, then FIN')
    t.equal(closeCodeOf(wire.frames[0]), 1000)
    socket.end()
    t.strictSame(await closedWithin(rec), [1000, ''])
  })

  t.test('the server starts the close', async (t) => {
    const { server, socket, cleanup } = await rawClientOf()
    t.teardown(cleanup)
    const rec = record(server)
    const wire = new WireReader(socket, 'client', { endOnFin: false })
    server.close(1001, 'going')
    await wire.waitFor(() => wire.frameWith(CLOSE) !== undefined, 5000, "the server's CLOSE")
    t.equal(wire.ended, false, 'no FIN before the close handshake is done')
    socket.write(clientFrame({ opcode: CLOSE, payload: closeBody(1001) }))
    await wire.waitFor(() => wire.ended, 5000, "the server's FIN")
    t.equal(wire.endedBeforePeer, false, 'the raw client had not sent its FIN')
    socket.end()
    t.strictSame(await closedWithin(rec), [1001, ''])
  })

  t.test('our client waits for the server’s FIN', async (t) => {
    const { client, socket, cleanup } = await clientOfRaw()
    t.teardown(cleanup)
    const rec = record(client)
    const wire = new WireReader(socket, 'server', { endOnFin: false })
    socket.write(frame({ opcode: CLOSE, payload: closeBody(1000) }))
    await wire.waitFor(() => wire.frameWith(CLOSE) !== undefined, 5000, "the client's CLOSE reply")
    await delay(200) // room for a premature FIN to show up
    t.equal(wire.ended, false, 'the client did not close TCP before the server')
    socket.end()
    t.strictSame(await closedWithin(rec), [1000, ''])
    await wire.waitFor(() => wire.ended, 5000, "the client's FIN")
    t.equal(wire.endedBeforePeer, true, "the client's FIN came after ours")
  })
})

t.test('an unanswered close ends within closeTimeout with code 1006', async (t) => {
  t.test('client role: a server that never answers', async (t) => {
    const { client, socket, cleanup } = await clientOfRaw({ closeTimeout: 300 })
    t.teardown(cleanup)
    const rec = record(client)
    const wire = new WireReader(socket, 'server')
    client.close(1000)
    const [code] = await closedWithin(rec, 3000, "'close' after the close timeout")
    t.equal(code, 1006)
    t.equal(closeCodeOf(wire.frameWith(CLOSE)!), 1000, 'the CLOSE was sent')
  })

  t.test('server role: a client that never answers', async (t) => {
    const { server, socket, cleanup } = await rawClientOf({ closeTimeout: 300 })
    t.teardown(cleanup)
    const rec = record(server)
    const wire = new WireReader(socket, 'client')
    server.close(1000)
    const [code] = await closedWithin(rec, 3000, "'close' after the close timeout")
    t.equal(code, 1006)
    t.ok(wire.frameWith(CLOSE), 'the CLOSE was sent')
  })
})

t.test('a pong from the peer without a ping is reported, not answered', async (t) => {
  const { server, socket, cleanup } = await rawClientOf()
  t.teardown(cleanup)
  const rec = record(server)
  const wire = new WireReader(socket, 'client')
  socket.write(clientFrame({ opcode: PONG, payload: 'unsolicited' }))
  socket.write(clientFrame({ opcode: TEXT, payload: 'marker' }))
  await until(() => rec.messages.length === 1, 5000, 'the marker')
  t.strictSame(rec.pongs.map(String), ['unsolicited'])
  server.write('reply')
  await wire.waitFor(() => wire.frames.length >= 1, 5000, 'the reply')
  t.strictSame(wire.frames.map((f) => f.opcode), [TEXT], 'nothing was sent for the pong')
})
