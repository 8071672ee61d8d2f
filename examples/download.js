'use strict'
/**
 * Downloading a file over a WebSocket, in constant memory at both ends: the
 * server writes the file's Readable to each connection as one message; the
 * client, in stream mode, pipes the message into a file while it arrives.
 *
 *   node examples/download.js                 demo: downloads a generated 64 MiB file, checks it, exits
 *   node examples/download.js serve PORT FILE  a server that sends FILE to every client
 *   node examples/download.js fetch URL FILE   saves what such a server sends into FILE
 */
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const { pipeline } = require('node:stream/promises')
const { WebSocketServer, connect } = require('watershed')
const { withDemoFile, compare, finish } = require('./demo-file')

/** A server that sends `file` to every client as one binary message, then closes. */
function fileServer(file) {
  const server = http.createServer()
  const wss = new WebSocketServer({ server })
  wss.on('connection', (ws) => {
    ws.on('error', (error) => console.error('[server]', error.message))
    // The write's callback runs once the last fragment has gone to the socket.
    ws.write(fs.createReadStream(file), { text: false }, (error) => {
      if (error) console.error('[server] sending failed:', error.message)
      else ws.close(1000, 'sent')
    })
  })
  return server
}

/** Saves the one message the server at `url` sends into `file`; resolves with its size. */
async function download(url, file) {
  const ws = await connect(url, { streamMessages: true, maxStreamedMessageSize: 16 * 2 ** 30 })
  const [message] = await new Promise((resolve) => ws.once('data', (...args) => resolve(args)))
  await pipeline(message, fs.createWriteStream(file))
  ws.resume()
  return fs.statSync(file).size
}

async function demo() {
  await withDemoFile(async (dir, source) => {
    const server = fileServer(source)
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    const target = path.join(dir, 'downloaded.bin')
    const size = await download(`ws://127.0.0.1:${server.address().port}/`, target)
    console.log(`[client] saved ${size} bytes`)
    console.log(compare(target, source))
    server.close()
  })
}

const [mode, a, b] = process.argv.slice(2)
if (mode === 'serve') {
  fileServer(b).listen(Number(a ?? 8080), () => console.log(`sending ${path.resolve(b)} to every client`))
} else if (mode === 'fetch') {
  finish(download(a, b), (size) => console.log(`saved ${size} bytes`))
} else {
  finish(demo())
}
