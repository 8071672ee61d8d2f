/**
 * Interop with Node's own WebSocket client (the WHATWG API, behind
 * --experimental-websocket on Node 20), run in a child process against our
 * server: text, binary, a subprotocol, and a close code and reason both ways.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { serve } from '../helpers/ws-pair'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'

const execFileAsync = promisify(execFile)

const CLIENT = `
const ws = new WebSocket(process.argv[1], ['chat'])
ws.binaryType = 'arraybuffer'
const got = []
ws.onopen = () => {
  ws.send('hello from node')
  ws.send(new Uint8Array([1, 2, 3]))
}
ws.onmessage = (event) => {
  got.push(typeof event.data === 'string' ? event.data : [...new Uint8Array(event.data)])
  if (got.length === 2) ws.close(4001, 'client done')
}
ws.onclose = (event) => {
  console.log(JSON.stringify({ protocol: ws.protocol, got, code: event.code, reason: event.reason, clean: event.wasClean }))
}
ws.onerror = (event) => console.error('error', event.message)
`

t.test("Node's WebSocket client talks to our server", async (t) => {
  let server: WebSocketDuplex | null = null
  let resolveClosed!: (value: [number, string]) => void
  const closed = new Promise<[number, string]>((resolve) => (resolveClosed = resolve))
  const listening = await serve({ protocols: ['chat'] }, (ws) => {
    server = ws
    ws.on('error', () => {})
    ws.on('data', (message: string | Buffer) =>
      ws.write(typeof message === 'string' ? message.toUpperCase() : Buffer.from(message.map((b) => b * 2))))
    ws.on('close', (code: number, reason: string) => resolveClosed([code, reason]))
  })
  t.teardown(() => listening.close())
  const args = ['--experimental-websocket', '--no-warnings', '-e', CLIENT, listening.url]
  const { stdout, stderr } = await execFileAsync(process.execPath, args, { timeout: 10_000 })
  t.equal(stderr, '', 'the client reported no error')
  t.same(JSON.parse(stdout), { protocol: 'chat', got: ['HELLO FROM NODE', [2, 4, 6]], code: 4001, reason: '', clean: true })
  const [code, reason] = await closed
  t.equal(code, 4001)
  t.equal(reason, 'client done')
  t.equal(server!.protocol, 'chat')
})
