/** The `ws` package as a test peer: what it received, and how it closed. */
import type WebSocket from 'ws'
import type { RawData } from 'ws'
import { within } from './ws-wait'

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
