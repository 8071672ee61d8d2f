/**
 * The original API, used exactly as its documentation shows it, keeps every
 * guarantee of the streams core beneath it: 'end' comes while the
 * connection is closing (before the socket's 'close') with what the peer
 * said, however the connection ends; an echo cannot be made to hold what a
 * peer that never reads sends it; a refused upgrade still gets its HTTP
 * answer; a client does not take what it did not offer. Peers are the `ws`
 * package, and raw TCP for what ws will not do.
 */
import t, { type Test } from 'tap'
import { HandshakeError } from '../../lib/protocol/errors'
import { Watershed, type WatershedConnection } from '../../lib/compat/watershed'
import { clientFrame, frame } from '../helpers/frames'
import {
  craftedServer,
  exchangeHead,
  exchangeUntilClosed,
  header,
  statusOf,
  switchingProtocols,
  upgradeRequest,
  upgradeServer,
} from '../helpers/http-upgrade'
import { MiB, retained } from '../helpers/memory'
import { documentedClient, documentedServer, settled, type AfterCatch } from '../helpers/original-api'
import { wsClient, wsClosed, wsServer } from '../helpers/ws-peer'
import { nextEvent, until, within } from '../helpers/ws-wait'

/** A raw TCP client that completed the handshake, for peers ws will not play. */
async function rawPeer(t: Test, port: number) {
  const response = await exchangeHead(port, upgradeRequest())
  response.socket.on('error', () => {})
  t.teardown(() => response.socket.destroy())
  return response.socket
}

const endBeforeSocketClose = (t: Test, order: string[]) =>
  t.ok(order.indexOf('end') !== -1 && order.indexOf('end') < order.indexOf('socket close'),
    `'end' came before the socket's 'close' (${order.join(', ')})`)

