/**
 * undici's WebSocket (the WHATWG API) over HTTP/2, against our server: with
 * a dispatcher that allows h2, undici opens the WebSocket as an extended
 * CONNECT on the TLS connection's HTTP/2 session (experimental in undici
 * since 7.17). Checked on the server: the request arrived as an HTTP/2
 * stream; text, binary, subprotocol and a close code and reason both ways,
 * closed promptly (undici leaves its half of the stream open after the
 * closing handshake; the server then ends the stream with RST_STREAM
 * NO_ERROR rather than wait for its close timeout).
 */
import t from 'tap'
import { Agent, WebSocket } from 'undici'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import type { Carrier } from '../../lib/connection/transport'
import { serveH2Secure } from '../helpers/h2-server'
import { within } from '../helpers/ws-wait'

interface Seen {
  httpVersion: string
  overStream: boolean
}

t.test("undici's WebSocket talks to our server over HTTP/2", async (t) => {
  const listening = await serveH2Secure(t, { protocols: ['chat'] })
  const seen: Seen[] = []
  const closes: Array<Promise<[number, string]>> = []
  listening.wss.on('connection', (ws: WebSocketDuplex<string | Buffer, Carrier>, req) => {
    seen.push({ httpVersion: req.httpVersion, overStream: 'session' in ws.socket })
    ws.on('error', () => {})
    ws.on('data', (message: string | Buffer) =>
      ws.write(typeof message === 'string' ? message.toUpperCase() : Buffer.from(message.map((b) => b * 2))))
    closes.push(new Promise((resolve) => ws.on('close', (code: number, reason: string) => resolve([code, reason]))))
  })
  const dispatcher = new Agent({ allowH2: true, connect: { ca: listening.credentials!.cert } })
  t.teardown(() => dispatcher.close())

  const run = (n: number) => new Promise<{ protocol: string; got: unknown[]; code: number; reason: string; clean: boolean }>((resolve, reject) => {
    const ws = new WebSocket(`${listening.url}/room`, { protocols: ['chat'], dispatcher })
    ws.binaryType = 'arraybuffer'
    const got: unknown[] = []
    ws.onopen = () => {
      ws.send(`hello ${n}`)
      ws.send(new Uint8Array([1, 2, 3]))
    }
    ws.onmessage = (event) => {
      got.push(typeof event.data === 'string' ? event.data : [...new Uint8Array(event.data as ArrayBuffer)])
      if (got.length === 2) ws.close(4001, 'client done')
    }
    ws.onerror = (event) => reject(new Error(`undici WebSocket error: ${(event as unknown as { message?: string }).message}`))
    ws.onclose = (event) => resolve({ protocol: ws.protocol, got, code: event.code, reason: event.reason, clean: event.wasClean })
  })
  // Well within the server's 5 s close timeout: the stream is not held open until it fires.
  const results = await within(Promise.all([run(1), run(2)]), 2_000, 'both undici WebSockets to close')
  t.same(results, [1, 2].map((n) => ({ protocol: 'chat', got: [`HELLO ${n}`, [2, 4, 6]], code: 4001, reason: '', clean: true })))
  t.same(seen, [{ httpVersion: '2.0', overStream: true }, { httpVersion: '2.0', overStream: true }],
    'both arrived as HTTP/2 streams')
  t.same(await within(Promise.all(closes), 5000, 'server closes'), [[4001, 'client done'], [4001, 'client done']])

})
