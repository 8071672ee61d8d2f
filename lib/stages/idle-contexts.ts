/**
 * Releases zlib contexts that nobody needs to keep.
 *
 * Why: a DEFLATE context costs about 256 KiB at the default window and
 * memory level (an inflater about 40 KiB), and a server holds one per
 * connection for as long as the connection lives. With context takeover
 * that memory is the price of the extension: the next message may refer
 * back into it. Without context takeover (RFC 7692 section 7.1.1) every
 * message starts from an empty window, so between messages the context holds
 * nothing worth keeping, and an idle connection need not pay for it.
 *
 * Releasing it after every message would cost a zlib initialisation per
 * message (measured here: 5 to 15 us on top of a 30 to 40 us compression of
 * 1.7 KiB). So a stage parks its context when a message is done and takes it
 * back with the next message; a context still parked after a whole sweep
 * period (between one and two periods of idleness) is released. A busy
 * connection keeps its context; an idle one holds none. One timer for the
 * process, running only while something is parked and never keeping the
 * process alive.
 */

export const DEFAULT_SWEEP_INTERVAL = 1000

/** Options of an IdleSweeper. */
export interface IdleSweeperOptions {
  /** Milliseconds between sweeps; a context idle for a whole interval goes. Default 1000. */
  interval?: number
  /**
   * Whether sweeps run on a timer (default). Without one, `sweep()` must be
   * called: what the tests use to sweep when they choose.
   */
  timer?: boolean
}

/** Releases the parked zlib contexts of stages without context takeover once they stayed parked a whole interval; a stage makes its context again for its next message. */
export class IdleSweeper {
  readonly #interval: number
  readonly #timed: boolean
  /** Parked since the last sweep: owner -> how to release its context. */
  #young = new Map<object, () => void>()
  /** Parked before the last sweep, and not taken back since: released by the next. */
  #old = new Map<object, () => void>()
  #timer: NodeJS.Timeout | null = null

  constructor(options: IdleSweeperOptions = {}) {
    const interval = options.interval ?? DEFAULT_SWEEP_INTERVAL
    if (!(Number.isSafeInteger(interval) && interval >= 1 && interval <= 0x7fffffff)) {
      throw new RangeError(`interval must be an integer from 1 to 2147483647 ms, not ${interval}`)
    }
    this.#interval = interval
    this.#timed = options.timer ?? true
  }

  /** Contexts parked and not yet released. */
  get parked(): number {
    return this.#young.size + this.#old.size
  }

  /** `owner`'s context is idle: `release` is called unless it is taken back within a sweep period. */
  park(owner: object, release: () => void): void {
    this.#old.delete(owner)
    this.#young.set(owner, release)
    if (this.#timed && this.#timer === null) {
      this.#timer = setInterval(() => this.sweep(), this.#interval)
      this.#timer.unref()
    }
  }

  /** `owner` uses its context again (or has let it go itself): keep it out of the sweeps. */
  unpark(owner: object): void {
    this.#young.delete(owner)
    this.#old.delete(owner)
  }

  /** Releases what was parked before the previous sweep and is still parked. */
  sweep(): void {
    const due = this.#old
    this.#old = this.#young
    this.#young = new Map()
    for (const release of due.values()) release()
    if (this.#old.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer)
      this.#timer = null
    }
  }
}

/** The sweeper every compression stage uses unless given another. */
export const idleSweeper = new IdleSweeper()
