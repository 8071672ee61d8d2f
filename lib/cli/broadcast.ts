/**
 * A server's stdin to every client: each record is written to all the open
 * connections, and the next one is read only when every one of them has
 * taken it (stdin goes as fast as the slowest client; nothing is dropped).
 * While no client is connected, stdin is not read: what is typed then goes
 * to the first client that comes.
 */
import { Writable } from 'node:stream'
import type { InboundMessage, WebSocketDuplex } from '../index'

type Connection = WebSocketDuplex<InboundMessage>

/** Resolves when `ws` has room again, or is closing (then nothing more is written to it). */
function roomIn(ws: Connection): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      ws.off('drain', done).off('closing', done).off('close', done)
      resolve()
    }
    ws.on('drain', done).on('closing', done).on('close', done)
  })
}

export class Broadcast extends Writable {
  readonly #clients = new Set<Connection>()
  /** A record held until a first client connects. */
  #held: (() => void) | null = null

  constructor() {
    super({ objectMode: true, highWaterMark: 1 })
  }

  /** A client to send to, until its closing handshake begins. */
  add(ws: Connection): void {
    this.#clients.add(ws)
    const remove = () => this.#clients.delete(ws)
    ws.once('closing', remove)
    ws.once('close', remove)
    const held = this.#held
    this.#held = null
    held?.()
  }

  override _write(message: string | Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const open = [...this.#clients].filter((ws) => !ws.writableEnded && !ws.destroyed)
    if (open.length === 0) {
      this.#held = () => this._write(message, _encoding, callback)
      return
    }
    const full = open.filter((ws) => !ws.write(message))
    if (full.length === 0) callback()
    else void Promise.all(full.map(roomIn)).then(() => callback())
  }
}
