'use strict'
/**
 * A benchmark client process, forked by bench/run.js: `node bench/client.js LIB`
 * (ours: watershed's connect(); orig: the original watershed API as documented,
 * shed.generateKey(), http.request with the upgrade headers and
 * shed.connect(res, socket, head, wskey); ws: the ws package's client; raw: net
 * with 4-byte length prefixes); `--deflate` after LIB (ours and ws) offers
 * permessage-deflate (perMessageDeflate: true, each library's defaults),
 * `--deflate=NAME` one of common.js's DEFLATE_SETTINGS, and fails a
 * connection that does not get it as asked; `--stream` after ours reads every
 * message as a MessageStream (streamMessages: true). It sends { type: 'ready', native } over IPC and
 * then runs the parent's commands:
 *
 *   open       open N connections, at most C handshakes at a time; timed
 *   roundtrip  sequential echo on one connection: one message in flight
 *   pipeline   as many messages as backpressure allows, all echoed
 *   fanArm / fanWait   count broadcast messages on every connection
 *   echoAll    one message each way on every connection (liveness check)
 *   closeAll   close every connection cleanly
 *   big        one large binary message echoed
 *   bigStreamed    the same, sent from a generator and read as a stream (--stream)
 *
 * Timed commands return { ns, cpu } for their measured part: wall time
 * (process.hrtime) and this process's CPU time (process.cpuUsage delta).
 * Every echo is checked (type, length, sequence number; full content for a
 * sample, or for all with `all`): a lost, duplicated, reordered or corrupted
 * message, or a connection error, fails the command.
 */
const http = require('node:http')
const net = require('node:net')
const { BIG_BLOCK_SIZE, DEFLATE_SETTINGS, basePayload, checkNegotiated, checkRepeated, deflateSetting, pseudoRandomBytes, stamp, streamSetting, verify, fullCheck, FrameReader, nativeReport, serveCommands, cpuSince } = require('./common')

const MAX_MESSAGE = 512 * 1024 * 1024
/**
 * ws has no 'drain' event: a ws sender sends while `bufferedAmount` stays
 * below this many bytes, and the message that crosses it carries a send
 * callback (called once ws has written it to the socket) that resumes sending.
 */
const WS_SEND_THRESHOLD = Number(process.env.BENCH_WS_THRESHOLD ?? 64 * 1024)

const lib = process.argv[2]
if (!['ours', 'orig', 'ws', 'raw'].includes(lib)) throw new Error(`unknown library ${lib}`)
/** The permessage-deflate setting's name, or null (off). */
const DEFLATE = deflateSetting(process.argv.slice(3), lib)
/** Stream mode (ours only): every received message is a MessageStream. */
const STREAM = streamSetting(process.argv.slice(3), lib)

const now = () => process.hrtime.bigint()

/**
 * One connection, the same small interface for every library:
 *   send(message), sendWhileAllowed(next) (backpressure), onMessage(fn(message, asText)),
 *   close() -> Promise, failed (first error), and `closed` (a promise).
 */
class Conn {
  constructor() {
    this.handler = null
    this.error = null
    this.errorListeners = []
  }

  onMessage(fn) {
    this.handler = fn
  }

  /** Fails whoever waits on this connection. */
  fail(error) {
    if (this.error) return
    this.error = error
    for (const listener of this.errorListeners.splice(0)) listener(error)
  }

  /** Bytes this connection's socket has read and written so far (null where unknown). */
  wireBytes() {
    const socket = this.netSocket?.()
    return socket ? { read: socket.bytesRead, written: socket.bytesWritten } : null
  }

  /** Calls `listener(error)` at the first error (or now, if there was one). */
  onError(listener) {
    if (this.error) listener(this.error)
    else this.errorListeners.push(listener)
  }
}

/**
 * One local port per connection: past about 28,000 connections from one
 * address to one server port the ephemeral ports run out, so connections
 * beyond the first PER_ADDRESS come from 127.0.0.2, 127.0.0.3... (all
 * loopback on Linux). Undefined (the system's choice) below that.
 */
const PER_ADDRESS = 20000
let connectionsMade = 0
function localAddress() {
  const n = connectionsMade++
  return n < PER_ADDRESS ? undefined : `127.0.0.${1 + Math.floor(n / PER_ADDRESS)}`
}
/** `{ localAddress }` when one is needed, else nothing. */
function spread() {
  const address = localAddress()
  return address === undefined ? {} : { localAddress: address }
}

