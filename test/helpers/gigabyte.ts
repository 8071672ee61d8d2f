/**
 * The proof that a message of any size streams in constant memory: 1 GiB
 * (256 MiB in the default test plan, still four times the memory bound)
 * one way, then the other, between our server (this process) and our client
 * (test/helpers/stream-peer.cjs, a process of its own, so that each end's
 * RSS is its own), hashed at both ends. Each end's peak RSS growth must stay
 * under the bound; with `compress`, both ends agree on permessage-deflate and
 * the message is deflated and inflated as it flows.
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import path from 'node:path'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { promisify } from 'node:util'
import type { Test } from 'tap'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import type { MessageStream } from '../../lib/stages/message-stream'
import { MiB, STREAMING_RSS_BOUND_MIB } from './memory'
import { serve } from './ws-pair'
import { until } from './ws-wait'
import { FULL_PLAN } from './test-plan'

const execFileAsync = promisify(execFile)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { streamBlock } = require('./stream-block.cjs') as { streamBlock(): Buffer }
const PEER = path.join(__dirname, 'stream-peer.cjs')
const GiB = 1024 * MiB
/** The streamed message's size; the source yields it as 1 MiB blocks. */
const MESSAGE_SIZE = FULL_PLAN ? GiB : 256 * MiB
const BLOCKS = MESSAGE_SIZE / MiB
const SIZE_NAME = FULL_PLAN ? '1 GiB' : '256 MiB'

interface PeerResult {
  size: number
  hash: string
  growth: number
  extensions: string
}

/** This process's peak RSS growth from now until stop(), sampled every 20 ms. */
function rssPeak() {
  const before = process.memoryUsage().rss
  let peak = before
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
  return {
    stop() {
      clearInterval(timer)
      return (Math.max(peak, process.memoryUsage().rss) - before) / MiB
    },
  }
}

/** Reads a streamed message to its end: its size and SHA-256. */
async function hashStream(stream: MessageStream) {
  const hash = createHash('sha256')
  let size = 0
  await pipeline(stream, new Writable({
    write(chunk: Buffer, _encoding, callback) {
      size += chunk.length
      hash.update(chunk)
      callback()
    },
  }))
  return { size, hash: hash.digest('hex') }
}

async function runPeer(mode: 'send' | 'receive', url: string, compress: boolean): Promise<PeerResult> {
  const args = [PEER, mode, url, String(MESSAGE_SIZE), ...(compress ? ['compress'] : [])]
  const { stdout } = await execFileAsync(process.execPath, args, { timeout: 120_000 })
  return JSON.parse(stdout) as PeerResult
}

/** Registers the two gigabyte tests on `t`. */
export function gigabyteEachWay(t: Test, compress: boolean): void {
  const options = { streamMessages: true, maxMessageSize: MiB, perMessageDeflate: compress } as const
  const agreed = (peer: PeerResult) => (compress ? peer.extensions.startsWith('permessage-deflate') : peer.extensions === '')
  const how = compress ? 'compressed and streamed' : 'streamed'

  t.test(`${SIZE_NAME} server to client, ${how} at both ends, each end in constant memory`, async (t) => {
    const block = streamBlock()
    const expected = createHash('sha256')
    for (let i = 0; i < BLOCKS; i++) expected.update(block)
    let sent: Promise<unknown> | null = null
    let sampler: { stop(): number } | null = null
    const listening = await serve(options, (ws: WebSocketDuplex) => {
      ws.on('error', () => {})
      async function* source() {
        for (let i = 0; i < BLOCKS; i++) yield block
      }
      sampler = rssPeak()
      sent = new Promise((resolve) => ws.write(source(), resolve))
    })
    t.teardown(() => listening.close())
    const peer = await runPeer('receive', listening.url, compress)
    const growth = sampler!.stop()
    t.equal(await sent, undefined, 'the write callback: sent')
    t.ok(agreed(peer), `extensions agreed: '${peer.extensions}'`)
    t.equal(peer.size, MESSAGE_SIZE, 'every byte')
    t.equal(peer.hash, expected.digest('hex'), 'the same bytes')
    t.ok(growth < STREAMING_RSS_BOUND_MIB, `the sending server's RSS grew by ${growth.toFixed(1)} MiB`)
    t.ok(peer.growth < STREAMING_RSS_BOUND_MIB, `the receiving client's RSS grew by ${peer.growth.toFixed(1)} MiB`)
  })

  t.test(`${SIZE_NAME} client to server, ${how} at both ends, each end in constant memory`, async (t) => {
    const received: MessageStream[] = []
    const listening = await serve(options, (ws: WebSocketDuplex) => {
      ws.on('error', () => {})
      ws.on('data', (message) => received.push(message as unknown as MessageStream))
    })
    t.teardown(() => listening.close())
    const sampler = rssPeak()
    const peerRun = runPeer('send', listening.url, compress)
    await until(() => received.length === 1, 10_000, 'the message stream')
    const result = await hashStream(received[0])
    const growth = sampler.stop()
    const peer = await peerRun
    t.ok(agreed(peer), `extensions agreed: '${peer.extensions}'`)
    t.equal(result.size, MESSAGE_SIZE, 'every byte')
    t.equal(result.hash, peer.hash, 'the same bytes')
    t.ok(growth < STREAMING_RSS_BOUND_MIB, `the receiving server's RSS grew by ${growth.toFixed(1)} MiB`)
    t.ok(peer.growth < STREAMING_RSS_BOUND_MIB, `the sending client's RSS grew by ${peer.growth.toFixed(1)} MiB`)
  })
}
