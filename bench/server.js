'use strict'
/**
 * A benchmark server process, forked by bench/run.js: `node bench/server.js LIB`
 * with LIB one of
 *
 *   ours  watershed's WebSocketServer on an http server, with textAsBytes; echo is
 *         ws.on('data', (m) => ws.write(m)): text comes back as text, binary as binary,
 *         as bytes. On the path /strings, without textAsBytes: text is read as a string.
 *   ws    ws's WebSocketServer on an http server; echo is
 *         ws.on('message', (m, isBinary) => ws.send(m, { binary: isBinary })). On the
 *         path /strings, a text message is made a string (m.toString()) and sent as one.
 *   orig  the original watershed API as its documentation shows it: an http server
 *         whose 'upgrade' handler calls shed.accept(req, socket, head) (socket.end()
 *         if it throws), with new Watershed({ maxMessageSize }); echo is
 *         wsc.on('text', (t) => wsc.send(t)); wsc.on('binary', (b) => wsc.send(b)).
 *         Text is always a string (the original API has no bytes mode), on every path.
 *   raw   a plain net server: length-prefixed messages, echoed byte for byte as
 *         they arrive (and counted), the ceiling for Node on this machine.
 *
 * The WebSocket servers accept messages up to MAX_MESSAGE (512 MiB) and have
 * permessage-deflate off; `node bench/server.js LIB --deflate` (ours and ws)
 * turns it on with each library's defaults (perMessageDeflate: true: both
 * compress messages of 1024 bytes and more), `--deflate=NAME` with one of
 * common.js's DEFLATE_SETTINGS. `node bench/server.js ours --stream` reads
 * every message as a MessageStream (streamMessages: true) with the same echo,
 * so a message goes back out as its bytes come, never whole in memory
 * (workload e's streamed row). The server listens on 127.0.0.1, port 0, and sends
 * { type: 'ready', port, native } over IPC; then it answers the parent's
 * commands (see `commands` below).
 */
const http = require('node:http')
const net = require('node:net')
const { DEFLATE_SETTINGS, FrameCounter, deflateSetting, streamSetting, nativeReport, serveCommands, cpuSince } = require('./common')

const MAX_MESSAGE = 512 * 1024 * 1024
/** ws has no 'drain': past this many buffered bytes a sender waits for a send callback (see client.js). */
const WS_SEND_THRESHOLD = Number(process.env.BENCH_WS_THRESHOLD ?? 64 * 1024)

const lib = process.argv[2]
if (!['ours', 'orig', 'ws', 'raw'].includes(lib)) throw new Error(`unknown library ${lib}`)
/** The permessage-deflate setting's name, or null (off). */
const DEFLATE = deflateSetting(process.argv.slice(3), lib)
/** Our servers' options for permessage-deflate: left out unless --deflate. */
const oursDeflate = DEFLATE ? { perMessageDeflate: DEFLATE_SETTINGS[DEFLATE].ours } : {}
/** Stream mode (--stream): ws.write(message) then writes the received MessageStream straight back. */
const oursStream = streamSetting(process.argv.slice(3), lib) ? { streamMessages: true } : {}

let echoed = 0
const errors = []
let cpuStart = process.cpuUsage()
/** Every open connection (for raw: sockets). */
let clients = new Set()
/** The messages of the next broadcast. */
let prepared = null

function noteError(error) {
  if (errors.length < 10) errors.push(`${error.code ?? ''} ${error.message}`.trim())
}

/** The connections of both of a library's endpoints (bytes and strings), as one count. */
const clientsOf = (a, b) => ({ get size() { return a.size + b.size } })

function startOurs(httpServer) {
  const { WebSocketServer } = require('watershed')
  const echo = (ws) => {
    ws.on('error', noteError)
    ws.on('data', (message) => {
      echoed++
      ws.write(message)
    })
  }
  const strings = new WebSocketServer({ server: httpServer, maxMessageSize: MAX_MESSAGE, path: '/strings', ...oursDeflate, ...oursStream })
  const wss = new WebSocketServer({ server: httpServer, maxMessageSize: MAX_MESSAGE, textAsBytes: true, ...oursDeflate, ...oursStream })
  clients = clientsOf(wss.clients, strings.clients)
  wss.on('connection', echo)
  strings.on('connection', echo)
  return {
    /** Writes `messages` to every client, each as fast as its backpressure allows. */
    broadcast(messages) {
      return Promise.all(
        [...wss.clients].map(
          (ws) =>
            new Promise((resolve, reject) => {
              let i = 0
              const onClose = () => reject(new Error('a client closed during the broadcast'))
              ws.once('close', onClose)
              const pump = () => {
                while (i < messages.length) {
                  if (!ws.write(messages[i++])) {
                    ws.once('drain', pump)
                    return
                  }
                }
                ws.off('close', onClose)
                resolve()
              }
              pump()
            }),
        ),
      )
    },
  }
}