class OursConn extends Conn {
  static async open(url) {
    const { connect } = require('watershed')
    const ws = await connect(url, { requestOptions: spread(), maxMessageSize: MAX_MESSAGE, textAsBytes: !url.endsWith('/strings'), ...(DEFLATE ? { perMessageDeflate: DEFLATE_SETTINGS[DEFLATE].ours } : {}), ...(STREAM ? { streamMessages: true } : {}) })
    return new OursConn(ws)
  }

  netSocket() {
    return this.ws.socket
  }

  constructor(ws) {
    super()
    this.ws = ws
    this.closing = false
    /** Stream mode: who takes the next MessageStream as it is (bigStreamed), else null. */
    this.streamHandler = null
    ws.on('error', (error) => this.fail(error))
    const { isMessageStream, isText } = require('watershed')
    ws.on('data', (message) => (isMessageStream(message) ? this.onStream(message) : this.handler(message, isText(message))))
    ws.on('close', () => {
      if (!this.closing) this.fail(new Error('connection closed unexpectedly'))
    })
    this.handler = () => this.fail(new Error('unexpected message'))
  }

  /**
   * A received MessageStream goes to the stream handler if one is set, else
   * whole to the message handler: the harness's other commands (its liveness
   * check's 16-byte echoes) expect whole messages. Waiting for the stream's
   * end keeps the order, the next message not coming before it.
   */
  onStream(stream) {
    if (this.streamHandler) return this.streamHandler(stream)
    stream.toArray().then(
      (chunks) => this.handler(Buffer.concat(chunks), stream.text),
      (error) => this.fail(error),
    )
  }

  send(message) {
    this.ws.write(message)
  }

  /** Calls next() for each message to send until it returns null; write() false waits for 'drain'. */
  pump(next, done) {
    const ws = this.ws
    const loop = () => {
      for (;;) {
        const message = next()
        if (message === null) return done()
        if (!ws.write(message)) {
          ws.once('drain', loop)
          return
        }
      }
    }
    loop()
  }

  close() {
    this.closing = true
    return new Promise((resolve) => {
      if (this.ws.destroyed) return resolve()
      this.ws.once('close', () => resolve())
      this.ws.close()
    })
  }
}

/** The Watershed factory of this process (one, as an application would have). */
let shed = null

class OrigConn extends Conn {
  /** The documented client: generateKey(), an http.request with the upgrade headers, connect() on 'upgrade'. */
  static open(url) {
    if (!shed) {
      const { Watershed } = require('watershed')
      shed = new Watershed({ maxMessageSize: MAX_MESSAGE })
    }
    const { hostname, port, pathname } = new URL(url)
    return new Promise((resolve, reject) => {
      const wskey = shed.generateKey()
      const req = http.request({
        ...spread(),
        port: Number(port),
        hostname,
        path: pathname,
        headers: {
          connection: 'upgrade',
          upgrade: 'websocket',
          'Sec-WebSocket-Key': wskey,
          'Sec-WebSocket-Version': '13',
        },
      })
      req.end()
      req.on('error', reject)
      req.on('response', (res) => {
        res.resume()
        reject(new Error(`upgrade refused: HTTP ${res.statusCode}`))
      })
      req.on('upgrade', (res, socket, head) => {
        req.off('error', reject)
        let wsc
        try {
          wsc = shed.connect(res, socket, head, wskey)
        } catch (error) {
          return reject(error)
        }
        resolve(new OrigConn(wsc))
      })
    })
  }

  constructor(wsc) {
    super()
    this.wsc = wsc
    this.closing = false
    this.ended = false
    wsc.on('error', (error) => this.fail(error))
    wsc.on('text', (text) => this.handler(text, true))
    wsc.on('binary', (binary) => this.handler(binary, false))
    wsc.on('end', () => {
      this.ended = true
      if (!this.closing) this.fail(new Error('connection ended unexpectedly'))
    })
    this.handler = () => this.fail(new Error('unexpected message'))
  }

  send(message) {
    this.wsc.send(message)
  }

  /**
   * send() until it returns false (the queue is over its high-water mark),
   * then wait for the duplex's 'drain'. run.js does not run the pipelined
   * workload for orig: against an orig server it stalls once the socket
   * buffers are full, both ends having stopped reading while their sends
   * are backed up (bench/findings.md).
   */
  pump(next, done) {
    const wsc = this.wsc
    const loop = () => {
      for (;;) {
        const message = next()
        if (message === null) return done()
        if (!wsc.send(message)) {
          wsc.duplex.once('drain', loop)
          return
        }
      }
    }
    loop()
  }

  close() {
    this.closing = true
    return new Promise((resolve) => {
      if (this.ended) return resolve()
      this.wsc.once('end', () => resolve())
      this.wsc.end()
    })
  }
}

