/**
 * The original watershed API, event by event, over real sockets: the
 * `Watershed` factory (accept, connect, generateKey) and the
 * `WatershedConnection` events (text, binary, ping, pong, error,
 * connectionReset, end) and methods (send, end, destroy, getProtocol), with
 * the original's protocol bugs fixed. Peers are the `ws` package and raw TCP.
 */
import http, { type IncomingMessage } from 'node:http'
import { Socket, type AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import t, { type Test } from 'tap'
import { Watershed, WatershedConnection } from '../../lib/compat/watershed'
import { clientFrame, frame } from '../helpers/frames'
import {
  acceptFor,
  craftedServer,
  endOf,
  exchangeHead,
  exchangeUntilClosed,
  statusOf,
  header,
  readBytes,
  switchingProtocols,
  upgradeRequest,
  upgradeServer,
  RFC_ACCEPT,
} from '../helpers/http-upgrade'
import { delay, nextEvent, until, within } from '../helpers/ws-wait'
import { wsClient, wsClosed, wsReceived, wsServer } from '../helpers/ws-peer'

type WsError = Error & { code?: string; status?: number }

/** Everything a WatershedConnection emitted, in order. */
interface Seen {
  order: string[]
  texts: string[]
  binaries: Buffer[]
  pings: Buffer[]
  pongs: Buffer[]
  errors: WsError[]
  ends: unknown[][]
}

/** Listens to every event; with `errors: false` no 'error' listener is attached. */
function watch(wsc: WatershedConnection, { errors = true } = {}): Seen {
  const seen: Seen = { order: [], texts: [], binaries: [], pings: [], pongs: [], errors: [], ends: [] }
  wsc.on('text', (text: string) => {
    seen.order.push('text')
    seen.texts.push(text)
  })
  wsc.on('binary', (data: Buffer) => {
    seen.order.push('binary')
    seen.binaries.push(data)
  })
  wsc.on('ping', (data: Buffer) => {
    seen.order.push('ping')
    seen.pings.push(data)
  })
  wsc.on('pong', (data: Buffer) => {
    seen.order.push('pong')
    seen.pongs.push(data)
  })
  wsc.on('connectionReset', () => seen.order.push('connectionReset'))
  wsc.on('end', (...args: unknown[]) => {
    seen.order.push('end')
    seen.ends.push(args)
  })
  if (errors) {
    wsc.on('error', (error: WsError) => {
      seen.order.push('error')
      seen.errors.push(error)
    })
  }
  return seen
}

/** Waits for 'end', then leaves room for a second one (or a late event) to show up. */
async function ended(seen: Seen, what = "'end'") {
  await until(() => seen.ends.length > 0, 5000, what)
  await delay(50)
}

/** A server whose upgrades go through `Watershed#accept(req, socket, head, raw, protocols)`. */
async function shedServer(t: Test, raw = false, protocols?: string[]) {
  const shed = new Watershed()
  let resolve!: (value: { result: WatershedConnection | Socket; socket: Socket; head: Buffer }) => void
  const accepted = new Promise<{ result: WatershedConnection | Socket; socket: Socket; head: Buffer }>((r) => {
    resolve = r
  })
  const results: Array<WatershedConnection | Socket> = []
  const server = await upgradeServer((req, socket, head) => {
    const result = raw ? shed.accept(req, socket, head, true, protocols) : shed.accept(req, socket, head, false, protocols)
    results.push(result)
    resolve({ result, socket, head })
  })
  t.teardown(async () => {
    for (const result of results) result.destroy()
    await server.close()
  })
  return {
    port: server.port,
    url: `ws://127.0.0.1:${server.port}/`,
    accepted: () => within(accepted, 5000, 'accept'),
    /** The server's WatershedConnection, with every event watched. */
    connection: async (options?: { errors: boolean }) => {
      const { result } = await within(accepted, 5000, 'accept')
      if (!(result instanceof WatershedConnection)) throw new Error('accept() did not return a WatershedConnection')
      return { wsc: result, seen: watch(result, options) }
    },
  }
}

/** The client side of the original API: an http.request upgrade handed to Watershed#connect. */
async function shedClient(t: Test, port: number, extraHeaders: Record<string, string> = {}) {
  const shed = new Watershed()
  const wskey = shed.generateKey()
  const req = http.request({
    port,
    hostname: '127.0.0.1',
    headers: { connection: 'upgrade', upgrade: 'websocket', 'Sec-WebSocket-Key': wskey, 'Sec-WebSocket-Version': '13', ...extraHeaders },
  })
  const upgraded = nextEvent<[IncomingMessage, Socket, Buffer]>(req, 'upgrade')
  req.end()
  const [res, socket, head] = await upgraded
  t.teardown(() => socket.destroy())
  const wsc = shed.connect(res, socket, head, wskey)
  return { wsc, socket }
}

/** One unmasked frame from a server, read off a raw socket (payloads under 126 bytes). */
async function readServerFrame(socket: Socket) {
  const [first, second] = await readBytes(socket, 2)
  if ((second & 0x7f) > 125 || second & 0x80) throw new Error('unexpected frame header')
  const payload = second === 0 ? Buffer.alloc(0) : await readBytes(socket, second & 0x7f)
  return { fin: (first & 0x80) !== 0, opcode: first & 0x0f, payload }
}

/** A raw TCP client that completed the handshake with our server. */
async function rawClient(t: Test, port: number, changes: Record<string, string> = {}) {
  const response = await exchangeHead(port, upgradeRequest(changes))
  response.socket.on('error', () => {})
  t.teardown(() => response.socket.destroy())
  t.equal(header(response, 'sec-websocket-accept'), RFC_ACCEPT, 'the raw client was accepted')
  return response
}

t.test('the examples from the original documentation', async (t) => {
  t.test('the server and client examples work together as written', async (t) => {
    const log = t.capture(console, 'log')
    const errorLog = t.capture(console, 'error')
    const logged = () => log.calls.map((call) => call.args.join(' '))

    // The server example. Only the port differs (an ephemeral one on 127.0.0.1),
    // plus the types TypeScript needs, and a return so the test can close it.
    const srv = (() => {
      const shed = new Watershed()
      const srv = http.createServer()
      srv.listen(0, '127.0.0.1')
      srv.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        let wsc
        try {
          wsc = shed.accept(req, socket, head)
        } catch (ex: any) {
          console.error('error: ' + ex.message)
          return socket.end()
        }
        wsc.on('text', (text: string) => console.log('received text: ' + text))
        wsc.on('end', () => console.log('end!'))
      })
      return srv
    })()
    const sockets = new Set<Socket>()
    srv.on('connection', (socket: Socket) => sockets.add(socket))
    t.teardown(() => {
      for (const socket of sockets) socket.destroy()
      srv.close()
    })
    await nextEvent(srv, 'listening')
    const port = (srv.address() as AddressInfo).port

    // The client example, with the server's port.
    const req = (() => {
      const shed = new Watershed()
      const wskey = shed.generateKey()
      const req = http.request({
        port, hostname: '127.0.0.1',
        headers: {
          connection: 'upgrade', upgrade: 'websocket',
          'Sec-WebSocket-Key': wskey, 'Sec-WebSocket-Version': '13',
        },
      })
      req.end()
      req.on('upgrade', (res, socket, head) => {
        const wsc = shed.connect(res, socket, head, wskey)
        wsc.send('Hi there!')
        wsc.on('end', () => console.log('end!'))
      })
      return req
    })()
    const [, clientSocket] = await nextEvent<[IncomingMessage, Socket]>(req, 'upgrade')

    await until(() => logged().includes('received text: Hi there!'), 5000, 'the server to log the text')
    // Dropping the client's TCP connection ends both sides.
    clientSocket.destroy()
    await until(() => logged().filter((line) => line === 'end!').length >= 2, 5000, "'end!' from both sides")
    await delay(50)
    t.strictSame(logged(), ['received text: Hi there!', 'end!', 'end!'])
    t.strictSame(errorLog.calls, [], 'nothing went to console.error')
  })

  t.test("the server example's catch: a bad request is reported by message and the socket ended", async (t) => {
    const errorLog = t.capture(console, 'error')
    const srv = (() => {
      const shed = new Watershed()
      const srv = http.createServer()
      srv.listen(0, '127.0.0.1')
      srv.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        let wsc
        try {
          wsc = shed.accept(req, socket, head)
        } catch (ex: any) {
          console.error('error: ' + ex.message)
          return socket.end()
        }
        wsc.on('end', () => console.log('end!'))
      })
      return srv
    })()
    t.teardown(() => srv.close())
    await nextEvent(srv, 'listening')
    const response = await exchangeUntilClosed((srv.address() as AddressInfo).port, upgradeRequest({ 'Sec-WebSocket-Version': '8' }))
    t.equal(statusOf(response), 426, 'the client got its HTTP answer before the connection ended')
    t.equal(header(response, 'sec-websocket-version'), '13')
    t.equal(errorLog.calls.length, 1)
    t.match(String(errorLog.calls[0]?.args[0]), /^error: .*Sec-WebSocket-Version/)
  })
})

