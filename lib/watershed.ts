/**
 * The original watershed API, kept whole as a thin facade over the streams
 * core: the `Watershed` factory and the event-emitting `WatershedConnection`.
 * Unlike the original, fragmented messages, UTF-8, close codes, reserved
 * bits and opcodes are handled as RFC 6455 requires, and the caller's
 * Buffers are never masked in place.
 */
import { EventEmitter } from 'node:events'
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex as NodeDuplex } from 'node:stream'
import { clientFromUpgrade } from './client-handshake'
import { generateKey } from './handshake-key'
import { accept } from './server-handshake'
import type { WebSocketDuplex } from './websocket-duplex'

/** The symbolic names the original gave close codes in its 'end' event. */
export const CLOSE_CODE_NAMES: Readonly<Record<number, string>> = {
  1000: 'NORMAL',
  1001: 'GOING_AWAY',
  1002: 'PROTOCOL_ERROR',
  1003: 'UNACCEPTABLE',
  1007: 'MALFORMED',
  1008: 'POLICY_VIOLATION',
  1009: 'TOO_BIG',
  1010: 'MISSING_EXTENSION',
  1011: 'UNEXPECTED_ERROR',
}

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'WS_ERR_ABNORMAL_CLOSURE'])

/**
 * One WebSocket connection, as events: 'text', 'binary', 'ping', 'pong',
 * 'error', 'connectionReset' and, once, 'end' (code, reason, numericCode).
 */
export class WatershedConnection extends EventEmitter {
  /** The streams-first connection underneath. */
  readonly duplex: WebSocketDuplex
  #failed = false
  #reset = false
  #destroyed = false

  constructor(duplex: WebSocketDuplex) {
    super()
    this.duplex = duplex
    duplex.on('data', (message: string | Buffer) => {
      if (typeof message === 'string') this.emit('text', message)
      else this.emit('binary', message)
    })
    duplex.on('ping', (payload: Buffer) => this.emit('ping', payload))
    duplex.on('pong', (payload: Buffer) => this.emit('pong', payload))
    duplex.on('error', (error: Error & { code?: string }) => {
      if (RESET_CODES.has(error.code ?? '')) {
        this.#reset = true
        this.emit('connectionReset')
        return
      }
      this.#failed = true
      // A hostile peer must not crash a process that did not listen for errors.
      if (this.listenerCount('error') > 0) this.emit('error', error)
    })
    duplex.on('close', (code: number, reason: string) => {
      const received = code !== 1006
      if (!received && !this.#failed && !this.#reset && !this.#destroyed) this.emit('connectionReset')
      if (received && code !== 1005) this.emit('end', CLOSE_CODE_NAMES[code] ?? String(code), reason, code)
      else this.emit('end', null, received ? reason : null, received ? code : null)
    })
  }

  /** Public: the negotiated subprotocol, or null. */
  getProtocol(): string | null {
    return this.duplex.protocol
  }

  /** Public: sends a Buffer as a binary message, a string as a text message. */
  send(data: string | Buffer | Uint8Array): boolean {
    return this.duplex.write(data)
  }

  /** Public: starts the closing handshake, with an optional reason. */
  end(reason?: string): void {
    this.duplex.close(1000, reason ?? '')
  }

  /** Public: destroys the socket at once, without a CLOSE frame. */
  destroy(): void {
    this.#destroyed = true
    this.duplex.destroy()
  }
}

export class Watershed {
  /**
   * Public: accepts an upgrade from an http.Server 'upgrade' event. With
   * `raw`, returns the socket itself; `protocols` lists the supported
   * subprotocols. Throws on a request that is not an acceptable upgrade.
   */
  accept(req: IncomingMessage, socket: NodeDuplex, head?: Buffer, raw?: false, protocols?: readonly string[]): WatershedConnection
  accept(req: IncomingMessage, socket: NodeDuplex, head: Buffer | undefined, raw: true, protocols?: readonly string[]): Socket
  accept(
    req: IncomingMessage,
    socket: NodeDuplex,
    head?: Buffer,
    raw?: boolean,
    protocols?: readonly string[],
  ): WatershedConnection | Socket {
    if (raw) return accept(req, socket, head ?? Buffer.alloc(0), { raw: true, protocols })
    return new WatershedConnection(accept(req, socket, head, { protocols }))
  }

  /** Public: a random base64 16-byte value for the Sec-WebSocket-Key header. */
  generateKey(): string {
    return generateKey()
  }

  /**
   * Public: attaches a client connection to a socket from an
   * http.ClientRequest 'upgrade' event. Throws on an invalid response.
   */
  connect(res: IncomingMessage, socket: NodeDuplex, head: Buffer, wskey: string): WatershedConnection {
    return new WatershedConnection(clientFromUpgrade(res, socket, head, wskey))
  }
}
