/**
 * Every error the library raises is made here: a message, a stable `code`
 * string to branch on, and the close status that the RFC assigns to it (sent
 * to the peer when the error fails a connection).
 */

/** Close statuses from RFC 6455 section 7.4.1. */
export const CloseStatus = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  NO_STATUS: 1005,
  ABNORMAL: 1006,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  MANDATORY_EXTENSION: 1010,
  INTERNAL_ERROR: 1011,
} as const

/** The stable `code` of every WebSocketError; the README lists what each one means. */
export type WebSocketErrorCode =
  | 'WS_ERR_INVALID_OPCODE'
  | 'WS_ERR_UNEXPECTED_RSV'
  | 'WS_ERR_FRAGMENTED_CONTROL'
  | 'WS_ERR_CONTROL_TOO_LONG'
  | 'WS_ERR_MASK_REQUIRED'
  | 'WS_ERR_UNEXPECTED_MASK'
  | 'WS_ERR_INVALID_LENGTH'
  | 'WS_ERR_PAYLOAD_TOO_LARGE'
  | 'WS_ERR_MESSAGE_TOO_LARGE'
  | 'WS_ERR_TOO_MANY_FRAGMENTS'
  | 'WS_ERR_UNEXPECTED_CONTINUATION'
  | 'WS_ERR_EXPECTED_CONTINUATION'
  | 'WS_ERR_INVALID_UTF8'
  | 'WS_ERR_INVALID_COMPRESSED_DATA'
  | 'WS_ERR_COMPRESSION_FAILED'
  | 'WS_ERR_INVALID_CLOSE_CODE'
  | 'WS_ERR_INVALID_CLOSE_PAYLOAD'
  | 'WS_ERR_ABNORMAL_CLOSURE'
  | 'WS_ERR_WRITE_AFTER_CLOSE'
  | 'WS_ERR_HANDSHAKE'
  | 'WS_ERR_HANDSHAKE_TIMEOUT'
  | 'WS_ERR_UNSUPPORTED_VERSION'
  | 'WS_ERR_INVALID_EXTENSION'
  | 'WS_ERR_UNEXPECTED_RESPONSE'
  | 'WS_ERR_HTTP2_UNSUPPORTED'
  | 'WS_ERR_RESPONSE_HEADERS_TOO_LARGE'
  | 'WS_ERR_TOO_MANY_REDIRECTS'
  | 'WS_ERR_INVALID_REDIRECT'
  | 'WS_ERR_HEARTBEAT_TIMEOUT'
  | 'WS_ERR_UNREAD_MESSAGES'
  | 'WS_ERR_SOURCE_FAILED'

/** A protocol or connection failure; `status` is the close code it maps to. */
export class WebSocketError extends Error {
  readonly code: WebSocketErrorCode
  readonly status: number

  constructor(code: WebSocketErrorCode, status: number, message: string) {
    super(message)
    this.name = 'WebSocketError'
    this.code = code
    this.status = status
  }
}

/**
 * A failed opening handshake. On the server, `statusCode`, `headers` and
 * `body` are the HTTP answer it deserves. From `connect()`, a refusal
 * (WS_ERR_UNEXPECTED_RESPONSE) carries the server's answer: its status, its
 * header fields (names in lower case) and the start of its body (at most 4 KiB).
 */
export class HandshakeError extends WebSocketError {
  readonly statusCode: number
  readonly headers: Readonly<Record<string, string>>
  /** The body of the HTTP answer; the message when not set. */
  body?: string

  constructor(
    code: WebSocketErrorCode,
    message: string,
    statusCode = 400,
    headers: Record<string, string> = {},
  ) {
    super(code, CloseStatus.PROTOCOL_ERROR, message)
    this.name = 'HandshakeError'
    this.statusCode = statusCode
    this.headers = headers
  }
}

export const protocolError = (code: WebSocketErrorCode, message: string) =>
  new WebSocketError(code, CloseStatus.PROTOCOL_ERROR, message)

export const tooBig = (code: WebSocketErrorCode, message: string) =>
  new WebSocketError(code, CloseStatus.MESSAGE_TOO_BIG, message)

export const invalidUtf8 = () =>
  new WebSocketError('WS_ERR_INVALID_UTF8', CloseStatus.INVALID_PAYLOAD, 'invalid UTF-8 in text message')

/**
 * A compressed message that does not inflate: the connection fails. RFC
 * 7692 names no status for it; 1007 is RFC 6455's for "data within a
 * message that was not consistent with the type of the message" (a message
 * marked compressed that is not DEFLATE data is that), and it is what ws
 * sends for the same fault.
 */
export const invalidCompressedData = (detail: string) =>
  new WebSocketError('WS_ERR_INVALID_COMPRESSED_DATA', CloseStatus.INVALID_PAYLOAD, `invalid compressed data: ${detail}`)

/**
 * The source of a message being streamed out failed (or yielded bad text):
 * the message cannot be finished, so the connection is failed with 1011.
 * `cause` is what the source threw.
 */
export function sourceFailed(cause: unknown): WebSocketError {
  const reason = cause instanceof Error ? cause.message : String(cause)
  const error = new WebSocketError('WS_ERR_SOURCE_FAILED', CloseStatus.INTERNAL_ERROR, `the message's source failed: ${reason}`)
  Object.defineProperty(error, 'cause', { value: cause, configurable: true, writable: true })
  return error
}
