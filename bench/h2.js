'use strict'
/**
 * WebSockets over HTTP/2 (RFC 8441) against WebSockets over HTTP/1.1, both
 * over TLS, one server for both (http2.createSecureServer with allowHTTP1
 * and a WebSocketServer, echoing) in a child process, the client here.
 *
 *   npm run build && node bench/h2.js          (H2_CONNECTIONS, H2_ROUNDS to change the counts)
 *
 * - Set-up: H2_CONNECTIONS (default 1,000) WebSockets opened 100 at a time,
 *   either as streams of one HTTP/2 session or each on its own TLS
 *   connection with an HTTP/1.1 upgrade; the time until all are open, and
 *   the server's RSS and heapUsed growth per WebSocket (after four gc()).
 * - Roundtrips: one message in flight, 64 B x 5,000 and 1 MiB x 50, binary,
 *   over one WebSocket of each kind; messages per second.
 * Each measurement H2_ROUNDS (default 3) times, alternating the kinds; the
 * median is reported. Progress to stderr, a Markdown table to stdout.
 */
const { fork } = require('node:child_process')
const http2 = require('node:http2')
const { execFileSync } = require('node:child_process')
const { mkdtempSync, readFileSync, rmSync } = require('node:fs')
const { tmpdir } = require('node:os')
const path = require('node:path')

const CONNECTIONS = Number(process.env.H2_CONNECTIONS ?? 1000)
const ROUNDS = Number(process.env.H2_ROUNDS ?? 3)
const BATCH = 100
const MiB = 1024 * 1024
const { WebSocketServer, connect } = require(path.resolve(__dirname, '..', 'dist'))

if (process.argv[2] === 'server') server()
else main().catch((error) => {
  console.error(error)
  process.exit(1)
})

