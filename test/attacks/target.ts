/**
 * The server under attack: a WebSocketServer on a real http server, echoing
 * through a pipe (so backpressure reaches the attacker), with a bystander
 * connection opened before each attack that must keep working through it,
 * and a sampler of this process's memory for the attacks that aim at it.
 */
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Test } from 'tap'
import { connect } from '../../lib/handshake/client'
import type { HandshakeError } from '../../lib/protocol/errors'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { WebSocketServer, type WebSocketServerOptions } from '../../lib/server/websocket-server'
import { type Recording, record, within } from '../helpers/ws-wait'

export interface Target {
  port: number
  url: string
  wss: WebSocketServer
  http: http.Server
  /** Every connection the server accepted but the bystander's, recorded (not read: the echo pipe reads). */
  accepted: Array<{ ws: WebSocketDuplex; rec: Recording }>
  rejected: HandshakeError[]
  /** TCP connections the http server holds right now. */
  openSockets(): number
  /** Fails the test unless the bystander still gets its messages echoed. */
  bystanderStillServed(t: Test): Promise<void>
}

export async function target(
  t: Test,
  options: Omit<WebSocketServerOptions, 'server'> = {},
  httpOptions: http.ServerOptions = {},
): Promise<Target> {
  const server = http.createServer(httpOptions, (_req, res) => res.writeHead(426).end())
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  const wss = new WebSocketServer({ server, closeTimeout: 1000, ...options })
  const accepted: Target['accepted'] = []
  const rejected: HandshakeError[] = []
  let bystanderSeen = false
  wss.on('connection', (ws) => {
    ws.pipe(ws)
    // The first connection is the bystander; the others are the attacks.
    if (!bystanderSeen) {
      bystanderSeen = true
      return
    }
    accepted.push({ ws, rec: record(ws, { read: false }) })
  })
  wss.on('rejected', (_req, error) => rejected.push(error))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const url = `ws://127.0.0.1:${port}/`

  const bystander = await connect(url)
  bystander.on('error', () => {})
  let round = 0

  t.teardown(async () => {
    bystander.destroy()
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return {
    port,
    url,
    wss,
    http: server,
    accepted,
    rejected,
    openSockets: () => sockets.size,
    async bystanderStillServed(t) {
      const text = `still here ${++round}`
      const echoed = new Promise<unknown>((resolve) => bystander.once('data', resolve))
      bystander.write(text)
      t.equal(await within(echoed, 5000, 'the bystander echo'), text, 'another connection is served as before')
    },
  }
}

export { MiB, memorySampler, retained } from '../helpers/memory'
