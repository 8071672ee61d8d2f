'use strict'
/**
 * Chat rooms on every core: node:cluster starts N worker processes that
 * share one port, each holding its own connections, and a Hub over Redis
 * joins them, so a message sent to a room reaches the room's members on
 * every worker.
 *
 *   node examples/cluster-chat.js [port]     (or PORT=...; default 8080; 0 picks a free one)
 *
 * WORKERS sets how many workers (default 2). REDIS_URL says where Redis is;
 * without it the example starts its own redis-server (the Debian package) on
 * a free local port, persisting nothing, and stops it on the way out.
 *
 * Connect to ws://127.0.0.1:PORT/chat?room=NAME (room 'lobby' if none). The
 * first message says which worker took the connection; every text message
 * sent is passed to everyone in the room, on whichever worker, as
 * "[worker N] text". Ctrl-C (SIGINT) or SIGTERM stops it all.
 */
const cluster = require('node:cluster')
const http = require('node:http')
const { startRedis } = require('./redis-server')

if (cluster.isPrimary) primary()
else worker()

async function primary() {
  const workers = Number(process.env.WORKERS ?? 2)
  const port = Number(process.argv[2] ?? process.env.PORT ?? 8080)
  const redis = process.env.REDIS_URL ? { url: process.env.REDIS_URL, stop() {} } : await startRedis('cluster-chat')
  console.log(`[primary] Redis at ${redis.url}${process.env.REDIS_URL ? '' : ' (started here)'}`)

  let ready = 0
  let stopping = false
  for (let i = 0; i < workers; i++) cluster.fork({ REDIS_URL: redis.url, PORT: String(port) })
  cluster.on('message', (_worker, message) => {
    if (message.ready && ++ready === workers) {
      console.log(`[primary] ${workers} workers share ws://127.0.0.1:${message.port}/chat?room=lobby`)
    }
  })
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) console.log(`[primary] worker ${worker.id} exited (${signal ?? code}); its connections are gone, the others go on`)
  })
  const stop = () => {
    if (stopping) return
    stopping = true
    console.log('[primary] stopping')
    for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGTERM')
    const check = setInterval(() => {
      if (Object.keys(cluster.workers).length > 0) return
      clearInterval(check)
      redis.stop()
      console.log('[primary] stopped')
    }, 50)
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}

function worker() {
  const { Hub, RedisBroker, WebSocketServer } = require('watershed')
  const id = cluster.worker.id
  const log = (text) => console.log(`[worker ${id}] ${text}`)

  const hub = new Hub({ broker: new RedisBroker({ url: process.env.REDIS_URL }), slowConsumer: 'close' })
  hub.on('broker-down', (error) => log(`lost Redis (${error.message}): rooms reach this worker only`))
  hub.on('loss', ({ since, until, unsent }) => log(`Redis is back after ${until - since} ms; ${unsent} message(s) did not leave this worker`))

  const server = http.createServer((req, res) => res.writeHead(426).end('This is a WebSocket chat: /chat?room=NAME\n'))
  const wss = new WebSocketServer({ server, path: '/chat' })
  wss.on('connection', (ws, req) => {
    const room = new URL(req.url, 'http://localhost').searchParams.get('room') || 'lobby'
    ws.on('error', () => {})
    // Welcomed once the room's subscription is in place: from then on nothing
    // sent to the room from another worker passes this connection by.
    hub.join(ws, room).then(
      () => ws.writable && ws.write(`welcome to ${room}, on worker ${id}`),
      () => ws.close(1011, 'cannot join the room'),
    )
    ws.on('data', (message) => {
      if (typeof message === 'string') hub.publish(room, `[worker ${id}] ${message}`)
    })
  })

  server.listen(Number(process.env.PORT), '127.0.0.1', async () => {
    await hub.ready()
    log(`ready, pid ${process.pid}`)
    process.send({ ready: true, port: server.address().port })
  })
  process.on('SIGTERM', async () => {
    await wss.close(1001, 'server shutting down')
    await hub.close()
    server.close()
    cluster.worker.disconnect()
  })
}
