'use strict'
/**
 * A websocket-to-websocket proxy in raw mode: both handshakes are done by the
 * library, then the two TCP sockets are joined byte for byte. Frames pass
 * through untouched (the client's stay masked, as the backend expects), so
 * the proxy costs no parsing at all.
 *
 *   node examples/raw-proxy.js                        demo: starts its own echo backend, sends a
 *                                                     client through the proxy, then exits
 *   node examples/raw-proxy.js ws://127.0.0.1:8080 [port]
 *                                                     proxies to that backend; listens on
 *                                                     127.0.0.1:port (or PORT=...; default 8081)
 */
const http = require('node:http')
const { pipeline } = require('node:stream')
const { accept, connect, rejectUpgrade } = require('watershed')

/** An http.Server whose WebSocket upgrades are passed on to `backendUrl`. */
function createRawProxy(backendUrl, log = console.log) {
  let nextId = 1
  const server = http.createServer((req, res) => {
    res.writeHead(426, { Upgrade: 'websocket' })
    res.end()
  })

  server.on('upgrade', (req, socket, head) => {
    let front
    try {
      // raw: after the 101 the socket itself comes back, with `head` put back in front.
      front = accept(req, socket, head, { raw: true })
    } catch (error) {
      log(`[proxy] rejected an upgrade: ${error.message}`)
      rejectUpgrade(socket, error)
      return
    }
    const id = nextId++
    front.on('error', () => {}) // reported by pipeline() below, or moot once the backend failed

    // raw: connect() resolves to the backend's socket once its 101 has been checked.
    connect(backendUrl, { raw: true }).then(
      (back) => {
        log(`[proxy #${id}] joined a client to ${backendUrl}`)
        // Client → backend and backend → client; either end closing ends the other.
        pipeline(front, back, front, (error) => {
          log(`[proxy #${id}] ${error ? `ended with ${error.code ?? error.message}` : 'ended cleanly'}`)
        })
      },
      (error) => {
        // The client already has its 101: all that is left is to drop it (it sees 1006).
        log(`[proxy #${id}] backend unreachable (${error.code ?? error.message}): dropping the client`)
        front.destroy()
      },
    )
  })
  return server
}

module.exports = { createRawProxy }

/** Listens on 127.0.0.1 and resolves to the ws:// URL. */
function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve(`ws://127.0.0.1:${server.address().port}`))
  })
}

async function demo() {
  const { createEchoServer } = require('./echo-server')
  const { runClient, OUTGOING } = require('./client')

  const backend = createEchoServer(console.log, 'backend')
  const backendUrl = await listen(backend, 0)
  console.log(`[demo] echo backend on ${backendUrl}`)
  const proxy = createRawProxy(backendUrl)
  const proxyUrl = await listen(proxy, 0)
  console.log(`[demo] raw proxy on ${proxyUrl}; the client connects to the proxy`)

  try {
    const echoes = await runClient(proxyUrl)
    if (echoes.length !== OUTGOING.length) throw new Error(`${echoes.length} of ${OUTGOING.length} echoes came back`)
    console.log(`[demo] ${echoes.length} messages went through the proxy and back`)
  } finally {
    await Promise.all([new Promise((r) => proxy.close(r)), new Promise((r) => backend.close(r))])
    console.log('[demo] proxy and backend stopped; done')
  }
}

if (require.main === module) {
  const backendUrl = process.argv[2]
  if (backendUrl === undefined) {
    demo().catch((error) => {
      console.error(`[demo] failed: ${error.message}`)
      process.exitCode = 1
    })
  } else {
    const port = Number(process.argv[3] ?? process.env.PORT ?? 8081)
    listen(createRawProxy(backendUrl), port).then(
      (url) => console.log(`[proxy] listening on ${url}, passing connections to ${backendUrl}`),
      (error) => {
        console.error(`[proxy] ${error.message}`)
        process.exitCode = 1
      },
    )
  }
}
