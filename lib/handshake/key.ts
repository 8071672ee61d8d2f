/** The Sec-WebSocket-Key / Sec-WebSocket-Accept pair (RFC 6455 sections 4.1 and 4.2.2). */
import crypto, { createHash, randomFillSync } from 'node:crypto'
import { watchUpgradeRequests } from './upgrade-requests'

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

/**
 * A random base64-encoded 16-byte value for the Sec-WebSocket-Key header.
 * The request that will carry it is noted, so that the client side can
 * check the answer against what the request offered.
 */
export function generateKey(): string {
  watchUpgradeRequests()
  return randomKey()
}

/** Keys drawn from the system's CSPRNG 64 at a time: one call per key cost 5 µs, a pooled key 0.2. */
const keyPool = Buffer.allocUnsafe(16 * 64)
let keyOffset = keyPool.length

/** A fresh random key (base64 of 16 bytes, each used once), for a request this process writes itself. */
export function randomKey(): string {
  if (keyOffset === keyPool.length) {
    randomFillSync(keyPool)
    keyOffset = 0
  }
  return keyPool.toString('base64', keyOffset, (keyOffset += 16))
}

type OneShotHash = (algorithm: string, data: string, encoding: 'base64') => string
/** Node's one-shot digest (from 20.12), a third of a Hash object's cost on every handshake. */
const oneShot = (crypto as { hash?: OneShotHash }).hash

/** The Sec-WebSocket-Accept value that answers `key`. */
export function acceptKey(key: string): string {
  return oneShot ? oneShot('sha1', key + GUID, 'base64') : createHash('sha1').update(key + GUID).digest('base64')
}

/**
 * Sixteen bytes in canonical base64: 21 characters, then one whose low four
 * bits are zero (A, Q, g or w: only two bits of the last byte are left), then
 * the padding. A pattern, not a decode and re-encode: this runs on every
 * upgrade.
 */
const KEY_PATTERN = /^[A-Za-z0-9+/]{21}[AQgw]==$/

/** Whether `key` is the base64 encoding of exactly 16 bytes, in canonical form. */
export function isValidKey(key: string): boolean {
  return KEY_PATTERN.test(key)
}
