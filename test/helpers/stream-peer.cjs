'use strict'
/**
 * A client of ours in a process of its own, for measuring one end of a large
 * streamed message by itself: `node stream-peer.cjs send|receive URL BYTES`.
 * It connects with the built package (dist/), then either sends BYTES as one
 * message from a generator (the same 1 MiB block again and again) or reads
 * one streamed message to its end; it prints, as JSON, the SHA-256 and size
 * of what it sent or read and its own peak RSS growth in MiB.
 */
const { createHash } = require('node:crypto')
const path = require('node:path')
const { connect } = require(path.resolve(__dirname, '../../dist'))

const [mode, url, bytes] = process.argv.slice(2)
const total = Number(bytes)
const MiB = 1024 * 1024

async function main() {
  const ws = await connect(url, { streamMessages: true, maxMessageSize: MiB })
  ws.on('error', (error) => {
    console.error(error.message)
    process.exit(1)
  })
  const rssBefore = process.memoryUsage().rss
  let peak = rssBefore
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
  const hash = createHash('sha256')
  let size = 0
  if (mode === 'send') {
    const block = Buffer.alloc(MiB)
    for (let i = 0; i < block.length; i++) block[i] = (i * 13 + 5) & 0xff
    async function* source() {
      for (let sent = 0; sent < total; sent += block.length) {
        hash.update(block)
        size += block.length
        yield block
      }
    }
    await new Promise((resolve, reject) => ws.write(source(), (error) => (error ? reject(error) : resolve())))
  } else {
    const [stream] = await new Promise((resolve) => ws.once('data', (message) => resolve([message])))
    for await (const chunk of stream) {
      hash.update(chunk)
      size += chunk.length
    }
  }
  clearInterval(sampler)
  console.log(JSON.stringify({ size, hash: hash.digest('hex'), growth: (peak - rssBefore) / MiB }))
  ws.close()
}

main().catch((error) => {
  console.error(error.message)
  process.exit(1)
})
