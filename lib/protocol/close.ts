/**
 * The CLOSE frame's payload (RFC 6455 sections 5.5.1 and 7.4): empty, or a
 * 2-byte status code followed by a UTF-8 reason, 125 bytes in all.
 */
import { isUtf8 } from 'node:buffer'
import { CloseStatus, WebSocketError, invalidUtf8, protocolError } from './errors'
import { MAX_CONTROL_PAYLOAD } from './frame'

/** The most reason bytes that fit beside the status code. */
export const MAX_CLOSE_REASON = MAX_CONTROL_PAYLOAD - 2

/** Codes an endpoint may put on the wire: 1004-1006 and 1015 are reserved for reporting only. */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1003) ||
    (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999)
  )
}

/** A CLOSE frame's payload, parsed: its status code and UTF-8 reason. */
export interface ClosePayload {
  /** The status code, or 1005 (no status) for an empty payload. */
  code: number
  reason: string
}

/** Reads a received CLOSE payload, or returns the error that fails the connection. */
export function parseClosePayload(payload: Buffer): ClosePayload | WebSocketError {
  if (payload.length === 0) return { code: CloseStatus.NO_STATUS, reason: '' }
  if (payload.length === 1) {
    return protocolError('WS_ERR_INVALID_CLOSE_PAYLOAD', 'close frame payload of 1 byte')
  }
  const code = payload.readUInt16BE(0)
  if (!isValidCloseCode(code)) {
    return protocolError('WS_ERR_INVALID_CLOSE_CODE', `invalid close code ${code}`)
  }
  const reason = payload.subarray(2)
  if (!isUtf8(reason)) return invalidUtf8()
  return { code, reason: reason.toString('utf8') }
}

/**
 * Builds the payload for a CLOSE frame we send. No code means an empty
 * payload. Bad codes and overlong reasons are the caller's mistake: thrown.
 */
export function encodeClosePayload(code?: number, reason: string | Uint8Array = ''): Buffer {
  if (code === undefined) {
    if (reason.length > 0) throw new TypeError('a close reason needs a close code')
    return Buffer.alloc(0)
  }
  if (!Number.isInteger(code) || !isValidCloseCode(code)) {
    throw new RangeError(`close code ${code} may not be sent (allowed: 1000-1003, 1007-1014, 3000-4999)`)
  }
  let reasonBytes: Buffer
  if (typeof reason === 'string') {
    reasonBytes = Buffer.from(reason, 'utf8')
  } else if (reason instanceof Uint8Array) {
    if (!isUtf8(reason)) throw new TypeError('close reason is not valid UTF-8')
    reasonBytes = Buffer.from(reason)
  } else {
    throw new TypeError('close reason must be a string or a Uint8Array')
  }
  if (reasonBytes.length > MAX_CLOSE_REASON) {
    throw new RangeError(`close reason is ${reasonBytes.length} bytes; at most ${MAX_CLOSE_REASON} fit`)
  }
  const payload = Buffer.allocUnsafe(2 + reasonBytes.length)
  payload.writeUInt16BE(code, 0)
  reasonBytes.copy(payload, 2)
  return payload
}
