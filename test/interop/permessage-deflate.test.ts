/**
 * permessage-deflate over real connections: negotiated with ws and with
 * Python's websockets (both roles each, with and without context takeover,
 * text and binary, small to 1 MiB), and with the original API; RSV1 seen on
 * the wire; a compressed message that would inflate far past maxMessageSize
 * fails 1009 with little memory. The WHATWG clients (Chromium, Node's,
 * undici's) are in compression-peers.test.ts.
 */
import { constants, inflateRawSync } from 'node:zlib'
import t, { type Test } from 'tap'
import WebSocket, { WebSocketServer as WsServer } from 'ws'
import { connect } from '../../lib/handshake/client'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { Watershed, type WatershedConnection } from '../../lib/compat/watershed'
import { clientFrame } from '../helpers/frames'
import { TAIL, prose, zlibCompress } from '../helpers/compression'
import { MiB, memorySampler } from '../helpers/memory'
import { documentedServer } from '../helpers/original-api'
import { serve } from '../helpers/ws-pair'
import { rawConnect } from '../helpers/ws-raw'
import { readBytes } from '../helpers/http-upgrade'
import { nextEvent, until } from '../helpers/ws-wait'
import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)
const PYTHON = '/usr/bin/python3'
const pythonReady = () =>
  existsSync(PYTHON) ? execFileAsync(PYTHON, ['-c', 'import websockets']).then(() => true, () => false) : Promise.resolve(false)

/** Under CI a missing Python peer fails; elsewhere the test is skipped, loudly. */
async function skipWithoutPython(t: Test): Promise<boolean> {
  if (await pythonReady()) return false
  const message = `no websockets module for ${PYTHON} (Debian's python3-websockets; .ci/run installs it)`
  if (process.env.CI) throw new Error(message)
  console.error(`\n*** SKIPPING: ${message} ***\n`)
  t.skip(message, () => {})
  return true
}

// Python's websockets compresses by default (client and server). The client sends each message of a list
// (text, or bytes given as latin-1 text), waits for its echo, and reports what was negotiated and what came back.
const PYTHON_CLIENT = `
import asyncio, json, sys
import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
async def main(url, spec, no_takeover):
    factory = ClientPerMessageDeflateFactory(server_no_context_takeover=no_takeover, client_no_context_takeover=no_takeover, client_max_window_bits=True)
    messages = [m['text'] if 'text' in m else m['bytes'].encode('latin-1') for m in json.load(open(spec))]
    same = []
    async with websockets.connect(url, max_size=None, extensions=[factory], compression=None) as ws:
        for message in messages:
            await ws.send(message)
            same.append(await ws.recv() == message)
        print(json.dumps({'extensions': [e.name for e in ws.extensions], 'same': same}))
asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3] == 'no-takeover'))
`
// The server echoes; with 'no-takeover' it asks both sides to drop their windows between messages.
const PYTHON_SERVER = `
import asyncio, sys
import websockets
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
async def echo(ws, *rest):
    async for message in ws:
        await ws.send(message)
async def main(no_takeover):
    factory = ServerPerMessageDeflateFactory(server_no_context_takeover=no_takeover, client_no_context_takeover=no_takeover)
    async with websockets.serve(echo, '127.0.0.1', 0, max_size=None, extensions=[factory], compression=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main(sys.argv[1] == 'no-takeover'))
`

const JSON_TEXT = JSON.stringify(Array.from({ length: 3000 }, (_, i) => ({ id: i, name: `item ${i}`, tags: ['a', 'b'] })))
const MESSAGES: Array<string | Buffer> = ['small', JSON_TEXT, Buffer.alloc(4096, 7), prose(MiB), Buffer.from(prose(MiB))]

const settings = [
  ['context takeover', {}],
  ['no context takeover', { serverNoContextTakeover: true, clientNoContextTakeover: true }],
] as const

/** Our echo server with compression on; its connections. */
async function ourEchoServer(t: Test, perMessageDeflate: object | boolean = true) {
  const connections: WebSocketDuplex[] = []
  const listening = await serve({ perMessageDeflate, maxMessageSize: 4 * MiB }, (ws) => {
    connections.push(ws)
    ws.on('error', () => {})
    ws.on('data', (message) => ws.write(message))
  })
  t.teardown(() => listening.close())
  return { ...listening, connections }
}

const same = (a: unknown, b: unknown) =>
  typeof a === 'string' ? a === b : Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b)

