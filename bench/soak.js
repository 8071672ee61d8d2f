'use strict'
/**
 * Soak test: many connections opened, used and closed over and over, to find
 * what a short test cannot: memory, handles or listeners that pile up, clients
 * never removed from a WebSocketServer, connections that never close.
 *
 *   npm run build && node bench/soak.js
 *
 * Environment: SOAK_SECONDS (default 60; at least 2 cycles always run),
 * SOAK_CONNECTIONS (per cycle, default 1000, aborted handshakes included),
 * SOAK_CONCURRENCY (handshakes or exchanges in flight, default 100),
 * SOAK_MESSAGES (echoed messages per connection, default 4), SOAK_HOLD_MS
 * (idle time before closing, default 1500, so the heartbeat pings everyone).
 *
 * Three processes, all this file: the parent (no argument) only coordinates
 * and reports; `soak.js server` runs an http server with a WebSocketServer
 * (heartbeat on) that echoes; `soak.js client` opens the connections. Both
 * children run with --expose-gc, so each can be measured after a full
 * collection. One cycle:
 *
 *   1. open: every connection is opened (at most CONCURRENCY handshakes at a
 *      time) and held open, so all of them exist at once; a few are raw TCP
 *      connections that send half an upgrade request, or a whole one, and
 *      then hang up without waiting for the answer.
 *   2. traffic: each connection sends a few text and binary messages (10 B to
 *      64 KiB, with the 125/126 and 65535/65536 frame-length edges) and
 *      checks every echo byte for byte and in order; then all of them stay
 *      open and idle for HOLD_MS, long enough for a heartbeat round.
 *   3. close, all at once, each in its way: clean close(1000) from the
 *      client; close(4000, 'bye') from the server (asked by a text command);
 *      ws.destroy() from the client when idle; ws.destroy() right after
 *      sending a 64 KiB message (the server echoes into a dead socket).
 *   4. measure: the server waits until its WebSocketServer has no clients and
 *      its http server no connections, collects garbage, and reports heap,
 *      RSS, active handles and resources, and listener counts; the client
 *      reports heap and handles.
 *
 * The connection's mode travels in the request URL (/soak?id=N&mode=M), so the
 * server knows how each connection should end and checks it.
 *
 * Exit status 1 if a message was lost, corrupted or reordered, a connection
 * failed to open or to close in time or ended unlike its mode says, the
 * server still had clients or connections after a cycle, listeners changed,
 * handles or active resources (timers included) grew, or the heap or Buffer
 * memory grew past the threshold (see HEAP_* below). Exit status 2 if it
 * cannot run (no dist/, too low a limit on open files).
 */
const { fork, execFileSync } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { pseudoRandomBytes, withTimeout } = require('./common')

const DIST = path.resolve(__dirname, '..', 'dist')

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60)
const CONNECTIONS = Number(process.env.SOAK_CONNECTIONS ?? 1000)
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 100)
const MESSAGES = Number(process.env.SOAK_MESSAGES ?? 4)
const MIN_CYCLES = 2

// Timeouts are generous on purpose: other work may share this machine's
// cores, and a slow cycle is not a failure; a connection that never closes is.
const HANDSHAKE_TIMEOUT_MS = 30_000
const TRAFFIC_TIMEOUT_MS = 60_000
/** The library gives a peer 5 s (closeTimeout) before it drops TCP; this is far past that. */
const CLOSE_TIMEOUT_MS = 30_000
/** How long the server may take, after the client is done, to see every connection gone. */
const SETTLE_TIMEOUT_MS = 30_000
const CALL_TIMEOUT_MS = 10 * 60_000

/** Heartbeat on the server, so its timers are started and stopped for every connection. */
const HEARTBEAT = { interval: 1000 }
/**
 * After the traffic, every connection stays open (idle) this long, so each
 * one goes through at least one heartbeat ping and pong before it closes.
 */