t.test("'end' comes while the connection is closing, before the socket's 'close'", async (t) => {
  t.test('server side: the peer closes with 4001 "bye"', async (t) => {
    const server = await documentedServer(t)
    const ws = await wsClient(t, `ws://127.0.0.1:${server.port}/`)
    const { log } = await server.next()
    const closed = wsClosed(ws)
    ws.close(4001, 'bye')
    await settled(log)
    endBeforeSocketClose(t, log.order)
    t.strictSame(log.ends, [[4001, 'bye', 4001]], 'a code without a name arrives as its number, with the reason')
    t.equal((await closed)[0], 4001, 'our answer echoed the code')
  })

  t.test('server side: we close with end("bye")', async (t) => {
    const server = await documentedServer(t)
    const ws = await wsClient(t, `ws://127.0.0.1:${server.port}/`)
    const { wsc, log } = await server.next()
    const closed = wsClosed(ws)
    wsc.end('bye')
    t.strictSame(await closed, [1000, 'bye'], 'the peer got CLOSE 1000 "bye"')
    await settled(log)
    endBeforeSocketClose(t, log.order)
    t.strictSame(log.ends, [['NORMAL', 'bye', 1000]], "the peer's answer (ws echoes the reason)")
  })

  t.test('client side: the server closes with 4001 "bye"', async (t) => {
    const wss = await wsServer(t)
    const { log } = await documentedClient(t, wss.port)
    const peer = await wss.connection()
    peer.close(4001, 'bye')
    await settled(log)
    endBeforeSocketClose(t, log.order)
    t.strictSame(log.ends, [[4001, 'bye', 4001]])
  })

  t.test('client side: we close with end("bye")', async (t) => {
    const wss = await wsServer(t)
    const { wsc, log } = await documentedClient(t, wss.port)
    const peer = await wss.connection()
    const closed = wsClosed(peer)
    wsc.end('bye')
    t.strictSame(await closed, [1000, 'bye'])
    await settled(log)
    endBeforeSocketClose(t, log.order)
    t.strictSame(log.ends, [['NORMAL', 'bye', 1000]])
  })

  t.test("a protocol error: 'error', then 'end', then the socket's 'close'", async (t) => {
    const server = await documentedServer(t)
    const raw = await rawPeer(t, server.port)
    const { log } = await server.next()
    raw.write(Buffer.concat([clientFrame({ opcode: 0x1, payload: 'fine' }), frame({ opcode: 0x1, payload: 'unmasked' })]))
    raw.resume()
    raw.on('end', () => raw.end())
    await settled(log)
    t.strictSame(log.order, ['text', 'error', 'end', 'socket close'])
    t.equal(log.errors[0].code, 'WS_ERR_MASK_REQUIRED')
    t.strictSame(log.ends, [[null, null, 1006]], 'no CLOSE came from the peer')
  })

  t.test('a peer that never answers our CLOSE: after closeTimeout, \'end\' then the socket\'s \'close\'', async (t) => {
    const server = await documentedServer(t, { options: { closeTimeout: 200 } })
    const raw = await rawPeer(t, server.port)
    const { wsc, log } = await server.next()
    raw.resume() // reads, never answers
    const started = Date.now()
    wsc.end('anyone?')
    await settled(log)
    t.ok(Date.now() - started < 2000, 'the options of new Watershed() set the close timeout')
    endBeforeSocketClose(t, log.order)
    t.strictSame(log.ends, [[null, null, 1006]])
  })

  t.test('a silent peer found by the heartbeat: \'error\', \'end\', then the socket\'s \'close\'', async (t) => {
    const server = await documentedServer(t, { options: { heartbeat: 100 } })
    await rawPeer(t, server.port) // never reads, never answers
    const { log } = await server.next()
    await settled(log)
    t.strictSame(log.order, ['error', 'end', 'socket close'])
    t.equal(log.errors[0].code, 'WS_ERR_HEARTBEAT_TIMEOUT')
  })

  t.test("a peer that drops TCP: 'connectionReset', 'end', then the socket's 'close'", async (t) => {
    const server = await documentedServer(t)
    const ws = await wsClient(t, `ws://127.0.0.1:${server.port}/`)
    const { log } = await server.next()
    ws.terminate()
    await settled(log)
    t.strictSame(log.order, ['connectionReset', 'end', 'socket close'])
  })

  t.test("destroy(): 'end', then the socket's 'close'", async (t) => {
    const server = await documentedServer(t)
    const ws = await wsClient(t, `ws://127.0.0.1:${server.port}/`)
    const { wsc, log } = await server.next()
    const closed = wsClosed(ws)
    wsc.destroy()
    await settled(log)
    t.strictSame(log.order, ['end', 'socket close'])
    t.equal((await closed)[0], 1006, 'the peer saw no CLOSE')
  })

  t.test('messages that arrived before the CLOSE are delivered before \'end\'', async (t) => {
    const server = await documentedServer(t)
    const ws = await wsClient(t, `ws://127.0.0.1:${server.port}/`)
    const { log } = await server.next()
    ws.send('one')
    ws.send(Buffer.from('two'))
    ws.close(1000, 'done')
    await settled(log)
    t.strictSame(log.order, ['text', 'binary', 'end', 'socket close'])
  })
})