function startWs(httpServer) {
  const { WebSocketServer } = require('ws')
  const wss = new WebSocketServer({ server: httpServer, maxPayload: MAX_MESSAGE, perMessageDeflate: DEFLATE ? DEFLATE_SETTINGS[DEFLATE].ws : false })
  clients = wss.clients
  wss.on('error', noteError)
  wss.on('connection', (ws, req) => {
    ws.on('error', noteError)
    const strings = req.url === '/strings'
    ws.on('message', (message, isBinary) => {
      echoed++
      ws.send(strings && !isBinary ? message.toString() : message, { binary: isBinary })
    })
  })
  return {
    /**
     * ws's idiomatic backpressure: send while bufferedAmount stays under a
     * threshold; the message that crosses it carries a callback (called once
     * it has been written to the socket) that resumes sending.
     */
    broadcast(messages) {
      return Promise.all(
        [...wss.clients].map(
          (ws) =>
            new Promise((resolve, reject) => {
              let i = 0
              const pump = (error) => {
                if (error) return reject(error)
                while (i < messages.length) {
                  const message = messages[i++]
                  if (ws.bufferedAmount + message.length >= WS_SEND_THRESHOLD && i < messages.length) {
                    ws.send(message, pump)
                    return
                  }
                  ws.send(message)
                }
                resolve()
              }
              pump()
            }),
        ),
      )
    },
  }
}

function startOrig(httpServer) {
  const { Watershed } = require('watershed')
  const shed = new Watershed({ maxMessageSize: MAX_MESSAGE })
  const conns = new Set()
  clients = conns
  httpServer.on('upgrade', (req, socket, head) => {
    let wsc
    try {
      wsc = shed.accept(req, socket, head)
    } catch (ex) {
      noteError(ex)
      return socket.end()
    }
    conns.add(wsc)
    wsc.on('error', noteError)
    wsc.on('end', () => conns.delete(wsc))
    wsc.on('text', (text) => {
      echoed++
      wsc.send(text)
    })
    wsc.on('binary', (binary) => {
      echoed++
      wsc.send(binary)
    })
  })
  return {
    /** send() until it returns false, then wait for the connection's 'drain' (on its duplex). */
    broadcast(messages) {
      return Promise.all(
        [...conns].map(
          (wsc) =>
            new Promise((resolve, reject) => {
              let i = 0
              const onEnd = () => reject(new Error('a client closed during the broadcast'))
              wsc.once('end', onEnd)
              const pump = () => {
                while (i < messages.length) {
                  if (!wsc.send(messages[i++])) {
                    wsc.duplex.once('drain', pump)
                    return
                  }
                }
                wsc.off('end', onEnd)
                resolve()
              }
              pump()
            }),
        ),
      )
    },
  }
}

function startRaw() {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true)
    clients.add(socket)
    const counter = new FrameCounter()
    let before = 0
    socket.on('data', (chunk) => {
      counter.push(chunk)
      echoed += counter.count - before
      before = counter.count
      socket.write(chunk)
    })
    socket.on('error', noteError)
    socket.on('close', () => clients.delete(socket))
  })
  return { server, broadcast: () => Promise.reject(new Error('raw has no broadcast')) }
}

const commands = {
  /** Starts the measured interval: CPU time and the echo count from here. */
  cpuStart() {
    echoed = 0
    cpuStart = process.cpuUsage()
    return { rss: process.memoryUsage().rss, maxRSS: process.resourceUsage().maxRSS }
  },
  /** Ends it: CPU time used, messages echoed, errors seen, peak RSS (KiB). */
  cpuStop() {
    return { cpu: cpuSince(cpuStart), echoed, errors: errors.slice(), maxRSS: process.resourceUsage().maxRSS, clients: clients.size }
  },
  clients() {
    return { clients: clients.size, errors: errors.slice() }
  },
  /** Memory after full collections (needs --expose-gc). */
  mem() {
    if (typeof global.gc !== 'function') throw new Error('mem needs node --expose-gc')
    for (let i = 0; i < 4; i++) global.gc()
    const m = process.memoryUsage()
    return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, clients: clients.size }
  },
  /** Makes messages 0..count-1 of `size` bytes (binary unless `kind`) for the next broadcast. */
  prepare({ size, count, kind = 'binary' }) {
    const { basePayload, stamp } = require('./common')
    const base = basePayload(size, kind)
    prepared = []
    for (let seq = 0; seq < count; seq++) prepared.push(stamp(base, seq))
  },
  /** Sends the prepared messages to every client; resolves when all are handed to the library. */
  async broadcast() {
    if (!prepared) throw new Error('broadcast without prepare')
    const messages = prepared
    prepared = null
    const started = process.hrtime.bigint()
    await app.broadcast(messages)
    return { clients: clients.size, writeMs: Number(process.hrtime.bigint() - started) / 1e6 }
  },
  exit() {
    setImmediate(() => process.exit(0))
  },
}

let app
let server
if (lib === 'raw') {
  app = startRaw()
  server = app.server
} else {
  server = http.createServer((req, res) => res.end('websocket only\n'))
  app = { ours: startOurs, orig: startOrig, ws: startWs }[lib](server)
}
server.on('error', noteError)
serveCommands(commands)
server.listen(0, '127.0.0.1', 1024, () => {
  process.send({ type: 'ready', port: server.address().port, native: nativeReport() })
})