const HOLD_MS = Number(process.env.SOAK_HOLD_MS ?? 1500)

/** The text command that makes the server close a connection with 4000 'bye'. */
const CLOSE_COMMAND = 'please-close'
const SERVER_CLOSE_CODE = 4000
const SERVER_CLOSE_REASON = 'bye'

/** Handles may differ by a few between cycles (an IPC write in flight, a stdio handle). */
const HANDLE_SLACK = 5
/**
 * Heap threshold: last cycle's heapUsed (after gc) may be at most
 * baseline * 1.5 + 5 MiB, the baseline being the heap after cycle 1. After
 * cycle 1 the modules are loaded and the code is warm, so an idle process
 * should come back to about the same heap after every cycle; what still
 * moves is V8's own (optimized code, feedback, internal caches), a few MiB
 * at most. A leak of even 300 bytes per connection is 0.3 MiB per cycle of
 * 1000, which passes this bound within about 20 cycles; the per-cycle
 * figures show the trend either way. The same bound applies to 'external'
 * (Buffer memory), where a leaked payload would show.
 */
const HEAP_FACTOR = 1.5
const HEAP_SLACK = 5 * 1024 * 1024

const MiB = 1024 * 1024

// ---------------------------------------------------------------------------
// Connection plan and messages (used by the client)

/**
 * How connection i of a cycle ends, in a repeating pattern of 20: 8 clean,
 * 5 closed by the server, 3 destroyed idle, 2 destroyed while busy, and one
 * each of the two aborted handshakes.
 */
const MODE_PATTERN = [
  ...Array(8).fill('clean'),
  ...Array(5).fill('server'),
  ...Array(3).fill('destroy'),
  ...Array(2).fill('destroy-busy'),
  'abort-half',
  'abort-full',
]
const MODES = [...new Set(MODE_PATTERN)]
const isAbort = (mode) => mode.startsWith('abort')

/** The close code the server must see for a mode (and no error); undefined: any ending is fine. */
const SERVER_EXPECTS = { clean: 1000, server: SERVER_CLOSE_CODE }

/** Payload sizes in bytes: the 7-bit/16-bit/64-bit length edges and a spread between. */
const SIZES = [10, 125, 126, 1000, 4096, 16384, 65535, 65536]


/** Mostly ASCII, with 2-, 3- and 4-byte UTF-8 characters (the 4-byte ones are surrogate pairs). */
const TEXT_SEED = 'The quick brown fox jumps over the lazy dog; caf\u00e9 costs 9\u20ac, \u6f22\u5b57 \ud83d\ude42 na\u00efve. '
let binaryPool = null
let textPool = null

/**
 * Message j of connection `id`: text for even id + j, binary for odd. Its
 * content depends on both numbers (a header "id/j|" and a slice of a pool at
 * an offset derived from them), so a message that went to the wrong place or
 * came back out of order differs from the one expected. Binary messages have
 * exactly the listed size; text ones that many characters (a bit more in bytes).
 */
function makeMessage(id, j, size = SIZES[(id * 5 + j * 3) % SIZES.length]) {
  binaryPool ??= pseudoRandomBytes(80 * 1024)
  textPool ??= TEXT_SEED.repeat(Math.ceil((80 * 1024) / TEXT_SEED.length))
  const header = `${id}/${j}|`
  const bodySize = Math.max(size - header.length, 0)
  const offset = (id * 7919 + j * 104729) % (70 * 1024 - bodySize + 1)
  if ((id + j) % 2 === 0) {
    let start = offset
    let end = offset + bodySize
    // Never cut a surrogate pair: a lone half would be sent as U+FFFD and come back different.
    if (isLowSurrogate(textPool.charCodeAt(start))) start++
    if (isHighSurrogate(textPool.charCodeAt(end - 1))) end--
    return header + textPool.slice(start, end)
  }
  const message = Buffer.allocUnsafe(header.length + bodySize)
  message.latin1Write(header, 0)
  binaryPool.copy(message, header.length, offset, offset + bodySize)
  return message
}