t.test('additions to the original API', async (t) => {
  t.test('ping(data): the peer answers, and the PONG arrives as \'pong\'', async (t) => {
    const server = await documentedServer(t)
    const ws = await wsClient(t, `ws://127.0.0.1:${server.port}/`)
    const { wsc, log } = await server.next()
    const pinged = nextEvent<[Buffer]>(ws, 'ping')
    wsc.ping('are you there')
    t.equal(String((await pinged)[0]), 'are you there')
    await until(() => log.pongs.length === 1, 5000, "'pong'")
    t.equal(String(log.pongs[0]), 'are you there')
  })

  t.test('end(reason, code) closes with that code', async (t) => {
    const server = await documentedServer(t)
    const ws = await wsClient(t, `ws://127.0.0.1:${server.port}/`)
    const { wsc, log } = await server.next()
    const closed = wsClosed(ws)
    wsc.end('going away now', 4002)
    t.strictSame(await closed, [4002, 'going away now'])
    await settled(log)
    t.strictSame(log.ends, [[4002, 'going away now', 4002]])
  })

  t.test('end(reason, code) refuses a code that may not be sent', async (t) => {
    const server = await documentedServer(t)
    await wsClient(t, `ws://127.0.0.1:${server.port}/`)
    const { wsc } = await server.next()
    t.throws(() => wsc.end('x', 1006), RangeError)
  })

  t.test('new Watershed(options) refuses a bad option at once, naming it', async (t) => {
    t.throws(() => new Watershed({ heartbeat: -1 }), { name: 'RangeError', message: /heartbeat/ })
    t.throws(() => new Watershed({ maxMessageSize: 0 }), { name: 'RangeError', message: /maxMessageSize/ })
    t.throws(() => new Watershed({ closeTimeout: 'soon' as unknown as number }), { name: 'TypeError', message: /closeTimeout/ })
    t.doesNotThrow(() => new Watershed(), 'no options, as the original')
  })

  t.test('new Watershed({ maxMessageSize }) lowers the limit for accepted connections', async (t) => {
    const server = await documentedServer(t, { options: { maxMessageSize: 1024 } })
    const ws = await wsClient(t, `ws://127.0.0.1:${server.port}/`)
    const { log } = await server.next()
    const closed = wsClosed(ws)
    ws.send(Buffer.alloc(1025))
    t.equal((await closed)[0], 1009, 'the peer got CLOSE 1009')
    await settled(log)
    t.equal(log.errors[0]?.code, 'WS_ERR_PAYLOAD_TOO_LARGE', 'judged from the frame header')
    t.strictSame(log.binaries, [])
  })

  t.test('... and for connected clients', async (t) => {
    const wss = await wsServer(t)
    const { log } = await documentedClient(t, wss.port, { options: { maxMessageSize: 1024 } })
    const peer = await wss.connection()
    const closed = wsClosed(peer)
    peer.send('x'.repeat(2000))
    t.equal((await closed)[0], 1009)
    await settled(log)
    t.strictSame(log.texts, [])
  })

  t.test('new Watershed({ maxMessageSize }) raises it: a message over the 100 MiB default arrives whole', async (t) => {
    const server = await documentedServer(t, { options: { maxMessageSize: 128 * MiB } })
    const ws = await wsClient(t, `ws://127.0.0.1:${server.port}/`)
    const { log } = await server.next()
    const big = Buffer.alloc(101 * MiB, 0x61)
    big[big.length - 1] = 0x62
    ws.send(big)
    await until(() => log.binaries.length === 1, 30_000, 'the 101 MiB message')
    t.equal(log.binaries[0].length, big.length)
    t.ok(log.binaries[0].equals(big), 'byte for byte')
    log.binaries.length = 0
  })
})

const echo = (wsc: WatershedConnection) => {
  wsc.on('binary', (b: Buffer) => wsc.send(b))
  wsc.on('text', (text: string) => wsc.send(text))
}

for (const size of [1, 8]) {
t.test(`an echo written as the documentation shows cannot be made to hold what a non-reading peer sends (${size} MiB messages)`, async (t) => {
  const server = await documentedServer(t, { onConnection: echo })
  const bystander = await wsClient(t, `ws://127.0.0.1:${server.port}/`)
  await server.next()
  const attacker = await rawPeer(t, server.port) // never reads
  const { log } = await server.next()
  const COUNT = 200 / size
  const message = clientFrame({ opcode: 0x2, payload: Buffer.alloc(size * MiB, 0x41) })
  const before = retained()
  let written = 0
  // Written as fast as TCP takes it; stalled once a second passes without a 'drain'.
  const drainedWithin = (ms: number) =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        attacker.off('drain', onDrain)
        resolve(false)
      }, ms)
      const onDrain = () => {
        clearTimeout(timer)
        resolve(true)
      }
      attacker.once('drain', onDrain)
    })
  let stalled = false
  while (written < COUNT && !stalled) {
    written++
    if (!attacker.write(message)) stalled = !(await drainedWithin(1000))
  }
  const received = log.binaries.length
  log.binaries.length = 0
  const held = retained() - before
  t.ok(stalled, `the attacker was stopped by TCP after ${written * size} of 200 MiB`)
  t.ok(held < 64 * MiB, `memory held grew by ${(held / MiB).toFixed(1)} MiB (limit 64)`)
  t.ok(received < COUNT, `${received} messages were read while the echoes could not be sent`)
  const echoed = nextEvent<[Buffer, boolean]>(bystander, 'message')
  bystander.send('still served')
  t.equal(String((await echoed)[0]), 'still served', 'another connection keeps echoing')
  attacker.destroy()
  await settled(log)
  t.ok(log.order.includes('connectionReset'), "the attacker's leaving is reported")
  t.equal(log.order.at(-2), 'end')
})
}

