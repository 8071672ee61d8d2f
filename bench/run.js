'use strict'
/**
 * The benchmark suite: watershed against ws (and, where it makes sense, raw
 * TCP) in the same run, server and client in separate processes. Two
 * watershed APIs are measured: `ours`, the streams API (WebSocketServer,
 * connect()), and `orig`, the original event API as documented (new
 * Watershed(), shed.accept() in an http 'upgrade' handler, shed.connect() on
 * an http.request's 'upgrade', 'text'/'binary' events and send()), which runs
 * on top of the streams API: its tables give orig/ours and orig/ws.
 *
 *   npm run bench                               build, run everything, write docs/performance.md
 *                                               (= npm run build && node bench/run.js --md docs/performance.md;
 *                                               about 3 minutes on 2 cores)
 *   node bench/run.js                           everything, report on stdout only (after npm run build)
 *   node bench/run.js --md FILE                 ... and write the Markdown report to FILE
 *   node bench/run.js --json FILE               ... and every measurement as JSON
 *   node bench/run.js --smoke                   tiny counts, 1 round: checks that every workload works
 *                                               and every message arrives intact (~10 s; exit 0 = all good)
 *   node bench/run.js --only a,b                some workloads (letters below)
 *   node bench/run.js --only a --filter '^64 B'  ... and only the rows whose label matches
 *
 * Progress goes to stderr, the report to stdout. Environment:
 * BENCH_ROUNDS (default 5), BENCH_SMOKE=1 (as --smoke), BENCH_ONLY and
 * BENCH_FILTER (as --only and --filter), BENCH_ALLOW_JS=1 (run even if
 * bufferutil or utf-8-validate would be JavaScript fallbacks),
 * BENCH_LIBS=orig,ours,ws,raw (a subset, e.g. for profiling), BENCH_ORIG=all
 * (orig on every row it can run; by default only on the 64 B and 1 MiB
 * roundtrip rows, binary and text as strings; smoke mode: those and c-e),
 * BENCH_SERVER_ARGS / BENCH_CLIENT_ARGS (extra node flags for the children, e.g.
 * "--cpu-prof --cpu-prof-dir=/tmp/prof": children exit normally, so the
 * profile is written), BENCH_WS_THRESHOLD (ws senders' bufferedAmount limit,
 * default 64 KiB), BENCH_TEXT=ascii (ASCII-only text payloads instead of
 * mostly-ASCII with some multi-byte characters), BENCH_TIMEOUT_MS (per step,
 * default 120000; 20000 in smoke mode).
 *
 * Workloads (each: ROUNDS rounds; each round runs every library once, in
 * alternating order; fresh server and client processes for every run):
 *   a  sequential roundtrip echo, one message in flight: 64 B x 10,000,
 *      16 KiB x 5,000, 128 KiB x 1,000, 1 MiB x 100, text (as bytes and as
 *      strings) and binary; + raw TCP; + orig (its text is always strings, so
 *      it runs on the binary and "as strings" rows)
 *   b  pipelined echo: 200,000 x 64 B and 50,000 x 1 KiB binary, sent as fast as
 *      backpressure allows, after as many sent as a warm-up; + raw TCP
 *   c  fan-out: 500 connections in one client process, the server broadcasts
 *      200 x 1 KiB to each (100,000 deliveries), respecting each one's backpressure
 *   d  idle memory: 5,000 connections opened (100 at a time); handshakes/s, then
 *      the server's RSS and heapUsed per connection after gc()
 *   e  one 256 MiB binary message echoed: wall time and the server's peak RSS
 *      (and its growth over the RSS before the message, and the client's); +
 *      `streamed`: ours in stream mode at both ends (server.js and client.js
 *      with --stream): the client sends the message from a generator (a 64 KiB
 *      block again and again), the server writes the received MessageStream
 *      straight back, the client reads the echo as a stream, checking each
 *      piece against the block; its peak RSS growth and time against ws's, in
 *      the same rounds (ws holds the whole message: that is the comparison)
 *   f  compressed: permessage-deflate on at both ends (perMessageDeflate: true
 *      on both libraries' servers and clients, each library's defaults, both
 *      compressing from 1024 bytes); JSON-like text (records with pseudo-random
 *      values, ASCII), sequential echo of 1 KiB x 10,000 and 64 KiB x 2,000,
 *      pipelined echo of 50,000 x 1 KiB, and c's fan-out compressed (500
 *      connections x 100 x 4 KiB); then d's harness on 1,000 connections, each
 *      sending one 4 KiB text and getting its echo, then idle for 3 s: the server's
 *      memory per connection uncompressed (the reference) and compressed with
 *      the defaults, with no context takeover both ways and with 9-bit windows
 *      and memLevel 1 (common.js's DEFLATE_SETTINGS, as each library spells
 *      them). The bytes on the wire are checked to be compressed (at most half
 *      the payload) and the settings to be negotiated. ours and ws only
 *
 * orig runs on b-e too with BENCH_ORIG=all (and in smoke mode).
 *
 * The children: bench/server.js and bench/client.js; shared code in
 * bench/common.js. Exit status 0 only if every workload completed with every
 * message verified; any lost, duplicated or corrupted message, timeout or
 * child crash fails the run (and no Markdown is written).
 */
const { fork } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { DEFLATE_SETTINGS, KiB, MiB, REPO, checkCompressed, nativeReport, nativeProblems, withTimeout } = require('./common')

// ---------------------------------------------------------------------------
// Options

const argv = process.argv.slice(2)
function option(name) {
  const i = argv.indexOf(name)
  if (i === -1) return null
  const value = argv[i + 1]
  if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value`)
  return value
}
const SMOKE = argv.includes('--smoke') || process.env.BENCH_SMOKE === '1'
const MD_PATH = option('--md')
const FINDINGS = path.join(__dirname, 'findings.md')
/** The line after which docs/performance.md is written by hand (bench/hub.js's figures), kept as it is. */
const HAND_WRITTEN = '<!-- written by hand from here on: npm run bench keeps it -->'
const JSON_PATH = option('--json')
const ONLY = (option('--only') ?? process.env.BENCH_ONLY ?? 'a,b,c,d,e,f').split(',').map((s) => s.trim())
const FILTER = new RegExp(option('--filter') ?? process.env.BENCH_FILTER ?? '')
const ROUNDS = SMOKE ? 1 : Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5))
const ALLOW_JS = process.env.BENCH_ALLOW_JS === '1'
// orig first: next to ours in every round (ours/ws stay neighbours too), so orig/ours sees the least drift.
const LIBS = (process.env.BENCH_LIBS ?? 'orig,ours,ws,raw').split(',').map((s) => s.trim())
for (const lib of LIBS) if (!['orig', 'ours', 'ws', 'raw'].includes(lib)) throw new Error(`BENCH_LIBS: unknown library ${lib}`)
/** orig on every row it can run (else only the 64 B and 1 MiB roundtrips)... */
const ORIG_ALL = process.env.BENCH_ORIG === 'all'
/** ...and on workloads c-e (smoke mode too, to check every path of its server and client). */
const ORIG_BEYOND_A = SMOKE || ORIG_ALL
const TIMEOUT = Number(process.env.BENCH_TIMEOUT_MS ?? (SMOKE ? 20_000 : 120_000))
const SERVER_ARGS = (process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean)
const CLIENT_ARGS = (process.env.BENCH_CLIENT_ARGS ?? '').split(' ').filter(Boolean)
const WS_THRESHOLD = Number(process.env.BENCH_WS_THRESHOLD ?? 64 * 1024)
for (let i = 0; i < argv.length; i++) {
  if (['--md', '--json', '--only', '--filter'].includes(argv[i])) i++
  else if (argv[i] !== '--smoke') throw new Error(`unknown argument ${argv[i]}`)
}

// ---------------------------------------------------------------------------
// Child processes

const children = new Set()
const killAll = () => {
  for (const child of children) child.kill()
}
process.on('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    killAll()
    process.exit(130)
  })
}

/** Every child's native-module report, checked as it arrives. */
const nativeSeen = []

class Child {
  constructor(role, lib, execArgv, args = []) {
    this.label = `${lib} ${role}`
    this.proc = fork(path.join(__dirname, `${role}.js`), [lib, ...args], {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    children.add(this)
    this.pending = new Map()
    this.nextId = 1
    this.stopping = false
    this.exited = null
    this.ready = new Promise((resolve, reject) => {
      this.onReady = resolve
      this.onReadyFail = reject
    })
    this.ready.catch(() => {})
    this.proc.on('message', (message) => {
      if (message && message.type === 'ready') {
        nativeSeen.push({ label: this.label, report: message.native })
        return this.onReady(message)
      }
      const call = this.pending.get(message.id)
      if (!call) return
      this.pending.delete(message.id)
      clearTimeout(call.timer)
      if (message.ok) call.resolve(message.result)
      else call.reject(new Error(`${this.label}, ${call.cmd}: ${message.error}`))
    })
    this.proc.on('exit', (code, signal) => {
      this.exited = { code, signal }
      children.delete(this)
      const error = new Error(`${this.label} (pid ${this.proc.pid}) exited${this.stopping ? '' : ' unexpectedly'} with ${signal ?? code}`)
      this.onReadyFail(error)
      for (const call of this.pending.values()) {
        clearTimeout(call.timer)
        call.reject(error)
      }
      this.pending.clear()
    })
    this.proc.on('error', (error) => this.onReadyFail(error))
  }

  /** The child's ready message (with its port), or a rejection after TIMEOUT. */
  async started() {
    return withTimeout(this.ready, TIMEOUT, `${this.label} to start`)
  }

  call(cmd, args = {}) {
    return new Promise((resolve, reject) => {
      if (this.exited || !this.proc.connected) return reject(new Error(`${this.label} is gone (${cmd})`))
      const id = this.nextId++
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new Error(`${this.label}: ${cmd} timed out after ${TIMEOUT} ms`))
      }, TIMEOUT)
      this.pending.set(id, { cmd, resolve, reject, timer })
      this.proc.send({ id, cmd, args })
    })
  }

  /** Throws if the child has died on its own. */
  check() {
    if (this.exited && !this.stopping) throw new Error(`${this.label} (pid ${this.proc.pid}) exited unexpectedly with ${this.exited.signal ?? this.exited.code}`)
  }

  /** Asks the child to exit (so --cpu-prof can write its profile); SIGKILL after 5 s. */
  async stop() {
    if (this.exited) return
    this.stopping = true
    const gone = new Promise((resolve) => this.proc.once('exit', resolve))
    if (this.proc.connected) this.proc.send({ id: 0, cmd: 'exit' })
    const timer = setTimeout(() => this.kill(), 5000)
    await gone
    clearTimeout(timer)
  }

  kill() {
    if (!this.exited) this.proc.kill('SIGKILL')
  }
}

function checkNative(label, report) {
  const problems = nativeProblems(report)
  if (problems.length > 0 && !ALLOW_JS) {
    throw new Fatal(`${label} (pid ${report.pid}): ${problems.join('; ')}. Run npm ci (bufferutil and utf-8-validate are devDependencies), or set BENCH_ALLOW_JS=1.`)
  }
}

class Fatal extends Error {}

/**
 * A server process and a client process for `lib`; `body({ server, client, url })`
 * measures. Both are stopped afterwards; a crash, a server-side error or a
 * timeout fails the measurement. `serverArgs`: node flags for the server;
 * `childArgs`: arguments after LIB for both children (['--deflate']).
 */
async function withPair(lib, serverArgs, body, childArgs = [], clientArgs = []) {
  const server = new Child('server', lib, [...serverArgs, ...SERVER_ARGS], childArgs)
  const client = new Child('client', lib, [...clientArgs, ...CLIENT_ARGS], childArgs)
  try {
    const [ready, clientReady] = await Promise.all([server.started(), client.started()])
    checkNative(server.label, ready.native)
    checkNative(client.label, clientReady.native)
    const url = `ws://127.0.0.1:${ready.port}/`
    const result = await body({ server, client, url })
    // One more message each way on every connection: a late duplicate or a broken connection shows here.
    await client.call('echoAll', {})
    const after = await server.call('clients')
    if (after.errors.length > 0) throw new Error(`${lib} server reported errors: ${after.errors.join('; ')}`)
    server.check()
    client.check()
    return result
  } catch (error) {
    // Say so when a child died: its peer's error alone would hide that (its exit may take a moment to show).
    await new Promise((resolve) => setTimeout(resolve, 200))
    for (const child of [server, client]) {
      if (child.exited && !child.stopping) error.message += `; ${child.label} (pid ${child.proc.pid}) exited with ${child.exited.signal ?? child.exited.code}`
    }
    throw error
  } finally {
    await client.stop()
    await server.stop()
  }
}