t.test("'text' and 'binary'", async (t) => {
  t.test('one event per message, with the exact payload', async (t) => {
    const server = await shedServer(t)
    const ws = await wsClient(t, server.url)
    const { seen } = await server.connection()
    const big = Buffer.alloc(70_000, 0xab) // needs the 64-bit length form
    ws.send('héllo ☃ 𝄞')
    ws.send(Buffer.from([0, 1, 2, 253, 254, 255]))
    ws.send('')
    ws.send(Buffer.alloc(0))
    ws.send(big)
    await until(() => seen.order.length >= 5, 5000, 'five messages')
    t.strictSame(seen.order, ['text', 'binary', 'text', 'binary', 'binary'])
    t.strictSame(seen.texts, ['héllo ☃ 𝄞', ''])
    t.strictSame(seen.binaries, [Buffer.from([0, 1, 2, 253, 254, 255]), Buffer.alloc(0), big])
    t.ok(seen.binaries.every((data) => Buffer.isBuffer(data)), 'binary payloads are Buffers')
  })

  t.test('a fragmented message is delivered whole, once', async (t) => {
    const server = await shedServer(t)
    const ws = await wsClient(t, server.url)
    const { seen } = await server.connection()
    ws.send('frag', { fin: false })
    ws.send('men', { fin: false })
    ws.send('ted', { fin: true })
    ws.send(Buffer.from([1, 2]), { binary: true, fin: false })
    ws.send(Buffer.from([3]), { binary: true, fin: true })
    await until(() => seen.order.length >= 2, 5000, 'two messages')
    await delay(20)
    t.strictSame(seen.order, ['text', 'binary'])
    t.strictSame(seen.texts, ['fragmented'])
    t.strictSame(seen.binaries, [Buffer.from([1, 2, 3])])
  })

  t.test('a character split between fragments, and a ping between them', async (t) => {
    const server = await shedServer(t)
    const ws = await wsClient(t, server.url)
    const { seen } = await server.connection()
    const snowman = Buffer.from('☃')
    ws.send(snowman.subarray(0, 1), { binary: false, fin: false })
    ws.ping('between')
    ws.send(snowman.subarray(1), { binary: false, fin: true })
    await until(() => seen.texts.length >= 1, 5000, 'the message')
    t.strictSame(seen.order, ['ping', 'text'])
    t.strictSame(seen.texts, ['☃'])
  })

  t.test('the client side gets them too, from a server', async (t) => {
    const wss = await wsServer(t)
    const { wsc } = await shedClient(t, wss.port)
    const seen = watch(wsc)
    const peer = await wss.connection()
    peer.send('from the server')
    peer.send(Buffer.from([7, 7, 7]))
    await until(() => seen.order.length >= 2, 5000, 'two messages')
    t.strictSame(seen.texts, ['from the server'])
    t.strictSame(seen.binaries, [Buffer.from([7, 7, 7])])
  })
})

