'use strict'
/**
 * The broadcast hub, measured: a 1 KiB binary message published to one topic
 * whose 1,000 member connections are spread over 1, 2 or 4 server processes
 * joined through Redis, against all 1,000 in one process with a hub and no
 * broker.
 *
 *   npm run build && node bench/hub.js        (REDIS_URL=... to use a running Redis; else it starts its own)
 *
 * Environment: HUB_MESSAGES (throughput messages per configuration, default
 * 400), HUB_LATENCY_MESSAGES (default 200), HUB_CLIENTS (default 1000).
 *
 * Per configuration: fresh server processes (bench/hub.js server: an http
 * server, WebSocketServer, a Hub with or without a RedisBroker, every
 * connection in topic 'bench'), and two client processes (ws clients, for a
 * light load generator) holding the connections, dealt to the servers in
 * turn. One server publishes; what arrives is counted per connection.
 *
 * - Deliveries/s: HUB_MESSAGES messages published in windows of 50, at most
 *   two windows ahead of the slowest connection (so no queue grows and the
 *   hub's budget never drops anything: every message reaches every client),
 *   timed from the first publish until every connection has every message.
 * - Latency: HUB_LATENCY_MESSAGES messages, one every 10 ms (the hub nearly
 *   idle), each carrying the publish time; each receipt on each connection
 *   is a sample: publish to delivery, median and 99th percentile.
 *
 * Progress goes to stderr, a Markdown table to stdout.
 */
const { fork } = require('node:child_process')
const path = require('node:path')

const ROLE = process.argv[2]
const TOPIC = 'bench'
const SIZE = 1024
const WINDOW = 50

// A child goes when the run that started it goes.
if (ROLE) process.on('disconnect', () => process.exit())
if (ROLE === 'server') server()
else if (ROLE === 'clients') clients()
else main().catch((error) => {
  console.error(error)
  process.exit(1)
})

/** The wall clock in ms with sub-ms precision, comparable across the processes of one machine. */
const now = () => performance.timeOrigin + performance.now()

function server() {
  const http = require('node:http')
  const { Hub, RedisBroker, WebSocketServer } = require(path.resolve(__dirname, '../dist'))
  const url = process.env.REDIS_URL
  // Pacing keeps every queue short; the budget is only a guard here.
  const hub = new Hub({ broker: url ? new RedisBroker({ url }) : undefined, outboundBudget: 16 * 1024 * 1024 })
  const http1 = http.createServer()
  const wss = new WebSocketServer({ server: http1 })
  let joined = 0
  wss.on('connection', (ws) => {
    ws.on('error', () => {})
    hub.join(ws, TOPIC).then(() => process.send({ joined: ++joined }))
  })
  http1.listen(0, '127.0.0.1', async () => {
    await hub.ready()
    process.send({ port: http1.address().port })
  })
  const payload = Buffer.alloc(SIZE, 0x61)
  process.on('message', (command) => {
    if (command.publish) {
      for (let i = 0; i < command.publish; i++) {
        payload.writeDoubleLE(now(), 0)
        hub.publish(TOPIC, payload)
      }
    } else if (command.paced) {
      let left = command.paced
      const timer = setInterval(() => {
        payload.writeDoubleLE(now(), 0)
        hub.publish(TOPIC, payload)
        if (--left === 0) clearInterval(timer)
      }, command.interval)
    } else if (command.stats) {
      process.send({ stats: hub.stats })
    }
  })
}

function clients() {
  const WebSocket = require('ws')
  const [ports, count, first] = [process.argv[3].split(',').map(Number), Number(process.argv[4]), Number(process.argv[5])]
  const received = new Uint32Array(count)
  let latencies = null
  let reported = -1
  const open = async () => {
    for (let i = 0; i < count; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, count - i) }, (_, j) => new Promise((resolve, reject) => {
        const index = i + j
        const ws = new WebSocket(`ws://127.0.0.1:${ports[(first + index) % ports.length]}/`, { perMessageDeflate: false })
        ws.on('message', (data) => {
          received[index]++
          if (latencies) latencies.push(now() - data.readDoubleLE(0))
        })
        ws.on('open', resolve)
        ws.on('error', reject)
      })))
    }
    process.send({ open: count })
  }
  // The slowest connection's count, whenever it moves.
  setInterval(() => {
    let least = Infinity
    for (const n of received) least = Math.min(least, n)
    if (least !== reported) {
      reported = least
      process.send({ progress: least })
    }
  }, 5).unref()
  process.on('message', (command) => {
    if (command.latency === 'start') latencies = []
    else if (command.latency === 'stop') {
      process.send({ latencies })
      latencies = null
    }
  })
  open().catch((error) => {
    console.error(error)
    process.exit(1)
  })
}