const isHighSurrogate = (c) => c >= 0xd800 && c <= 0xdbff
const isLowSurrogate = (c) => c >= 0xdc00 && c <= 0xdfff

/** Why `got` is not `want`, or null when they are the same message of the same type. */
function difference(got, want) {
  const kind = (m) => (typeof m === 'string' ? 'text' : Buffer.isBuffer(m) ? 'binary' : typeof m)
  if (kind(got) !== kind(want)) return `arrived as ${kind(got)}, sent as ${kind(want)}`
  const same = typeof want === 'string' ? got === want : got.equals(want)
  if (same) return null
  const a = typeof got === 'string' ? Buffer.from(got) : got
  const b = typeof want === 'string' ? Buffer.from(want) : want
  let i = 0
  while (i < a.length && i < b.length && a[i] === b[i]) i++
  const header = a.subarray(0, 16).toString('latin1').split('|')[0]
  return `${a.length} bytes, expected ${b.length}; first difference at byte ${i} (arrived with header "${header}")`
}

// ---------------------------------------------------------------------------
// Small shared helpers


/** Runs `task` on every item, at most `limit` at a time. */
async function eachLimited(items, limit, task) {
  let next = 0
  const worker = async () => {
    while (next < items.length) await task(items[next++])
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

function countInto(counts, key) {
  counts[key] = (counts[key] ?? 0) + 1
}

/** Full collections; the turns between them let weak callbacks and finalizers run. */
async function collectGarbage() {
  for (let i = 0; i < 3; i++) {
    global.gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/** What every process reports about itself after a cycle. */
function processFigures() {
  const memory = process.memoryUsage()
  const resources = {}
  for (const name of process.getActiveResourcesInfo()) countInto(resources, name)
  return {
    heapUsed: memory.heapUsed,
    rss: memory.rss,
    external: memory.external,
    handles: process._getActiveHandles().length,
    resources,
  }
}

/** The child's side of the IPC: each request { id, cmd, args } gets { id, ok, result | error }. */
function serveCommands(handlers) {
  // A child outlives no parent: when the parent goes, the channel closes.
  process.on('disconnect', () => process.exit(0))
  process.on('message', async ({ id, cmd, args }) => {
    try {
      const result = await handlers[cmd](args)
      process.send({ id, ok: true, result })
    } catch (error) {
      process.send({ id, ok: false, error: String(error && error.stack ? error.stack : error) })
    }
  })
}

// ---------------------------------------------------------------------------
// The server process

function runServer() {
  const http = require('node:http')
  const { WebSocketServer } = require(DIST)

  const httpServer = http.createServer((req, res) => {
    res.statusCode = 426
    res.end('WebSocket only\n')
  })
  const wss = new WebSocketServer({ server: httpServer, path: '/soak', heartbeat: HEARTBEAT })

  /** What happened during the current cycle; handed over (and replaced) by 'measure'. */
  let stats = newStats()
  function newStats() {
    return { accepted: {}, closes: {}, errors: {}, unexpected: [], unexpectedCount: 0 }
  }
  const unexpected = (text) => {
    stats.unexpectedCount++
    if (stats.unexpected.length < 20) stats.unexpected.push(text)
  }
  /** Mode and id of each open connection, to describe any that linger. */
  const info = new WeakMap()

  wss.on('rejected', (req, error) => {
    unexpected(`upgrade ${req.url} refused with ${error.statusCode}: ${error.message}`)
  })

  wss.on('connection', (ws, req) => {
    const query = new URL(req.url, 'http://soak').searchParams
    const mode = query.get('mode')
    const id = query.get('id')
    info.set(ws, { mode, id })
    countInto(stats.accepted, mode)
    let failure = null
    ws.on('error', (error) => {
      failure = error
      countInto(stats.errors, `${mode} ${error.code ?? error.message}`)
    })
    ws.on('data', (message) => {
      if (message === CLOSE_COMMAND) return ws.close(SERVER_CLOSE_CODE, SERVER_CLOSE_REASON)
      // The destroy-busy client may be gone already; the library drops what cannot be sent.
      if (!ws.writableEnded) ws.write(message)
    })
    ws.on('close', (code) => {
      countInto(stats.closes, `${mode} ${code}`)
      const expected = SERVER_EXPECTS[mode]
      if (expected === undefined) return
      if (code !== expected || failure) {
        unexpected(`connection ${id} (${mode}) closed with ${code}, expected ${expected}` +
          (failure ? `; error ${failure.code ?? ''} ${failure.message}` : ''))
      }
    })
  })

  const connectionCount = () =>
    new Promise((resolve, reject) => httpServer.getConnections((error, n) => (error ? reject(error) : resolve(n))))

  const listenerCounts = (emitter) =>
    Object.fromEntries(emitter.eventNames().map((name) => [String(name), emitter.listenerCount(name)]))

  serveCommands({
    async measure() {
      // Wait for the last closes to reach this side (the client may have seen its 'close' first).
      const started = Date.now()
      let connections = await connectionCount()
      while ((wss.clients.size > 0 || connections > 0) && Date.now() - started < SETTLE_TIMEOUT_MS) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        connections = await connectionCount()
      }
      const settleMs = Date.now() - started
      const lingering = [...wss.clients].slice(0, 10).map((ws) => ({
        ...info.get(ws),
        destroyed: ws.destroyed,
        readableEnded: ws.readableEnded,
        writableEnded: ws.writableEnded,
        writableFinished: ws.writableFinished,
        socketDestroyed: ws.socket.destroyed,
        socketReadyState: ws.socket.readyState,
      }))
      const cycle = stats
      stats = newStats()
      await collectGarbage()
      return {
        ...processFigures(),
        clients: wss.clients.size,
        connections,
        settleMs,
        lingering,
        listeners: { http: listenerCounts(httpServer), wss: listenerCounts(wss) },
        cycle,
      }
    },
  })

  httpServer.listen(0, '127.0.0.1', 1024, () => {
    process.send({ type: 'ready', port: httpServer.address().port })
  })
}

// ---------------------------------------------------------------------------
// The client process

function runClient() {
  const net = require('node:net')
  const { connect } = require(DIST)

  /** One cycle: open, traffic, close; returns what happened. */
  async function cycle({ port, cycle: number }) {
    const result = { opened: {}, aborted: 0, verified: 0, pings: 0, failures: [], failureCount: 0, ms: {} }
    const fail = (text) => {
      result.failureCount++
      if (result.failures.length < 20) result.failures.push(text)
    }
    // Ids differ from cycle to cycle, so the messages do too.
    const entries = Array.from({ length: CONNECTIONS }, (_, i) => ({
      id: (number - 1) * CONNECTIONS + i,
      mode: MODE_PATTERN[i % MODE_PATTERN.length],
      ws: null,
    }))

    let t = Date.now()
    await eachLimited(entries, CONCURRENCY, async (entry) => {
      if (isAbort(entry.mode)) {
        await abortedHandshake(port, entry).catch((error) => fail(`aborted handshake ${entry.id}: ${error.message}`))
        result.aborted++
        return
      }
      try {
        entry.ws = await connect(`ws://127.0.0.1:${port}/soak?id=${entry.id}&mode=${entry.mode}`, {
          handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
        })
      } catch (error) {
        return fail(`connection ${entry.id} (${entry.mode}) did not open: ${error.code ?? ''} ${error.message}`)
      }
      countInto(result.opened, entry.mode)
      watch(entry, fail, () => result.verified++)
      entry.ws.on('ping', () => result.pings++)
    })
    result.ms.open = Date.now() - t

    // Every connection is open now; each one's messages go out and must all come back.
    t = Date.now()
    const open = entries.filter((entry) => entry.ws)
    await eachLimited(open, CONCURRENCY, async (entry) => {
      for (let j = 0; j < MESSAGES; j++) entry.ws.write(makeMessage(entry.id, j))
      await withTimeout(entry.echoed, TRAFFIC_TIMEOUT_MS, `echoes on connection ${entry.id} (${entry.mode})`).catch((error) => {
        if (!error.reported) fail(error.message)
      })
    })
    result.ms.traffic = Date.now() - t
    await new Promise((resolve) => setTimeout(resolve, HOLD_MS))

    t = Date.now()
    await Promise.all(
      open.map(async (entry) => {
        const { ws, mode } = entry
        entry.closing = true
        if (ws.destroyed) return // already failed and reported
        if (mode === 'clean') ws.close(1000, 'soak done')
        else if (mode === 'server') ws.write(CLOSE_COMMAND)
        else if (mode === 'destroy') ws.destroy()
        else if (mode === 'destroy-busy') {
          ws.write(makeMessage(entry.id, MESSAGES, 65536))
          ws.destroy()
        }
        try {
          const [code, reason] = await withTimeout(entry.closed, CLOSE_TIMEOUT_MS, 'close')
          if (mode === 'clean' && code !== 1000) fail(`connection ${entry.id} (clean) closed with ${code}, expected 1000`)
          if (mode === 'server' && (code !== SERVER_CLOSE_CODE || reason !== SERVER_CLOSE_REASON)) {
            fail(`connection ${entry.id} (server) closed with ${code} '${reason}', expected ${SERVER_CLOSE_CODE} '${SERVER_CLOSE_REASON}'`)
          }
        } catch {
          fail(`connection ${entry.id} (${mode}) did not close within ${CLOSE_TIMEOUT_MS} ms ` +
            `(readableEnded ${ws.readableEnded}, writableEnded ${ws.writableEnded}, writableFinished ${ws.writableFinished}, ` +
            `socket ${ws.socket.readyState}${ws.socket.destroyed ? ' destroyed' : ''})`)
          ws.destroy()
        }
      }),
    )
    result.ms.close = Date.now() - t
    return result
  }

  /**
   * Listens to one connection for the rest of the cycle: every message must
   * be the next one expected; 'error' is a failure unless the mode destroys.
   */
  function watch(entry, fail, onVerified) {
    const { ws, id, mode } = entry
    let received = 0
    let echoed
    let echoFailed
    entry.echoed = new Promise((resolve, reject) => {
      echoed = resolve
      echoFailed = reject
    })
    entry.echoed.catch(() => {}) // reported through fail(); awaited with a timeout
    entry.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        if (!entry.closing) fail(`connection ${id} (${mode}) closed early with ${code} '${reason}'`)
        echoFailed(new Error(`connection ${id} (${mode}) closed after ${received} of ${MESSAGES} echoes`))
        resolve([code, reason])
      })
    })
    ws.on('error', (error) => {
      if (!mode.startsWith('destroy')) fail(`connection ${id} (${mode}): error ${error.code ?? ''} ${error.message}`)
    })
    ws.on('data', (message) => {
      // After one wrong message, every later one would be wrong too: one report is enough.
      if (entry.broken) return
      if (received >= MESSAGES) {
        // A destroy-busy connection may see the echo of its last message before it is torn down.
        if (mode !== 'destroy-busy') fail(`connection ${id} (${mode}): unexpected message after the ${MESSAGES} echoes`)
        return
      }
      const why = difference(message, makeMessage(id, received))
      if (why) {
        fail(`connection ${id} (${mode}), echo ${received}: ${why}`)
        entry.broken = true
        echoFailed(Object.assign(new Error('echo mismatch'), { reported: true }))
        return
      }
      onVerified()
      if (++received === MESSAGES) echoed()
    })
  }

  /**
   * A client that gives up during the handshake: half an upgrade request and
   * then a FIN, or a whole one and then a reset before the answer is read.
   */
  function abortedHandshake(port, entry) {
    const request = Buffer.from(
      `GET /soak?id=${entry.id}&mode=${entry.mode} HTTP/1.1\r\n` +
        `Host: 127.0.0.1:${port}\r\n` +
        'Upgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n` +
        'Sec-WebSocket-Version: 13\r\n\r\n',
    )
    const socket = net.connect(port, '127.0.0.1')
    const closed = new Promise((resolve) => socket.once('close', resolve))
    socket.on('error', () => {}) // a reset is what this is about
    socket.once('connect', () => {
      if (entry.mode === 'abort-half') socket.write(request.subarray(0, request.length >> 1), () => socket.destroy())
      else socket.write(request, () => socket.resetAndDestroy())
    })
    return withTimeout(closed, CLOSE_TIMEOUT_MS, 'socket close').catch((error) => {
      socket.destroy()
      throw error
    })
  }

  serveCommands({
    cycle,
    async measure() {
      await collectGarbage()
      return processFigures()
    },
  })
  process.send({ type: 'ready' })
}