t.test('send()', async (t) => {
  t.test('a string goes as a text message, a Buffer as a binary one', async (t) => {
    const server = await shedServer(t)
    const ws = await wsClient(t, server.url)
    const messages = wsReceived(ws)
    const { wsc } = await server.connection()
    wsc.send('words')
    wsc.send(Buffer.from('bytes'))
    await until(() => messages.length >= 2, 5000, 'two messages')
    t.strictSame(messages, ['words', Buffer.from('bytes')])
  })

  t.test("on the client side, leaves the caller's Buffer exactly as it was", async (t) => {
    const wss = await wsServer(t)
    const { wsc } = await shedClient(t, wss.port)
    watch(wsc)
    const peer = await wss.connection()
    const messages = wsReceived(peer)
    const backing = Buffer.alloc(70_001)
    for (let i = 0; i < backing.length; i++) backing[i] = (i * 31) & 0xff
    const payloads = [
      Buffer.from('hello world'),
      Buffer.alloc(1000, 0x5a),
      backing.subarray(1), // a view at an odd offset, past the 64 KiB length form
      new Uint8Array(backing.buffer, backing.byteOffset + 3, 13), // a plain Uint8Array view
    ]
    const copies = payloads.map((payload) => Buffer.from(payload))
    const backingCopy = Buffer.from(backing)
    for (const payload of payloads) wsc.send(payload as Buffer)
    await until(() => messages.length >= payloads.length, 5000, 'every message')
    t.strictSame(messages, copies, 'the server received the bytes sent')
    for (let i = 0; i < payloads.length; i++) t.ok(Buffer.from(payloads[i]).equals(copies[i]), `payload ${i} unchanged`)
    t.ok(backing.equals(backingCopy), 'the memory around the views is untouched')
  })
})