/** A child of this script in `role`; `messages` collects what it sends, `next(test)` waits for one. */
function child(role, args = [], env = {}) {
  const proc = fork(__filename, [role, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const waiters = []
  proc.last = {}
  proc.on('message', (message) => {
    Object.assign(proc.last, message)
    for (const waiter of [...waiters]) {
      if (waiter.test(message)) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(message)
      }
    }
  })
  proc.next = (test, ms = 60_000) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${role}: nothing within ${ms} ms`)), ms)
    waiters.push({ test, resolve: (message) => { clearTimeout(timer); resolve(message) } })
  })
  return proc
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]

async function measure({ servers: serverCount, redisUrl }, { clientCount, messages, latencyMessages }) {
  const servers = Array.from({ length: serverCount }, () => child('server', [], redisUrl ? { REDIS_URL: redisUrl } : {}))
  const ports = await Promise.all(servers.map((s) => s.next((m) => m.port).then((m) => m.port)))
  const half = Math.ceil(clientCount / 2)
  const loads = [child('clients', [ports.join(','), String(half), '0']), child('clients', [ports.join(','), String(clientCount - half), String(half)])]
  await Promise.all(loads.map((c) => c.next((m) => m.open)))
  const perServer = (i) => Math.floor(clientCount / serverCount) + (i < clientCount % serverCount ? 1 : 0)
  await Promise.all(servers.map((s, i) => (s.last.joined >= perServer(i) ? null : s.next((m) => m.joined >= perServer(i)))))
  const least = () => Math.min(...loads.map((c) => c.last.progress ?? 0))
  const reach = (target) => Promise.all(loads.map((c) => ((c.last.progress ?? 0) >= target ? null : c.next((m) => m.progress >= target))))

  // Throughput: at most two windows ahead of the slowest connection.
  const start = now()
  let published = 0
  while (published < messages) {
    if (published - least() >= 2 * WINDOW) await Promise.race(loads.map((c) => c.next((m) => m.progress !== undefined)))
    else {
      servers[0].send({ publish: WINDOW })
      published += WINDOW
    }
  }
  await reach(messages)
  const seconds = (now() - start) / 1000

  // Latency: one message every 10 ms.
  loads.forEach((c) => c.send({ latency: 'start' }))
  servers[0].send({ paced: latencyMessages, interval: 10 })
  await reach(messages + latencyMessages)
  loads.forEach((c) => c.send({ latency: 'stop' }))
  const samples = (await Promise.all(loads.map((c) => c.next((m) => m.latencies)))).flatMap((m) => m.latencies)
  samples.sort((a, b) => a - b)

  servers[0].send({ stats: true })
  const stats = (await servers[0].next((m) => m.stats)).stats
  for (const p of [...servers, ...loads]) p.kill()
  if (stats.dropped > 0 || stats.unsent > 0) throw new Error(`messages were lost: ${JSON.stringify(stats)}`)
  return {
    deliveriesPerSecond: (clientCount * messages) / seconds,
    median: quantile(samples, 0.5),
    p99: quantile(samples, 0.99),
    samples: samples.length,
  }
}

async function main() {
  const os = require('node:os')
  const clientCount = Number(process.env.HUB_CLIENTS ?? 1000)
  const messages = Number(process.env.HUB_MESSAGES ?? 400)
  const latencyMessages = Number(process.env.HUB_LATENCY_MESSAGES ?? 200)
  const own = process.env.REDIS_URL ? null : await require('../examples/redis-server').startRedis('hub-bench')
  const redisUrl = process.env.REDIS_URL ?? own.url
  const configurations = [
    { label: '1 process, hub without a broker', servers: 1, redisUrl: null },
    { label: '1 process through Redis', servers: 1, redisUrl },
    { label: '2 processes through Redis', servers: 2, redisUrl },
    { label: '4 processes through Redis', servers: 4, redisUrl },
  ]
  const rows = []
  for (const configuration of configurations) {
    process.stderr.write(`${configuration.label} ... `)
    const result = await measure(configuration, { clientCount, messages, latencyMessages })
    process.stderr.write(`${Math.round(result.deliveriesPerSecond)} deliveries/s\n`)
    rows.push([configuration.label, result])
  }
  own?.stop()
  const fmt = (n) => Math.round(n).toLocaleString('en-US')
  console.log(`1 KiB binary broadcast to ${fmt(clientCount)} connections; ${messages} messages for throughput, ` +
    `${latencyMessages} at 100/s for latency; ${os.cpus().length} cores (${os.cpus()[0].model.trim()}), Node ${process.version}; ` +
    `load average ${os.loadavg().map((n) => n.toFixed(2)).join(', ')} after the run`)
  console.log('')
  console.log('| configuration | deliveries/s | publish to delivery, median (ms) | p99 (ms) |')
  console.log('| --- | ---: | ---: | ---: |')
  for (const [label, r] of rows) console.log(`| ${label} | ${fmt(r.deliveriesPerSecond)} | ${r.median.toFixed(2)} | ${r.p99.toFixed(2)} |`)
}