class WsConn extends Conn {
  static open(url) {
    const WebSocket = require('ws')
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { ...spread(), maxPayload: MAX_MESSAGE, perMessageDeflate: DEFLATE ? DEFLATE_SETTINGS[DEFLATE].ws : false })
      // ws.extensions names the extensions only: the parameters are in the response.
      let answered = ''
      ws.once('upgrade', (res) => (answered = res.headers['sec-websocket-extensions'] ?? ''))
      ws.once('open', () => {
        ws.off('error', reject)
        // (Our client fails the handshake itself when the server does not grant what it asked for.)
        try {
          if (DEFLATE) checkNegotiated(DEFLATE, answered)
        } catch (error) {
          ws.terminate()
          return reject(error)
        }
        resolve(new WsConn(ws, url.endsWith('/strings')))
      })
      ws.once('error', reject)
    })
  }

  constructor(ws, strings) {
    super()
    this.ws = ws
    this.closing = false
    ws.on('error', (error) => this.fail(error))
    // Where the application wants strings, a ws user makes them from the bytes.
    ws.on('message', (message, isBinary) => this.handler(strings && !isBinary ? message.toString() : message, !isBinary))
    ws.on('close', () => {
      if (!this.closing) this.fail(new Error('connection closed unexpectedly'))
    })
    this.handler = () => this.fail(new Error('unexpected message'))
  }

  netSocket() {
    return this.ws._socket
  }

  send(message) {
    this.ws.send(message)
  }

  pump(next, done) {
    const ws = this.ws
    const loop = (error) => {
      if (error) return this.fail(error)
      for (;;) {
        const message = next()
        if (message === null) return done()
        // This message crosses the threshold: its callback resumes the loop.
        if (ws.bufferedAmount + message.length >= WS_SEND_THRESHOLD) {
          ws.send(message, loop)
          return
        }
        ws.send(message)
      }
    }
    loop()
  }

  close() {
    this.closing = true
    return new Promise((resolve) => {
      if (this.ws.readyState === 3) return resolve()
      this.ws.once('close', () => resolve())
      this.ws.close()
    })
  }
}

class RawConn extends Conn {
  static open(url) {
    const { port } = new URL(url)
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port: Number(port), host: '127.0.0.1', ...spread() }, () => {
        socket.off('error', reject)
        resolve(new RawConn(socket))
      })
      socket.once('error', reject)
    })
  }

  constructor(socket) {
    super()
    this.socket = socket
    this.closing = false
    socket.setNoDelay(true)
    const reader = new FrameReader((payload) => this.handler(payload, false))
    socket.on('data', (chunk) => reader.push(chunk))
    socket.on('error', (error) => this.fail(error))
    socket.on('close', () => {
      if (!this.closing) this.fail(new Error('connection closed unexpectedly'))
    })
    this.handler = () => this.fail(new Error('unexpected message'))
  }

  /** Up to 64 KiB: length and payload in one buffer, one write; beyond, two writes corked into one writev. */
  send(message) {
    if (message.length <= 64 * 1024) {
      const frame = Buffer.allocUnsafe(4 + message.length)
      frame.writeUInt32BE(message.length, 0)
      message.copy(frame, 4)
      this.socket.write(frame)
      return
    }
    const header = Buffer.allocUnsafe(4)
    header.writeUInt32BE(message.length, 0)
    this.socket.cork()
    this.socket.write(header)
    this.socket.write(message)
    this.socket.uncork()
  }

  /** One buffer per message (length and payload), a burst corked into one writev; write() false waits for 'drain'. */
  pump(next, done) {
    const socket = this.socket
    const loop = () => {
      socket.cork()
      try {
        for (;;) {
          const message = next()
          if (message === null) return done()
          const frame = Buffer.allocUnsafe(4 + message.length)
          frame.writeUInt32BE(message.length, 0)
          message.copy(frame, 4)
          if (!socket.write(frame)) {
            socket.once('drain', loop)
            return
          }
        }
      } finally {
        socket.uncork()
      }
    }
    loop()
  }

  close() {
    this.closing = true
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve()
      this.socket.once('close', () => resolve())
      this.socket.end()
    })
  }
}

const Lib = { ours: OursConn, orig: OrigConn, ws: WsConn, raw: RawConn }[lib]

/** Open connections (opened by `open`). */
let conns = []

/** Rejects at the first error of any of `list`. */
function failureOf(list) {
  return new Promise((_, reject) => {
    for (const conn of list) conn.onError(reject)
  })
}

function race(promise, list) {
  return Promise.race([promise, failureOf(list)])
}

