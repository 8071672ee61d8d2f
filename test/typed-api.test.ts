/**
 * The public types: events, write(), end() and reading are typed, through
 * the package's entry. Most of this test is done by `npm run typecheck`
 * (part of `npm test`): listeners below have no annotations, so each
 * argument takes the type the event declares, and each `@ts-expect-error`
 * line fails the type check if the call it marks stops being an error. The
 * runtime part checks that what is declared is what arrives.
 */
import http, { type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex as NodeDuplex } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import t from 'tap'
import { Readable } from 'node:stream'
import {
  type InboundMessage,
  type MessageStream,
  Watershed,
  WebSocketError,
  type WatershedConnection,
  type WebSocketDuplex,
  type WebSocketMessage,
  connect,
  isMessageStream,
} from '../lib/index'
import { pair } from './helpers/ws-pair'
import { within } from './helpers/ws-wait'

/** Never called: calls that must not type-check. */
export function rejectedByTheTypes(ws: WebSocketDuplex, wsc: WatershedConnection): void {
  // @ts-expect-error a number is not a message
  ws.write(42)
  // @ts-expect-error nor an object
  ws.write({ text: 'x' })
  // @ts-expect-error end() takes a message too, typed the same way
  ws.end(42)
  ws.on('close', (code, reason) => {
    // @ts-expect-error the close code is a number
    const name: string = code
    // @ts-expect-error the reason is a string
    const length: number = reason
    void name, length
  })
  ws.on('disconnect', (code, reason, error) => {
    // @ts-expect-error error is null when the connection ended without a failure
    const e: Error = error
    void code.toFixed(), reason.length, e
  })
  ws.on('data', (message) => {
    // @ts-expect-error a message is a string or a Buffer
    const n: number = message
    void n
  })
  ws.write('x', (error) => {
    // @ts-expect-error the callback's error may be missing
    const e: Error = error
    void e
  })
  // @ts-expect-error a WatershedConnection has no such event
  wsc.on('message', () => {})
  // @ts-expect-error 'text' gives a string
  wsc.on('text', (text: Buffer) => void text)
  wsc.on('end', (code, reason, numericCode) => {
    // @ts-expect-error the code may be null
    const name: string = code
    // @ts-expect-error the reason may be null
    const text: string = reason
    // @ts-expect-error the numeric code may be null
    const n: number = numericCode
    void name, text, n
  })
  // @ts-expect-error send() takes messages only
  wsc.send(42)
}

t.test('a WebSocketDuplex: typed events, write callback and reading, as they arrive', async (t) => {
  const p = await pair()
  t.teardown(p.cleanup)
  const pings: Buffer[] = []
  const closing: Array<[number, string]> = []
  p.server.on('ping', (data) => pings.push(data))
  p.server.on('closing', (code, reason) => closing.push([code, reason]))
  const disconnected = new Promise<unknown[]>((resolve) =>
    p.server.once('disconnect', (code, reason, error) => resolve([code, reason, error])))
  const closed = new Promise<[number, string]>((resolve) => p.server.once('close', (code, reason) => resolve([code, reason])))
  const written = new Promise<Error | null | undefined>((resolve) => p.client.write('one', (error) => resolve(error)))
  p.client.write(Buffer.from([2]))
  p.client.ping('are you there')
  const messages: WebSocketMessage[] = []
  for await (const message of p.server) {
    messages.push(message)
    if (messages.length === 2) p.client.close(4000, 'done')
  }
  t.equal(await within(written, 5000, 'write callback'), undefined, 'the write callback had no error')
  t.same(messages, ['one', Buffer.from([2])])
  t.same(pings, [Buffer.from('are you there')])
  t.same(closing, [[4000, 'done']])
  t.same(await within(disconnected, 5000, "server's disconnect"), [4000, 'done', null])
  t.same(await within(closed, 5000, "server's close"), [4000, 'done'])
})

