'use strict'
/**
 * Text messages through a child process: each connection gets its own `sort`.
 * Every text message is one line of sort's input; an empty message ends the
 * input. Each line sort prints comes back as a text message, and the end of
 * its output ends the connection (CLOSE 1000 from the server).
 *
 *   pipeline(ws, linesUntilEmpty(), sort.stdin, ...)     messages in
 *   pipeline(sort.stdout, splitLines(), ws, ...)         messages out
 *
 * The end of input has to be said in a message: once a peer's CLOSE has
 * arrived, nothing more may be sent to it (RFC 6455 section 5.5.1).
 *
 *   node examples/text-to-sort.js      demo: a client sends words, prints them sorted, exit
 */
const { spawn } = require('node:child_process')
const http = require('node:http')
const { Transform, pipeline } = require('node:stream')
const { accept, connect, rejectUpgrade } = require('watershed')

/** Text messages in, lines out, until the empty message: that ends the output. */
function linesUntilEmpty() {
  let done = false
  return new Transform({
    writableObjectMode: true,
    transform(message, _encoding, callback) {
      if (done || typeof message !== 'string') return callback()
      if (message === '') {
        done = true
        this.push(null) // sort's stdin ends here; later messages are ignored
        return callback()
      }
      callback(null, `${message}\n`)
    },
  })
}

/** Bytes in, one string per line out. */
function splitLines() {
  let partial = ''
  return new Transform({
    readableObjectMode: true,
    transform(chunk, _encoding, callback) {
      const lines = (partial + chunk.toString('utf8')).split('\n')
      partial = lines.pop()
      for (const line of lines) this.push(line)
      callback()
    },
    flush(callback) {
      callback(null, partial === '' ? undefined : partial)
    },
  })
}

function createSortServer(log = console.log) {
  const server = http.createServer()
  server.on('upgrade', (req, socket, head) => {
    let ws
    try {
      ws = accept(req, socket, head)
    } catch (error) {
      rejectUpgrade(socket, error)
      return
    }
    // LC_ALL=C: byte order, the same on every machine.
    const sort = spawn('sort', [], { env: { ...process.env, LC_ALL: 'C' }, stdio: ['pipe', 'pipe', 'inherit'] })
    log(`[server] a client connected; started sort (pid ${sort.pid})`)
    sort.on('error', (error) => log(`[server] could not run sort: ${error.message}`))
    sort.on('exit', (code) => log(`[server] sort exited with ${code}`))

    pipeline(ws, linesUntilEmpty(), sort.stdin, (error) => {
      if (error) log(`[server] input failed: ${error.code ?? ''} ${error.message}`)
    })
    // When sort's output ends, pipeline() ends ws: that sends CLOSE 1000.
    pipeline(sort.stdout, splitLines(), ws, (error) => {
      log(error ? `[server] output failed: ${error.code ?? ''} ${error.message}` : '[server] all sorted lines sent; connection closed')
    })
  })
  return server
}

module.exports = { createSortServer, linesUntilEmpty, splitLines }

async function demo() {
  const server = createSortServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `ws://127.0.0.1:${server.address().port}`
  console.log(`[demo] sort server on ${url}`)
  try {
    const ws = await connect(url)
    ws.on('error', (error) => console.error(`[client] error: ${error.message}`))
    const words = ['pear', 'fig', 'apple', 'cherry', 'banana']
    console.log(`[client] sending ${words.join(', ')}, then the empty message`)
    for (const word of words) ws.write(word)
    ws.write('')

    const sorted = []
    for await (const line of ws) sorted.push(line)
    console.log(`[client] the server closed with ${ws.closeCode}; it sent back:`)
    for (const line of sorted) console.log(`  ${line}`)
  } finally {
    server.close(() => console.log('[demo] server stopped; done'))
  }
}

if (require.main === module) {
  demo().catch((error) => {
    console.error(`[demo] failed: ${error.message}`)
    process.exitCode = 1
  })
}
