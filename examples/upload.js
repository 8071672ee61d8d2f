'use strict'
/**
 * Uploading a file over a WebSocket, in constant memory at both ends: the
 * client writes a file's Readable to the connection as one message; the
 * server, in stream mode, receives that message as a Readable and pipes it
 * into a file while it arrives. Neither side ever holds the whole file.
 *
 *   node examples/upload.js                  demo: uploads a generated 64 MiB file, checks it, exits
 *   node examples/upload.js serve PORT DIR   a server that saves each upload into DIR
 *   node examples/upload.js send URL FILE    uploads FILE to such a server
 */
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const { pipeline } = require('node:stream/promises')
const { WebSocketServer, connect } = require('watershed')
const { withDemoFile, compare, finish } = require('./demo-file')

/** A server that writes every message it receives, as it arrives, to a new file in `dir`. */
function uploadServer(dir, onSaved = () => {}) {
  const server = http.createServer()
  // Every message as a stream; a streamed message may be up to 16 GiB here.
  const wss = new WebSocketServer({ server, streamMessages: true, maxStreamedMessageSize: 16 * 2 ** 30 })
  let count = 0
  wss.on('connection', (ws) => {
    ws.on('error', (error) => console.error('[server]', error.message))
    ws.on('data', async (upload) => {
      const file = path.join(dir, `upload-${++count}`)
      try {
        await pipeline(upload, fs.createWriteStream(file))
        ws.write(`saved ${fs.statSync(file).size} bytes`)
        onSaved(file)
      } catch (error) {
        console.error('[server] upload failed:', error.message)
      }
    })
  })
  return server
}

/** Uploads `file` to `url` as one message; resolves with the server's answer. */
async function upload(url, file) {
  const ws = await connect(url)
  ws.write(fs.createReadStream(file))
  const [answer] = await new Promise((resolve) => ws.once('data', (...args) => resolve(args)))
  ws.close()
  return answer
}

async function demo() {
  await withDemoFile(async (dir, source) => {
    let saved = null
    const server = uploadServer(dir, (file) => (saved = file))
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    const answer = await upload(`ws://127.0.0.1:${server.address().port}/`, source)
    console.log(`[client] the server answered: ${answer}`)
    console.log(compare(saved, source))
    server.close()
  })
}

const [mode, a, b] = process.argv.slice(2)
if (mode === 'serve') {
  uploadServer(b ?? '.').listen(Number(a ?? 8080), () => console.log(`saving uploads into ${path.resolve(b ?? '.')}`))
} else if (mode === 'send') {
  finish(upload(a, b), (answer) => console.log(answer))
} else {
  finish(demo())
}
