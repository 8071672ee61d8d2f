/**
 * How a connection's end reaches a user who is not keeping up: 'disconnect'
 * as soon as nothing more can arrive (before the TCP connection closes); a
 * reader that has stopped is told, closeTimeout after TCP closed, how many
 * messages it left unread (and 'close' comes); a reader that keeps reading,
 * however slowly, is not cut off; and every write callback is called, with
 * an error when the message was never handed on.
 */
import t, { type Test } from 'tap'
import { WebSocketError } from '../../lib/protocol/errors'
import { Opcode } from '../../lib/protocol/frame'
import { clientFrame } from '../helpers/frames'
import { pair, serve } from '../helpers/ws-pair'
import { closeBody, rawConnect } from '../helpers/ws-raw'
import { delay, nextEvent, within } from '../helpers/ws-wait'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'

/** Our server with a raw TCP peer that sends exactly what a test writes. */
async function serverWithRawPeer(t: Test, closeTimeout: number) {
  let accepted!: (ws: WebSocketDuplex) => void
  const connection = new Promise<WebSocketDuplex>((resolve) => (accepted = resolve))
  const listening = await serve({ closeTimeout }, (ws) => accepted(ws))
  t.teardown(() => listening.close())
  const raw = await rawConnect(listening.port)
  t.teardown(() => raw.socket.destroy())
  const server = await within(connection, 5000, 'accept')
  t.teardown(() => {
    server.on('error', () => {})
    server.destroy()
  })
  return { raw: raw.socket, server }
}

const texts = (...words: string[]) => Buffer.concat(words.map((word) => clientFrame({ opcode: Opcode.TEXT, payload: word })))

t.test("'disconnect' comes once nothing more can arrive, before the TCP connection closes", async (t) => {
  t.test("the peer's CLOSE: (code, reason, null), with the messages before it still unread", async (t) => {
    const { raw, server } = await serverWithRawPeer(t, 1000)
    let socketClosed = false
    server.socket.once('close', () => (socketClosed = true))
    raw.write(Buffer.concat([texts('a', 'b'), clientFrame({ opcode: Opcode.CLOSE, payload: closeBody(4001, 'bye') })]))
    const [code, reason, error] = await nextEvent<[number, string, Error | null]>(server, 'disconnect')
    t.strictSame([code, reason, error], [4001, 'bye', null])
    t.equal(socketClosed, false, 'the TCP connection is still there')
    t.equal(server.read(), 'a', 'what came before the CLOSE is still readable')
    t.equal(server.read(), 'b')
  })

  t.test('a protocol error: (1006, "", the error)', async (t) => {
    const { raw, server } = await serverWithRawPeer(t, 1000)
    server.on('error', () => {})
    raw.write(clientFrame({ opcode: 0x3 }))
    const [code, , error] = await nextEvent<[number, string, WebSocketError]>(server, 'disconnect')
    t.equal(code, 1006)
    t.equal(error.code, 'WS_ERR_INVALID_OPCODE')
  })

  t.test('destroy(): once, from inside destroy()', async (t) => {
    const p = await pair()
    t.teardown(p.cleanup)
    const seen: unknown[][] = []
    p.server.on('disconnect', (...args: unknown[]) => seen.push(args))
    p.server.destroy()
    t.strictSame(seen, [[1006, '', null]])
    await nextEvent(p.server, 'close')
    t.equal(seen.length, 1, 'once')
  })
})