t.test("'ping' and 'pong'", async (t) => {
  t.test("a PING is reported as 'ping' and answered with a PONG carrying the same payload", async (t) => {
    const server = await shedServer(t)
    const ws = await wsClient(t, server.url)
    const { seen } = await server.connection()
    const pong = nextEvent<[Buffer]>(ws, 'pong')
    ws.ping('are you there')
    const [answer] = await pong
    t.equal(answer.toString(), 'are you there')
    t.strictSame(seen.pings, [Buffer.from('are you there')])
  })

  t.test("each of several PINGs gets its 'ping' event and its PONG", async (t) => {
    const server = await shedServer(t)
    const ws = await wsClient(t, server.url)
    const { seen } = await server.connection()
    const pongs: string[] = []
    ws.on('pong', (data: Buffer) => pongs.push(data.toString()))
    for (const payload of ['1', '2', '']) ws.ping(payload)
    await until(() => pongs.length >= 3, 5000, 'three pongs')
    t.strictSame(pongs, ['1', '2', ''])
    t.strictSame(seen.pings.map(String), ['1', '2', ''])
  })

  t.test("an unsolicited PONG is reported as 'pong' and not answered", async (t) => {
    const server = await shedServer(t)
    const ws = await wsClient(t, server.url)
    const { seen } = await server.connection()
    let answered = 0
    ws.on('ping', () => answered++)
    ws.on('pong', () => answered++)
    ws.pong('heartbeat')
    await until(() => seen.pongs.length >= 1, 5000, "'pong'")
    await delay(20)
    t.strictSame(seen.pongs, [Buffer.from('heartbeat')])
    t.equal(answered, 0, 'nothing came back')
  })

  t.test('the client side reports and answers PINGs too', async (t) => {
    const wss = await wsServer(t)
    const { wsc } = await shedClient(t, wss.port)
    const seen = watch(wsc)
    const peer = await wss.connection()
    const pong = nextEvent<[Buffer]>(peer, 'pong')
    peer.ping(Buffer.from([1, 2, 3]))
    t.strictSame((await pong)[0], Buffer.from([1, 2, 3]))
    t.strictSame(seen.pings, [Buffer.from([1, 2, 3])])
    peer.pong('late')
    await until(() => seen.pongs.length >= 1, 5000, "'pong'")
    t.strictSame(seen.pongs, [Buffer.from('late')])
  })
})

