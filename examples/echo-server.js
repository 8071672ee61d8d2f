'use strict'
/**
 * An echo server: every message comes back as it was sent, text as text and
 * binary as binary.
 *
 *   node examples/echo-server.js [port]      (or PORT=...; default 8080)
 *
 * It listens on 127.0.0.1 only. Ctrl-C (SIGINT) or SIGTERM closes every
 * connection with 1001 (going away) and exits once they have all closed.
 * Talk to it with `node examples/client.js [port]`.
 */
const http = require('node:http')
const { once } = require('node:events')
const { accept, rejectUpgrade } = require('watershed')

/** A short, printable account of a message. */
function describe(message) {
  if (typeof message === 'string') return `text ${JSON.stringify(message)}`
  const hex = message.subarray(0, 16).toString('hex').replace(/(..)(?!$)/g, '$1 ')
  return `binary <${hex}${message.length > 16 ? ' …' : ''}> (${message.length} bytes)`
}

/** Reads every message and writes it back, waiting whenever the socket is full. */
async function echo(ws, log) {
  for await (const message of ws) {
    log(`received ${describe(message)}`)
    // Our answer to the peer's CLOSE waits until this loop has read past it.
    if (!ws.write(message)) await once(ws, 'drain')
  }
}

/**
 * An http.Server that accepts WebSocket upgrades and echoes. Not listening
 * yet: call .listen(). `server.closeAll(code, reason)` closes every connection.
 * `name` labels its log lines.
 */
function createEchoServer(log = console.log, name = 'server') {
  const connections = new Set()
  let nextId = 1

  const server = http.createServer((req, res) => {
    // A plain HTTP request: say what is spoken here.
    res.writeHead(426, { Upgrade: 'websocket', 'Content-Type': 'text/plain' })
    res.end('This is a WebSocket echo server.\n')
  })

  server.on('upgrade', (req, socket, head) => {
    let ws
    try {
      ws = accept(req, socket, head)
    } catch (error) {
      // Not an acceptable upgrade: answer 400, 405 or 426 over HTTP and close.
      log(`[${name}] rejected an upgrade: ${error.code} (HTTP ${error.statusCode}) ${error.message}`)
      rejectUpgrade(socket, error)
      return
    }
    const id = nextId++
    const say = (text) => log(`[${name} #${id}] ${text}`)
    connections.add(ws)
    say(`connected from ${socket.remoteAddress}:${socket.remotePort}`)

    ws.on('error', (error) => say(`error ${error.code ?? ''} (close status ${error.status ?? '-'}): ${error.message}`))
    ws.on('closing', (code, reason) => say(`peer sent CLOSE ${code} ${JSON.stringify(reason)}`))
    ws.on('close', (code, reason) => {
      connections.delete(ws)
      say(`closed, peer's code ${code} ${JSON.stringify(reason)}`)
    })
    // An error ends the loop too; it has been reported by the 'error' listener above.
    echo(ws, say).catch(() => {})
  })

  server.closeAll = (code = 1001, reason = 'server shutting down') => {
    for (const ws of connections) if (!ws.writableEnded) ws.close(code, reason)
  }
  return server
}

module.exports = { createEchoServer, describe }

if (require.main === module) {
  const port = Number(process.argv[2] ?? process.env.PORT ?? 8080)
  const server = createEchoServer()
  server.on('error', (error) => {
    console.error(`[server] ${error.message}`)
    process.exitCode = 1
  })
  server.listen(port, '127.0.0.1', () => {
    console.log(`[server] listening on ws://127.0.0.1:${server.address().port}`)
  })
  const shutdown = (signal) => {
    console.log(`[server] ${signal}: closing every connection with 1001`)
    server.closeAll(1001, 'server shutting down')
    server.close(() => console.log('[server] stopped'))
  }
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)
}