t.test("'error' is a WebSocketError for a protocol failure", async (t) => {
  const p = await pair()
  t.teardown(p.cleanup)
  const failed = new Promise<WebSocketError | NodeJS.ErrnoException>((resolve) => p.server.once('error', resolve))
  p.server.resume()
  // A text frame (masked, key 0) that is not UTF-8.
  p.client.socket.write(Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0xc3, 0x28]))
  const error = await within(failed, 5000, 'error')
  t.ok(error instanceof WebSocketError)
  t.equal(error.code, 'WS_ERR_INVALID_UTF8')
})

t.test('node:stream pipeline() takes the duplex as it is typed', async (t) => {
  const p = await pair()
  t.teardown(p.cleanup)
  const echoed = pipeline(p.server, p.server)
  p.client.write('round')
  for await (const message of p.client) {
    t.equal(message, 'round')
    p.client.close()
  }
  await within(echoed, 5000, 'pipeline')
})

t.test('a WatershedConnection: typed events, as they arrive', async (t) => {
  const shed = new Watershed()
  const server = http.createServer()
  let serverEnded!: (end: [string | number | null, string | null, number | null]) => void
  const serverEnd = new Promise<[string | number | null, string | null, number | null]>((resolve) => {
    serverEnded = resolve
  })
  server.on('upgrade', (req: IncomingMessage, socket: NodeDuplex, head: Buffer) => {
    const wsc = shed.accept(req, socket, head)
    wsc.on('text', (text) => wsc.send(text.toUpperCase()))
    wsc.on('binary', (data) => wsc.send(data.subarray(1)))
    wsc.on('end', (code, reason, numericCode) => serverEnded([code, reason, numericCode]))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const wskey = shed.generateKey()
  const req = http.request({
    port: (server.address() as AddressInfo).port,
    hostname: '127.0.0.1',
    headers: { connection: 'upgrade', upgrade: 'websocket', 'Sec-WebSocket-Key': wskey, 'Sec-WebSocket-Version': '13' },
  })
  req.end()
  const [res, socket, head] = await within(
    new Promise<[IncomingMessage, NodeDuplex, Buffer]>((resolve) => req.on('upgrade', (...args) => resolve(args))),
    5000, 'upgrade')
  const wsc = shed.connect(res, socket, head, wskey)
  const received: Array<string | Buffer> = []
  const ended = new Promise<[string | number | null, string | null, number | null]>((resolve) =>
    wsc.on('end', (code, reason, numericCode) => resolve([code, reason, numericCode])))
  wsc.on('text', (text) => {
    received.push(text)
    wsc.send(Buffer.from([0, 1, 2]))
  })
  wsc.on('binary', (data) => {
    received.push(data)
    wsc.end('bye')
  })
  wsc.send('hello')
  t.same(await within(serverEnd, 5000, "server's end"), ['NORMAL', 'bye', 1000])
  const [code, reason, numericCode] = await within(ended, 5000, "client's end")
  t.same([code, typeof reason, numericCode], ['NORMAL', 'string', 1000])
  t.same(received, ['HELLO', Buffer.from([1, 2])])
})

/** Never called: stream mode's types. */
export async function streamModeTypes(url: string, plain: WebSocketDuplex): Promise<void> {
  const ws = await connect(url, { streamMessages: true })
  for await (const message of ws) {
    if (isMessageStream(message)) {
      const stream: MessageStream = message
      void stream.text
    } else {
      // @ts-expect-error what is not a stream is a whole message, not a number
      const n: number = message
      void n
    }
    // @ts-expect-error in stream mode a message may be a stream, not only a string or a Buffer
    const whole: WebSocketMessage = message
    void whole
  }
  const whole = await connect(url, { streamMessages: false })
  for await (const message of whole) void message.length // whole messages: string | Buffer
  // A WebSocketServer's handler for stream mode says so; a plain connection fits where stream mode is expected.
  const handler = (connection: WebSocketDuplex<InboundMessage>) => connection.on('data', (m) => void (isMessageStream(m) ? m.binary : m.length))
  handler(plain)
  // Writing a source: a Readable, an async generator, a web stream.
  plain.write(Readable.from(['a', 'b']))
  plain.write((async function* () { yield Buffer.from('x') })(), { text: false })
  plain.write(new ReadableStream<Uint8Array>())
  // @ts-expect-error text is a boolean
  plain.write(Readable.from(['a']), { text: 'yes' })
}