/** Polls the server until it holds `n` connections. */
async function serverClients(server, n) {
  const deadline = Date.now() + TIMEOUT
  for (;;) {
    const { clients, errors } = await server.call('clients')
    if (errors.length > 0) throw new Error(`server errors: ${errors.join('; ')}`)
    if (clients === n) return
    if (Date.now() > deadline) throw new Error(`server holds ${clients} connections, expected ${n}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

function checkServer(stop, expectedEchoes, lib) {
  if (stop.errors.length > 0) throw new Error(`${lib} server reported errors: ${stop.errors.join('; ')}`)
  if (expectedEchoes !== null && stop.echoed !== expectedEchoes) {
    throw new Error(`${lib} server echoed ${stop.echoed} messages, expected ${expectedEchoes}`)
  }
}

const ms = (cpu) => cpu.total / 1000

// ---------------------------------------------------------------------------
// Workloads: each config's run(lib) returns one measurement.

const all = SMOKE // compare every message's full content in smoke mode

/**
 * One connection: `command` ('roundtrip' or 'pipeline') run with cfg's size
 * and kind, warmed up, then measured. `cfg.deflate`: permessage-deflate on at
 * both ends, and the measured part must have put at most half the payload
 * bytes on the wire each way (else compression was not in effect).
 */
function echoRun(command, cfg) {
  const args = (count) => ({ size: cfg.size, ...(cfg.kind ? { kind: cfg.kind } : {}), count, all })
  return (lib) =>
    withPair(
      lib,
      [],
      async ({ server, client, url }) => {
        await client.call('open', { url: url + (cfg.path ?? ''), n: 1, concurrency: 1 })
        if (cfg.warmup > 0) await client.call(command, args(cfg.warmup))
        await server.call('cpuStart')
        const r = await client.call(command, args(cfg.count))
        const s = await server.call('cpuStop')
        checkServer(s, cfg.count, lib)
        const result = { count: cfg.count, ns: r.ns, rate: cfg.count / (r.ns / 1e9), serverCpuMs: ms(s.cpu), clientCpuMs: ms(r.cpu), perCpu: cfg.count / ((s.cpu.total + r.cpu.total) / 1e6) }
        if (cfg.deflate) {
          const payload = cfg.count * cfg.size
          result.wireRatio = checkCompressed(lib, r.wire, { written: payload, read: payload })
        }
        return result
      },
      deflateArgs(cfg),
    )
}

/**
 * The children's arguments for cfg.deflate: true (each library's defaults),
 * a DEFLATE_SETTINGS name, or absent (compression off).
 */
function deflateArgs(cfg) {
  if (!cfg.deflate) return []
  return [cfg.deflate === true ? '--deflate' : `--deflate=${cfg.deflate}`]
}

/**
 * Fan-out: the server broadcasts cfg.perClient messages of cfg.size bytes
 * (binary unless cfg.kind) to cfg.clients connections. `cfg.deflate`: with
 * permessage-deflate, and the clients' sockets must have read at most half
 * the payload bytes.
 */
function fanoutRun(cfg) {
  const kind = cfg.kind ?? 'binary'
  return (lib) =>
    withPair(
      lib,
      [],
      async ({ server, client, url }) => {
        await client.call('open', { url, n: cfg.clients, concurrency: 100 })
        await serverClients(server, cfg.clients)
        if (cfg.warmup > 0) {
          await server.call('prepare', { size: cfg.size, count: cfg.warmup, kind })
          await client.call('fanArm', { size: cfg.size, count: cfg.warmup, all, kind })
          await Promise.all([server.call('broadcast'), client.call('fanWait')])
        }
        await server.call('prepare', { size: cfg.size, count: cfg.perClient, kind })
        await server.call('cpuStart')
        await client.call('fanArm', { size: cfg.size, count: cfg.perClient, all, kind })
        const [b, r] = await Promise.all([server.call('broadcast'), client.call('fanWait')])
        const s = await server.call('cpuStop')
        checkServer(s, 0, lib)
        const deliveries = cfg.clients * cfg.perClient
        if (b.clients !== cfg.clients || r.deliveries !== deliveries) {
          throw new Error(`${lib}: broadcast to ${b.clients} clients, ${r.deliveries} deliveries; expected ${cfg.clients}, ${deliveries}`)
        }
        const result = { count: deliveries, ns: r.ns, rate: deliveries / (r.ns / 1e9), serverCpuMs: ms(s.cpu), clientCpuMs: ms(r.cpu), perCpu: deliveries / ((s.cpu.total + r.cpu.total) / 1e6) }
        if (cfg.deflate) result.wireRatio = checkCompressed(lib, r.wire, { read: deliveries * cfg.size })
        return result
      },
      deflateArgs(cfg),
    )
}

/**
 * Idle connections: cfg.connections opened (timed: handshakes/s), then the
 * server's memory per connection. `cfg.exchange` ({ size, kind }): before
 * the memory is taken, one such message each way on every connection (and in
 * the warm-up); with `cfg.deflate` (workload f) it must have gone compressed.
 */
function idleRun(cfg) {
  const exchange = cfg.exchange ?? {}
  return (lib) =>
    withPair(
      lib,
      ['--expose-gc'],
      async ({ server, client, url }) => {
        // Warm-up: open, use and close some connections so one-time costs (code, lazily loaded modules) come before `before`.
        if (cfg.warmup > 0) {
          await client.call('open', { url, n: cfg.warmup, concurrency: cfg.concurrency })
          await client.call('echoAll', exchange)
          await client.call('closeAll')
          await serverClients(server, 0)
        }
        const before = await server.call('mem')
        const clientBefore = await client.call('mem')
        await server.call('cpuStart')
        const r = await client.call('open', { url, n: cfg.connections, concurrency: cfg.concurrency })
        const s = await server.call('cpuStop')
        checkServer(s, 0, lib)
        await serverClients(server, cfg.connections)
        let wireRatio
        if (cfg.exchange) {
          const e = await client.call('echoAll', exchange)
          const payload = cfg.connections * exchange.size
          if (cfg.deflate) wireRatio = checkCompressed(lib, e.wire, { written: payload, read: payload })
          else if (e.wire) wireRatio = (e.wire.written + e.wire.read) / (2 * payload)
        }
        // Idle for a while, as idle connections are: what a library releases when idle shows.
        if (cfg.idleMs) await new Promise((resolve) => setTimeout(resolve, cfg.idleMs))
        const after = await server.call('mem')
        const clientAfter = await client.call('mem')
        if (r.opened !== cfg.connections || after.clients !== cfg.connections) {
          throw new Error(`${lib}: opened ${r.opened}, server holds ${after.clients}; expected ${cfg.connections}`)
        }
        const n = cfg.connections
        return {
          wireRatio,
          count: n,
          ns: r.ns,
          rate: n / (r.ns / 1e9),
          serverCpuMs: ms(s.cpu),
          clientCpuMs: ms(r.cpu),
          perCpu: n / ((s.cpu.total + r.cpu.total) / 1e6),
          rssPerConn: (after.rss - before.rss) / n,
          heapPerConn: (after.heapUsed - before.heapUsed) / n,
          clientRssPerConn: (clientAfter.rss - clientBefore.rss) / n,
          clientHeapPerConn: (clientAfter.heapUsed - clientBefore.heapUsed) / n,
          externalPerConn: (after.external - before.external) / n,
        }
      },
      deflateArgs(cfg),
      ['--expose-gc'],
    )
}

/**
 * Workload e's "library" that is ours in stream mode at both ends
 * (--stream): it runs in the same rounds as the others, so its figures
 * and ws's are neighbours in time.
 */
const STREAMED = 'streamed'
/** How its rows are named in the summary, where the ratio is ours streamed / ws. */
const STREAMED_LABEL = 'ours streamed'

/**
 * One big binary message echoed (lib STREAMED: sent and echoed as a
 * stream). Peak RSS is maxRSS over the process's life; its growth is over
 * the RSS before the message (for the client: before it made its payload).
 */
function bigRun(cfg) {
  return (lib) => {
    const streamed = lib === STREAMED
    return withPair(streamed ? 'ours' : lib, [], async ({ server, client, url }) => {
      await client.call('open', { url, n: 1, concurrency: 1 })
      const start = await server.call('cpuStart')
      const r = await client.call(streamed ? 'bigStreamed' : 'big', { size: cfg.size })
      const s = await server.call('cpuStop')
      checkServer(s, 1, lib)
      return {
        count: 1,
        ns: r.ns,
        wallMs: r.ns / 1e6,
        mibPerSec: cfg.size / MiB / (r.ns / 1e9),
        serverCpuMs: ms(s.cpu),
        clientCpuMs: ms(r.cpu),
        perCpu: cfg.size / MiB / ((s.cpu.total + r.cpu.total) / 1e6),
        rssBeforeMiB: start.rss / MiB,
        peakRssMiB: s.maxRSS / 1024,
        rssGrowthMiB: (s.maxRSS * 1024 - start.rss) / MiB,
        clientPeakRssMiB: r.maxRSS / 1024,
        clientRssGrowthMiB: (r.maxRSS * 1024 - r.rssBefore) / MiB,
      }
    }, streamed ? ['--stream'] : [])
  }
}

/** Workload e's goal for the streamed run: its server's peak RSS growth at most this fraction of ws's. */
const STREAMED_GOAL = 0.1

/** Workload f's fan-out message and the message of its memory rows' exchange: JSON-like text, compressed. */
const DEFLATE_FAN_SIZE = 4 * KiB
const DEFLATE_EXCHANGE_SIZE = 4 * KiB
/** Messages per connection in f's fan-out (each compressed once per connection: fewer than workload c's 200). */
const FAN_PER_CLIENT = 100
/** Workload f's memory rows: [DEFLATE_SETTINGS name or null (compression off, the reference), its name in the table]. */
const DEFLATE_MEMORY_ROWS = [
  [null, 'uncompressed (reference)'],
  ['default', 'defaults'],
  ['no-context-takeover', 'no context takeover'],
  ['small-windows', '9-bit windows, memLevel 1'],
]

const sizeLabel = (size) => (size >= MiB ? `${size / MiB} MiB` : size >= KiB ? `${size / KiB} KiB` : `${size} B`)
/** The libraries of a row: raw TCP and the original API only where asked for (and in LIBS). */
const wsLibs = (withRaw, withOrig = ORIG_BEYOND_A) => LIBS.filter((lib) => (lib !== 'raw' || withRaw) && (lib !== 'orig' || withOrig))

function workloads() {
  const list = []
  const roundtrip = SMOKE
    ? [[64, 50], [16 * KiB, 50], [128 * KiB, 50], [MiB, 20]]
    : [[64, 10_000], [16 * KiB, 5_000], [128 * KiB, 1_000], [MiB, 100]]
  list.push({
    id: 'a',
    title: 'a. Sequential roundtrip echo, one message in flight',
    unit: 'roundtrips/s',
    target: 'ours/ws ≥ 1.0 at every size',
    origTarget: true,
    configs: roundtrip.flatMap(([size, count]) =>
      // Text is passed on as bytes (ws's way, and ours with textAsBytes), and as strings at both ends.
      [['text', ''], ['binary', ''], ['text', 'strings']].map(([kind, path]) => {
        const name = path ? `${kind} as strings` : kind
        const cfg = { key: `${sizeLabel(size)} ${name}`, size, kind, path, count, warmup: SMOKE ? 5 : (process.env.BENCH_A_WARM ? count : Math.max(10, Math.round(count / 10))) }
        // The original API reads text as strings only: binary and "as strings" rows; by default 64 B and 1 MiB.
        const orig = (kind === 'binary' || path === 'strings') && (ORIG_ALL || size === 64 || size === MiB)
        // Raw TCP carries bytes only: it runs with the binary rows, and text rows show that figure too.
        return { ...cfg, libs: wsLibs(kind === 'binary', orig), rawFrom: `${sizeLabel(size)} binary`, run: echoRun('roundtrip', cfg), label: `${sizeLabel(size)} × ${count.toLocaleString('en-US')} ${name}` }
      }),
    ),
  })
  const pipelined = SMOKE ? [[64, 2000], [KiB, 500]] : [[64, 200_000], [KiB, 50_000]]
  list.push({
    id: 'b',
    title: 'b. Pipelined echo, as fast as backpressure allows (binary)',
    unit: 'messages/s',
    target: 'ours/ws ≥ 1.2 at 64 B',
    configs: pipelined.map(([size, count]) => {
      // Warmed up with as many messages as are measured: a run this short (0.3 s at 1 KiB) after a tenth of
      // it measures how soon the JIT has compiled each library's path more than the path itself (findings.md).
      const cfg = { key: `${sizeLabel(size)}`, size, count, warmup: SMOKE ? 50 : count }
      return { ...cfg, libs: wsLibs(true), rawFrom: cfg.key, run: echoRun('pipeline', cfg), label: `${count.toLocaleString('en-US')} × ${sizeLabel(size)}` }
    }),
  })
  const fan = SMOKE ? { clients: 20, perClient: 20, warmup: 2 } : { clients: 500, perClient: 200, warmup: 10 }
  const fanCfg = { key: 'fan-out', size: KiB, ...fan }
  list.push({
    id: 'c',
    title: 'c. Fan-out: one server broadcasting 1 KiB messages to many connections',
    unit: 'deliveries/s',
    target: 'ours/ws ≥ 1.0',
    configs: [{ ...fanCfg, libs: wsLibs(false), run: fanoutRun(fanCfg), label: `${fan.clients} clients × ${fan.perClient} × 1 KiB` }],
  })
  // BENCH_IDLE_CONNECTIONS=50000 for the large count (raise `ulimit -n` first: two descriptors a connection, one per process).
  const idle = SMOKE ? { connections: 20, concurrency: 10, warmup: 5 } : { connections: Number(process.env.BENCH_IDLE_CONNECTIONS ?? 5000), concurrency: 100, warmup: 100 }
  const idleCfg = { key: 'idle', ...idle }
  list.push({
    id: 'd',
    title: 'd. Idle connections: handshakes and memory per connection',
    unit: 'handshakes/s',
    target: 'server bytes per idle connection (RSS and heap) ≤ ws',
    configs: [{ ...idleCfg, libs: wsLibs(false, true), run: idleRun(idleCfg), label: `${idle.connections.toLocaleString('en-US')} connections, ${idle.concurrency} at a time` }],
  })
  const bigCfg = { key: 'big', size: SMOKE ? 4 * MiB : 256 * MiB }
  // The streamed run goes with ours (it is ours in stream mode), right after it.
  const bigLibs = wsLibs(false).flatMap((lib) => (lib === 'ours' ? [lib, STREAMED] : [lib]))
  list.push({
    id: 'e',
    title: `e. One ${sizeLabel(bigCfg.size)} binary message echoed`,
    unit: 'ms',
    target: `server peak RSS below ws; streamed, server peak RSS growth below ${STREAMED_GOAL}× ws`,
    configs: [{ ...bigCfg, libs: bigLibs, run: bigRun(bigCfg), label: `${sizeLabel(bigCfg.size)} binary` }],
  })
  // Compressed: ours and ws only (the original API has no permessage-deflate option), no raw TCP.
  const deflateLibs = wsLibs(false, false)
  const compressed = SMOKE
    ? { seq: [[KiB, 50], [64 * KiB, 20]], pipe: [KiB, 500], fan: { clients: 20, perClient: 20, warmup: 2 }, idle: { connections: 20, concurrency: 10, warmup: 5, idleMs: 100 } }
    : { seq: [[KiB, 10_000], [64 * KiB, 2_000]], pipe: [KiB, 50_000], fan: { clients: 500, perClient: FAN_PER_CLIENT, warmup: 5 }, idle: { connections: 1000, concurrency: 100, warmup: 100, idleMs: 3000 } }
  list.push({
    id: 'f',
    title: 'f. Compressed (permessage-deflate on at both ends), JSON-like text',
    unit: 'messages/s',
    target: 'ours/ws ≥ 1.0 on every throughput row (fan-out: deliveries/s); server RSS and heapUsed per idle compressed connection ≤ 1.0× ws in every setting',
    configs: [
      ...compressed.seq.map(([size, count]) => {
        const cfg = { key: `${sizeLabel(size)} sequential`, size, kind: 'json', count, deflate: true, warmup: SMOKE ? 5 : Math.max(10, Math.round(count / 10)) }
        return { ...cfg, libs: deflateLibs, run: echoRun('roundtrip', cfg), label: `${sizeLabel(size)} × ${count.toLocaleString('en-US')} sequential` }
      }),
      (() => {
        const [size, count] = compressed.pipe
        const cfg = { key: `${sizeLabel(size)} pipelined`, size, kind: 'json', count, deflate: true, warmup: SMOKE ? 50 : Math.round(count / 10) }
        return { ...cfg, libs: deflateLibs, run: echoRun('pipeline', cfg), label: `${count.toLocaleString('en-US')} × ${sizeLabel(size)} pipelined` }
      })(),
      // Workload c compressed: every connection compresses the same message on its own (its own window).
      (() => {
        const f = compressed.fan
        const cfg = { key: 'fan-out', size: DEFLATE_FAN_SIZE, kind: 'json', deflate: true, ...f }
        return { ...cfg, libs: deflateLibs, run: fanoutRun(cfg), label: `fan-out ${f.clients} clients × ${f.perClient} × ${sizeLabel(DEFLATE_FAN_SIZE)} (deliveries/s)` }
      })(),
      // Workload d's harness: memory per idle connection after one compressed message each way, per setting.
      ...DEFLATE_MEMORY_ROWS.map(([setting, name]) => {
        const cfg = { key: `memory ${setting ?? 'off'}`, memory: true, setting: name, ...compressed.idle, exchange: { size: DEFLATE_EXCHANGE_SIZE, kind: 'json' }, ...(setting ? { deflate: setting } : {}) }
        return { ...cfg, libs: deflateLibs, run: idleRun(cfg), label: `${compressed.idle.connections.toLocaleString('en-US')} connections, ${name}` }
      }),
    ],
  })
  for (const w of list) w.configs = w.configs.filter((cfg) => FILTER.test(cfg.label))
  return list.filter((w) => ONLY.includes(w.id) && w.configs.length > 0)
}

// ---------------------------------------------------------------------------
// Statistics and formatting

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

function stats(measurements, field) {
  const xs = measurements.map((m) => m[field])
  if (xs.length === 0 || xs.some((x) => typeof x !== 'number')) return null
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length }
}

function fmtNum(x, digits = 0) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–'
  if (digits === 0 && Math.abs(x) < 100 && x !== Math.round(x)) digits = Math.abs(x) < 10 ? 2 : 1
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/** "median (min–max)" */
function fmtStat(s, digits = 0) {
  if (!s) return '–'
  if (s.n === 1) return fmtNum(s.median, digits)
  return `${fmtNum(s.median, digits)} (${fmtNum(s.min, digits)}–${fmtNum(s.max, digits)})`
}

function ratio(a, b) {
  if (!a || !b || !b.median) return null
  return a.median / b.median
}

const fmtRatio = (r) => (r === null || r === undefined ? '–' : `${r.toFixed(2)}×`)

/** Renders rows as a Markdown table or as aligned text. `align`: 'l' or 'r' per column. */
function table(headers, rows, align, markdown) {
  if (markdown) {
    const sep = align.map((a) => (a === 'r' ? '---:' : '---'))
    return [headers, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n')
  }
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (r) => r.map((cell, i) => (align[i] === 'r' ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ')
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

/** One workload's table and its target line; `summary` collects the ratios for the final report. */
function renderWorkload(w, results, markdown) {
  const out = []
  const get = (cfg, lib) => results[w.id]?.[cfg.key]?.[lib] ?? []
  const cpuCell = (cfg, lib) => {
    const m = get(cfg, lib)
    if (m.length === 0) return '–'
    return `${fmtNum(median(m.map((x) => x.serverCpuMs)))} + ${fmtNum(median(m.map((x) => x.clientCpuMs)))}`
  }
  let verdict = null
  if (w.id === 'a' || w.id === 'b' || w.id === 'c' || w.id === 'f') {
    const withRaw = w.id === 'a' || w.id === 'b'
    const headers = [
      w.id === 'c' ? 'workload' : 'message',
      `ws ${w.unit}`,
      `ours ${w.unit}`,
      'ours/ws',
      ...(withRaw ? [`raw TCP ${w.unit}`, 'ours/raw'] : []),
      'ws per CPU-s',
      'ours per CPU-s',
      'ours/ws per CPU-s',
      'CPU ms ws (server + client)',
      'CPU ms ours (server + client)',
      // Compressed: wire bytes (both directions, frames included) / payload bytes, as each library compressed.
      ...(w.id === 'f' ? ['ws wire/payload', 'ours wire/payload'] : []),
    ]
    const wireCell = (cfg, lib) => {
      const m = get(cfg, lib).filter((x) => typeof x.wireRatio === 'number')
      return m.length === 0 ? '–' : median(m.map((x) => x.wireRatio)).toFixed(3)
    }
    const rows = []
    const ratios = []
    // (Workload f's memory rows have a table of their own, below.)
    for (const cfg of w.configs.filter((c) => !c.memory)) {
      const ours = stats(get(cfg, 'ours'), 'rate')
      const ws = stats(get(cfg, 'ws'), 'rate')
      const raw = withRaw ? stats(results[w.id]?.[cfg.rawFrom]?.raw ?? [], 'rate') : null
      const oursCpu = stats(get(cfg, 'ours'), 'perCpu')
      const wsCpu = stats(get(cfg, 'ws'), 'perCpu')
      const r = ratio(ours, ws)
      ratios.push({ cfg, r, rCpu: ratio(oursCpu, wsCpu), rRaw: ratio(ours, raw) })
      rows.push([
        cfg.label,
        fmtStat(ws),
        fmtStat(ours),
        fmtRatio(r),
        ...(withRaw ? [fmtStat(raw), fmtRatio(ratio(ours, raw))] : []),
        fmtStat(wsCpu),
        fmtStat(oursCpu),
        fmtRatio(ratio(oursCpu, wsCpu)),
        cpuCell(cfg, 'ws'),
        cpuCell(cfg, 'ours'),
        ...(w.id === 'f' ? [wireCell(cfg, 'ws'), wireCell(cfg, 'ours')] : []),
      ])
    }
    if (rows.length > 0) out.push(table(headers, rows, headers.map((_, i) => (i === 0 ? 'l' : 'r')), markdown))
    const limit = w.id === 'b' ? 1.2 : 1.0
    const judged = w.id === 'b' ? ratios.filter((x) => x.cfg.size === 64) : ratios
    const missed = judged.filter((x) => x.r !== null && x.r < limit).map((x) => `${x.cfg.label}: ${x.r.toFixed(2)}×`)
    let unjudged = judged.some((x) => x.r === null)
    summary[w.id] = ratios.map((x) => ({ label: x.cfg.label, ratio: x.r, perCpuRatio: x.rCpu, oursOverRaw: x.rRaw, better: 'higher' }))
    if (w.id === 'f') {
      const memory = renderDeflateMemory(w, get, markdown)
      if (memory) {
        out.push('', ...memory.lines)
        missed.push(...memory.missed)
        unjudged ||= memory.unjudged
        summary[w.id].push(...memory.summary)
      }
      out.push('', ...deflateSettingsLines(markdown))
    }
    if (unjudged) verdict = 'not judged (a library was not run)'
    else verdict = missed.length === 0 ? 'met' : `not met (${missed.join(', ')})`
  } else if (w.id === 'd' || w.id === 'e') {
    const cfg = w.configs[0]
    const metrics =
      w.id === 'd'
        ? [
            ['handshakes/s while opening', 'rate', 'higher', 0],
            ['handshakes per CPU-s (server + client)', 'perCpu', 'higher', 0],
            ['server RSS per connection (bytes)', 'rssPerConn', 'lower', 0],
            ['server heapUsed per connection (bytes)', 'heapPerConn', 'lower', 0],
            ['client RSS per connection (bytes)', 'clientRssPerConn', 'lower', 0],
            ['client heapUsed per connection (bytes)', 'clientHeapPerConn', 'lower', 0],
            ['server CPU ms while opening', 'serverCpuMs', 'lower', 0],
            ['client CPU ms while opening', 'clientCpuMs', 'lower', 0],
          ]
        : [
            ['wall time, send to echo (ms)', 'wallMs', 'lower', 0],
            ['message MiB/s (size / wall time)', 'mibPerSec', 'higher', 0],
            ['server peak RSS (MiB)', 'peakRssMiB', 'lower', 0],
            ['server peak RSS growth (MiB)', 'rssGrowthMiB', 'lower', 0],
            ['server RSS before the message (MiB)', 'rssBeforeMiB', 'lower', 0],
            ['client peak RSS (MiB)', 'clientPeakRssMiB', 'lower', 0],
            ['client peak RSS growth (MiB)', 'clientRssGrowthMiB', 'lower', 0],
            ['server CPU ms', 'serverCpuMs', 'lower', 0],
            ['client CPU ms', 'clientCpuMs', 'lower', 0],
            ['MiB per CPU-s (server + client)', 'perCpu', 'higher', 0],
          ]
    // Workload e's streamed run, where it ran: its own columns, against ws of the same rounds.
    const streamed = cfg.libs.includes(STREAMED)
    const headers = ['metric', 'ws', 'ours', 'ours/ws', ...(streamed ? ['ours streamed', 'streamed/ws', 'streamed/ws by round'] : []), 'ours/ws:']
    const rows = []
    const summaryRows = []
    const streamedRows = []
    for (const [name, field, better, digits] of metrics) {
      const ws = stats(get(cfg, 'ws'), field)
      const ours = stats(get(cfg, 'ours'), field)
      const r = ratio(ours, ws)
      const cells = [name, fmtStat(ws, digits), fmtStat(ours, digits), fmtRatio(r)]
      if (streamed) {
        const st = stats(get(cfg, STREAMED), field)
        const rs = ratio(st, ws)
        cells.push(fmtStat(st, digits), fmtRatio(rs), fmtRatioStat(pairedRatios(get(cfg, STREAMED), get(cfg, 'ws'), field)))
        streamedRows.push({ label: `${STREAMED_LABEL}: ${name}`, ratio: rs, better })
      }
      rows.push([...cells, better === 'higher' ? 'higher is better' : 'lower is better'])
      summaryRows.push({ label: name, ratio: r, better })
    }
    out.push(table(headers, rows, headers.map((_, i) => (i === 0 || i === headers.length - 1 ? 'l' : 'r')), markdown))
    summaryRows.push(...streamedRows)
    summary[w.id] = summaryRows
    const byName = (label) => summaryRows.find((x) => x.label.startsWith(label))?.ratio ?? null
    if (w.id === 'd') {
      const rss = byName('server RSS')
      const heap = byName('server heapUsed')
      verdict = rss === null || heap === null ? 'not judged' : rss <= 1 && heap <= 1 ? 'met' : `not met (RSS ${rss.toFixed(2)}×, heapUsed ${heap.toFixed(2)}× of ws)`
    } else {
      verdict = bigVerdict(byName('server peak RSS'), streamed ? byName(`${STREAMED_LABEL}: server peak RSS growth`) : undefined)
    }
  }
  const rounds = w.rounds ?? ROUNDS
  verdicts[w.id] = verdict
  return { text: out.join('\n'), target: `Target: ${w.target}: ${verdict}.`, rounds }
}

const verdicts = {}

/**
 * Workload e's verdict from ours/ws of the server's peak RSS and the
 * streamed run's growth / ws's (undefined: the streamed run was not asked for).
 */
function bigVerdict(peak, streamedGrowth) {
  if (peak === null || streamedGrowth === null) return 'not judged'
  const missed = []
  if (peak >= 1) missed.push(`peak RSS ${peak.toFixed(2)}× of ws`)
  if (streamedGrowth !== undefined && streamedGrowth >= STREAMED_GOAL) missed.push(`streamed, peak RSS growth ${streamedGrowth.toFixed(2)}× of ws`)
  return missed.length === 0 ? 'met' : `not met (${missed.join(', ')})`
}

/**
 * Workload f's memory rows as a table of their own: the server's RSS and
 * heapUsed per idle connection (KiB), ours / ws, and the target (ours ≤ ws on
 * every compressed setting; the uncompressed row is the reference). Null if
 * none ran; else the lines, the rows that missed, and summary items.
 */
function renderDeflateMemory(w, get, markdown) {
  const cfgs = w.configs.filter((c) => c.memory)
  if (cfgs.length === 0) return null
  const kib = (field) => (m) => ({ ...m, [field]: m[field] / KiB })
  const headers = ['setting', 'ws RSS KiB/conn', 'ours RSS KiB/conn', 'ours/ws RSS', 'ws heapUsed KiB/conn', 'ours heapUsed KiB/conn', 'ours/ws heapUsed', 'ws wire/payload', 'ours wire/payload']
  const rows = []
  const missed = []
  const items = []
  let unjudged = false
  for (const cfg of cfgs) {
    const cell = {}
    for (const lib of ['ws', 'ours']) {
      cell[lib] = { rss: stats(get(cfg, lib).map(kib('rssPerConn')), 'rssPerConn'), heap: stats(get(cfg, lib).map(kib('heapPerConn')), 'heapPerConn') }
    }
    const rRss = ratio(cell.ours.rss, cell.ws.rss)
    const rHeap = ratio(cell.ours.heap, cell.ws.heap)
    const wire = (lib) => {
      const m = get(cfg, lib).filter((x) => typeof x.wireRatio === 'number')
      return m.length === 0 ? '–' : median(m.map((x) => x.wireRatio)).toFixed(3)
    }
    rows.push([cfg.label, fmtStat(cell.ws.rss, 1), fmtStat(cell.ours.rss, 1), fmtRatio(rRss), fmtStat(cell.ws.heap, 1), fmtStat(cell.ours.heap, 1), fmtRatio(rHeap), wire('ws'), wire('ours')])
    items.push({ label: `memory/conn, ${cfg.setting}: server RSS`, ratio: rRss, better: 'lower' }, { label: `memory/conn, ${cfg.setting}: server heapUsed`, ratio: rHeap, better: 'lower' })
    // The uncompressed row is there for reference (workload d judges it).
    if (!cfg.deflate) continue
    if (rRss === null || rHeap === null) unjudged = true
    else if (rRss > 1 || rHeap > 1) missed.push(`${cfg.label}: RSS ${rRss.toFixed(2)}×, heapUsed ${rHeap.toFixed(2)}× of ws`)
  }
  const cfg = cfgs[0]
  const title = `Memory per idle connection: ${cfg.connections.toLocaleString('en-US')} connections (${cfg.concurrency} handshakes at a time), one ${sizeLabel(cfg.exchange.size)} JSON-like text each way on each, then idle for ${(cfg.idleMs / 1000).toLocaleString('en-US')} s; the server's (RSS and heapUsed after gc()) growth / ${cfg.connections.toLocaleString('en-US')}, median (min–max)`
  return { lines: [title, ...(markdown ? [''] : []), table(headers, rows, headers.map((_, i) => (i === 0 ? 'l' : 'r')), markdown)], missed, unjudged, summary: items }
}

/** What each of workload f's settings passes to each library (server and client alike). */
function deflateSettingsLines(markdown) {
  const show = (options) => (options === true ? '`perMessageDeflate: true`' : `\`perMessageDeflate: ${JSON.stringify(options).replace(/"(\w+)":/g, '$1: ').replace(/,/g, ', ').replace(/\{/g, '{ ').replace(/\}/g, ' }')}\``)
  const names = { default: 'defaults (the throughput and fan-out rows too)', 'no-context-takeover': 'no context takeover', 'small-windows': '9-bit windows, memLevel 1' }
  const lines = ['Settings (the same on both libraries\' servers and clients; every message here is 1 KiB or more, so both compress all of them):', ...(markdown ? [''] : [])]
  for (const [name, setting] of Object.entries(DEFLATE_SETTINGS)) lines.push(`${markdown ? '- ' : '  '}${names[name] ?? name}: ours ${show(setting.ours)}; ws ${show(setting.ws)}`)
  return lines
}

/** Within this much of the streams API underneath, the original API's layer costs "a few percent" at most. */
const ORIG_GOAL = 0.95
const origSummary = {}
const origVerdicts = {}

/** Each round's a / b (runs of the same round are neighbours in time): "median (min–max)" of the ratios. */
function pairedRatios(as, bs, field) {
  const n = Math.min(as.length, bs.length)
  const xs = []
  for (let i = 0; i < n; i++) if (typeof as[i][field] === 'number' && bs[i][field]) xs.push(as[i][field] / bs[i][field])
  if (xs.length === 0) return null
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length }
}

function fmtRatioStat(s) {
  if (!s) return '–'
  if (s.n === 1) return `${s.median.toFixed(2)}×`
  return `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`
}

/**
 * The original API's table for a workload (the rows where orig ran), or null:
 * orig against ours (the streams API it is built on) and against ws.
 */
function renderOrig(w, results, markdown) {
  const get = (cfg, lib) => results[w.id]?.[cfg.key]?.[lib] ?? []
  const cfgs = w.configs.filter((cfg) => get(cfg, 'orig').length > 0)
  if (cfgs.length === 0) return null
  const rows = []
  const items = []
  let headers
  let align
  if (w.id === 'a' || w.id === 'b' || w.id === 'c') {
    headers = [
      w.id === 'c' ? 'workload' : 'message',
      `orig ${w.unit}`,
      `ours ${w.unit}`,
      'orig/ours',
      'orig/ours by round',
      `ws ${w.unit}`,
      'orig/ws',
      'orig/ws by round',
      'orig/ours per CPU-s',
      'CPU ms orig (server + client)',
      'CPU ms ours (server + client)',
    ]
    align = headers.map((_, i) => (i === 0 ? 'l' : 'r'))
    const cpuCell = (cfg, lib) => {
      const m = get(cfg, lib)
      if (m.length === 0) return '–'
      return `${fmtNum(median(m.map((x) => x.serverCpuMs)))} + ${fmtNum(median(m.map((x) => x.clientCpuMs)))}`
    }
    for (const cfg of cfgs) {
      const orig = stats(get(cfg, 'orig'), 'rate')
      const ours = stats(get(cfg, 'ours'), 'rate')
      const ws = stats(get(cfg, 'ws'), 'rate')
      const vsOurs = ratio(orig, ours)
      const vsWs = ratio(orig, ws)
      const byRoundOurs = pairedRatios(get(cfg, 'orig'), get(cfg, 'ours'), 'rate')
      const byRoundWs = pairedRatios(get(cfg, 'orig'), get(cfg, 'ws'), 'rate')
      const perCpu = ratio(stats(get(cfg, 'orig'), 'perCpu'), stats(get(cfg, 'ours'), 'perCpu'))
      items.push({ label: cfg.label, origOverOurs: vsOurs, origOverWs: vsWs, byRoundOurs, byRoundWs, perCpuOverOurs: perCpu, better: 'higher' })
      rows.push([cfg.label, fmtStat(orig), fmtStat(ours), fmtRatio(vsOurs), fmtRatioStat(byRoundOurs), fmtStat(ws), fmtRatio(vsWs), fmtRatioStat(byRoundWs), fmtRatio(perCpu), cpuCell(cfg, 'orig'), cpuCell(cfg, 'ours')])
    }
  } else {
    const cfg = cfgs[0]
    const metrics =
      w.id === 'd'
        ? [['handshakes/s while opening', 'rate', 'higher'], ['server RSS per connection (bytes)', 'rssPerConn', 'lower'], ['server heapUsed per connection (bytes)', 'heapPerConn', 'lower']]
        : [['wall time, send to echo (ms)', 'wallMs', 'lower'], ['server peak RSS (MiB)', 'peakRssMiB', 'lower'], ['MiB per CPU-s (server + client)', 'perCpu', 'higher']]
    headers = ['metric', 'orig', 'ours', 'orig/ours', 'orig/ours by round', 'ws', 'orig/ws', 'orig/ours:']
    align = ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'l']
    for (const [name, field, better] of metrics) {
      const orig = stats(get(cfg, 'orig'), field)
      const ours = stats(get(cfg, 'ours'), field)
      const ws = stats(get(cfg, 'ws'), field)
      const byRoundOurs = pairedRatios(get(cfg, 'orig'), get(cfg, 'ours'), field)
      items.push({ label: name, origOverOurs: ratio(orig, ours), origOverWs: ratio(orig, ws), byRoundOurs, byRoundWs: pairedRatios(get(cfg, 'orig'), get(cfg, 'ws'), field), better })
      rows.push([name, fmtStat(orig), fmtStat(ours), fmtRatio(ratio(orig, ours)), fmtRatioStat(byRoundOurs), fmtStat(ws), fmtRatio(ratio(orig, ws)), better === 'higher' ? 'higher is better' : 'lower is better'])
    }
  }
  origSummary[w.id] = items
  const title = `Original API (orig) on the same ${w.id === 'd' || w.id === 'e' ? 'runs' : 'rows'}: median (min–max); "by round": each round's orig / ours (or ws), median (min–max) of the rounds`
  const out = [title, table(headers, rows, align, markdown)]
  if (w.origTarget) {
    const missed = items.filter((x) => x.origOverOurs !== null && x.origOverOurs < ORIG_GOAL)
    const verdict = items.some((x) => x.origOverOurs === null)
      ? 'not judged (ours was not run)'
      : missed.length === 0
        ? 'met'
        : `not met (${missed.map((x) => `${x.label}: ${x.origOverOurs.toFixed(2)}×`).join(', ')})`
    origVerdicts[w.id] = verdict
    out.push(`Goal: orig/ours ≥ ${ORIG_GOAL} on every row (the original API within a few percent of the streams API underneath): ${verdict}.`)
  }
  return out.join(markdown ? '\n\n' : '\n')
}

