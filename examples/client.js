'use strict'
/**
 * A client for the echo server: sends a few text and binary messages, reads
 * the echoes with `for await`, then closes with a code and a reason.
 *
 *   node examples/echo-server.js 8080 &
 *   node examples/client.js [port]            (or PORT=...; default 8080)
 */
const { once } = require('node:events')
const { connect } = require('watershed')
const { describe } = require('./echo-server')

const OUTGOING = [
  'Hello, server!',
  'ünïcödé ✓ — any valid UTF-8',
  Buffer.from([0xde, 0xad, 0xbe, 0xef]),
  '', // an empty message is a message too
  Buffer.from('binary, not text'),
]

/** Connects to `url`, sends OUTGOING, waits for every echo and closes; resolves to the echoes. */
async function runClient(url, log = console.log) {
  const ws = await connect(url)
  log(`[client] connected to ${url}`)
  // Without a listener an 'error' would crash the process; the loop below sees it too.
  ws.on('error', (error) => log(`[client] error ${error.code ?? ''}: ${error.message}`))
  ws.on('close', (code, reason) => log(`[client] closed, server's code ${code} ${JSON.stringify(reason)}`))

  for (const message of OUTGOING) {
    log(`[client] sending ${describe(message)}`)
    ws.write(message)
  }

  const echoes = []
  const closed = once(ws, 'close')
  // The loop ends when the server's CLOSE arrives; 'close' follows once TCP is shut.
  for await (const message of ws) {
    log(`[client] echo ${describe(message)}`)
    echoes.push(message)
    if (echoes.length === OUTGOING.length) {
      log('[client] every echo is back: closing with 1000 "done"')
      ws.close(1000, 'done')
    }
  }
  await closed
  return echoes
}

module.exports = { runClient, OUTGOING }

if (require.main === module) {
  const port = Number(process.argv[2] ?? process.env.PORT ?? 8080)
  runClient(`ws://127.0.0.1:${port}`).then(
    (echoes) => {
      if (echoes.length !== OUTGOING.length) {
        console.error(`[client] only ${echoes.length} of ${OUTGOING.length} echoes came back`)
        process.exitCode = 1
      }
    },
    (error) => {
      console.error(`[client] failed: ${error.code ?? ''} ${error.message}`)
      process.exitCode = 1
    },
  )
}
