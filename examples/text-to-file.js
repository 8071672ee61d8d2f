'use strict'
/**
 * Text messages into a file: a server pipes each connection, through a
 * Transform that turns every text message into a line, into a file.
 *
 *   pipeline(ws, toLines(), fs.createWriteStream(file, { flags: 'a' }), callback)
 *
 * Backpressure holds end to end: when the disk is slow the file stream stops
 * taking lines, the connection stops reading, and TCP slows the client down.
 *
 *   node examples/text-to-file.js      demo: a client sends lines, the file is printed, exit
 */
const fs = require('node:fs')
const http = require('node:http')
const os = require('node:os')
const path = require('node:path')
const { Transform, pipeline } = require('node:stream')
const { accept, connect, rejectUpgrade } = require('watershed')

/** Text messages in (object mode), lines of UTF-8 out; binary messages are skipped. */
function toLines(log) {
  return new Transform({
    writableObjectMode: true,
    transform(message, _encoding, callback) {
      if (typeof message !== 'string') {
        log(`[server] skipping a binary message of ${message.length} bytes`)
        return callback()
      }
      callback(null, `${message}\n`)
    },
  })
}

/**
 * A server that appends the text messages of every connection to `file`.
 * `onSaved(error)` is called when a connection's lines are all on disk, which
 * is when the connection has closed.
 */
function createFileServer(file, onSaved, log = console.log) {
  const server = http.createServer()
  server.on('upgrade', (req, socket, head) => {
    let ws
    try {
      ws = accept(req, socket, head)
    } catch (error) {
      rejectUpgrade(socket, error)
      return
    }
    log(`[server] a client connected; its text goes to ${file}`)
    ws.on('closing', (code, reason) => log(`[server] client sent CLOSE ${code} ${JSON.stringify(reason)}`))
    // pipeline() listens for 'error' on every stream and destroys them all on failure.
    pipeline(ws, toLines(log), fs.createWriteStream(file, { flags: 'a' }), (error) => {
      log(error ? `[server] saving failed: ${error.code ?? ''} ${error.message}` : '[server] connection closed, file saved')
      onSaved(error)
    })
  })
  return server
}

module.exports = { createFileServer, toLines }

async function demo() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'watershed-'))
  const file = path.join(dir, 'messages.txt')
  let saved
  const allSaved = new Promise((resolve, reject) => {
    saved = (error) => (error ? reject(error) : resolve())
  })
  const server = createFileServer(file, saved)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `ws://127.0.0.1:${server.address().port}`
  console.log(`[demo] file server on ${url}`)

  try {
    const ws = await connect(url)
    ws.on('error', (error) => console.error(`[client] error: ${error.message}`))
    for (const message of ['first line', 'second line, ünïcödé ✓', Buffer.from([1, 2, 3]), 'last line']) {
      console.log(`[client] sending ${typeof message === 'string' ? JSON.stringify(message) : 'a binary message'}`)
      ws.write(message)
    }
    console.log('[client] closing with 1000 "that is all"')
    ws.close(1000, 'that is all')
    ws.resume() // nothing to read, but the read side must flow for the connection to finish

    await allSaved
    console.log(`[demo] ${file} now holds:`)
    process.stdout.write(fs.readFileSync(file, 'utf8'))
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
    server.close(() => console.log('[demo] server stopped; done'))
  }
}

if (require.main === module) {
  demo().catch((error) => {
    console.error(`[demo] failed: ${error.message}`)
    process.exitCode = 1
  })
}