/** The original API's ratios at a glance (after renderOrig). */
function renderOrigSummary(list, markdown) {
  const rows = []
  for (const w of list) {
    for (const x of origSummary[w.id] ?? []) {
      rows.push([w.id, x.label, fmtRatio(x.origOverOurs), fmtRatioStat(x.byRoundOurs), fmtRatio(x.origOverWs), fmtRatioStat(x.byRoundWs), x.better === 'higher' ? 'higher is better' : 'lower is better'])
    }
  }
  if (rows.length === 0) return null
  const headers = ['', 'row', 'orig/ours', 'orig/ours by round', 'orig/ws', 'orig/ws by round', 'orig/ours, orig/ws:']
  const out = [table(headers, rows, ['l', 'l', 'r', 'r', 'r', 'r', 'l'], markdown)]
  for (const w of list) if (origVerdicts[w.id]) out.push(`${markdown ? '\n- ' : ''}Goal ${w.id}, orig/ours ≥ ${ORIG_GOAL} on every row: ${origVerdicts[w.id]}.`)
  return out.join('\n')
}

/** All ratios at a glance (after renderWorkload has filled `summary` and `verdicts`). */
function renderSummary(list, markdown) {
  const rows = []
  for (const w of list) {
    const items = summary[w.id]
    if (!items) continue
    if (w.id === 'a' || w.id === 'b' || w.id === 'c' || w.id === 'f') {
      for (const x of items) rows.push([w.id, x.label, fmtRatio(x.ratio), fmtRatio(x.perCpuRatio), x.oursOverRaw === undefined || x.oursOverRaw === null ? '–' : fmtRatio(x.oursOverRaw), x.better === 'lower' ? 'lower is better' : 'higher is better'])
    } else {
      const big = ['wall time', 'server peak RSS', 'client peak RSS growth', 'MiB per CPU-s']
      const keep = w.id === 'd' ? ['handshakes/s', 'handshakes per CPU-s', 'server RSS', 'server heapUsed'] : [...big, ...big.map((k) => `${STREAMED_LABEL}: ${k}`)]
      for (const x of items.filter((x) => keep.some((k) => x.label.startsWith(k)))) {
        rows.push([w.id, x.label, fmtRatio(x.ratio), '', '', x.better === 'higher' ? 'higher is better' : 'lower is better'])
      }
    }
  }
  const headers = ['', 'row', 'ours/ws', 'ours/ws per CPU-s', 'ours/raw TCP', 'ours/ws:']
  const out = [table(headers, rows, ['l', 'l', 'r', 'r', 'r', 'l'], markdown), '']
  for (const w of list) if (verdicts[w.id]) out.push(`${markdown ? '- ' : ''}Target ${w.id}, ${w.target}: ${verdicts[w.id]}.`)
  return out.join('\n')
}

