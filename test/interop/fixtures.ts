/**
 * What every interop pair exchanges, and what it must come back as: sizes
 * around each length-encoding boundary, multibyte text, a stream of small
 * messages, and the codes each side closes with.
 */
import { createHash } from 'node:crypto'

/** Payload sizes in bytes: empty, the 7-bit limit and past it, the 16-bit limit and past it, 4 MiB. */
export const SIZES = [0, 125, 126, 65535, 65536, 4 * 1024 * 1024] as const

/** ASCII text of exactly `size` bytes; the same generator runs in the peers. */
export function textOfSize(size: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'
  return alphabet.repeat(Math.ceil(size / alphabet.length)).slice(0, size)
}

/** Binary of exactly `size` bytes; byte i is (i * 31 + 7) mod 256, in the peers too. */
export function bytesOfSize(size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size)
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 255
  return bytes
}

export const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex')

/** Every sized message as the echo must hash: text first, then binary, per size. */
export const SIZED_HASHES = SIZES.flatMap((size) => [
  { kind: 'text', size, hash: sha256(textOfSize(size)) },
  { kind: 'binary', size, hash: sha256(bytesOfSize(size)) },
])

/** CJK, emoji (4-byte sequences, a skin-tone modifier, a flag), U+FFFD itself, and a long mix. */
export const MULTIBYTE = [
  '漢字とひらがなとカタカナ',
  '😀🎉👍🏽🇯🇵',
  '\uFFFD',
  'ü é ß ✓ 😀 漢 '.repeat(5000),
]

/** What the server must record receiving: every sized message, then the multibyte ones. */
export const RECEIVED_HASHES = [
  ...SIZED_HASHES,
  ...MULTIBYTE.map((text) => ({ kind: 'text', size: Buffer.byteLength(text), hash: sha256(text) })),
]

/** How many small messages go each way, in order. */
export const SMALL_COUNT = 10_000

export const CLIENT_CLOSE = { code: 4001, reason: 'client says goodbye ✓' }
export const SERVER_CLOSE = { code: 4002, reason: 'server says goodbye ✓' }

/** The client offers these; the servers support only the second. */
export const OFFERED_PROTOCOLS = ['chat.v2', 'chat.v1']
export const SUPPORTED_PROTOCOLS = ['chat.v1']

/** A text message asking the server to ping; it answers with PONG_ANSWER + the pong's payload. */
export const PING_REQUEST = '!ping'
export const PING_PAYLOAD = 'are you there'
export const PONG_ANSWER = 'pong:'
