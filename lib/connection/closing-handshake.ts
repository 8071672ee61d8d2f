/**
 * The closing handshake of one connection (RFC 6455 sections 5.5.1 and 7),
 * as a state machine. The connection (websocket-duplex.ts) reports what
 * happens; this says where the handshake stands and so what may still be
 * sent, and keeps the peer's CLOSE and the failure, if any.
 *
 *              we send CLOSE                   the peer's CLOSE
 *   ┌──────┐ ────────────────▶ ┌───────────┐ ────────────────────▶ ┌─────────┐
 *   │ open │                   │ closeSent │                       │ closing │
 *   └──────┘ ────────────────▶ ┌───────────────┐ ────────────────▶ └─────────┘
 *       the peer's CLOSE       │ closeReceived │   we answer it         │
 *                              └───────────────┘                        │
 *   open, closeSent, closeReceived ──a failure──▶ failed                │
 *     (our CLOSE with the failure's status goes out if none did)        │
 *   every state ──────────────────── TCP closed ─────────▶ closed ◀─────┘
 *
 * - open: messages flow both ways.
 * - closeSent: our CLOSE is out (section 5.5.1: no data frame may follow it);
 *   the peer's messages are still read until its CLOSE comes.
 * - closeReceived: the peer has said all it will; our answer waits for the
 *   reader to read past the CLOSE (or for end() with allowHalfOpen).
 * - closing: both CLOSEs exchanged; the server closes TCP first, the client
 *   waits for it (section 7.1.1), bounded by closeTimeout.
 * - failed: a protocol or connection failure (section 7.1.7); TCP is closed.
 * - closed: TCP is closed. A failure found only now (the last frames held a
 *   protocol error) is still recorded.
 */
import type { ControlFrame } from '../protocol/control-frame'

export type ClosingState = 'open' | 'closeSent' | 'closeReceived' | 'closing' | 'failed' | 'closed'

export class ClosingHandshake {
  #state: ClosingState = 'open'
  #peerClose: ControlFrame | null = null
  #closeSent = false
  #failure: Error | null = null

  get state(): ClosingState {
    return this.#state
  }

  /** Our CLOSE has gone out (after end() or close(), or with a failure). */
  get closeSent(): boolean {
    return this.#closeSent
  }

  /** The peer's CLOSE, once it came. */
  get peerClose(): ControlFrame | null {
    return this.#peerClose
  }

  /** The failure that ends the connection, once there is one. */
  get failure(): Error | null {
    return this.#failure
  }

  /** Frames may still go out: no CLOSE of ours and no failure. */
  get canSend(): boolean {
    return this.#state === 'open' || this.#state === 'closeReceived'
  }

  /** Both CLOSEs have been exchanged: TCP is to be closed. */
  get exchanged(): boolean {
    return this.#closeSent && this.#peerClose !== null
  }

  /** TCP is closed. */
  get closed(): boolean {
    return this.#state === 'closed'
  }

  /** Our CLOSE went out. */
  sent(): void {
    this.#closeSent = true
    if (this.#state === 'open') this.#state = 'closeSent'
    else if (this.#state === 'closeReceived') this.#state = 'closing'
  }

  /** The peer's CLOSE came (the first one only counts: nothing is read after it). */
  received(frame: ControlFrame): void {
    if (this.#peerClose !== null) return
    this.#peerClose = frame
    if (this.#state === 'open') this.#state = 'closeReceived'
    else if (this.#state === 'closeSent') this.#state = 'closing'
  }

  /** A failure: false if there was one already (the first one is the one reported). */
  fail(error: Error): boolean {
    if (this.#failure !== null) return false
    this.#failure = error
    if (this.#state !== 'closed') this.#state = 'failed'
    return true
  }

  /** TCP is closed. */
  tcpClosed(): void {
    this.#state = 'closed'
  }
}
