/**
 * The http server a WebSocketServer makes for itself when it is given a port
 * instead of a server: it listens where asked, takes upgrades like any other,
 * answers every ordinary request 426, and closes with the WebSocketServer.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'

/** Where a WebSocketServer of its own listens. */
export interface ListenOptions {
  port: number
  host?: string
  backlog?: number
}

/** What becomes of the server's listening: reported to the WebSocketServer, which re-emits it. */
export interface ListenEvents {
  listening(): void
  error(error: Error): void
}

const UPGRADE_REQUIRED = 'Upgrade Required: this server speaks WebSocket only\n'

/** Answers a request that is not an upgrade. */
function upgradeRequired(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(426, {
    // RFC 7231 §6.5.15: the server "MUST send an Upgrade header field in a 426 response".
    Upgrade: 'websocket',
    // RFC 7230 §6.7: a sender of Upgrade "MUST also send a Connection header field" naming it.
    Connection: 'Upgrade',
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(UPGRADE_REQUIRED),
  })
  res.end(UPGRADE_REQUIRED)
}

type State = 'starting' | 'listening' | 'stopping' | 'closed'

/** An http server listening for one WebSocketServer, and how to close it. */
export class OwnServer {
  readonly server: Server = createServer(upgradeRequired)
  #state: State = 'starting'
  #closing: Promise<void> | null = null
  #closed: () => void = () => {}

  constructor(where: ListenOptions, events: ListenEvents) {
    this.server.once('listening', () => {
      // Closed while it was still looking up its host: it stops at once, unannounced.
      if (this.#state === 'stopping') return this.#stop()
      this.#state = 'listening'
      events.listening()
    })
    this.server.on('error', (error) => {
      if (this.#state === 'stopping') this.#finish()
      else if (this.#state === 'starting') this.#state = 'closed'
      events.error(error)
    })
    this.server.listen({ port: where.port, host: where.host, backlog: where.backlog })
  }

  /**
   * Stops listening and ends the keep-alive connections of ordinary
   * requests (upgraded ones belong to their WebSocketDuplex). A server still
   * starting is closed once it listens, so it never outlives this.
   */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#closed = resolve
      if (this.#state === 'listening') this.#stop()
      else if (this.#state === 'starting') this.#state = 'stopping'
      else this.#finish()
    })
    return this.#closing
  }

  #stop(): void {
    this.server.close(() => this.#finish())
    this.server.closeAllConnections()
  }

  #finish(): void {
    this.#state = 'closed'
    this.#closed()
  }
}
