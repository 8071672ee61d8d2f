/** The `ws` package as a test peer: a client or a server of it, what it received, and how it closed. */
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import WebSocket, { WebSocketServer, type RawData } from 'ws'
import { nextEvent, within } from './ws-wait'

/** A ws client connected to `url` (errors ignored), terminated after the test. */
export async function wsClient(t: Test, url: string, protocols?: string[]): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols)
  ws.on('error', () => {})
  t.teardown(() => ws.terminate())
  await nextEvent(ws, 'open')
  return ws
}

/** A ws server on an ephemeral port of 127.0.0.1; its first connection (errors ignored); closed after the test. */
export async function wsServer(t: Test, options: WebSocket.ServerOptions = {}) {
  const wss = new WebSocketServer({ ...options, host: '127.0.0.1', port: 0 })
  await nextEvent(wss, 'listening')
  const connection = nextEvent<[WebSocket]>(wss, 'connection')
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate()
        wss.close(() => resolve())
      }),
  )
  return {
    port: (wss.address() as AddressInfo).port,
    connection: async () => {
      const [ws] = await connection
      ws.on('error', () => {})
      return ws
    },
  }
}

/** What a ws socket receives from now on: text as strings, binary as Buffers (copied). */
export function wsReceived(ws: WebSocket): Array<string | Buffer> {
  const messages: Array<string | Buffer> = []
  ws.on('message', (data: RawData, isBinary: boolean) => {
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)
    messages.push(isBinary ? Buffer.from(bytes) : bytes.toString('utf8'))
  })
  return messages
}

/** The ws close event as [code, reason], within 5 s. */
export const wsClosed = (ws: WebSocket) =>
  within(
    new Promise<[number, string]>((resolve) => ws.once('close', (code: number, reason: Buffer) => resolve([code, reason.toString()]))),
    5000,
    'ws close',
  )
