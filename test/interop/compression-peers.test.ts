/**
 * permessage-deflate with the WHATWG clients: headless Chromium, Node's own
 * WebSocket (a child process) and undici's, each with its default offer
 * (`permessage-deflate; client_max_window_bits`), against our server with
 * and without context takeover. Text and binary, from 100 bytes to 1 MiB,
 * each echo compared; compression is proven on the wire: the server's
 * socket writes far fewer bytes than the payloads carried, and reads far
 * fewer from a client that compresses too. Chromium does; undici (and so
 * Node's WebSocket) negotiates the extension and inflates what it receives
 * but sends its own messages uncompressed, which RFC 7692 allows (a sender
 * chooses per message): the test holds each peer to what it does.
 */
import http from 'node:http'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { WebSocket as UndiciWebSocket } from 'undici'
import { WebSocketServer } from '../../lib/server/websocket-server'
import type { PerMessageDeflateOptions } from '../../lib/protocol/permessage-deflate'
import { chromiumMissing, launchChromium } from '../helpers/chromium'
import { MiB } from '../helpers/memory'
import { until } from '../helpers/ws-wait'
import { type CompressedEchoReport, compressedEcho } from './compressed-echo'

const execFileAsync = promisify(execFile)

const SIZES = [100, 64 * 1024, MiB] as const

const SETTINGS: Array<[string, PerMessageDeflateOptions | true]> = [
  ['context takeover', true],
  ['no context takeover', { serverNoContextTakeover: true, clientNoContextTakeover: true }],
]

interface Wire {
  read: number
  written: number
}

/**
 * Our echo server with compression on, over plain HTTP (Chromium opens a
 * WebSocket to 127.0.0.1 only from a page that 127.0.0.1 itself served).
 * Each connection's socket byte counts are kept when it closes.
 */
async function echoServer(t: Test, perMessageDeflate: PerMessageDeflateOptions | true) {
  const httpServer = http.createServer((_req, res) => res.end('<!doctype html>'))
  const wss = new WebSocketServer({ server: httpServer, perMessageDeflate, maxMessageSize: 4 * MiB })
  const wires: Wire[] = []
  wss.on('connection', (ws) => {
    ws.on('error', () => {})
    ws.on('data', (message) => ws.write(message))
    ws.on('close', () => wires.push({ read: ws.socket.bytesRead, written: ws.socket.bytesWritten }))
  })
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    httpServer.closeAllConnections()
    return new Promise<void>((resolve) => httpServer.close(() => resolve()))
  })
  const port = (httpServer.address() as { port: number }).port
  return { url: `ws://127.0.0.1:${port}/`, page: `http://127.0.0.1:${port}/`, wires }
}

/** The verdict on one run: negotiated as configured, every echo equal, closed cleanly, compressed as the peer does. */
async function judge(t: Test, report: CompressedEchoReport, wires: Wire[], noTakeover: boolean, peerCompresses: boolean) {
  t.same(report.errors, [], 'no error')
  t.match(report.extensions, /^permessage-deflate/, `negotiated: ${report.extensions}`)
  if (noTakeover) t.match(report.extensions, /server_no_context_takeover/, 'the server announced no context takeover')
  t.same(
    report.echoes,
    SIZES.flatMap((size) => [`text ${size} equal`, `binary ${size} equal`]),
    'every echo equal to what was sent',
  )
  t.same(report.close, { code: 1000, wasClean: true }, 'closed cleanly with 1000')
  await until(() => wires.length === 1, 5000, "the server's side closed")
  const [{ read, written }] = wires
  // The payloads are JSON-like and compress about 5x; uncompressed, each side would move at least the payload.
  if (peerCompresses) t.ok(read < report.payload / 2, `the client compressed: the server read ${read} bytes for ${report.payload} of payload`)
  else t.ok(read > report.payload, `the client sent uncompressed: the server read ${read} bytes for ${report.payload} of payload`)
  t.ok(written < report.payload / 2, `the server compressed: it wrote ${written} bytes for ${report.payload} of payload`)
}

const NODE_CLIENT = (source: string) => `
const compressedEcho = ${source}
compressedEcho(process.argv[1], JSON.parse(process.argv[2])).then((report) => console.log(JSON.stringify(report)))
`

for (const [what, settings] of SETTINGS) {
  const noTakeover = settings !== true

  t.test(`headless Chromium -> our server, ${what}`, { skip: chromiumMissing() ?? false }, async (t) => {
    const server = await echoServer(t, settings)
    const browser = await launchChromium(t)
    const page = await browser.newPage()
    t.teardown(() => page.close())
    await page.goto(server.page)
    const source = compressedEcho.toString()
    const report = await page.evaluate(
      // The function travels as source text, so that nothing of this process is needed in the page.
      ({ source, url, sizes }) => (0, eval)(`(${source})`)(url, sizes) as Promise<CompressedEchoReport>,
      { source, url: server.url, sizes: [...SIZES] },
    )
    await judge(t, report, server.wires, noTakeover, true)
  })

  t.test(`Node's own WebSocket -> our server, ${what}`, async (t) => {
    const server = await echoServer(t, settings)
    const args = ['--experimental-websocket', '--no-warnings', '-e', NODE_CLIENT(compressedEcho.toString()), server.url, JSON.stringify(SIZES)]
    const { stdout, stderr } = await execFileAsync(process.execPath, args, { timeout: 20_000, maxBuffer: 1 << 20 })
    t.equal(stderr, '', 'the client wrote nothing to stderr')
    await judge(t, JSON.parse(stdout) as CompressedEchoReport, server.wires, noTakeover, false)
  })

  t.test(`undici's WebSocket -> our server, ${what}`, async (t) => {
    const server = await echoServer(t, settings)
    const report = await compressedEcho(server.url, SIZES, UndiciWebSocket)
    await judge(t, report, server.wires, noTakeover, false)
  })
}