for (const [what, options] of settings) {
  t.test(`ws client -> our server, ${what}: negotiated, every message echoed`, async (t) => {
    const server = await ourEchoServer(t, options)
    const ws = new WebSocket(server.url, { perMessageDeflate: options })
    t.teardown(() => ws.terminate())
    await nextEvent(ws, 'open')
    t.match(ws.extensions, /^permessage-deflate/, `ws sees it negotiated: ${ws.extensions}`)
    const echoes: Array<string | Buffer> = []
    ws.on('message', (data: Buffer, isBinary: boolean) => echoes.push(isBinary ? Buffer.from(data) : data.toString()))
    for (const message of MESSAGES) ws.send(message)
    await until(() => echoes.length === MESSAGES.length, 10_000, 'every echo')
    t.ok(echoes.every((echo, i) => same(echo, MESSAGES[i])), 'each echo equals what was sent')
  })

  t.test(`our client -> ws server, ${what}: negotiated, every message echoed`, async (t) => {
    const wss = new WsServer({ host: '127.0.0.1', port: 0, perMessageDeflate: { ...options, threshold: 0 } })
    await nextEvent(wss, 'listening')
    const peerExtensions: string[] = []
    wss.on('connection', (peer) => {
      peerExtensions.push(peer.extensions)
      peer.on('message', (data: Buffer, isBinary: boolean) => peer.send(data, { binary: isBinary }))
    })
    t.teardown(() => new Promise<void>((resolve) => {
      for (const c of wss.clients) c.terminate()
      wss.close(() => resolve())
    }))
    const ws = await connect(`ws://127.0.0.1:${(wss.address() as { port: number }).port}/`, { perMessageDeflate: options, maxMessageSize: 4 * MiB })
    t.teardown(() => ws.destroy())
    t.match(peerExtensions[0], /^permessage-deflate/, 'ws server sees it negotiated')
    const echoes: Array<string | Buffer> = []
    ws.on('data', (message) => echoes.push(message))
    for (const message of MESSAGES) ws.write(message)
    await until(() => echoes.length === MESSAGES.length, 10_000, 'every echo')
    t.ok(echoes.every((echo, i) => same(echo, MESSAGES[i])), 'each echo equals what was sent')
  })
}

t.test('with fragmentSize, a compressed message leaves in fragments that ws reassembles', async (t) => {
  const listening = await serve({ perMessageDeflate: true, fragmentSize: 1000, maxMessageSize: 4 * MiB }, (ws) => {
    ws.on('error', () => {})
    ws.on('data', (message) => ws.write(message))
  })
  t.teardown(() => listening.close())
  const ws = new WebSocket(listening.url, { perMessageDeflate: true })
  t.teardown(() => ws.terminate())
  await nextEvent(ws, 'open')
  const echoes: Array<string | Buffer> = []
  ws.on('message', (data: Buffer, isBinary: boolean) => echoes.push(isBinary ? Buffer.from(data) : data.toString()))
  for (const message of MESSAGES) ws.send(message)
  await until(() => echoes.length === MESSAGES.length, 10_000, 'every echo')
  t.ok(echoes.every((echo, i) => same(echo, MESSAGES[i])), 'each echo equals what was sent')
})

t.test('RSV1 on the wire: a compressed message in, a compressed echo out', async (t) => {
  const server = await ourEchoServer(t)
  const raw = await rawConnect(server.port, { 'Sec-WebSocket-Extensions': 'permessage-deflate' })
  t.teardown(() => raw.socket.destroy())
  t.match(raw.response, /\r\nSec-WebSocket-Extensions: permessage-deflate\b/i, 'the 101 accepts it')
  const compressed = zlibCompress(JSON_TEXT)
  raw.socket.write(clientFrame({ opcode: 0x1, rsv: 4, payload: compressed }))
  const header = await readBytes(raw.socket, 4)
  t.equal(header[0], 0x80 | 0x40 | 0x1, 'FIN, RSV1, text')
  t.equal(header[1], 126, 'a 16-bit length')
  const payload = await readBytes(raw.socket, header.readUInt16BE(2))
  t.equal(inflateRawSync(Buffer.concat([payload, TAIL]), { finishFlush: constants.Z_SYNC_FLUSH }).toString(), JSON_TEXT, 'it inflates to the message')
})

t.test('a compressed message followed by a bad frame is delivered before the failure', async (t) => {
  const received: unknown[] = []
  const listening = await serve({ perMessageDeflate: true }, (ws) => {
    ws.on('error', () => {})
    ws.on('data', (message) => received.push(message))
  })
  t.teardown(() => listening.close())
  const raw = await rawConnect(listening.port, { 'Sec-WebSocket-Extensions': 'permessage-deflate' })
  t.teardown(() => raw.socket.destroy())
  // One write: the bad frame is decoded while the message before it is still being inflated.
  raw.socket.write(Buffer.concat([clientFrame({ opcode: 0x1, rsv: 4, payload: zlibCompress(JSON_TEXT) }), clientFrame({ opcode: 0x3 })]))
  const close = await readBytes(raw.socket, 4)
  t.equal(close.readUInt16BE(2), 1002, 'the reserved opcode fails the connection')
  await until(() => received.length === 1, 5000, 'the message')
  t.equal(received[0], JSON_TEXT, 'the message that came before it was delivered')
})

