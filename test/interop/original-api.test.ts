/**
 * The original API, written as its documentation shows it, against peers
 * other than ws (ws has its own file, test/watershed-guarantees.test.ts):
 * undici's WebSocket, Node's built-in WebSocket (a child process), faye's
 * client, WebSocket-Node's client (the `websocket` package), Python's
 * websockets (a child process, Debian's python3-websockets) and headless
 * Chromium's WebSocket (Debian's chromium, driven by playwright-core). Each peer
 * exchanges a text and a binary message, then closes with 4001 "bye"; and
 * each is closed by our end("bye"). Our 'end' must carry what the peer said
 * and come before the socket's 'close'.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { promisify } from 'node:util'
import type { BrowserContext } from 'playwright-core'
import t, { type Test } from 'tap'
import { WebSocket as UndiciWebSocket } from 'undici'
import type { WatershedConnection } from '../../lib/compat/watershed'
import { chromiumMissing, launchChromium } from '../helpers/chromium'
import { documentedServer, settled, type EventLog } from '../helpers/original-api'

const execFileAsync = promisify(execFile)

/** Our documented echo server: text upper-cased, binary doubled; `end("bye")` when told "close please". */
const echo = (wsc: WatershedConnection) => {
  wsc.on('text', (text: string) => {
    if (text === 'close please') wsc.end('bye')
    else wsc.send(text.toUpperCase())
  })
  wsc.on('binary', (data: Buffer) => wsc.send(Buffer.from(data.map((b) => b * 2))))
}

interface PeerReport {
  got: Array<string | number[]>
  code: number
  reason: string
}

/** A peer: connects to `url`, sends "hello" and [1,2,3], then either closes 4001 "bye" or asks us to close. */
type Peer = (url: string, weClose: boolean) => Promise<PeerReport>

const NODE_CLIENT = `
const [url, weClose] = [process.argv[1], process.argv[2] === 'true']
const ws = new WebSocket(url)
ws.binaryType = 'arraybuffer'
const got = []
ws.onopen = () => { ws.send('hello'); ws.send(new Uint8Array([1, 2, 3])) }
ws.onmessage = (event) => {
  got.push(typeof event.data === 'string' ? event.data : [...new Uint8Array(event.data)])
  if (got.length === 2) weClose ? ws.send('close please') : ws.close(4001, 'bye')
}
ws.onclose = (event) => console.log(JSON.stringify({ got, code: event.code, reason: event.reason }))
`

const PYTHON_CLIENT = `
import asyncio, json, sys
import websockets
async def main(url, we_close):
    got = []
    async with websockets.connect(url) as ws:
        await ws.send('hello')
        await ws.send(bytes([1, 2, 3]))
        for _ in range(2):
            m = await ws.recv()
            got.append(m if isinstance(m, str) else list(m))
        if we_close:
            await ws.send('close please')
            try:
                await ws.recv()
            except websockets.ConnectionClosed:
                pass
        else:
            await ws.close(4001, 'bye')
    print(json.dumps({'got': got, 'code': ws.close_code, 'reason': ws.close_reason}))
asyncio.run(main(sys.argv[1], sys.argv[2] == 'true'))
`

// undici's WebSocket runs the same WHATWG client as the browser.
const undiciPeer: Peer = (url, weClose) =>
  browserClient({ url, weClose }, UndiciWebSocket as unknown as typeof WebSocket)

// faye-websocket and websocket (WebSocket-Node) ship no type declarations: the little used here is typed here.
interface FayeClient {
  on(event: 'open', listener: () => void): void
  on(event: 'message', listener: (event: { data: string | Buffer }) => void): void
  on(event: 'close', listener: (event: { code: number; reason: string }) => void): void
  send(data: string | Buffer): void
  close(code?: number, reason?: string): void
}
const Faye = require('faye-websocket') as { Client: new (url: string) => FayeClient }

type Message = { type: 'utf8'; utf8Data: string } | { type: 'binary'; binaryData: Buffer }
interface WebSocketNodeConnection {
  on(event: 'message', listener: (message: Message) => void): void
  on(event: 'close', listener: (code: number, reason: string) => void): void
  sendUTF(text: string): void
  sendBytes(data: Buffer): void
  close(code?: number, reason?: string): void
}
interface WebSocketNodeClientInstance {
  on(event: 'connect', listener: (connection: WebSocketNodeConnection) => void): void
  on(event: 'connectFailed', listener: (error: Error) => void): void
  connect(url: string): void
}
const { client: WebSocketNodeClient } = require('websocket') as { client: new () => WebSocketNodeClientInstance }

const fayePeer: Peer = (url, weClose) =>
  new Promise((resolve) => {
    const ws = new Faye.Client(url)
    const got: PeerReport['got'] = []
    ws.on('open', () => {
      ws.send('hello')
      ws.send(Buffer.from([1, 2, 3]))
    })
    ws.on('message', (event) => {
      got.push(typeof event.data === 'string' ? event.data : [...event.data])
      if (got.length === 2) {
        if (weClose) ws.send('close please')
        else ws.close(4001, 'bye')
      }
    })
    ws.on('close', (event) => resolve({ got, code: event.code, reason: event.reason }))
  })

