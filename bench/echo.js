'use strict'
/**
 * Echo throughput, side by side with ws in the same run.
 *
 * For each message size, a client sends COUNT messages to an echo server on
 * 127.0.0.1 (keeping WINDOW messages in flight) and waits for every echo.
 * Three pairings isolate each side: ws client -> our server, our client -> ws
 * server, and ours end to end; each against ws end to end. Reported: messages
 * per second (median of ROUNDS) and the ratio ours / ws (> 1 is faster).
 *
 *   node bench/echo.js            (after npm run build)
 */
const http = require('node:http')
const { once } = require('node:events')
const WS = require('ws')
const { accept, connect } = require('watershed')

const ROUNDS = Number(process.env.ROUNDS ?? 5)
const WINDOW = 64
const sizes = [[16, 50_000], [1024, 30_000], [16 * 1024, 8_000], [256 * 1024, 600], [1024 * 1024, 150]]

function startOurs() {
  const server = http.createServer()
  server.on('upgrade', (req, socket, head) => {
    const ws = accept(req, socket, head)
    ws.on('error', () => {})
    ws.on('data', (m) => ws.write(m))
  })
  return listen(server)
}

function startWs() {
  const server = http.createServer()
  const wss = new WS.WebSocketServer({ server, maxPayload: 100 * 1024 * 1024 })
  wss.on('connection', (ws) => ws.on('message', (m, isBinary) => ws.send(m, { binary: isBinary })))
  return listen(server)
}

async function listen(server) {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { url: `ws://127.0.0.1:${server.address().port}`, close: () => server.close() }
}

/** Our client: resolves after COUNT echoes. */
async function runOurs(url, payload, count) {
  const ws = await connect(url)
  const start = process.hrtime.bigint()
  let sent = 0
  let received = 0
  await new Promise((resolve, reject) => {
    ws.on('error', reject)
    const pump = () => {
      while (sent < count && sent - received < WINDOW) {
        sent++
        ws.write(payload)
      }
    }
    ws.on('data', () => {
      if (++received === count) resolve()
      else pump()
    })
    pump()
  })
  const ns = Number(process.hrtime.bigint() - start)
  ws.close()
  ws.resume()
  await once(ws, 'close')
  return ns
}

async function runWs(url, payload, count) {
  const ws = new WS(url, { maxPayload: 100 * 1024 * 1024 })
  await once(ws, 'open')
  const start = process.hrtime.bigint()
  let sent = 0
  let received = 0
  await new Promise((resolve) => {
    const pump = () => {
      while (sent < count && sent - received < WINDOW) {
        sent++
        ws.send(payload)
      }
    }
    ws.on('message', () => {
      if (++received === count) resolve()
      else pump()
    })
    pump()
  })
  const ns = Number(process.hrtime.bigint() - start)
  ws.close()
  await once(ws, 'close')
  return ns
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function measure(run, url, payload, count) {
  const rates = []
  for (let r = 0; r < ROUNDS; r++) rates.push(count / ((await run(url, payload, count)) / 1e9))
  return median(rates)
}

async function main() {
  const ours = await startOurs()
  const theirs = await startWs()
  const rows = []
  for (const [size, count] of sizes) {
    for (const kind of ['binary', 'text']) {
      const payload = kind === 'text' ? 'x'.repeat(size) : Buffer.alloc(size, 7)
      await measure(runWs, theirs.url, payload, Math.ceil(count / 10)) // warm-up
      await measure(runOurs, ours.url, payload, Math.ceil(count / 10))
      const base = await measure(runWs, theirs.url, payload, count)
      const serverOnly = await measure(runWs, ours.url, payload, count)
      const clientOnly = await measure(runOurs, theirs.url, payload, count)
      const both = await measure(runOurs, ours.url, payload, count)
      rows.push({ size, kind, base, serverOnly, clientOnly, both })
      const f = (x) => `${Math.round(x).toString().padStart(8)} msg/s`
      const ratio = (x) => (x / base).toFixed(2).padStart(5)
      console.log(
        `${String(size).padStart(8)} B ${kind.padEnd(6)}  ws<->ws ${f(base)} | ` +
          `our server ${ratio(serverOnly)}x | our client ${ratio(clientOnly)}x | ours<->ours ${ratio(both)}x`,
      )
    }
  }
  ours.close()
  theirs.close()
  if (process.env.BENCH_JSON) require('node:fs').writeFileSync(process.env.BENCH_JSON, JSON.stringify(rows, null, 2))
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