t.test('end(reason)', async (t) => {
  t.test('on the server sends CLOSE 1000 with the reason, and the peer sees it', async (t) => {
    const server = await shedServer(t)
    const ws = await wsClient(t, server.url)
    const { wsc, seen } = await server.connection()
    const closed = wsClosed(ws)
    wsc.end('going home')
    t.strictSame(await closed, [1000, 'going home'])
    await ended(seen)
    t.equal(seen.ends.length, 1, "'end' once")
    t.equal(seen.ends[0][0], 'NORMAL')
    t.equal(seen.ends[0][2], 1000)
    t.strictSame(seen.errors, [])
  })

  t.test('on the client does the same', async (t) => {
    const wss = await wsServer(t)
    const { wsc } = await shedClient(t, wss.port)
    const seen = watch(wsc)
    const peer = await wss.connection()
    const closed = wsClosed(peer)
    wsc.end('done here')
    t.strictSame(await closed, [1000, 'done here'])
    await ended(seen)
    t.equal(seen.ends.length, 1, "'end' once")
    t.equal(seen.ends[0][0], 'NORMAL')
  })

  t.test('without a reason sends CLOSE 1000 with an empty reason', async (t) => {
    const server = await shedServer(t)
    const ws = await wsClient(t, server.url)
    const { wsc } = await server.connection()
    const closed = wsClosed(ws)
    wsc.end()
    t.strictSame(await closed, [1000, ''])
  })

  t.test('sends the messages written before it first', async (t) => {
    const server = await shedServer(t)
    const ws = await wsClient(t, server.url)
    const messages = wsReceived(ws)
    const { wsc } = await server.connection()
    const closed = wsClosed(ws)
    wsc.send('last words')
    wsc.end('bye')
    await closed
    t.strictSame(messages, ['last words'])
  })
})

t.test("'end' after the peer's CLOSE", async (t) => {
  t.test("is emitted exactly once, with ('NORMAL', reason, 1000)", async (t) => {
    const server = await shedServer(t)
    const ws = await wsClient(t, server.url)
    const { seen } = await server.connection()
    const closed = wsClosed(ws)
    ws.close(1000, 'finished')
    await ended(seen)
    t.strictSame(seen.ends, [['NORMAL', 'finished', 1000]])
    t.strictSame(seen.order, ['end'], "no 'connectionReset' or 'error'")
    t.equal((await closed)[0], 1000, 'the close code was echoed')
  })

  const names: Array<[number, string]> = [
    [1001, 'GOING_AWAY'],
    [1002, 'PROTOCOL_ERROR'],
    [1003, 'UNACCEPTABLE'],
    [1007, 'MALFORMED'],
    [1008, 'POLICY_VIOLATION'],
    [1009, 'TOO_BIG'],
    [1010, 'MISSING_EXTENSION'],
    [1011, 'UNEXPECTED_ERROR'],
  ]
  for (const [code, name] of names) {
    t.test(`names ${code} '${name}'`, async (t) => {
      const server = await shedServer(t)
      const ws = await wsClient(t, server.url)
      const { seen } = await server.connection()
      ws.close(code, `because ${code}`)
      await ended(seen)
      t.strictSame(seen.ends, [[name, `because ${code}`, code]])
    })
  }

  t.test('on the client side, names the code the server closed with', async (t) => {
    const wss = await wsServer(t)
    const { wsc } = await shedClient(t, wss.port)
    const seen = watch(wsc)
    const peer = await wss.connection()
    peer.close(1001, 'shutting down')
    await ended(seen)
    t.strictSame(seen.ends, [['GOING_AWAY', 'shutting down', 1001]])
  })

  t.test('a CLOSE without a status code has no code name', async (t) => {
    const server = await shedServer(t)
    const ws = await wsClient(t, server.url)
    const { seen } = await server.connection()
    ws.close()
    await ended(seen)
    t.equal(seen.ends.length, 1)
    t.equal(seen.ends[0][0], null)
  })
})

t.test('a connection that ends without a CLOSE', async (t) => {
  t.test("a peer that drops TCP: 'connectionReset', then 'end' (null, null, 1006)", async (t) => {
    const server = await shedServer(t)
    const ws = await wsClient(t, server.url)
    const { seen } = await server.connection()
    ws.terminate()
    await ended(seen)
    t.strictSame(seen.order, ['connectionReset', 'end'])
    t.strictSame(seen.ends, [[null, null, 1006]])
  })

  t.test("a peer that resets TCP: 'connectionReset' once, then 'end', and no 'error'", async (t) => {
    const server = await shedServer(t)
    const raw = await rawClient(t, server.port)
    const { seen } = await server.connection()
    raw.socket.resetAndDestroy()
    await ended(seen)
    t.strictSame(seen.order, ['connectionReset', 'end'])
    t.strictSame(seen.ends, [[null, null, 1006]])
  })

  t.test('the same on the client side, when the server drops TCP', async (t) => {
    const wss = await wsServer(t)
    const { wsc } = await shedClient(t, wss.port)
    const seen = watch(wsc)
    const peer = await wss.connection()
    peer.terminate()
    await ended(seen)
    t.strictSame(seen.order, ['connectionReset', 'end'])
    t.strictSame(seen.ends, [[null, null, 1006]])
  })
})

