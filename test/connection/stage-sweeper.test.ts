/**
 * Idle connections give their stages back, as a specification: a
 * connection holds no stages until it needs them; once it has moved no byte
 * for a whole sweep period, with nothing in flight, it drops them (it leaves
 * the sweeper) and builds them again for the next byte or message, which
 * arrive intact. It keeps them while a frame is half arrived, a message is
 * half assembled, or messages wait unread. With permessage-deflate and
 * context takeover the zlib windows outlive the stages, for the next message.
 */
import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { stageSweeper } from '../../lib/connection/stage-sweeper'
import { clientFrame } from '../helpers/frames'
import { type PairOptions, pair, serve } from '../helpers/ws-pair'
import { rawConnect } from '../helpers/ws-raw'
import { nextEvent, until } from '../helpers/ws-wait'

/** Two sweeps: the first notes the byte counts, the second finds them unchanged. */
function sweepTwice(): void {
  stageSweeper.sweep()
  stageSweeper.sweep()
}

async function connected(t: Test, options: PairOptions = {}) {
  const p = await pair(options)
  t.teardown(() => p.cleanup())
  return p
}

async function echoOnce(from: WebSocketDuplex, to: WebSocketDuplex, message: string) {
  const got = nextEvent<[string]>(to, 'data')
  from.write(message)
  return (await got)[0]
}

t.test('a new connection holds no stages; the first message builds them', async (t) => {
  const { client, server } = await connected(t)
  t.notOk(stageSweeper.has(server), 'the server side holds none before anything moves')
  t.notOk(stageSweeper.has(client), 'nor the client side')
  t.equal(await echoOnce(client, server, 'first'), 'first')
  t.ok(stageSweeper.has(server) && stageSweeper.has(client), 'both sides built theirs')
})

t.test('a quiet connection gives its stages back and builds them again for the next message', async (t) => {
  const { client, server } = await connected(t)
  t.equal(await echoOnce(client, server, 'before'), 'before')
  t.equal(await echoOnce(server, client, 'answer'), 'answer')
  sweepTwice()
  t.notOk(stageSweeper.has(server), 'the server side let go of its stages')
  t.notOk(stageSweeper.has(client), 'the client side too')
  t.equal(await echoOnce(client, server, 'after'), 'after', 'a message after the release arrives whole')
  t.equal(await echoOnce(server, client, 'x'.repeat(70_000)), 'x'.repeat(70_000), 'and a long one the other way')
  const pong = nextEvent<[Buffer]>(client, 'pong')
  client.ping('still here')
  t.equal(String((await pong)[0]), 'still here', 'pings are answered after the release too')
  client.close(1000, 'done')
  const [code, reason] = await nextEvent<[number, string]>(server, 'closing')
  t.same([code, reason], [1000, 'done'], 'the closing handshake works after a release')
})

t.test('a sweep that sees bytes move keeps the stages', async (t) => {
  const { client, server } = await connected(t)
  await echoOnce(client, server, 'one')
  stageSweeper.sweep()
  await echoOnce(client, server, 'two')
  stageSweeper.sweep()
  t.ok(stageSweeper.has(server), 'bytes moved between the sweeps: kept')
})

/** Our server's side of a connection from a raw client that writes frames by hand. */
async function rawPeer(t: Test) {
  let server: WebSocketDuplex | null = null
  const listening = await serve({}, (ws) => (server = ws))
  t.teardown(() => listening.close())
  const raw = await rawConnect(listening.port)
  t.teardown(() => raw.socket.destroy())
  await until(() => server !== null, 5000, 'accepted')
  return { ws: server! as WebSocketDuplex, socket: raw.socket }
}

t.test('half a frame: kept until the rest comes, then the message is whole', async (t) => {
  const { ws, socket } = await rawPeer(t)
  const frame = clientFrame({ opcode: 1, payload: 'split across a sweep' })
  socket.write(frame.subarray(0, 5))
  await until(() => stageSweeper.has(ws), 5000, 'the first bytes arrived')
  sweepTwice()
  t.ok(stageSweeper.has(ws), 'kept: a frame is half read')
  const message = nextEvent<[string]>(ws, 'data')
  socket.write(frame.subarray(5))
  t.equal((await message)[0], 'split across a sweep')
})

