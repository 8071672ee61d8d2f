/**
 * What one connection looked like from the server's side, recorded the same
 * way whichever library is the server: what arrived (hashed), pings and
 * pongs, errors, and how it closed.
 */
import { SMALL_COUNT, sha256 } from './fixtures'

export interface ServerObservation {
  path: string
  protocol: string | null
  /** Each message as kind, size and hash, in arrival order. */
  received: Array<{ kind: 'text' | 'binary'; size: number; hash: string }>
  /** How many of the small messages arrived, and whether in order. */
  small: { count: number; inOrder: boolean }
  pongs: string[]
  pings: string[]
  errors: string[]
  /** Set once the connection has closed. */
  close: { code: number; reason: string; tcpHadError: boolean } | null
}

export function newObservation(path: string, protocol: string | null): ServerObservation {
  return { path, protocol, received: [], small: { count: 0, inOrder: true }, pongs: [], pings: [], errors: [], close: null }
}

/** Notes one echoed message: small numbered ones by order, the rest by hash. */
export function noteMessage(seen: ServerObservation, message: string | Buffer): void {
  if (typeof message === 'string' && message.startsWith('n:')) {
    if (message !== `n:${seen.small.count}`) seen.small.inOrder = false
    seen.small.count++
    return
  }
  const size = typeof message === 'string' ? Buffer.byteLength(message) : message.length
  seen.received.push({ kind: typeof message === 'string' ? 'text' : 'binary', size, hash: sha256(message) })
}

export function* burst(): Generator<string> {
  for (let i = 0; i < SMALL_COUNT; i++) yield `b:${i}`
}