const summary = {}

// ---------------------------------------------------------------------------
// Machine description

function machine() {
  const cpus = os.cpus()
  let osName = `${os.type()} ${os.release()}`
  try {
    const pretty = fs.readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]*)"?/m)
    if (pretty) osName = `${pretty[1]} (${os.type()} ${os.release()}, ${os.arch()})`
  } catch {}
  const native = nativeReport()
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    ramGiB: os.totalmem() / 1024 ** 3,
    os: osName,
    node: process.version,
    native,
    watershed: require(path.join(REPO, 'package.json')).version,
    date: new Date().toISOString(),
    loadBefore: os.loadavg(),
  }
}

const fmtLoad = (l) => l.map((x) => x.toFixed(2)).join(', ')

/**
 * CPU time used by processes other than this run (Linux): the machine's busy
 * time from /proc/stat less this process's and its reaped children's from
 * /proc/self/stat, in seconds. null where /proc is not there.
 */
function cpuClock() {
  try {
    const all = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
    const busy = all.reduce((a, b) => a + b, 0) - all[3] - (all[4] ?? 0)
    const self = fs.readFileSync('/proc/self/stat', 'utf8')
    const fields = self.slice(self.lastIndexOf(')') + 2).split(' ').map(Number)
    // Fields 14-17 of stat (utime, stime, cutime, cstime) are 11-14 here, counted from field 3.
    const ours = fields[11] + fields[12] + fields[13] + fields[14]
    return { busy, ours, wall: Date.now() }
  } catch {
    return null
  }
}

