/**
 * A connection's state as one number, with WHATWG WebSocket's values, so
 * that code written against `readyState` reads the same here. A
 * WebSocketDuplex exists only once its handshake is done, so it is never
 * CONNECTING.
 */
export const ReadyState = {
  CONNECTING: 0,
  /** Messages flow both ways. */
  OPEN: 1,
  /** A CLOSE was sent or received, or the connection is failing: nothing more can be sent. */
  CLOSING: 2,
  /** The connection is destroyed; its 'close' event has been or is about to be emitted. */
  CLOSED: 3,
} as const

export type ReadyState = (typeof ReadyState)[keyof typeof ReadyState]

/** The state from what a connection shows: destroyed, and whether its closing has begun. */
export function readyStateOf(destroyed: boolean, closing: boolean): ReadyState {
  if (destroyed) return ReadyState.CLOSED
  return closing ? ReadyState.CLOSING : ReadyState.OPEN
}