/** Resolves when `seq` reaches `count`: messages of `base` checked in order on `conn`. */
function expectEchoes(conn, base, count, all, onEach) {
  return new Promise((resolve, reject) => {
    let seq = 0
    conn.onMessage((message, asText) => {
      try {
        if (seq >= count) throw new Error(`message beyond the ${count} expected (a duplicate?)`)
        verify(base, message, asText, seq, fullCheck(seq, count, all))
      } catch (error) {
        conn.onMessage(() => {})
        conn.fail(error)
        reject(error)
        return
      }
      seq++
      if (onEach) onEach(seq)
      if (seq === count) resolve()
    })
  })
}

/** Sequential echo: message i+1 goes out when echo i has arrived and been checked. */
async function roundtripPhase(conn, base, count, all) {
  const reuse = base.kind === 'binary' ? Buffer.from(base.bytes) : undefined
  let sent = 0
  const sendNext = () => {
    if (sent < count) conn.send(stamp(base, sent++, reuse))
  }
  const done = expectEchoes(conn, base, count, all, sendNext)
  sendNext()
  await race(done, [conn])
}

async function pipelinePhase(conn, base, count, all) {
  let sent = 0
  const done = expectEchoes(conn, base, count, all)
  conn.pump(
    () => (sent < count ? stamp(base, sent++) : null),
    () => {},
  )
  await race(done, [conn])
}

function timed(fn) {
  return async (args) => {
    const cpu0 = process.cpuUsage()
    const t0 = now()
    const extra = await fn(args)
    const ns = Number(now() - t0)
    return { ns, cpu: cpuSince(cpu0), ...extra }
  }
}

/** The promise of the fan-out phase in progress (see fanArm). */
let fan = null

const payloads = new Map()
/** basePayload(), made once per size and kind (outside the timed part). */
function payload(size, kind) {
  const key = `${size} ${kind}`
  if (!payloads.has(key)) payloads.set(key, basePayload(size, kind))
  return payloads.get(key)
}

/** The bytes all of `list`'s sockets have read and written so far (null where unknown). */
function totalWire(list) {
  const total = { read: 0, written: 0 }
  for (const conn of list) {
    const w = conn.wireBytes()
    if (!w) return null
    total.read += w.read
    total.written += w.written
  }
  return total
}

/** What `list`'s sockets read and wrote since `before` (a totalWire()), or null. */
function wireSince(before, list) {
  const after = totalWire(list)
  return before && after ? { read: after.read - before.read, written: after.written - before.written } : null
}

/** `phase()`'s result with `wire`: the bytes `conn`'s socket read and wrote meanwhile (null where unknown). */
async function withWire(conn, phase) {
  const before = conn.wireBytes()
  const result = await phase()
  const after = conn.wireBytes()
  return { ...result, wire: before && after ? { read: after.read - before.read, written: after.written - before.written } : null }
}

/** Workload e's block (see BIG_BLOCK_SIZE), made once. */
let bigBlockBytes = null
const bigBlock = () => (bigBlockBytes ??= pseudoRandomBytes(BIG_BLOCK_SIZE))

/** `size` bytes of `block` repeated, a view of it at a time: the message is never in memory. */
async function* repeatBlock(block, size) {
  for (let sent = 0; sent < size; sent += block.length) yield block.subarray(0, Math.min(block.length, size - sent))
}

/** Reads `stream` to its end, checking every piece against `block` repeated; resolves with its length. */
async function readRepeated(stream, block) {
  let offset = 0
  for await (const chunk of stream) {
    checkRepeated(block, chunk, offset)
    offset += chunk.length
  }
  return offset
}

/** Times `send()` until `arrived` (the echo is in) on `conn`; with this process's peak RSS (KiB) after it. */
async function timedBig(conn, send, arrived) {
  const result = await timed(async () => {
    send()
    await race(arrived, [conn])
  })()
  return { ...result, maxRSS: process.resourceUsage().maxRSS }
}

