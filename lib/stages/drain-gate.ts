/**
 * Holds an action until everything a readable has already pushed has been
 * read. The stages fail through it so that an error never overtakes the
 * frames or messages that arrived before the bad byte: a peer that sends a
 * good message and then garbage gets its message delivered, then the error.
 */
import type { Readable } from 'node:stream'

export class DrainGate {
  readonly #stream: Readable
  #action: (() => void) | null = null

  constructor(stream: Readable) {
    this.#stream = stream
  }

  /** Runs `action` now if nothing is buffered, otherwise after the last buffered item is read. */
  hold(action: () => void): void {
    this.#action = action
    this.check()
  }

  /** The owner calls this after every read(). */
  check(): void {
    const action = this.#action
    if (action !== null && this.#stream.readableLength === 0) {
      this.#action = null
      action()
    }
  }
}
