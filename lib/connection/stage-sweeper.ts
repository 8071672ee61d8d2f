/**
 * Gives idle connections' stages back. A connection builds its read side at
 * its first byte and its write side for its first frame (inbound.ts,
 * outbound.ts); a connection that then goes quiet (a chat member between
 * messages, a dashboard between updates) would keep them for good, at
 * several KiB each. So every connection holding stages is visited by one
 * process-wide sweep: one that has moved no byte either way for a whole
 * period, with its stages between frames and messages, drops them, and
 * builds them again when the next byte comes. The sweep costs nothing per
 * message; the timer runs only while some connection holds stages and never
 * keeps the process alive.
 */

export const STAGE_SWEEP_INTERVAL = 1000

export class StageSweeper {
  readonly #interval: number
  /** Each connection holding stages, and its visit: true once it holds none (it then leaves). */
  readonly #members = new Map<object, () => boolean>()
  #timer: NodeJS.Timeout | null = null

  constructor(interval = STAGE_SWEEP_INTERVAL) {
    this.#interval = interval
  }

  get size(): number {
    return this.#members.size
  }

  /** Whether `owner` holds stages (it leaves once it holds none). */
  has(owner: object): boolean {
    return this.#members.has(owner)
  }

  add(owner: object, visit: () => boolean): void {
    this.#members.set(owner, visit)
    if (this.#timer === null) {
      this.#timer = setInterval(() => this.sweep(), this.#interval)
      this.#timer.unref()
    }
  }

  delete(owner: object): void {
    this.#members.delete(owner)
  }

  sweep(): void {
    for (const [owner, visit] of this.#members) if (visit()) this.#members.delete(owner)
    if (this.#members.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer)
      this.#timer = null
    }
  }
}

/** The sweeper every connection uses. */
export const stageSweeper = new StageSweeper()
