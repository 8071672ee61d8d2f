'use strict'
/**
 * A client of ours in a process of its own, for measuring one end of a large
 * streamed message by itself: `node stream-peer.cjs send|receive URL BYTES
 * [compress]`. It connects with the built package (dist/), offering
 * permessage-deflate when asked, then either sends BYTES as one message from
 * a generator (the block of stream-block.cjs again and again) or reads one
 * streamed message to its end; it prints, as JSON, the SHA-256 and size of
 * what it sent or read, its own peak RSS growth in MiB and the extensions
 * the server agreed to.
 */
const { createHash } = require('node:crypto')
const path = require('node:path')
const { connect } = require(path.resolve(__dirname, '../../dist'))
const { streamBlock, MiB } = require('./stream-block.cjs')

const [mode, url, bytes, compress] = process.argv.slice(2)
const total = Number(bytes)

async function main() {
  const ws = await connect(url, { streamMessages: true, maxMessageSize: MiB, perMessageDeflate: compress === 'compress' })
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
    const block = streamBlock()
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
  const growth = (peak - rssBefore) / MiB
  console.log(JSON.stringify({ size, hash: hash.digest('hex'), growth, extensions: ws.extensions }))
  ws.close()
}

main().catch((error) => {
  console.error(error.message)
  process.exit(1)
})