t.test('half a message (first fragment only): kept, then assembled whole', async (t) => {
  const { ws, socket } = await rawPeer(t)
  socket.write(clientFrame({ opcode: 1, payload: 'first half, ', fin: false }))
  await until(() => stageSweeper.has(ws), 5000, 'the fragment arrived')
  sweepTwice()
  t.ok(stageSweeper.has(ws), 'kept: a message is half assembled')
  const message = nextEvent<[string]>(ws, 'data')
  socket.write(clientFrame({ opcode: 0, payload: 'second half' }))
  t.equal((await message)[0], 'first half, second half')
})

t.test('messages waiting for a reader: kept; they are read in order afterwards', async (t) => {
  const { client, server } = await connected(t)
  server.pause()
  client.write('one')
  client.write('two')
  await until(() => server.readableLength === 2, 5000, 'two messages buffered')
  sweepTwice()
  t.ok(stageSweeper.has(server), 'kept while messages wait')
  const read: string[] = []
  server.on('data', (message: string) => read.push(message))
  server.resume()
  await until(() => read.length === 2, 5000, 'both read')
  t.same(read, ['one', 'two'])
})

t.test('with permessage-deflate and context takeover the stages go and their windows stay for the next message', async (t) => {
  const { client, server } = await connected(t, { server: { perMessageDeflate: true }, client: { perMessageDeflate: true } })
  t.ok(server.extensions.startsWith('permessage-deflate'), 'compression agreed')
  t.notMatch(server.extensions, /no_context_takeover/, 'with context takeover')
  // Random text compresses to about its own size; sent again, it is one back-reference into the window.
  const text = randomBytes(1500).toString('base64')
  const wire = async (from: WebSocketDuplex, to: WebSocketDuplex) => {
    const before = to.socket.bytesRead
    t.equal(await echoOnce(from, to, text), text, 'arrives whole')
    return to.socket.bytesRead - before
  }
  const first = [await wire(client, server), await wire(server, client)]
  t.ok(first.every((bytes) => bytes > text.length / 2), `the first time, about its size on the wire (${first})`)
  sweepTwice()
  t.notOk(stageSweeper.has(server), 'the server side let go of its stages')
  t.notOk(stageSweeper.has(client), 'the client side too')
  const again = [await wire(client, server), await wire(server, client)]
  t.ok(again.every((bytes) => bytes < 64), `sent again after the release, a back-reference into the kept window (${again})`)
  sweepTwice()
  t.equal(await echoOnce(client, server, 'compressed '.repeat(300)), 'compressed '.repeat(300), 'and again after a second release')
})

t.test('with permessage-deflate and no context takeover the stages go too; compressed messages still work', async (t) => {
  const deflate = { serverNoContextTakeover: true, clientNoContextTakeover: true }
  const { client, server } = await connected(t, { server: { perMessageDeflate: deflate }, client: { perMessageDeflate: deflate } })
  t.match(server.extensions, /server_no_context_takeover/, 'agreed without context takeover')
  const text = 'compressible '.repeat(200)
  t.equal(await echoOnce(client, server, text), text)
  t.equal(await echoOnce(server, client, text), text)
  sweepTwice()
  t.notOk(stageSweeper.has(server), 'the server side let go of its stages')
  t.notOk(stageSweeper.has(client), 'the client side too')
  const before = server.socket.bytesRead
  t.equal(await echoOnce(client, server, text), text, 'a compressed message after the release')
  t.ok(server.socket.bytesRead - before < text.length / 4, 'and it came compressed')
  t.equal(await echoOnce(server, client, text), text, 'the other way too')
})

t.test('a peer that sends FIN without a byte: the connection ends as abnormal (1006), no stages built', async (t) => {
  const { ws, socket } = await rawPeer(t)
  ws.on('error', () => {})
  // Every stage built joins the sweeper: watch who joins while the connection goes away.
  const joined: object[] = []
  const add = stageSweeper.add
  stageSweeper.add = function (owner, visit) {
    joined.push(owner)
    return add.call(this, owner, visit)
  }
  t.teardown(() => {
    stageSweeper.add = add
  })
  const peerSaw = new Promise<Buffer>((resolve) => {
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('close', () => resolve(Buffer.concat(chunks)))
  })
  const closed = nextEvent<[number]>(ws, 'close')
  socket.end()
  t.equal((await closed)[0], 1006, 'closed as abnormal, no CLOSE came')
  t.equal((await peerSaw).length, 0, 'the peer got no frame, only our FIN')
  t.notOk(joined.includes(ws), 'neither side of the pipeline was built just to be ended')
  t.notOk(stageSweeper.has(ws), 'a closed connection holds no stages')
})