t.test('the server pauses reading only while its sends are backed up, never for good', async (t) => {
  t.test('end() after a backed-up send(): the peer\'s answer is still read, and \'end\' reports it', async (t) => {
    const server = await documentedServer(t, { options: { closeTimeout: 3000 } })
    const ws = await wsClient(t, `ws://127.0.0.1:${server.port}/`)
    const { wsc, log } = await server.next()
    // The peer reads nothing for a while: far more than the kernel's buffers hold stays queued here.
    const peerSocket = (ws as unknown as { _socket: import('node:net').Socket })._socket
    peerSocket.pause()
    const started = Date.now()
    let backedUp = false
    for (let i = 0; i < 24; i++) backedUp = !wsc.send(Buffer.alloc(2 * MiB)) || backedUp
    t.ok(backedUp, 'the sends are over the high-water mark')
    ws.send('one more message before my CLOSE')
    wsc.end('bye')
    const closed = wsClosed(ws)
    setTimeout(() => peerSocket.resume(), 300)
    await settled(log)
    t.strictSame(log.texts, ['one more message before my CLOSE'])
    t.strictSame(log.ends, [['NORMAL', 'bye', 1000]], "'end' carries the peer's answer")
    t.ok(Date.now() - started < 2500, 'without waiting for the close timeout')
    t.strictSame(await closed, [1000, 'bye'])
  })

  t.test('a peer that sends, half-closes and never reads: every message it sent comes before \'end\'', async (t) => {
    const server = await documentedServer(t, { onConnection: echo, options: { closeTimeout: 300 } })
    const raw = await rawPeer(t, server.port) // never reads
    const { log } = await server.next()
    // The first echo (32 MiB) backs up beyond the kernel's buffers, so reading
    // pauses with the four small messages and the FIN already in our pipeline.
    // (Had the FIN stayed behind a paused socket, the wait would be the peer's
    // to end: it may still read, and a paused socket cannot see a FIN.)
    const words = ['A'.repeat(32 * MiB), 'b', 'c', 'd', 'e']
    raw.write(Buffer.concat(words.map((word) => clientFrame({ opcode: 0x1, payload: word }))))
    raw.end()
    await settled(log)
    t.strictSame(log.texts.map((text) => text[0]), ['A', 'b', 'c', 'd', 'e'], 'every message, in order')
    t.strictSame(log.order.filter((event) => event !== 'text').slice(-3), ['connectionReset', 'end', 'socket close'])
    t.equal(log.order.lastIndexOf('text') < log.order.indexOf('end'), true, "no message after 'end'")
    log.texts.length = 0
  })

  t.test('two ends of this API, the client sending in a loop, the server echoing: every echo arrives', async (t) => {
    const server = await documentedServer(t, { onConnection: echo })
    const { wsc, log } = await documentedClient(t, server.port)
    const COUNT = 64
    for (let i = 0; i < COUNT; i++) wsc.send(Buffer.alloc(MiB, i))
    await until(() => log.binaries.length === COUNT, 20_000, 'every echo')
    t.ok(log.binaries.every((b, i) => b.length === MiB && b[0] === i && b[MiB - 1] === i), 'each echo whole, in order')
    log.binaries.length = 0
  })
})

