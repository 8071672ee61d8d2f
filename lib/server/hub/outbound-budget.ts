/**
 * The per-connection outbound budget, and what happens to a connection over
 * it. A broadcast must not wait for its slowest receiver, and a receiver
 * that stops reading must not make the process hold an ever longer queue for
 * it: each member connection may have at most `limit` bytes accepted but not
 * yet handed to the kernel (its bufferedAmount). A message that would take a
 * connection past that is not queued for it; the hub's policy says what
 * follows:
 *
 * - 'drop': that connection misses the message; the hub counts it (in all
 *   and per connection) and emits 'overflow'. The connection stays, and gets
 *   later messages once it has caught up.
 * - 'close': the connection is closed with the policy's code (1013, "try
 *   again later", or 1008, policy violation) and leaves every group. Its
 *   CLOSE frame waits behind what is queued for it, so a peer that reads
 *   nothing at all is destroyed when `closeTimeout` runs out.
 *
 * A message larger than the whole budget still goes to a connection that has
 * nothing queued: otherwise it could never reach anyone.
 */
import type { WebSocketDuplex } from '../../connection/websocket-duplex'

/** What a Hub does with a connection that cannot keep up: 'drop' the messages it has no room for, or 'close' it. */
export type SlowConsumerPolicy = 'drop' | 'close'

/** Close codes that fit a connection closed for falling behind. */
export type SlowCloseCode = 1008 | 1013

export const DEFAULT_OUTBOUND_BUDGET = 1024 * 1024
export const DEFAULT_SLOW_CLOSE_CODE: SlowCloseCode = 1013
export const DEFAULT_SLOW_CLOSE_TIMEOUT = 5000

export class OutboundBudget {
  constructor(
    readonly limit: number,
    readonly policy: SlowConsumerPolicy,
    readonly closeCode: SlowCloseCode,
    readonly closeTimeout: number,
  ) {}

  /** Whether `ws` may take a message of `bytes` now. */
  admits(ws: WebSocketDuplex, bytes: number): boolean {
    const buffered = ws.bufferedAmount
    return buffered === 0 || buffered + bytes <= this.limit
  }

  /**
   * Closes `ws` for falling behind: the CLOSE goes after what is queued, and
   * if the closing handshake has not ended in closeTimeout ms, the connection
   * is destroyed.
   */
  closeSlow(ws: WebSocketDuplex): void {
    const timer = setTimeout(() => ws.destroy(), this.closeTimeout).unref()
    ws.once('close', () => clearTimeout(timer))
    ws.close(this.closeCode, 'too slow: outbound budget exceeded')
  }
}