t.test('a reader that stops reading still learns that the connection is over', async (t) => {
  t.test('peer sent messages, a CLOSE and left: WS_ERR_UNREAD_MESSAGES counting them, then close', async (t) => {
    const { raw, server } = await serverWithRawPeer(t, 200)
    const errors: WebSocketError[] = []
    server.on('error', (error: WebSocketError) => errors.push(error))
    raw.write(Buffer.concat([texts('one', 'two', 'three'), clientFrame({ opcode: Opcode.CLOSE, payload: closeBody(1000) })]))
    raw.end()
    const started = Date.now()
    const [code] = await nextEvent<[number]>(server, 'close', 5000)
    const took = Date.now() - started
    t.equal(code, 1000, "the peer's CLOSE is reported")
    t.equal(errors.length, 1)
    t.equal(errors[0].code, 'WS_ERR_UNREAD_MESSAGES')
    t.match(errors[0].message, /3 messages not read/)
    t.ok(took < 2000, `'close' came ${took} ms after the peer left (close timer, then closeTimeout with no read)`)
  })

  t.test('peer vanished while the pipeline was full: found by the heartbeat, then the same', async (t) => {
    // A paused socket cannot see a FIN; the heartbeat's next PING meets the
    // vanished peer's reset, and that ends it.
    let accepted!: (ws: WebSocketDuplex) => void
    const connection = new Promise<WebSocketDuplex>((resolve) => (accepted = resolve))
    const listening = await serve({ closeTimeout: 200, heartbeat: 100 }, (ws) => accepted(ws))
    t.teardown(() => listening.close())
    const { socket: raw } = await rawConnect(listening.port)
    const server = await within(connection, 5000, 'accept')
    const errors: WebSocketError[] = []
    server.on('error', (error: WebSocketError) => errors.push(error))
    // More than the buffers hold, so the socket itself is paused behind them.
    const big = clientFrame({ opcode: Opcode.BINARY, payload: Buffer.alloc(256 * 1024) })
    for (let i = 0; i < 64; i++) raw.write(big)
    await delay(100)
    raw.destroy()
    const closed = await nextEvent<[number]>(server, 'close', 5000)
    t.equal(closed[0], 1006)
    t.equal(errors[0]?.code, 'WS_ERR_UNREAD_MESSAGES')
    t.ok(errors[0]?.cause instanceof Error, `the cause is the failure that ended it (${(errors[0]?.cause as Error)?.message})`)
  })

  t.test('a slow reader after the peer\'s FIN (no CLOSE) gets every message, then \'end\'', async (t) => {
    const { raw, server } = await serverWithRawPeer(t, 200)
    const errors: Error[] = []
    server.on('error', (error: Error) => errors.push(error))
    // More messages than the buffers hold: some wait in the pipeline and the kernel.
    const words = Array.from({ length: 40 }, (_, i) => `message ${i} `.repeat(2000))
    raw.write(texts(...words))
    raw.end()
    const ended = nextEvent(server, 'end', 10_000)
    const read: unknown[] = []
    // One message every 25 ms: a second in all, five times closeTimeout.
    while (!server.readableEnded) {
      await delay(25)
      const message = server.read()
      if (message !== null) read.push(message)
      else if (server.readableLength === 0 && server.readableEnded) break
      if (read.length === words.length) break
    }
    await ended
    t.equal(read.length, words.length, `all ${words.length} messages were read`)
    t.ok(read.every((message, i) => message === words[i]), 'each whole, in order')
    t.strictSame(errors, [], 'no error')
  })

  t.test('a reader that keeps reading, however slowly, is not cut off', async (t) => {
    const { raw, server } = await serverWithRawPeer(t, 150)
    const errors: Error[] = []
    server.on('error', (error: Error) => errors.push(error))
    const words = ['1', '2', '3', '4', '5', '6']
    raw.write(Buffer.concat([texts(...words), clientFrame({ opcode: Opcode.CLOSE, payload: closeBody(1000) })]))
    raw.resume()
    raw.on('end', () => raw.end())
    const read: unknown[] = []
    await nextEvent(server.socket, 'close', 5000)
    const closed = nextEvent(server, 'close', 5000)
    // One message every 100 ms: 600 ms in all, four times closeTimeout.
    for (;;) {
      await delay(100)
      const message = server.read()
      if (message === null) break
      read.push(message)
    }
    t.strictSame(read, words, 'every message was read')
    await closed
    t.strictSame(errors, [], 'no error')
  })
})

t.test('every write callback is called', async (t) => {
  t.test('writes waiting behind a peer that never reads fail when the connection is destroyed', async (t) => {
    const { server } = await serverWithRawPeer(t, 1000) // the raw peer never reads
    server.on('error', () => {})
    const results: Array<Error | null | undefined> = []
    const chunk = Buffer.alloc(1024 * 1024)
    let pending = 0
    // Far more than the socket and kernel buffers take: the later writes wait.
    for (let i = 0; i < 64; i++) {
      pending++
      server.write(chunk, (error?: Error | null) => {
        pending--
        results.push(error)
      })
    }
    await delay(200)
    t.ok(pending > 0, `${pending} writes are still waiting`)
    const waiting = pending
    server.destroy()
    await within((async () => {
      while (pending > 0) await delay(10)
    })(), 5000, 'every callback')
    const failed = results.filter((error) => error instanceof Error)
    // One of those waiting had been taken by the encoder (held only for pacing): that one is no failure.
    t.equal(failed.length, waiting - 1, `${failed.length} callbacks reported an error (${waiting} were waiting)`)
    t.equal(results.length, 64, 'each callback once')
  })

  t.test('a write made while the connection is failing is reported, not forgotten', async (t) => {
    const { raw, server } = await serverWithRawPeer(t, 200)
    server.on('error', () => {})
    const failing = nextEvent(server, 'disconnect')
    raw.write(clientFrame({ opcode: 0x3 })) // a reserved opcode fails the connection
    await failing
    const error = await within(new Promise<Error | null | undefined>((resolve) => server.write('too late', resolve)), 5000, 'the callback')
    t.type(error, Error, 'the message that was never sent is reported through its callback')
  })
})
