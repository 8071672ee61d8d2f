/**
 * Close codes passed through a message proxy. In `pipeline(a, b, a)` the
 * leg that ends because its own peer closed passes that peer's code and
 * reason on, so the far end learns why. Only a connection that is the single
 * source piped into this one says whose close to pass on; a close without a
 * code is passed on without one, and an abnormal closure (1006: no CLOSE
 * came) cannot be sent, so it leaves the caller's default.
 */
import { encodeClosePayload, isValidCloseCode } from '../protocol/close'
import { CloseStatus } from '../protocol/errors'

/** What a connection piped into ours tells: its peer's close (1006 while none came). */
export interface CloseSource {
  readonly closeCode: number
  readonly closeReason: string
  readonly readableEnded: boolean
}

export class PipedSources {
  #count = 0
  #single: CloseSource | null = null

  /** A source was piped in; `connection` is it when it is a connection. */
  piped(connection: CloseSource | null): void {
    this.#count++
    this.#single = this.#count === 1 ? connection : null
  }

  unpiped(source: unknown): void {
    this.#count--
    // pipeline() unpipes a source when it ends, just before ending us: that
    // source's close is the one to pass on, so it stays.
    const single = this.#single
    if (single !== null && source === single && !single.readableEnded) this.#single = null
  }

  /** The CLOSE payload to send for the source's close, or null when there is none to pass on. */
  forwardedClose(): Buffer | null {
    const source = this.#single
    if (source === null) return null
    const code = source.closeCode
    if (code === CloseStatus.NO_STATUS) return Buffer.alloc(0)
    return isValidCloseCode(code) ? encodeClosePayload(code, source.closeReason) : null
  }
}