/** Other processes' CPU between two cpuClock() readings, as a share of one core (USER_HZ 100 assumed). */
function foreignLoad(a, b) {
  if (!a || !b) return null
  const seconds = (b.wall - a.wall) / 1000
  const foreign = Math.max(0, (b.busy - a.busy) - (b.ours - a.ours)) / 100
  return seconds > 0 ? foreign / seconds : null
}
const fmtForeign = (x) => (x === null ? 'unknown' : `${(x * 100).toFixed(0)}% of a core`)

function nativeLines(m) {
  const n = m.native
  const mod = (name, x) => `${name} ${x.version ?? 'not installed'} (${x.native ? 'native build' : 'JavaScript fallback'})`
  return [
    `ws ${n.ws.version}; ${mod('bufferutil', n.bufferutil)}; ${mod('utf-8-validate', n.utf8validate)}.`,
    `ws masks with ${n.ws.masking} and validates UTF-8 with ${n.ws.utf8}` +
      (n.ws.utf8 === 'buffer.isUtf8' ? ' (ws 8 prefers Node\'s native buffer.isUtf8 over utf-8-validate when Node has it)' : '') +
      `; watershed masks ${n.oursNativeMasking ? 'natively (bufferutil)' : 'with its JavaScript word loop'}.`,
  ]
}