t.test('a peer that breaks the protocol', async (t) => {
  t.test("invalid UTF-8: 'error' (WS_ERR_INVALID_UTF8, 1007) then 'end'; the peer gets CLOSE 1007", async (t) => {
    const server = await shedServer(t)
    const raw = await rawClient(t, server.port)
    const { seen } = await server.connection()
    raw.socket.write(Buffer.concat([clientFrame({ opcode: 0x1, payload: 'fine' }), clientFrame({ opcode: 0x1, payload: Buffer.from([0x61, 0xff, 0x62]) })]))
    const close = await readServerFrame(raw.socket)
    t.equal(close.opcode, 0x8, 'a CLOSE frame')
    t.equal(close.payload.readUInt16BE(0), 1007)
    await endOf(raw.socket)
    await ended(seen)
    t.strictSame(seen.texts, ['fine'], 'the message before the bad one was delivered')
    t.strictSame(seen.order, ['text', 'error', 'end'])
    t.equal(seen.errors[0].code, 'WS_ERR_INVALID_UTF8')
    t.equal(seen.errors[0].status, 1007)
    t.strictSame(seen.ends, [[null, null, 1006]])
  })

  const misdeeds: Array<[string, Buffer, number]> = [
    ['invalid UTF-8', clientFrame({ opcode: 0x1, payload: Buffer.from([0xc0, 0x80]) }), 1007],
    ['an unmasked frame', frame({ opcode: 0x1, payload: 'unmasked' }), 1002],
    ['a reserved opcode', clientFrame({ opcode: 0x3 }), 1002],
    ['a CLOSE with a forbidden code', clientFrame({ opcode: 0x8, payload: Buffer.from([0x03, 0xed]) }), 1002],
    ['a continuation with no message started', clientFrame({ opcode: 0x0, payload: 'x' }), 1002],
  ]
  for (const [what, bytes, code] of misdeeds) {
    t.test(`${what}, with no 'error' listener: no crash, CLOSE ${code}, 'end' once`, async (t) => {
      const server = await shedServer(t)
      const raw = await rawClient(t, server.port)
      const { wsc, seen } = await server.connection({ errors: false })
      t.equal(wsc.listenerCount('error'), 0)
      raw.socket.write(bytes)
      const close = await readServerFrame(raw.socket)
      t.equal(close.opcode, 0x8)
      t.equal(close.payload.readUInt16BE(0), code)
      await ended(seen)
      t.equal(seen.ends.length, 1)
    })
  }

  t.test("a server that masks its frames, seen by a client with no 'error' listener: no crash", async (t) => {
    const server = await craftedServer((request) =>
      request.socket.write(Buffer.concat([Buffer.from(switchingProtocols(request)), clientFrame({ opcode: 0x1, payload: 'masked' })])),
    )
    t.teardown(() => server.close())
    const { wsc } = await shedClient(t, server.port)
    const seen = watch(wsc, { errors: false })
    const peer = server.requests[0].socket
    const close = await readBytes(peer, 2)
    t.equal(close[0] & 0x0f, 0x8, 'the client sent CLOSE')
    peer.end() // the server's FIN lets the client finish at once
    await ended(seen)
    t.equal(seen.ends.length, 1)
    t.strictSame(seen.texts, [])
  })
})