t.test('a bad upgrade handled as the documentation shows still gets its HTTP answer', async (t) => {
  const cases: Array<[string, Buffer, number, Record<string, string>]> = [
    ['a missing key', upgradeRequest({ 'Sec-WebSocket-Key': null }), 400, {}],
    ['a 15-byte key', upgradeRequest({ 'Sec-WebSocket-Key': Buffer.alloc(15).toString('base64') }), 400, {}],
    ['a key that is not base64', upgradeRequest({ 'Sec-WebSocket-Key': '!!!!!!!!!!!!!!!!!!!!!!==' }), 400, {}],
    ['a missing version', upgradeRequest({ 'Sec-WebSocket-Version': null }), 426, { 'sec-websocket-version': '13' }],
    ['a bad version', upgradeRequest({ 'Sec-WebSocket-Version': '8' }), 426, { 'sec-websocket-version': '13' }],
    ['a POST', upgradeRequest({}, { method: 'POST' }), 405, { allow: 'GET' }],
    ['an HTTP/1.0 request', upgradeRequest({}, { version: 'HTTP/1.0' }), 400, {}],
  ]
  for (const afterCatch of ['end', 'destroy', 'nothing'] as AfterCatch[]) {
    t.test(`the catch block does ${afterCatch === 'nothing' ? 'nothing' : `socket.${afterCatch}()`}`, async (t) => {
      const server = await documentedServer(t, { afterCatch })
      for (const [what, request, status, headers] of cases) {
        const response = await exchangeUntilClosed(server.port, request)
        t.equal(statusOf(response), status, `${what}: ${status}`)
        for (const [name, value] of Object.entries(headers)) t.equal(header(response, name), value, `${what}: ${name}`)
      }
      t.equal(server.caught.length, cases.length, 'each error was thrown to the catch block')
    })
  }
})

t.test('accept() with a head that is not a Buffer', async (t) => {
  const answers: Array<[string, unknown, number]> = [
    ['null is taken as no early bytes', null, 101],
    ['a string is the caller\'s mistake: refused before a 101 is written', 'early', 500],
  ]
  for (const [what, head, status] of answers) {
    t.test(what, async (t) => {
      const shed = new Watershed()
      const thrown: unknown[] = []
      const server = await upgradeServer((req, socket) => {
        try {
          shed.accept(req, socket, head as Buffer)
        } catch (error) {
          thrown.push(error)
          socket.end()
        }
      })
      t.teardown(() => server.close())
      const response = await exchangeHead(server.port, upgradeRequest())
      response.socket.destroy()
      t.equal(statusOf(response), status)
      t.equal(thrown.length, status === 101 ? 0 : 1)
      if (thrown.length) t.type(thrown[0], TypeError)
    })
  }
})

t.test('the client does not take what it did not offer', async (t) => {
  const answers: Array<[string, Record<string, string>, string[], string]> = [
    ['a subprotocol other than the one offered', { 'Sec-WebSocket-Protocol': 'chat' }, ['Sec-WebSocket-Protocol: evil'], 'WS_ERR_HANDSHAKE'],
    ['a subprotocol when none was offered', {}, ['Sec-WebSocket-Protocol: evil'], 'WS_ERR_HANDSHAKE'],
    ['an extension when none was offered', {}, ['Sec-WebSocket-Extensions: permessage-deflate'], 'WS_ERR_INVALID_EXTENSION'],
  ]
  for (const [what, offer, lines, code] of answers) {
    t.test(`connect() throws on ${what}, and the socket is destroyed`, async (t) => {
      const server = await craftedServer((request) => request.socket.write(switchingProtocols(request, lines)))
      t.teardown(() => server.close())
      const error = await documentedClient(t, server.port, { headers: offer }).then(
        () => null,
        (e: unknown) => e,
      )
      t.type(error, HandshakeError)
      t.equal((error as HandshakeError).code, code)
      await within(new Promise<void>((resolve) => {
        const peer = server.requests[0].socket
        if (peer.destroyed || peer.readableEnded) resolve()
        else peer.on('close', () => resolve()).on('end', () => resolve()).resume()
      }), 5000, 'the connection to close')
    })
  }

  t.test('the subprotocol that was offered is taken', async (t) => {
    const server = await craftedServer((request) => request.socket.write(switchingProtocols(request, ['Sec-WebSocket-Protocol: chat'])))
    t.teardown(() => server.close())
    const { wsc } = await documentedClient(t, server.port, { headers: { 'Sec-WebSocket-Protocol': 'superchat, chat' } })
    t.equal(wsc.getProtocol(), 'chat')
  })
})
