/** The Sec-WebSocket-Key / Sec-WebSocket-Accept pair (RFC 6455 sections 4.1 and 4.2.2). */
import { createHash, randomBytes } from 'node:crypto'
import { watchUpgradeRequests } from './upgrade-requests'

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

/**
 * A random base64-encoded 16-byte value for the Sec-WebSocket-Key header.
 * The request that will carry it is noted, so that the client side can
 * check the answer against what the request offered.
 */
export function generateKey(): string {
  watchUpgradeRequests()
  return randomBytes(16).toString('base64')
}

/** The Sec-WebSocket-Accept value that answers `key`. */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64')
}

/** Whether `key` is the base64 encoding of exactly 16 bytes, in canonical form. */
export function isValidKey(key: string): boolean {
  if (key.length !== 24) return false
  const bytes = Buffer.from(key, 'base64')
  return bytes.length === 16 && bytes.toString('base64') === key
}