t.test('getProtocol()', async (t) => {
  t.test("is the first protocol the client offered that the server supports", async (t) => {
    const server = await shedServer(t, false, ['chat', 'superchat'])
    const ws = await wsClient(t, server.url, ['superchat', 'chat'])
    const { wsc } = await server.connection()
    t.equal(wsc.getProtocol(), 'superchat')
    t.equal(ws.protocol, 'superchat')
  })

  t.test('is null when nothing was negotiated', async (t) => {
    const server = await shedServer(t)
    await wsClient(t, server.url)
    const { wsc } = await server.connection()
    t.equal(wsc.getProtocol(), null)
  })

  t.test('is null, and the upgrade succeeds, when no offered protocol is supported', async (t) => {
    const server = await shedServer(t, false, ['chat'])
    const raw = await rawClient(t, server.port, { 'Sec-WebSocket-Protocol': 'mqtt, wamp' })
    const { wsc } = await server.connection()
    t.equal(wsc.getProtocol(), null)
    t.equal(header(raw, 'sec-websocket-protocol'), undefined)
  })

  t.test('on the client side, is the protocol the server chose from those in the request', async (t) => {
    const wss = await wsServer(t, { handleProtocols: (offered) => (offered.has('chat') ? 'chat' : false) })
    const { wsc } = await shedClient(t, wss.port, { 'Sec-WebSocket-Protocol': 'superchat, chat' })
    t.equal(wsc.getProtocol(), 'chat')
  })

  t.test('on the client side, is null when none was offered', async (t) => {
    const wss = await wsServer(t)
    const { wsc } = await shedClient(t, wss.port)
    t.equal(wsc.getProtocol(), null)
  })
})

t.test('accept(req, socket, head, true)', async (t) => {
  t.test('returns the socket itself after the 101, with early bytes put back in front', async (t) => {
    const server = await shedServer(t, true, ['chat'])
    const early = clientFrame({ opcode: 0x1, payload: 'for the backend' })
    const response = await exchangeHead(server.port, Buffer.concat([upgradeRequest({ 'Sec-WebSocket-Protocol': 'chat' }), early]))
    t.teardown(() => response.socket.destroy())
    t.equal(response.startLine, 'HTTP/1.1 101 Switching Protocols')
    t.equal(header(response, 'sec-websocket-accept'), acceptFor('dGhlIHNhbXBsZSBub25jZQ=='))
    t.equal(header(response, 'sec-websocket-protocol'), 'chat')
    const { result, socket, head } = await server.accepted()
    t.equal(result, socket, 'the very socket')
    t.type(result, Socket)
    t.strictSame(head, early, 'the frame came as head bytes')
    t.strictSame(await readBytes(result as Socket, early.length), early, 'and is read first from the socket')
  })
})

t.test('destroy()', async (t) => {
  t.test('closes the connection at once, without a CLOSE frame', async (t) => {
    const server = await shedServer(t)
    const raw = await rawClient(t, server.port)
    const { wsc, seen } = await server.connection()
    const bytes: Buffer[] = []
    raw.socket.on('data', (chunk: Buffer) => bytes.push(chunk))
    wsc.destroy()
    await endOf(raw.socket)
    t.strictSame(Buffer.concat(bytes), Buffer.alloc(0), 'nothing was sent before the connection closed')
    await ended(seen)
    t.equal(seen.ends.length, 1, "'end' once")
    t.strictSame(seen.errors, [])
  })

  t.test('a ws peer sees an abnormal closure (1006)', async (t) => {
    const server = await shedServer(t)
    const ws = await wsClient(t, server.url)
    const { wsc } = await server.connection()
    const closed = wsClosed(ws)
    wsc.destroy()
    t.equal((await closed)[0], 1006)
  })
})

t.test('generateKey()', async (t) => {
  const shed = new Watershed()
  const keys = Array.from({ length: 100 }, () => shed.generateKey())
  for (const key of keys.slice(0, 5)) {
    t.equal(Buffer.from(key, 'base64').length, 16, `${key} is 16 bytes`)
    t.equal(Buffer.from(key, 'base64').toString('base64'), key, `${key} is canonical base64`)
  }
  t.equal(new Set(keys).size, keys.length, 'no key repeats')
})

t.test('connect() refuses a response that does not answer the key', async (t) => {
  const wss = await wsServer(t)
  const shed = new Watershed()
  const req = http.request({
    port: wss.port,
    hostname: '127.0.0.1',
    headers: { connection: 'upgrade', upgrade: 'websocket', 'Sec-WebSocket-Key': shed.generateKey(), 'Sec-WebSocket-Version': '13' },
  })
  const upgraded = nextEvent<[IncomingMessage, Socket, Buffer]>(req, 'upgrade')
  req.end()
  const [res, socket, head] = await upgraded
  t.teardown(() => socket.destroy())
  t.throws(() => shed.connect(res, socket, head, shed.generateKey()), /Sec-WebSocket-Accept/)
})