// ---------------------------------------------------------------------------
// Main

async function main() {
  const started = Date.now()
  const clockStart = cpuClock()
  const m = machine()
  checkNative('this process', m.native)
  const list = workloads()
  console.log(`watershed benchmark${SMOKE ? ' (smoke mode: tiny counts, 1 round)' : ''}: ${m.cpu}, ${m.cores} cores, ${m.ramGiB.toFixed(1)} GiB, ${m.os}, Node ${m.node}`)
  for (const line of nativeLines(m)) console.log(line)
  console.log(`Rounds: ${ROUNDS}; libraries: ${LIBS.join(', ')}; ws send threshold ${WS_THRESHOLD} bytes.`)
  console.log('')

  const results = {}
  const failures = []
  const rendered = []
  for (const w of list) {
    results[w.id] = {}
    const rounds = w.rounds ?? ROUNDS
    const t0 = Date.now()
    const clock0 = cpuClock()
    let failed = null
    try {
      for (const cfg of w.configs) {
        const perLib = (results[w.id][cfg.key] = {})
        for (const lib of cfg.libs) perLib[lib] = []
        for (let round = 0; round < rounds; round++) {
          const order = round % 2 === 0 ? cfg.libs : [...cfg.libs].reverse()
          for (const lib of order) {
            const measurement = await cfg.run(lib)
            perLib[lib].push(measurement)
            const shown =
              measurement.rssPerConn !== undefined
                ? `${fmtNum(measurement.rate)} handshakes/s, server RSS ${fmtNum(measurement.rssPerConn / KiB, 1)} KiB/conn, heapUsed ${fmtNum(measurement.heapPerConn / KiB, 1)} KiB/conn`
                : measurement.rate !== undefined
                  ? `${fmtNum(measurement.rate)} ${w.unit}`
                  : `${fmtNum(measurement.wallMs)} ms, peak RSS ${fmtNum(measurement.peakRssMiB)} MiB (growth: server ${fmtNum(measurement.rssGrowthMiB)}, client ${fmtNum(measurement.clientRssGrowthMiB)} MiB)`
            process.stderr.write(`  [${w.id}] ${cfg.label}, round ${round + 1}/${rounds}, ${lib}: ${shown}\n`)
          }
        }
      }
    } catch (error) {
      if (error instanceof Fatal) throw error
      failed = error
      failures.push({ workload: w.id, error })
    }
    const seconds = (Date.now() - t0) / 1000
    const foreign = foreignLoad(clock0, cpuClock())
    const text = renderWorkload(w, results, false)
    rendered.push({ w, seconds, failed, foreign })
    console.log(`${w.title} (${w.unit}; median (min–max) of ${rounds} round${rounds > 1 ? 's' : ''}; ${seconds.toFixed(0)} s; other processes used ${fmtForeign(foreign)})`)
    // (Under 2 s the reading is too coarse to warn about.)
    if (foreign !== null && foreign > 0.1 && seconds >= 2) console.log(`Warning: other processes used ${fmtForeign(foreign)} during this workload: figures will suffer.`)
    if (failed) {
      console.log(`FAILED: ${failed.stack ?? failed}`)
    } else {
      console.log(text.text)
      console.log(text.target)
      const orig = renderOrig(w, results, false)
      if (orig) console.log(`\n${orig}`)
    }
    console.log('')
  }
  const completed = rendered.filter((x) => !x.failed).map((x) => x.w)
  if (completed.length > 0) {
    console.log('Summary: every ratio is ours / ws (or ours / raw TCP), medians of the rounds')
    console.log(renderSummary(completed, false))
    console.log('')
    const orig = renderOrigSummary(completed, false)
    if (orig) {
      console.log('Original API: orig / ours (the streams API it runs on) and orig / ws, ratios of the medians; "by round": median (min–max) of each round\'s ratio')
      console.log(orig)
      console.log('')
    }
  }
  const totalSeconds = (Date.now() - started) / 1000
  const checked = nativeSeen.filter((x) => nativeProblems(x.report).length === 0).length
  console.log(`Native modules checked in ${nativeSeen.length} child processes (${checked} with every native path in use).`)
  m.loadAfter = os.loadavg()
  m.foreign = foreignLoad(clockStart, cpuClock())
  console.log(`Other processes used ${fmtForeign(m.foreign)} over the whole run (CPU time not spent by this run or its children).`)
  console.log(`Total time: ${(totalSeconds / 60).toFixed(1)} min; load average ${fmtLoad(m.loadBefore)} before, ${fmtLoad(m.loadAfter)} after (1, 5, 15 min; the run's own processes count too).`)

  if (JSON_PATH) fs.writeFileSync(JSON_PATH, JSON.stringify({ machine: m, rounds: ROUNDS, smoke: SMOKE, results, summary, origSummary, failures: failures.map((f) => ({ workload: f.workload, error: String(f.error) })) }, null, 2))
  if (failures.length > 0) {
    console.log(`FAILED: ${failures.map((f) => f.workload).join(', ')}`)
    if (MD_PATH) console.log(`${MD_PATH} not written.`)
    process.exitCode = 1
    return
  }
  if (MD_PATH) {
    // Sections written by hand at the end of the file (from HAND_WRITTEN on) outlive the regeneration.
    const old = fs.existsSync(MD_PATH) ? fs.readFileSync(MD_PATH, 'utf8') : ''
    const kept = old.includes(HAND_WRITTEN) ? `\n${old.slice(old.indexOf(HAND_WRITTEN))}` : ''
    fs.writeFileSync(MD_PATH, markdownReport(m, rendered, results, totalSeconds) + kept)
    console.log(`Wrote ${MD_PATH}.`)
  }
  console.log('OK: every workload completed, every message verified.')
}