const webSocketNodePeer: Peer = (url, weClose) =>
  new Promise((resolve, reject) => {
    const client = new WebSocketNodeClient()
    client.on('connectFailed', reject)
    client.on('connect', (connection: WebSocketNodeConnection) => {
      const got: PeerReport['got'] = []
      connection.on('message', (message: Message) => {
        got.push(message.type === 'utf8' ? message.utf8Data : [...message.binaryData])
        if (got.length === 2) {
          if (weClose) connection.sendUTF('close please')
          else connection.close(4001, 'bye')
        }
      })
      connection.on('close', (code: number, reason: string) => resolve({ got, code, reason }))
      connection.sendUTF('hello')
      connection.sendBytes(Buffer.from([1, 2, 3]))
    })
    client.connect(url)
  })

/**
 * The same client as NODE_CLIENT, as a function the browser runs (it shares
 * nothing else with this process); in Node, with undici's WebSocket given.
 */
function browserClient(
  args: { url: string; weClose: boolean },
  WebSocketClass: typeof WebSocket = (globalThis as unknown as { WebSocket: typeof WebSocket }).WebSocket,
): Promise<PeerReport> {
  return new Promise((resolve) => {
    const ws = new WebSocketClass(args.url)
    ws.binaryType = 'arraybuffer'
    const got: PeerReport['got'] = []
    ws.onopen = () => {
      ws.send('hello')
      ws.send(new Uint8Array([1, 2, 3]))
    }
    ws.onmessage = (event) => {
      got.push(typeof event.data === 'string' ? event.data : [...new Uint8Array(event.data as ArrayBuffer)])
      if (got.length === 2) {
        if (args.weClose) ws.send('close please')
        else ws.close(4001, 'bye')
      }
    }
    ws.onclose = (event) => resolve({ got, code: event.code, reason: event.reason })
  })
}

/** One browser for the test `t` (closed with it), a fresh page per run. */
const chromiumPeer = (t: Test): Peer => {
  let browser: Promise<BrowserContext> | null = null
  return async (url, weClose) => {
    browser ??= launchChromium(t)
    const page = await (await browser).newPage()
    try {
      // Chromium lets a page open a WebSocket to 127.0.0.1 only from a page of a local origin.
      await page.goto(url.replace(/^ws:/, 'http:'))
      return await page.evaluate(browserClient, { url, weClose })
    } finally {
      await page.close()
    }
  }
}

const nodePeer: Peer = async (url, weClose) => {
  const args = ['--experimental-websocket', '--no-warnings', '-e', NODE_CLIENT, url, String(weClose)]
  const { stdout } = await execFileAsync(process.execPath, args, { timeout: 10_000 })
  return JSON.parse(stdout) as PeerReport
}

const PYTHON = '/usr/bin/python3'
const pythonPeer: Peer = async (url, weClose) => {
  const { stdout } = await execFileAsync(PYTHON, ['-c', PYTHON_CLIENT, url, String(weClose)], { timeout: 10_000 })
  return JSON.parse(stdout) as PeerReport
}

async function pythonHasWebsockets(): Promise<boolean> {
  if (!existsSync(PYTHON)) return false
  return execFileAsync(PYTHON, ['-c', 'import websockets']).then(() => true, () => false)
}

async function run(t: Test, peer: Peer, weClose: boolean): Promise<{ report: PeerReport; log: EventLog }> {
  const server = await documentedServer(t, { onConnection: echo })
  const report = await peer(`ws://127.0.0.1:${server.port}/`, weClose)
  const { log } = server.connections[0]
  await settled(log)
  return { report, log }
}

const peers: Array<[string, Peer | null]> = [
  ['undici', undiciPeer],
  ["Node's WebSocket", nodePeer],
  ['faye-websocket', fayePeer],
  ['WebSocket-Node', webSocketNodePeer],
  ['Python websockets', pythonPeer],
]

/** Under CI a missing Python peer fails; elsewhere its tests are skipped, loudly. */
async function pythonMissing(): Promise<string | false> {
  if (await pythonHasWebsockets()) return false
  const message = `no websockets module for ${PYTHON} (Debian's python3-websockets; .ci/run installs it)`
  if (process.env.CI) throw new Error(message)
  console.error(`\n*** SKIPPING the Python interop tests: ${message} ***\n`)
  return message
}

peers.push(['Chromium', null])

for (const [name, given] of peers) {
  t.test(`${name} against the original API`, { skip: given === null ? chromiumMissing() ?? false : false }, async (t) => {
    if (given === pythonPeer) {
      const missing = await pythonMissing()
      if (missing) return t.skip(missing, () => {})
    }
    const peer = given ?? chromiumPeer(t)
    t.test('the peer closes with 4001 "bye"', async (t) => {
      const { report, log } = await run(t, peer, false)
      t.strictSame(report.got, ['HELLO', [2, 4, 6]], 'the echoes arrived')
      t.equal(report.code, 4001, 'the peer saw its code echoed')
      t.strictSame(log.ends, [[4001, 'bye', 4001]], "'end' has the peer's code and reason")
      t.strictSame(log.order, ['text', 'binary', 'end', 'socket close'], "'end' before the socket's 'close'")
    })
    t.test('we close with end("bye")', async (t) => {
      const { report, log } = await run(t, peer, true)
      t.strictSame([report.code, report.reason], [1000, 'bye'], 'the peer got CLOSE 1000 "bye"')
      t.equal(log.ends.length, 1)
      t.equal(log.ends[0][2], 1000, "'end' has the peer's answer")
      t.equal(log.order.indexOf('end'), log.order.length - 2, "'end' just before the socket's 'close'")
      t.equal(log.order.at(-1), 'socket close')
    })
  })
}