/** A throw-away self-signed certificate for 127.0.0.1. */
function certificate() {
  const dir = mkdtempSync(path.join(tmpdir(), 'watershed-h2-bench-'))
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' })
    return { key: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function server() {
  const { key, cert } = JSON.parse(process.env.H2_BENCH_TLS)
  const http = http2.createSecureServer({ key, cert, allowHTTP1: true, settings: { enableConnectProtocol: true } })
  const wss = new WebSocketServer({ server: http })
  wss.on('connection', (ws) => {
    ws.on('error', () => {})
    ws.on('data', (message) => ws.write(message))
  })
  const memory = () => {
    for (let i = 0; i < 4; i++) global.gc()
    const { rss, heapUsed } = process.memoryUsage()
    return { rss, heapUsed, clients: wss.clients.size }
  }
  process.on('message', (request) => {
    if (request === 'memory') process.send({ memory: memory() })
  })
  process.on('disconnect', () => process.exit())
  http.listen(0, '127.0.0.1', () => process.send({ port: http.address().port }))
}

function ask(child, what) {
  return new Promise((resolve) => {
    child.once('message', (answer) => resolve(answer[what]))
    child.send(what)
  })
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

async function openMany(kind, url, ca) {
  const session = kind === 'h2' ? http2.connect(url.replace('wss:', 'https:'), { ca }) : null
  session?.on('error', () => {})
  const sockets = []
  const started = process.hrtime.bigint()
  for (let i = 0; i < CONNECTIONS; i += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, CONNECTIONS - i) }, () =>
      kind === 'h2' ? connect(url, { http2: session }) : connect(url, { requestOptions: { ca, agent: false } }))
    sockets.push(...(await Promise.all(batch)))
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  return { sockets, session, ms }
}

async function closeAll({ sockets, session }) {
  await Promise.all(sockets.map((ws) => new Promise((resolve) => {
    ws.on('error', () => {})
    ws.once('close', resolve)
    ws.close()
  })))
  session?.close()
}

async function roundtrips(ws, size, count) {
  const payload = Buffer.alloc(size, 0x5a)
  const started = process.hrtime.bigint()
  for (let i = 0; i < count; i++) {
    const echoed = new Promise((resolve) => ws.once('data', resolve))
    ws.write(payload)
    const answer = await echoed
    if (answer.length !== size) throw new Error(`echo of ${size} bytes came back as ${answer.length}`)
  }
  return count / (Number(process.hrtime.bigint() - started) / 1e9)
}

/** A fresh server process, so that no run inherits another's garbage. */
async function startServer(tls) {
  const child = fork(__filename, ['server'], { execArgv: ['--expose-gc'], env: { ...process.env, H2_BENCH_TLS: JSON.stringify(tls) } })
  const { port } = await new Promise((resolve) => child.once('message', resolve))
  return { child, port, url: `wss://127.0.0.1:${port}/` }
}

async function main() {
  const tls = certificate()
  const kinds = ['h2', 'http/1.1']
  const setup = { h2: [], 'http/1.1': [] }
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of round % 2 ? [...kinds].reverse() : kinds) {
      const { child, url } = await startServer(tls)
      const before = await ask(child, 'memory')
      const opened = await openMany(kind, url, tls.cert)
      const after = await ask(child, 'memory')
      if (after.clients !== CONNECTIONS) throw new Error(`${after.clients} of ${CONNECTIONS} WebSockets open on the server`)
      setup[kind].push({ ms: opened.ms, rss: (after.rss - before.rss) / CONNECTIONS, heap: (after.heapUsed - before.heapUsed) / CONNECTIONS })
      await closeAll(opened)
      child.disconnect()
      console.error(`set-up ${kind} round ${round + 1}: ${opened.ms.toFixed(0)} ms`)
    }
  }
  const { child, port, url } = await startServer(tls)
  const rates = {}
  for (const [size, count, label] of [[64, 5000, '64 B'], [MiB, 50, '1 MiB']]) {
    for (const kind of kinds) rates[`${label} ${kind}`] = []
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of round % 2 ? [...kinds].reverse() : kinds) {
        const session = kind === 'h2' ? http2.connect(`https://127.0.0.1:${port}`, { ca: tls.cert }) : null
        const ws = kind === 'h2' ? await connect(url, { http2: session }) : await connect(url, { requestOptions: { ca: tls.cert, agent: false } })
        rates[`${label} ${kind}`].push(await roundtrips(ws, size, count))
        await closeAll({ sockets: [ws], session })
        console.error(`${label} ${kind} round ${round + 1}: ${rates[`${label} ${kind}`].at(-1).toFixed(0)} msg/s`)
      }
    }
  }
  child.disconnect()
  const row = (cells) => `| ${cells.join(' | ')} |`
  const lines = [
    `Set-up of ${CONNECTIONS.toLocaleString('en')} WebSockets (${BATCH} at a time), median of ${ROUNDS}; server memory growth per WebSocket after gc():`,
    '',
    row(['transport', 'all open (ms)', 'per WebSocket (ms)', 'server RSS / WebSocket', 'server heap / WebSocket']),
    row(['---', '---:', '---:', '---:', '---:']),
    ...kinds.map((kind) => {
      const runs = setup[kind]
      const ms = median(runs.map((r) => r.ms))
      return row([kind === 'h2' ? 'HTTP/2, one session' : 'HTTP/1.1, one TLS connection each', ms.toFixed(0), (ms / CONNECTIONS).toFixed(2),
        `${(median(runs.map((r) => r.rss)) / 1024).toFixed(1)} KiB`, `${(median(runs.map((r) => r.heap)) / 1024).toFixed(1)} KiB`])
    }),
    '',
    `Sequential roundtrips, one binary message in flight, one WebSocket over TLS, median of ${ROUNDS}:`,
    '',
    row(['message', 'HTTP/2 (msg/s)', 'HTTP/1.1 (msg/s)', 'h2 / 1.1']),
    row(['---', '---:', '---:', '---:']),
    ...['64 B', '1 MiB'].map((label) => {
      const h2 = median(rates[`${label} h2`])
      const h1 = median(rates[`${label} http/1.1`])
      return row([label, h2.toFixed(0), h1.toFixed(0), (h2 / h1).toFixed(2)])
    }),
  ]
  console.log(lines.join('\n'))
}
