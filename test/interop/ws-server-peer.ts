/**
 * The `ws` package's server playing the server's part of the scenario, for
 * our client: /echo, /server-closes and /burst as our own server has them.
 */
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import type { Credentials } from '../helpers/tls-certificate'
import { PING_PAYLOAD, PING_REQUEST, PONG_ANSWER, SERVER_CLOSE } from './fixtures'
import { burst, newObservation, noteMessage, type ServerObservation } from './observation'

export interface WsServerPeer {
  base: string
  observations: ServerObservation[]
  allClosed(): Promise<void>
  close(): Promise<void>
}

export async function startWsServer(tls?: Credentials): Promise<WsServerPeer> {
  const server = tls ? https.createServer(tls) : http.createServer()
  const wss = new WebSocketServer({
    server,
    handleProtocols: (offered) => (offered.has('chat.v1') ? 'chat.v1' : false),
  })
  const observations: ServerObservation[] = []
  const closings: Array<Promise<void>> = []

  wss.on('connection', (ws: WebSocket, req: http.IncomingMessage) => {
    const path = req.url ?? ''
    const seen = newObservation(path, ws.protocol || null)
    observations.push(seen)
    let tcpHadError = false
    const tcp = (ws as unknown as { _socket: import('node:net').Socket })._socket
    closings.push(
      new Promise((resolve) => {
        tcp.once('close', (hadError: boolean) => {
          tcpHadError = hadError
          if (seen.close) seen.close.tcpHadError = hadError
          resolve()
        })
      }),
    )
    ws.on('error', (error) => seen.errors.push(error.message))
    ws.on('ping', (payload) => seen.pings.push(payload.toString()))
    ws.on('pong', (payload) => seen.pongs.push(payload.toString()))
    ws.on('close', (code, reason) => (seen.close = { code, reason: reason.toString(), tcpHadError }))

    if (path === '/echo') {
      ws.on('message', (data: RawData, isBinary: boolean) => {
        const bytes = data as Buffer
        const message = isBinary ? bytes : bytes.toString('utf8')
        if (message === PING_REQUEST) {
          ws.once('pong', (payload) => ws.send(PONG_ANSWER + payload.toString()))
          ws.ping(PING_PAYLOAD)
          return
        }
        noteMessage(seen, message)
        ws.send(message)
      })
    } else if (path === '/server-closes') {
      ws.send('hello')
      ws.close(SERVER_CLOSE.code, SERVER_CLOSE.reason)
    } else {
      for (const message of burst()) ws.send(message)
      ws.close(1000)
    }
  })

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    base: `ws${tls ? 's' : ''}://127.0.0.1:${port}/`,
    observations,
    allClosed: async () => {
      await Promise.all(closings)
    },
    close: async () => {
      for (const ws of wss.clients) ws.terminate()
      await new Promise((resolve) => wss.close(resolve))
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