function markdownReport(m, rendered, results, totalSeconds) {
  const lines = [
    '# Performance: watershed against ws',
    '',
    `Generated by \`npm run bench\` (bench/run.js) on ${m.date.slice(0, 10)}; the whole run took ${(totalSeconds / 60).toFixed(1)} minutes.`,
    'Numbers from one run on the machine below; the ratios are what to compare, the absolute figures depend on the machine.',
    '',
    '## Summary',
    '',
    'Every ratio is ours / ws (or ours / raw TCP) of the medians over the rounds; the tables below have the figures.',
    '',
    renderSummary(rendered.map((x) => x.w), true),
    '',
    ...(renderOrigSummary(rendered.map((x) => x.w), true)
      ? [
          '### The original API',
          '',
          '`orig` is watershed\'s original event API (`new Watershed()`, `accept()`, `connect()`, `\'text\'`/`\'binary\'`, `send()`),',
          'which runs on the streams API (`ours`): orig / ours is what that layer costs. Ratios of the medians;',
          '"by round": the median (min–max) of each round\'s ratio, the runs of a round being neighbours in time.',
          '',
          renderOrigSummary(rendered.map((x) => x.w), true),
          '',
        ]
      : []),
    // Hand-written findings (profiles, what was tried) travel with every generated report.
    ...(fs.existsSync(FINDINGS) ? [fs.readFileSync(FINDINGS, 'utf8').trim(), ''] : []),
    '## Machine',
    '',
    `- CPU: ${m.cpu}, ${m.cores} cores; RAM ${m.ramGiB.toFixed(1)} GiB`,
    `- OS: ${m.os}`,
    `- Node ${m.node}; watershed ${m.watershed}`,
    ...nativeLines(m).map((l) => `- ${l}`),
    `- Date: ${m.date}; load average (1, 5, 15 min) ${fmtLoad(m.loadBefore)} before the run, ${fmtLoad(m.loadAfter)} after it;`,
    `  other processes used ${fmtForeign(m.foreign)} during the run (the machine's busy time from /proc/stat less this run's own)`,
    '',
    '## How to reproduce',
    '',
    '```sh',
    'npm ci && npm run bench',
    '```',
    '',
    '`npm run bench` builds `dist/` and runs `node bench/run.js --md docs/performance.md`. `node bench/run.js`',
    'alone prints the same tables without writing this file; `--smoke` runs every workload with tiny counts',
    '(the test suite does, as `test/bench-smoke.test.ts`); `BENCH_ROUNDS=N` changes the number of rounds.',
    'The run refuses to start if `ws` would use JavaScript fallbacks for masking or UTF-8 validation',
    '(`BENCH_ALLOW_JS=1` overrides).',
    '',
    '## Method',
    '',
    '- **Processes.** For every measurement a fresh server process and a fresh client process (`child_process.fork`),',
    '  talking over 127.0.0.1; the parent sends commands and collects results over IPC. Both sides use the same',
    '  library: watershed (`WebSocketServer` on an http server, `connect()`) against ws (`WebSocketServer` on an http',
    '  server, `new WebSocket()`), both with permessage-deflate off (except in workload f, where both libraries\'',
    '  servers and clients have `perMessageDeflate: true`, or the settings listed under its memory table) and a',
    '  512 MiB message limit.',
    '- **The original API** (`orig`): the server is an http server whose `\'upgrade\'` handler calls',
    '  `shed.accept(req, socket, head)` (`socket.end()` if it throws) with `new Watershed({ maxMessageSize })`, and echoes',
    '  with `wsc.on(\'text\', (t) => wsc.send(t))` and `wsc.on(\'binary\', (b) => wsc.send(b))`; the client is the',
    '  documented one: `shed.generateKey()`, `http.request` with the upgrade headers, `shed.connect(res, socket, head,',
    '  wskey)`, messages from `\'text\'` and `\'binary\'`. Its text is always a string, so it runs on the binary and "as',
    '  strings" rows. Its fan-out server (c) calls `send()` until it returns `false`, then waits for `wsc.duplex`\'s',
    '  `\'drain\'`. By default it runs on the 64 B and 1 MiB roundtrip rows (`BENCH_ORIG=all`: every row of a to e).',
    '- **Echo servers.** watershed: `ws.on(\'data\', (m) => ws.write(m))`; ws: `ws.on(\'message\', (m, isBinary) =>',
    '  ws.send(m, { binary: isBinary }))`. Text rows: both libraries hand the server and the client a text message as',
    '  its bytes (validated as UTF-8), as ws always does and watershed does with `textAsBytes`; both clients send',
    '  strings. Rows "as strings": the application wants strings at both ends, so watershed reads strings (its',
    '  default) and the ws server and client call `toString()` on each text message (the server sends the string).',
    '- **Raw TCP baseline** (workloads a and b): a plain `net` server and client; each message is a 4-byte length and',
    '  its payload; the server counts messages and writes every chunk back as it arrives (the client sends each',
    '  burst in one corked write). It is the ceiling for Node on this machine, not a WebSocket: no framing,',
    '  masking or reassembly on the server. It carries bytes only, so text rows show the binary figure.',
    '- **Backpressure when sending as fast as possible** (b, c): watershed calls `write()` until it returns `false`,',
    `  then waits for \`'drain'\`. ws has no \`'drain'\`: the sender calls \`send()\` while \`bufferedAmount\` stays under`,
    `  ${WS_THRESHOLD / KiB} KiB, and the message that crosses it carries a send callback (called once ws has written it to`,
    '  the socket) that resumes sending. 64 KiB did best for ws in a sweep of 16 KiB, 64 KiB, 256 KiB, 1 MiB and',
    '  4 MiB on this machine (`BENCH_WS_THRESHOLD` changes it). The echo servers do not wait (ws has no way to, in',
    '  its idiom); the fan-out server does, per connection, the same way.',
    '- **Messages as streams** (workload e, "ours streamed"): watershed\'s stream mode at both ends, the same echo',
    '  server (`ws.write(message)` writes the received `MessageStream` back); the client sends from a generator and',
    '  reads the echo as a stream. ws has no such mode: its row holds the whole message, which is the comparison.',
    `- **Interleaving.** Each workload runs ROUNDS rounds (here ${ROUNDS}), and each round runs every`,
    '  library once, in the opposite order to the round before. Tables give the median over the rounds with the',
    '  minimum and maximum in parentheses; a ratio is the ratio of the medians, ours / ws.',
    '- **Warm-up** (full run). Before the measured part, on the same connection: 10% of the count (a, b), 10 broadcast',
    '  messages (c), 100 connections opened, used and closed (d). Workload e is measured cold.',
    '- **CPU time.** user + system CPU of the server process and of the client process over the measured',
    '  interval (`process.cpuUsage()` deltas, reported over IPC), shown as server + client milliseconds and as',
    '  throughput per CPU-second of both together.',
    '- **Payloads.** Binary: pseudo-random bytes. Text: mostly ASCII with a few 2-, 3- and 4-byte characters',
    '  (a JSON-like sentence), so from 16 KiB on every text message has non-ASCII characters (64 B is ASCII only).',
    '- **Verification.** Every message carries its sequence number; every echo is checked for type (text or binary),',
    '  length and sequence number, and the whole content of every 61st (and the last) is compared; the servers',
    '  count what they echo. A lost, duplicated, reordered or corrupted message, a connection error, a timeout or a',
    '  crashed child fails the run, and then this file is not written.',
    '- **Ratios.** Throughput: ours / ws, above 1 means watershed is faster (or does more per CPU-second). Times,',
    '  memory and CPU milliseconds: ours / ws, below 1 means watershed uses less.',
    '',
  ]
  for (const { w, seconds, foreign } of rendered) {
    const r = renderWorkload(w, results, true)
    lines.push(`## ${w.title}`, '')
    lines.push(`${describe(w)} (${r.rounds} round${r.rounds > 1 ? 's' : ''}, ${seconds.toFixed(0)} s; other processes used ${fmtForeign(foreign)} meanwhile.)`, '')
    lines.push(r.text, '')
    lines.push(r.target, '')
    const orig = renderOrig(w, results, true)
    if (orig) lines.push(orig, '')
  }
  return lines.join('\n')
}