// ---------------------------------------------------------------------------
// The parent: starts both children, runs the cycles, judges and reports

class Child {
  constructor(role) {
    this.role = role
    this.proc = fork(__filename, [role], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.pending = new Map()
    this.nextId = 1
    this.ready = new Promise((resolve, reject) => {
      this.proc.on('message', (message) => {
        if (message.type === 'ready') return resolve(message)
        const call = this.pending.get(message.id)
        if (!call) return
        this.pending.delete(message.id)
        if (message.ok) call.resolve(message.result)
        else call.reject(new Error(`${role}: ${message.error}`))
      })
      this.proc.on('exit', (code, signal) => {
        const error = new Error(`the ${role} process exited with ${signal ?? code}`)
        reject(error)
        for (const call of this.pending.values()) call.reject(error)
        this.pending.clear()
      })
    })
  }

  call(cmd, args = {}) {
    const id = this.nextId++
    const answer = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.proc.send({ id, cmd, args })
    })
    return withTimeout(answer, CALL_TIMEOUT_MS, `${this.role} ${cmd}`)
  }
}

/** The soft limit on open files of this process (the children inherit it), or null if unknown. */
function openFileLimit() {
  try {
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'))
    const soft = line.trim().split(/\s+/)[3]
    return soft === 'unlimited' ? Infinity : Number(soft)
  } catch {
    try {
      const out = execFileSync('/bin/sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()
      return out === 'unlimited' ? Infinity : Number(out)
    } catch {
      return null
    }
  }
}

const mib = (bytes) => (bytes / MiB).toFixed(1)
const total = (counts) => Object.values(counts).reduce((a, b) => a + b, 0)
const listenerText = (counts) =>
  Object.entries(counts)
    .map(([name, n]) => `${name}=${n}`)
    .join(' ')

async function main() {
  if (!fs.existsSync(path.join(DIST, 'index.js'))) {
    console.error('dist/ is missing: run npm run build first')
    process.exit(2)
  }
  // Each process holds one descriptor per open connection (all are open at
  // once), plus its own few; server and client are separate processes.
  const limit = openFileLimit()
  const needed = CONNECTIONS + 100
  if (limit !== null && limit < needed) {
    console.error(`the open-file limit (ulimit -n) is ${limit}; ${CONNECTIONS} connections need at least ${needed} per process.`)
    console.error(`Raise it (ulimit -n 4096) or set SOAK_CONNECTIONS=${Math.max(limit - 100, 0)} or fewer.`)
    process.exit(2)
  }
  console.log(`soak: ${CONNECTIONS} connections per cycle (${CONCURRENCY} at a time), ${MESSAGES} messages each, ` +
    `for ${SECONDS} s; heartbeat ${HEARTBEAT.interval} ms, idle hold ${HOLD_MS} ms; open-file limit ${limit ?? 'unknown'}; node ${process.version}`)

  const server = new Child('server')
  const client = new Child('client')
  const { port } = await withTimeout(server.ready, 30_000, 'server start')
  await withTimeout(client.ready, 30_000, 'client start')

  const failures = []
  const cycles = []
  const deadline = Date.now() + SECONDS * 1000
  for (let n = 1; n <= MIN_CYCLES || Date.now() < deadline; n++) {
    const started = Date.now()
    const run = await client.call('cycle', { port, cycle: n })
    const s = await server.call('measure')
    const c = await client.call('measure')
    const seconds = (Date.now() - started) / 1000
    cycles.push({ run, s, c })
    const connected = total(run.opened)
    console.log(
      `cycle ${String(n).padStart(3)}  ${seconds.toFixed(1).padStart(5)} s  ` +
        `conns ${connected}+${run.aborted} aborted  msgs ${run.verified}  pings ${run.pings}  ` +
        `| server heap ${mib(s.heapUsed)} MiB rss ${mib(s.rss)} MiB handles ${s.handles} ` +
        `listeners ${total(s.listeners.http)} clients ${s.clients} sockets ${s.connections} ` +
        `| client heap ${mib(c.heapUsed)} MiB rss ${mib(c.rss)} MiB handles ${c.handles}` +
        `  (open ${run.ms.open} ms, traffic ${run.ms.traffic} ms, close ${run.ms.close} ms, settle ${s.settleMs} ms)`,
    )

    // What went wrong in this cycle.
    const problems = []
    if (run.failureCount > 0) problems.push(`client: ${run.failureCount} failures`, ...run.failures.map((f) => `  ${f}`))
    const expectedVerified = connected * MESSAGES
    // Every connection lives longer than the heartbeat interval, so pings must have come; how
    // many depends on timing (a busy server's timers run late), so only none at all fails.
    if (HOLD_MS > HEARTBEAT.interval && connected > 0 && run.pings === 0) problems.push('client: no heartbeat pings arrived')
    if (run.verified !== expectedVerified) problems.push(`client: ${run.verified} messages verified, expected ${expectedVerified}`)
    if (s.clients !== 0) problems.push(`server: wss.clients.size is ${s.clients} after the cycle`, ...s.lingering.map((l) => `  lingering ${JSON.stringify(l)}`))
    if (s.connections !== 0) problems.push(`server: http server still has ${s.connections} connections after the cycle`)
    if (s.cycle.unexpectedCount > 0) problems.push(`server: ${s.cycle.unexpectedCount} unexpected endings`, ...s.cycle.unexpected.map((u) => `  ${u}`))
    for (const mode of MODES.filter((m) => !isAbort(m))) {
      const accepted = s.cycle.accepted[mode] ?? 0
      if (accepted !== (run.opened[mode] ?? 0)) problems.push(`server accepted ${accepted} ${mode} connections, the client opened ${run.opened[mode] ?? 0}`)
    }
    const heartbeatKills = Object.entries(s.cycle.errors).filter(([key]) => key.endsWith('WS_ERR_HEARTBEAT_TIMEOUT'))
    if (heartbeatKills.length > 0) {
      problems.push(`server: heartbeat timeouts ${JSON.stringify(Object.fromEntries(heartbeatKills))} (a client starved of CPU for > 1 s, or a lost pong)`)
    }
    if (JSON.stringify(s.listeners) !== JSON.stringify(cycles[0].s.listeners)) {
      problems.push(`server: listeners changed: ${JSON.stringify(cycles[0].s.listeners)} -> ${JSON.stringify(s.listeners)}`)
    }
    if (problems.length > 0) {
      failures.push(`cycle ${n}:`, ...problems.map((p) => `  ${p}`))
      for (const p of problems) console.log(`  FAIL ${p}`)
    }
  }

  // Summary.
  const first = cycles[0]
  const last = cycles[cycles.length - 1]
  const connectionsCycled = cycles.reduce((sum, { run }) => sum + total(run.opened) + run.aborted, 0)
  const messages = cycles.reduce((sum, { run }) => sum + run.verified, 0)
  const pings = cycles.reduce((sum, { run }) => sum + run.pings, 0)
  const serverErrors = {}
  const serverCloses = {}
  for (const { s } of cycles) {
    for (const [key, n] of Object.entries(s.cycle.errors)) serverErrors[key] = (serverErrors[key] ?? 0) + n
    for (const [key, n] of Object.entries(s.cycle.closes)) serverCloses[key] = (serverCloses[key] ?? 0) + n
  }
  console.log('')
  console.log(`cycles run            ${cycles.length}`)
  console.log(`connections cycled    ${connectionsCycled} (${cycles.reduce((sum, { run }) => sum + run.aborted, 0)} of them aborted handshakes)`)
  console.log(`messages verified     ${messages}`)
  console.log(`heartbeat pings seen  ${pings} (by the client, answered by the library)`)
  console.log(`server closes         ${JSON.stringify(serverCloses)} (mode and the code the server saw)`)
  console.log(`server errors         ${JSON.stringify(serverErrors)}`)
  for (const [name, key] of [['server', 's'], ['client', 'c']]) {
    const a = first[key]
    const b = last[key]
    console.log(`${name} heap (after gc)  ${mib(a.heapUsed)} MiB after cycle 1 -> ${mib(b.heapUsed)} MiB after cycle ${cycles.length}`)
    console.log(`${name} external         ${mib(a.external)} MiB -> ${mib(b.external)} MiB (Buffers, outside the heap)`)
    console.log(`${name} rss              ${mib(a.rss)} MiB -> ${mib(b.rss)} MiB (not judged: the allocator keeps freed pages)`)
    console.log(`${name} handles          ${a.handles} -> ${b.handles}; resources ${JSON.stringify(a.resources)} -> ${JSON.stringify(b.resources)}`)
  }
  console.log(`server listeners      http: ${listenerText(last.s.listeners.http)}; wss: ${listenerText(last.s.listeners.wss)}`)

  for (const [name, key] of [['server', 's'], ['client', 'c']]) {
    const a = first[key]
    const b = last[key]
    if (b.handles > a.handles + HANDLE_SLACK) failures.push(`${name}: active handles grew from ${a.handles} to ${b.handles}`)
    // Timers are not handles, but they are resources: a timer left running per connection shows here.
    const [ra, rb] = [total(a.resources), total(b.resources)]
    if (rb > ra + HANDLE_SLACK) failures.push(`${name}: active resources grew from ${ra} to ${rb}: ${JSON.stringify(b.resources)}`)
    // Buffers live outside the V8 heap ('external'): a leaked payload shows there, not in heapUsed.
    for (const field of ['heapUsed', 'external']) {
      const limit = a[field] * HEAP_FACTOR + HEAP_SLACK
      if (b[field] > limit) {
        failures.push(`${name}: ${field} grew from ${mib(a[field])} MiB to ${mib(b[field])} MiB (limit ${mib(limit)} MiB)`)
      }
    }
  }

  server.proc.disconnect()
  client.proc.disconnect()
  if (failures.length > 0) {
    console.log('\nFAILED')
    for (const f of failures) console.log(f)
    process.exitCode = 1
  } else {
    console.log('\nOK: every message verified, every connection closed, nothing left behind')
  }
}

const role = process.argv[2]
if (role === 'server') runServer()
else if (role === 'client') runClient()
else {
  main().catch((error) => {
    console.error(error)
    process.exit(1)
  })
}
