/**
 * Heartbeat: finds a peer that is gone without a word (a half-open TCP
 * connection, a sleeping laptop, a NAT that forgot us). Every `interval` ms
 * it pings; if neither a PONG nor any other byte has arrived `timeout` ms
 * later, the peer is declared dead.
 *
 * Any inbound byte counts as a sign of life, because a peer in the middle of
 * sending one large frame cannot put its PONG before that frame's end. A
 * round in which our own reader holds the socket paused proves nothing
 * either way, so it is not held against the peer.
 */
import type { Carrier, Transport } from './transport'
import { MAX_TIMER_DELAY } from '../protocol/limits'

/** The heartbeat: a PING every `interval` ms, and the connection dropped when nothing arrives for `timeout` ms. */
export interface HeartbeatOptions {
  /** Ms between pings. */
  interval: number
  /** Ms to wait for a sign of life after each ping. Default: `interval`. */
  timeout?: number
}

/** A number is the interval, with the timeout equal to it. */
export type HeartbeatSetting = number | HeartbeatOptions

function positive(value: unknown, what: string): number {
  if (typeof value !== 'number') throw new TypeError(`heartbeat ${what} must be a number of ms, not ${typeof value}`)
  // A longer delay would make setTimeout fire after 1 ms.
  if (!(value > 0 && value <= MAX_TIMER_DELAY)) {
    throw new RangeError(`heartbeat ${what} must be a positive number of ms up to ${MAX_TIMER_DELAY}, not ${value}`)
  }
  return value
}

/** The interval and timeout a heartbeat setting stands for; throws a TypeError or RangeError naming what is wrong. */
export function heartbeatTimes(setting: HeartbeatSetting): Required<HeartbeatOptions> {
  if (typeof setting === 'number') return { interval: positive(setting, 'interval'), timeout: setting }
  if (typeof setting !== 'object' || setting === null) {
    throw new TypeError(`heartbeat must be a number of ms or { interval, timeout }, not ${setting === null ? 'null' : typeof setting}`)
  }
  const interval = positive(setting.interval, 'interval')
  return { interval, timeout: setting.timeout === undefined ? interval : positive(setting.timeout, 'timeout') }
}

export class Heartbeat {
  readonly #socket: Carrier
  readonly #transport: Transport
  readonly #interval: number
  readonly #timeout: number
  readonly #ping: () => void
  readonly #dead: () => void
  #timer: NodeJS.Timeout | null = null
  /** Bytes read when the last ping went out; -1 while not waiting. */
  #readAtPing = -1
  #answered = false

  constructor(socket: Carrier, transport: Transport, setting: HeartbeatSetting, ping: () => void, dead: () => void) {
    const { interval, timeout } = heartbeatTimes(setting)
    this.#interval = interval
    this.#timeout = timeout
    this.#socket = socket
    this.#transport = transport
    this.#ping = ping
    this.#dead = dead
    this.#arm(this.#interval)
  }

  /** A PONG came in. */
  pong(): void {
    this.#answered = true
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    this.#readAtPing = -1
  }

  #arm(ms: number): void {
    // A heartbeat alone does not keep a process alive; the socket does.
    this.#timer = setTimeout(this.#tick, ms).unref()
  }

  readonly #tick = (): void => {
    this.#timer = null
    const waiting = this.#readAtPing !== -1
    const heardFrom = this.#answered || this.#transport.bytesRead(this.#socket) !== this.#readAtPing
    if (waiting && !heardFrom && !this.#socket.isPaused()) {
      this.#readAtPing = -1
      this.#dead()
      return
    }
    if (waiting) {
      // Alive: rest until the next ping is due.
      this.#readAtPing = -1
      this.#arm(Math.max(this.#interval - this.#timeout, 0))
      return
    }
    this.#answered = false
    this.#readAtPing = this.#transport.bytesRead(this.#socket)
    this.#ping()
    this.#arm(this.#timeout)
  }
}
