/** The library's options that the command line stands for, in every mode. */
import type { AcceptOptions, ConnectOptions } from '../index'
import type { CliOptions } from './args'

/**
 * Messages whose first frame is longer than this are read as streams, so a
 * large one goes to its destination as it arrives, never held whole. (Under
 * 16 KiB, so that it also holds for compressed messages, whose first
 * inflated piece is at most that.)
 */
const STREAM_THRESHOLD = 8 * 1024

/** What every connection gets, client or server. */
function shared(options: CliOptions, halfOpen: boolean): AcceptOptions {
  const connection: AcceptOptions = {
    // A length prefix needs the length before the bytes: those messages come whole.
    streamMessages: options.framing.lengthPrefixed ? undefined : { threshold: STREAM_THRESHOLD },
    allowHalfOpen: halfOpen,
  }
  if (options.maxMessageSize !== undefined) {
    connection.maxMessageSize = options.maxMessageSize
    connection.maxStreamedMessageSize = options.maxMessageSize
  }
  if (options.heartbeat) connection.heartbeat = options.heartbeat
  if (options.closeTimeout !== undefined) connection.closeTimeout = options.closeTimeout
  if (options.compress) connection.perMessageDeflate = true
  return connection
}

/** The TLS settings of a connection we make. */
export function clientTls(options: CliOptions): ConnectOptions['requestOptions'] {
  const { ca, cert, key, insecure } = options.tls
  return { ca, cert, key, rejectUnauthorized: !insecure }
}

/**
 * Options of connect(). `halfOpen`: after the peer's CLOSE, keep sending
 * until our side is done (a command's last output), then answer.
 */
export function connectOptions(options: CliOptions, halfOpen: boolean): ConnectOptions {
  const headers = { ...options.headers }
  if (options.origin !== undefined) headers.Origin = options.origin
  return {
    ...shared(options, halfOpen),
    headers,
    protocols: options.protocols,
    requestOptions: clientTls(options),
  }
}

/** Options of each connection a server accepts. */
export function acceptOptions(options: CliOptions, halfOpen: boolean): AcceptOptions {
  return {
    ...shared(options, halfOpen),
    protocols: options.protocols,
    headers: options.headers,
  }
}
