/**
 * Real connections on 127.0.0.1 for duplex tests: an HTTP server that hands
 * its upgrades to a callback, and a ready-made pair of our server duplex and
 * our client duplex talking to each other.
 */
import http, { type IncomingMessage } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { Duplex as NodeDuplex } from 'node:stream'
import { connect, type ConnectOptions } from '../../lib/handshake/client'
import { accept, rejectUpgrade, type AcceptOptions } from '../../lib/handshake/server'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import type { Test } from 'tap'
import { within } from './ws-wait'

export type UpgradeHandler = (req: IncomingMessage, socket: Socket, head: Buffer) => void

export interface Listening {
  server: http.Server
  port: number
  url: string
  /** Every TCP connection the server accepted. */
  sockets: Set<Socket>
  /** Stops listening and destroys every connection still open. */
  close(): Promise<void>
}

/** An HTTP server on an ephemeral port whose upgrades go to `onUpgrade`. */
export async function listen(onUpgrade: UpgradeHandler): Promise<Listening> {
  const server = http.createServer((_req, res) => {
    res.writeHead(426).end()
  })
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.on('upgrade', (req: IncomingMessage, socket: NodeDuplex, head: Buffer) => onUpgrade(req, socket as Socket, head))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    server,
    port,
    url: `ws://127.0.0.1:${port}/`,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/** A server whose upgrades are accepted with `options`; each duplex goes to `onConnection`. */
export function serve(options: AcceptOptions, onConnection: (ws: WebSocketDuplex, req: IncomingMessage) => void) {
  return listen((req, socket, head) => {
    let ws: WebSocketDuplex
    try {
      ws = accept(req, socket, head, options)
    } catch (error) {
      rejectUpgrade(socket, error as Error)
      return
    }
    onConnection(ws, req)
  })
}

/** A server that echoes every message back, and answers the closing handshake. */
export function serveEcho(options: AcceptOptions = {}, onConnection?: (ws: WebSocketDuplex) => void) {
  return serve(options, (ws) => {
    ws.on('error', () => {})
    ws.on('data', (message: string | Buffer) => ws.write(message))
    onConnection?.(ws)
  })
}

export interface Pair {
  server: WebSocketDuplex
  client: WebSocketDuplex
  url: string
  listening: Listening
  /** Destroys both ends and the server. */
  cleanup(): Promise<void>
}

export interface PairOptions {
  server?: AcceptOptions
  client?: ConnectOptions
}

/** Our client connected to our server over TCP; both duplexes, and a cleanup. */
export async function pair(options: PairOptions = {}): Promise<Pair> {
  let resolveServer!: (ws: WebSocketDuplex) => void
  const accepted = new Promise<WebSocketDuplex>((resolve) => {
    resolveServer = resolve
  })
  const listening = await serve(options.server ?? {}, (ws) => resolveServer(ws))
  let client: WebSocketDuplex
  try {
    client = await within(connect(listening.url, options.client), 5000, 'client handshake')
  } catch (error) {
    await listening.close()
    throw error
  }
  const server = await within(accepted, 5000, 'server accept')
  return {
    server,
    client,
    url: listening.url,
    listening,
    cleanup: async () => {
      for (const ws of [client, server]) {
        ws.on('error', () => {})
        if (!ws.destroyed) ws.destroy()
      }
      await listening.close()
    },
  }
}

/** Waits for a connect() that must succeed; the duplex is destroyed after the test. */
export async function connected(t: Test, promise: Promise<WebSocketDuplex>): Promise<WebSocketDuplex> {
  const ws = await within(promise, 5000, 'connect()')
  t.teardown(() => {
    ws.on('error', () => {})
    ws.destroy()
  })
  return ws
}
