/**
 * The testee: the library under test, in both roles, as the simplest echo
 * application. Text comes back as text and binary as binary, through the
 * duplex; an 'error' is only logged, the library does the rest. What the
 * library reported (error codes, the 'close' event) is kept for the report.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Socket } from 'node:net'
import { type WebSocketDuplex, accept, connect, rejectUpgrade } from '../../lib/index'

export interface TesteeLog {
  errors: string[]
  closeCode: number | null
  closed: Promise<void>
}

/** Echoes every message, holding reading while the write side is backed up. */
export function echo(ws: WebSocketDuplex): TesteeLog {
  const log: TesteeLog = { errors: [], closeCode: null, closed: Promise.resolve() }
  log.closed = new Promise((resolve) => {
    ws.on('close', (code: number) => {
      log.closeCode = code
      resolve()
    })
  })
  ws.on('error', (error: Error & { code?: string }) => log.errors.push(error.code ?? error.message))
  ws.on('data', (message: string | Buffer) => {
    if (ws.writableEnded || ws.destroyed) return
    if (!ws.write(message)) {
      // Resume when the backlog drains, or when the write side has ended (no 'drain' comes then).
      ws.pause()
      const resume = () => {
        ws.off('drain', resume)
        ws.off('finish', resume)
        ws.resume()
      }
      ws.on('drain', resume)
      ws.on('finish', resume)
    }
  })
  return log
}

export interface TesteeServer {
  port: number
  /** The log of the connection that asked for `path`, once it has been accepted. */
  logFor(path: string): TesteeLog | undefined
  close(): Promise<void>
}

/**
 * An http.Server whose upgrades are accepted by the library and echoed. It
 * accepts permessage-deflate at the defaults (perMessageDeflate: true) for
 * sections 12-13; the other sections offer no extension, so it stays off there.
 */
export async function startTesteeServer(options: { closeTimeout?: number } = {}): Promise<TesteeServer> {
  const logs = new Map<string, TesteeLog>()
  const sockets = new Set<Socket>()
  const server = http.createServer((_req, res) => res.writeHead(426).end())
  server.on('upgrade', (req, socket: Socket, head: Buffer) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    try {
      logs.set(req.url ?? '', echo(accept(req, socket, head, { closeTimeout: options.closeTimeout, perMessageDeflate: true })))
    } catch (error) {
      rejectUpgrade(socket, error as Error)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    logFor: (path) => logs.get(path),
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Connects the library's client to `url` (offering permessage-deflate at the defaults, if asked) and echoes; the connection error, if any, is logged. */
export async function startTesteeClient(
  url: string,
  closeTimeout?: number,
  perMessageDeflate = false,
): Promise<{ ws: WebSocketDuplex | null; log: TesteeLog }> {
  try {
    const ws = await connect(url, { closeTimeout, perMessageDeflate })
    return { ws, log: echo(ws) }
  } catch (error) {
    const code = (error as { code?: string }).code ?? (error as Error).message
    return { ws: null, log: { errors: [`connect: ${code}`], closeCode: null, closed: Promise.resolve() } }
  }
}
