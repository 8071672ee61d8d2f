/**
 * Our side of the scenario as a server: a WebSocketServer attached to a
 * plain http or https server that also serves the browser's test page.
 * Paths: /echo (echoes, records what arrived, pings on request),
 * /server-closes (greets, then closes with SERVER_CLOSE), /burst (streams
 * SMALL_COUNT messages through pipe(), then ends).
 */
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import { Readable } from 'readable-stream'
import { WebSocketServer } from '../../lib/server/websocket-server'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import {
  OFFERED_PROTOCOLS,
  PING_PAYLOAD,
  PING_REQUEST,
  PONG_ANSWER,
  SERVER_CLOSE,
} from './fixtures'
import { burst, newObservation, noteMessage, type ServerObservation } from './observation'

export interface OurServer {
  base: string
  origin: string
  observations: ServerObservation[]
  /** Resolves when every connection so far has closed. */
  allClosed(): Promise<void>
  close(): Promise<void>
}

export interface OurServerOptions {
  tls?: { key: string; cert: string }
  /** The page served at /, for the browser. */
  page?: string
}

export async function startOurServer(options: OurServerOptions = {}): Promise<OurServer> {
  const serveHttp = (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(options.page ?? '<!doctype html>')
  }
  const server = options.tls ? https.createServer(options.tls, serveHttp) : http.createServer(serveHttp)
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  const observations: ServerObservation[] = []
  const closings: Array<Promise<void>> = []

  const observe = (ws: WebSocketDuplex, path: string) => {
    const seen = newObservation(path, ws.protocol)
    observations.push(seen)
    let tcpHadError = false
    ws.socket.once('close', (hadError: boolean) => (tcpHadError = hadError))
    ws.on('error', (error: Error) => seen.errors.push(error.message))
    ws.on('ping', (payload: Buffer) => seen.pings.push(payload.toString()))
    ws.on('pong', (payload: Buffer) => seen.pongs.push(payload.toString()))
    closings.push(
      new Promise((resolve) =>
        ws.on('close', (code: number, reason: string) => {
          // The socket's own 'close' comes first; read its verdict on the next turn.
          setImmediate(() => {
            seen.close = { code, reason, tcpHadError }
            resolve()
          })
        }),
      ),
    )
    return seen
  }

  const wss = new WebSocketServer({ server, path: ['/echo', '/server-closes', '/burst'], protocols: ['chat.v1'] })
  wss.on('connection', (ws, req) => {
    const path = req.url ?? ''
    const seen = observe(ws, path)
    if (path === '/echo') {
      ws.on('data', (message: string | Buffer) => {
        if (message === PING_REQUEST) {
          ws.once('pong', (payload: Buffer) => ws.write(PONG_ANSWER + payload.toString()))
          ws.ping(PING_PAYLOAD)
          return
        }
        noteMessage(seen, message)
        ws.write(message)
      })
    } else if (path === '/server-closes') {
      ws.resume()
      ws.write('hello')
      ws.close(SERVER_CLOSE.code, SERVER_CLOSE.reason)
    } else {
      ws.resume()
      Readable.from(burst()).pipe(ws)
    }
  })

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const scheme = options.tls ? 's' : ''
  return {
    base: `ws${scheme}://127.0.0.1:${port}/`,
    origin: `http${scheme}://127.0.0.1:${port}/`,
    observations,
    allClosed: async () => {
      await Promise.all(closings)
    },
    close: async () => {
      await wss.close()
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** The offer every client makes, for the test's expectations. */
export const EXPECTED_PROTOCOL = OFFERED_PROTOCOLS[1]