const commands = {
  /** Memory after full collections (needs --expose-gc). */
  mem() {
    if (typeof global.gc !== 'function') throw new Error('mem needs node --expose-gc')
    for (let i = 0; i < 4; i++) global.gc()
    const m = process.memoryUsage()
    return { rss: m.rss, heapUsed: m.heapUsed }
  },

  /** Opens `n` connections to `url`, at most `concurrency` handshakes at a time. Timed. */
  open: timed(async ({ url, n, concurrency }) => {
    const opened = []
    let next = 0
    const worker = async () => {
      while (next < n) {
        next++
        opened.push(await Lib.open(url))
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker))
    conns.push(...opened)
    return { opened: opened.length, total: conns.length }
  }),

  /** Closes every connection cleanly and forgets them. */
  async closeAll() {
    const list = conns
    conns = []
    await Promise.all(list.map((conn) => conn.close()))
    return { closed: list.length }
  },

  /**
   * One message each way on every connection, all at once (binary, 16 bytes
   * unless said otherwise); `wire`: what their sockets wrote and read meanwhile.
   */
  async echoAll({ size = 16, kind = 'binary' }) {
    const base = payload(size, kind)
    const before = totalWire(conns)
    await race(Promise.all(conns.map((conn) => roundtripPhase(conn, base, 1, true))), conns)
    return { checked: conns.length, wire: wireSince(before, conns) }
  },

  /** `count` sequential roundtrips of a `size`-byte `kind` message on the first connection. Timed. */
  async roundtrip({ size, kind, count, all }) {
    const base = payload(size, kind)
    return withWire(conns[0], timed(() => roundtripPhase(conns[0], base, count, all)))
  },

  /** `count` messages of `size` bytes (binary unless `kind`), sent as fast as backpressure allows, all echoed. Timed. */
  async pipeline({ size, kind = 'binary', count, all }) {
    const base = payload(size, kind)
    return withWire(conns[0], timed(() => pipelinePhase(conns[0], base, count, all)))
  },

  /**
   * Starts counting `count` broadcast messages of `size` bytes (binary unless
   * `kind`) on every connection, and the clock; fanWait's `wire.read`: the bytes
   * all their sockets read meanwhile.
   */
  fanArm({ size, count, all, kind = 'binary' }) {
    const base = payload(size, kind)
    const wire0 = totalWire(conns)
    const cpu0 = process.cpuUsage()
    const t0 = now()
    let remaining = conns.length
    let finish
    let fail
    const done = new Promise((resolve, reject) => {
      finish = resolve
      fail = reject
    })
    const watched = race(done, conns)
    watched.catch(() => {})
    for (const conn of conns) {
      expectEchoes(conn, base, count, all).then(() => {
        if (--remaining === 0) finish({ ns: Number(now() - t0), cpu: cpuSince(cpu0), deliveries: conns.length * count, wire: wireSince(wire0, conns) })
      }, fail)
    }
    fan = watched
    return { armed: conns.length }
  },

  /** Resolves when every connection has received every message since fanArm (with the time from fanArm). */
  fanWait() {
    if (!fan) throw new Error('fanWait without fanArm')
    const waiting = fan
    fan = null
    return waiting
  },

  /** One binary message of `size` bytes (BIG_BLOCK repeated), echoed; the echo compared byte for byte after the clock stops. */
  async big({ size }) {
    const conn = conns[0]
    const rssBefore = process.memoryUsage().rss
    const payload = Buffer.allocUnsafe(size).fill(bigBlock())
    let echo = null
    const arrived = new Promise((resolve) => conn.onMessage((message, asText) => {
      if (asText) conn.fail(new Error('the echo arrived as text'))
      else if (echo) conn.fail(new Error('a second message arrived'))
      else {
        echo = message
        resolve()
      }
    }))
    const result = await timedBig(conn, () => conn.send(payload), arrived)
    if (echo.length !== size) throw new Error(`echo of ${echo.length} bytes, expected ${size}`)
    if (!echo.equals(payload)) throw new Error('the echo differs from the message sent')
    return { ...result, bytes: size, rssBefore }
  },

  /**
   * The same message streamed (ours with --stream): sent from a generator
   * that yields BIG_BLOCK again and again, the echo read as a MessageStream
   * and each piece compared with the block as it arrives; the clock stops at
   * the echo's end, every byte checked. Neither end ever holds the message.
   */
  async bigStreamed({ size }) {
    if (!STREAM) throw new Error('bigStreamed needs --stream')
    const conn = conns[0]
    const rssBefore = process.memoryUsage().rss
    const block = bigBlock()
    const arrived = new Promise((resolve, reject) => {
      conn.streamHandler = (stream) => {
        // Only this one: a second message would go to the message handler, which fails it as unexpected.
        conn.streamHandler = null
        if (stream.text) return reject(new Error('the echo arrived as text'))
        readRepeated(stream, block).then((n) => (n === size ? resolve() : reject(new Error(`echo of ${n} bytes, expected ${size}`))), reject)
      }
    })
    const result = await timedBig(conn, () => conn.send(repeatBlock(block, size)), arrived)
    return { ...result, bytes: size, rssBefore }
  },

  exit() {
    setImmediate(() => process.exit(0))
  },
}

serveCommands(commands)
process.send({ type: 'ready', native: nativeReport() })