t.test('a message that would inflate past maxMessageSize fails 1009, holding little memory', async (t) => {
  const connections: WebSocketDuplex[] = []
  const listening = await serve({ perMessageDeflate: true, maxMessageSize: MiB }, (ws) => {
    connections.push(ws)
    ws.on('error', () => {})
    ws.resume()
  })
  t.teardown(() => listening.close())
  const raw = await rawConnect(listening.port, { 'Sec-WebSocket-Extensions': 'permessage-deflate' })
  t.teardown(() => raw.socket.destroy())
  const bomb = zlibCompress(Buffer.alloc(256 * MiB))
  t.ok(bomb.length < 300 * 1024, `256 MiB of zeros compress to ${(bomb.length / 1024).toFixed(0)} KiB`)
  const sampler = memorySampler()
  const errors: Array<Error & { code?: string }> = []
  await until(() => connections.length === 1, 5000, 'accepted')
  connections[0].on('disconnect', (_code: number, _reason: string, error: Error | null) => error && errors.push(error))
  raw.socket.write(clientFrame({ opcode: 0x2, rsv: 4, payload: bomb }))
  const close = await readBytes(raw.socket, 4)
  const growth = sampler.stop()
  t.equal(close[0], 0x88, 'a CLOSE')
  t.equal(close.readUInt16BE(2), 1009, 'with 1009')
  t.ok(growth < 16 * MiB, `buffer memory grew by ${(growth / MiB).toFixed(1)} MiB`)
  await until(() => errors.length > 0, 5000, 'the failure')
  t.equal(errors[0].code, 'WS_ERR_MESSAGE_TOO_LARGE')
})

t.test('the original API: new Watershed({ perMessageDeflate: true })', async (t) => {
  const echo = (wsc: WatershedConnection) => {
    wsc.on('text', (text: string) => wsc.send(text))
  }
  const server = await documentedServer(t, { options: { perMessageDeflate: true }, onConnection: echo })
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`)
  t.teardown(() => ws.terminate())
  await nextEvent(ws, 'open')
  t.match(ws.extensions, /^permessage-deflate/)
  const echoed = nextEvent<[Buffer]>(ws, 'message')
  ws.send(JSON_TEXT)
  t.equal(String((await echoed)[0]), JSON_TEXT)
  t.throws(() => new Watershed({ perMessageDeflate: { serverMaxWindowBits: 20 } }), RangeError)
})

/** MESSAGES as the Python client reads them: text as text, bytes as latin-1 text. */
function pythonSpec(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'pmd-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'messages.json')
  writeFileSync(file, JSON.stringify(MESSAGES.map((m) => (typeof m === 'string' ? { text: m } : { bytes: m.toString('latin1') }))))
  return file
}

for (const [what, options] of settings) {
  const mode = Object.keys(options).length > 0 ? 'no-takeover' : 'takeover'

  t.test(`Python websockets client -> our server, ${what}: negotiated, every message echoed`, async (t) => {
    if (await skipWithoutPython(t)) return
    const server = await ourEchoServer(t, options)
    const { stdout } = await execFileAsync(PYTHON, ['-c', PYTHON_CLIENT, server.url, pythonSpec(t), mode], { timeout: 20_000 })
    t.strictSame(JSON.parse(stdout), { extensions: ['permessage-deflate'], same: MESSAGES.map(() => true) })
    const ws = server.connections[0]
    t.ok(ws.socket.bytesRead < MiB, `both ways compressed: ${ws.socket.bytesRead} bytes read, ${ws.socket.bytesWritten} written for 2 MiB of payload each way`)
    t.ok(ws.socket.bytesWritten < MiB)
  })

  t.test(`our client -> Python websockets server, ${what}: negotiated, every message echoed`, async (t) => {
    if (await skipWithoutPython(t)) return
    const child = spawn(PYTHON, ['-c', PYTHON_SERVER, mode], { stdio: ['ignore', 'pipe', 'inherit'] })
    t.teardown(() => child.kill())
    const port = Number(String((await nextEvent<[Buffer]>(child.stdout!, 'data', 10_000))[0]).trim())
    const ws = await connect(`ws://127.0.0.1:${port}/`, { perMessageDeflate: options, maxMessageSize: 4 * MiB })
    t.teardown(() => ws.destroy())
    const echoes: Array<string | Buffer> = []
    ws.on('data', (message) => echoes.push(message))
    for (const message of MESSAGES) ws.write(message)
    await until(() => echoes.length === MESSAGES.length, 10_000, 'every echo')
    t.ok(echoes.every((echo, i) => same(echo, MESSAGES[i])), 'each echo equals what was sent')
    t.ok(ws.socket.bytesRead < MiB, `both ways compressed: ${ws.socket.bytesRead} bytes read, ${ws.socket.bytesWritten} written for 2 MiB of payload each way`)
    t.ok(ws.socket.bytesWritten < MiB)
  })
}

