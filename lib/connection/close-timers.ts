/**
 * The waits that bound a connection's ending, each closeTimeout long: the
 * close timer (the peer's part of the closing handshake, then the TCP
 * connection is dropped) and the unread timer (after TCP closed, a reader
 * that stopped must still learn that the connection is over).
 *
 * Neither holds a slow reader against anyone: a reader still working
 * through what came before (messages read, bytes of a message stream) is
 * progress, not a hang, so a period that shows some starts the wait again.
 * A connection makes a timer only when it arms one, so an idle connection
 * carries none; what the timer looks at, it is handed.
 */
import { CloseStatus, WebSocketError } from '../protocol/errors'

/** A timer that runs out after `ms` with no progress while progress counts, and waits again after each period with some. */
export class ProgressTimer {
  readonly #ms: number
  /** How far the reader has got: it grows while the reader makes progress. */
  readonly #progress: () => number
  /** Whether progress counts now; when it does not, the time is up. */
  readonly #patient: () => boolean
  readonly #expire: () => void
  /** The progress when the period began. */
  #seen: number
  #timer: NodeJS.Timeout

  constructor(ms: number, progress: () => number, patient: () => boolean, expire: () => void) {
    this.#ms = ms
    this.#progress = progress
    this.#patient = patient
    this.#expire = expire
    this.#seen = progress()
    // A closing connection's timer does not keep the process alive; its socket does.
    this.#timer = setTimeout(this.#tick, ms).unref()
  }

  stop(): void {
    clearTimeout(this.#timer)
  }

  readonly #tick = (): void => {
    if (this.#patient() && this.#progress() !== this.#seen) {
      this.#seen = this.#progress()
      this.#timer = setTimeout(this.#tick, this.#ms).unref()
      return
    }
    this.#expire()
  }
}

/** The end of the unread timer: the connection closed with `unread` messages its reader never took. */
export function unreadMessagesError(unread: number, failure: Error | null): WebSocketError {
  const error = new WebSocketError('WS_ERR_UNREAD_MESSAGES', CloseStatus.ABNORMAL,
    `the connection closed with ${unread} message${unread === 1 ? '' : 's'} not read`)
  if (failure) error.cause = failure
  return error
}
