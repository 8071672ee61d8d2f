/**
 * Garbage never crashes, hangs or leaks: random bytes (seeded, so a failure
 * can be replayed), alone or after a valid frame header, end in a clear
 * error or a closed connection, for each stage alone and for a server over TCP.
 */
import t from 'tap'
import { WebSocketError } from '../../lib/protocol/errors'
import { FrameDecoder } from '../../lib/stages/frame-decoder'
import { MessageAssembler } from '../../lib/stages/message-assembler'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { clientFrame } from '../helpers/frames'
import { serve } from '../helpers/ws-pair'
import { rawConnect } from '../helpers/ws-raw'
import { within } from '../helpers/ws-wait'

/** A small seeded generator (mulberry32), so every case can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/** Random bytes, sometimes behind valid frames so the garbage lands mid-stream. */
function hostileBytes(seed: number): Buffer {
  const next = random(seed)
  const garbage = Buffer.from(Array.from({ length: 1 + Math.floor(next() * 600) }, () => Math.floor(next() * 256)))
  const prefix = next() < 0.5 ? [clientFrame({ opcode: 1, payload: 'fine' }), clientFrame({ opcode: 1, fin: false, payload: 'par' })] : []
  return Buffer.concat([...prefix, garbage])
}

const SEEDS = Array.from({ length: 150 }, (_, i) => i + 1)

t.test('the decoder and assembler turn any bytes into items or a WebSocketError, nothing else', async (t) => {
  let failures = 0
  for (const seed of SEEDS) {
    const decoder = new FrameDecoder()
    const assembler = new MessageAssembler({ maxMessageSize: 1 << 20 })
    decoder.pipe(assembler)
    const outcome = new Promise<Error | null>((resolve) => {
      decoder.on('error', resolve)
      assembler.on('error', resolve)
      assembler.on('end', () => resolve(null))
      assembler.resume()
    })
    const bytes = hostileBytes(seed)
    // Cut where the seed says, so partial headers are part of the garbage too.
    const cut = Math.floor(random(seed * 7)() * bytes.length)
    decoder.write(Buffer.from(bytes.subarray(0, cut)))
    decoder.end(Buffer.from(bytes.subarray(cut)))
    const error = await within(outcome, 2000, `seed ${seed}`)
    if (error !== null) {
      if (!(error instanceof WebSocketError) || typeof error.status !== 'number') t.fail(`seed ${seed}: ${error}`)
      failures++
    }
  }
  t.ok(failures > SEEDS.length / 2, `most garbage is refused (${failures} of ${SEEDS.length})`)
})

t.test('a server fed garbage over TCP closes the connection and reports a coded error', async (t) => {
  const connections: Array<{ ws: WebSocketDuplex; errors: Array<Error & { code?: string }>; closed: Promise<unknown> }> = []
  const listening = await serve({ maxMessageSize: 1 << 20, closeTimeout: 500 }, (ws) => {
    const errors: Error[] = []
    ws.on('error', (error) => errors.push(error))
    ws.resume()
    connections.push({ ws, errors, closed: new Promise((resolve) => ws.on('close', resolve)) })
  })
  t.teardown(() => listening.close())
  for (const seed of SEEDS.slice(0, 60)) {
    const { socket } = await rawConnect(listening.port)
    socket.resume()
    socket.write(hostileBytes(seed))
    socket.end() // then FIN: the server must finish either way
    const peerClosed = new Promise((resolve) => socket.on('close', resolve))
    while (connections.length < seed) await new Promise((resolve) => setImmediate(resolve))
    const { errors, closed } = connections[seed - 1]
    await within(closed, 3000, `seed ${seed}: the server's close`)
    await within(peerClosed, 3000, `seed ${seed}: TCP closed`)
    for (const error of errors) {
      if (typeof error.code !== 'string') t.fail(`seed ${seed}: an error without a code: ${error}`)
    }
  }
  t.equal(connections.length, 60, 'every connection was accepted and has closed')
})
