/**
 * Our client with the `ws` package's server, over ws:// and wss://: the same
 * scenario the other pairs run, written against our streams API, plus pings
 * in both directions (both APIs can send them).
 */
import { once } from 'node:events'
import t, { type Test } from 'tap'
import { connect, type ConnectOptions } from '../../lib/handshake/client'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { within } from '../helpers/ws-wait'
import {
  CLIENT_CLOSE,
  MULTIBYTE,
  OFFERED_PROTOCOLS,
  PING_PAYLOAD,
  PING_REQUEST,
  PONG_ANSWER,
  RECEIVED_HASHES,
  SERVER_CLOSE,
  SIZED_HASHES,
  SIZES,
  SMALL_COUNT,
  bytesOfSize,
  sha256,
  textOfSize,
} from './fixtures'
import { SCHEMES, testCredentials } from './scenario'
import { startWsServer } from './ws-server-peer'

/** Our client's view of one connection: its messages one at a time, and how it closed. */
function observe(ws: WebSocketDuplex) {
  const errors: Error[] = []
  ws.on('error', (error: Error) => errors.push(error))
  const messages = ws[Symbol.asyncIterator]() as AsyncIterator<string | Buffer>
  const next = async () => (await messages.next()).value as string | Buffer
  /** Reads to the end of the stream (where the peer's CLOSE is): what was still unread. */
  const rest = async () => {
    const left: Array<string | Buffer> = []
    for (let item = await messages.next(); !item.done; item = await messages.next()) left.push(item.value)
    return left
  }
  const closed = new Promise<{ code: number; reason: string; tcpHadError: boolean }>((resolve) => {
    let tcpHadError = false
    ws.socket.once('close', (hadError: boolean) => (tcpHadError = hadError))
    ws.on('close', (code: number, reason: string) => setImmediate(() => resolve({ code, reason, tcpHadError })))
  })
  return { errors, next, rest, closed }
}

for (const scheme of SCHEMES) {
  t.test(`our client -> ws server over ${scheme}://`, async (t: Test) => {
    const tls = scheme === 'wss' ? testCredentials(t) : undefined
    const server = await startWsServer(tls)
    t.teardown(() => server.close())
    const options: ConnectOptions = tls ? { requestOptions: { ca: tls.cert } } : {}

    t.test('the scenario, our client leading', async (t) => {
      const ws = await connect(`${server.base}echo`, { ...options, protocols: OFFERED_PROTOCOLS })
      const client = observe(ws)
      t.equal(ws.protocol, 'chat.v1', 'chat.v1 was agreed from the offer chat.v2, chat.v1')
      t.equal(ws.socket.constructor.name, scheme === 'wss' ? 'TLSSocket' : 'Socket')

      const sized = []
      for (const size of SIZES) {
        ws.write(textOfSize(size))
        const text = await next(client)
        sized.push({ kind: typeof text === 'string' ? 'text' : 'binary', size, hash: sha256(text) })
        ws.write(bytesOfSize(size))
        const binary = await next(client)
        sized.push({ kind: typeof binary === 'string' ? 'text' : 'binary', size, hash: sha256(binary) })
      }
      t.same(sized, SIZED_HASHES, 'each sized message came back intact (0 B to 4 MiB, text and binary)')

      const multibyte = []
      for (const text of MULTIBYTE) {
        ws.write(text)
        multibyte.push(await next(client))
      }
      t.same(multibyte, MULTIBYTE, 'CJK, emoji and U+FFFD came back unchanged')

      for (let i = 0; i < SMALL_COUNT; i++) ws.write(`n:${i}`)
      let inOrder = 0
      for (let i = 0; i < SMALL_COUNT; i++) if ((await next(client)) === `n:${i}`) inOrder++
      t.equal(inOrder, SMALL_COUNT, `${SMALL_COUNT} small messages came back in order`)

      ws.write(PING_REQUEST)
      t.equal(await next(client), PONG_ANSWER + PING_PAYLOAD, "ws's ping got our pong with its payload")
      const pong = once(ws, 'pong')
      ws.ping('from our client')
      t.equal(String((await within(pong, 5000, 'pong'))[0]), 'from our client', "our ping got ws's pong")

      ws.close(CLIENT_CLOSE.code, CLIENT_CLOSE.reason)
      t.same(await within(client.rest(), 10_000, 'end of stream'), [], 'nothing was left unread before the CLOSE')
      const closed = await within(client.closed, 10_000, 'client closed')
      t.equal(closed.code, CLIENT_CLOSE.code, 'ws echoed our close code')
      t.equal(closed.tcpHadError, false, 'our side saw a clean TCP close')
      t.same(client.errors, [], 'our client had no error')

      await within(server.allClosed(), 10_000, 'server side closed')
      const seen = server.observations.find((o) => o.path === '/echo')!
      t.equal(seen.protocol, 'chat.v1')
      t.same(seen.received, RECEIVED_HASHES, 'ws received each message intact')
      t.same(seen.small, { count: SMALL_COUNT, inOrder: true }, `ws received ${SMALL_COUNT} small messages in order`)
      t.same(seen.pings, ['from our client'], 'ws saw our ping')
      t.same(seen.close, { ...CLIENT_CLOSE, tcpHadError: false }, 'ws observed our code and reason, and a clean TCP close')
      t.same(seen.errors, [], 'ws had no error')
    })

    t.test('the ws server closes with a code and reason', async (t) => {
      const ws = await connect(`${server.base}server-closes`, options)
      const client = observe(ws)
      t.equal(await next(client), 'hello')
      t.same(await within(client.rest(), 10_000, 'end of stream'), [], 'the CLOSE came next')
      const closed = await within(client.closed, 10_000, 'client closed')
      t.same(closed, { ...SERVER_CLOSE, tcpHadError: false }, "we observed ws's code and reason, and a clean TCP close")
      t.same(client.errors, [])
    })

    t.test('a burst of small messages from the ws server arrives complete and in order', async (t) => {
      const ws = await connect(`${server.base}burst`, options)
      const received: Array<string | Buffer> = []
      for await (const message of ws) received.push(message)
      t.equal(received.length, SMALL_COUNT)
      t.ok(received.every((message, i) => message === `b:${i}`), 'in order')
      t.equal(ws.closeCode, 1000)
    })
  })
}

/** The next message, bounded so a lost message fails instead of hanging. */
const next = (client: ReturnType<typeof observe>) => within(client.next(), 10_000, 'next message')