function describe(w) {
  switch (w.id) {
    case 'a':
      return 'One connection; the client sends a message and waits for its echo before sending the next. Roundtrips per second over the measured count (after a 10% warm-up).'
    case 'b':
      return 'One connection; the client sends every message as fast as its library\'s backpressure allows while reading the echoes; the clock stops when the last echo arrives.'
    case 'c': {
      const cfg = w.configs[0]
      return `One client process holds ${cfg.clients} connections; the server writes ${cfg.perClient} messages of 1 KiB to each, every connection as fast as its own backpressure allows; the clock (in the client) runs until every connection has received every message. Deliveries per second.`
    }
    case 'd': {
      const cfg = w.configs[0]
      return `A fresh server (node --expose-gc) per run. The client opens ${cfg.connections} connections, ${cfg.concurrency} handshakes at a time (handshakes per second over the whole opening), and keeps them idle. Memory per connection is (after − before) / ${cfg.connections} of the server's \`process.memoryUsage()\`, each taken after four \`gc()\` calls.`
    }
    case 'f': {
      const fan = w.configs.find((c) => c.key === 'fan-out')
      const mem = w.configs.find((c) => c.memory)
      return [
        'One connection, permessage-deflate negotiated at both ends with each library\'s defaults (`perMessageDeflate: true` on the server and on the client: context takeover, both compress messages of 1024 bytes and more). JSON-like ASCII text (an array of records with pseudo-random ids, names, numbers and tags, about 3× compressible at 1 KiB and 6× at 64 KiB with raw deflate alone), sent as strings and read as bytes at both ends as in workload a\'s text rows. Sequential rows: one message in flight (after a 10% warm-up); pipelined: as fast as backpressure allows, as in workload b. "wire/payload": bytes the client\'s socket wrote and read over the measured part (frames included) / the payload bytes both ways; a run over 0.5 fails as not compressed.',
        fan ? `Fan-out: workload c's harness with permessage-deflate (defaults): one client process holds ${fan.clients} connections and the server writes ${fan.perClient} JSON-like texts of ${sizeLabel(fan.size)} to each, every connection as fast as its own backpressure allows (each connection compresses every message itself, with its own window); deliveries per second; wire/payload is what the clients' sockets read over the payload.` : '',
        mem ? `Memory: workload d's harness (a fresh server with --expose-gc per run) on ${mem.connections.toLocaleString('en-US')} connections opened ${mem.concurrency} at a time; then every connection sends one ${sizeLabel(mem.exchange.size)} JSON-like text and gets its echo (so both ends have compressed and inflated once), and stays idle; memory per connection is (after − before) / ${mem.connections.toLocaleString('en-US')} of the server's \`process.memoryUsage()\`, each after four \`gc()\` calls. One row per setting (below the table), and the same exchange uncompressed for reference; target: ours ≤ ws on every compressed row.` : '',
      ]
        .filter(Boolean)
        .join(' ')
    }
    case 'e':
      return [
        'A fresh server per run. The client sends one binary message (a 64 KiB pseudo-random block repeated) and waits for its echo (compared byte for byte afterwards). Peak RSS is the process\'s `process.resourceUsage().maxRSS` over its life, including its baseline; its growth is the peak less the RSS before the message (the server\'s at the start of the measured part, the client\'s before it made its payload).',
        `"ours streamed": watershed in stream mode at both ends (\`streamMessages: true\` on the server and the client), in the same rounds as the others: the client writes an async generator that yields the 64 KiB block again and again (\`ws.write(source)\`: one message, a frame per block), the server echoes with the same \`ws.write(message)\`, which writes the received \`MessageStream\` straight back as its bytes come, and the client reads the echo as a stream, comparing each piece with the block where it falls (the clock stops at the echo's end, every byte checked). Neither end holds the message, where ws holds it whole at both. streamed/ws: of the medians; "by round": each round's streamed / ws, median (min–max). Target: the server's peak RSS growth streamed below ${STREAMED_GOAL}× ws's.`,
      ].join(' ')
  }
  return ''
}

main().catch((error) => {
  console.error(error instanceof Fatal ? `Aborted: ${error.message}` : error)
  killAll()
  process.exit(1)
})
