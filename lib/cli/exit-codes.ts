/**
 * The exit status of the command, one per way a run can end, so that a
 * script can tell a refused handshake from a dropped connection.
 */
import { HandshakeError, WebSocketError } from '../index'

export const ExitCode = {
  /** The connection closed cleanly (or the server stopped by itself). */
  OK: 0,
  /** The connection closed with an error: the peer's close code, a protocol error, bad input, a failed command. */
  FAILURE: 1,
  /** The command line is wrong; nothing was connected. */
  USAGE: 2,
  /** No connection: the address could not be reached or listened on, TLS failed, no answer in time. */
  CONNECTION_FAILED: 3,
  /** The server answered the upgrade, but not with an acceptable 101. */
  HANDSHAKE_REFUSED: 4,
  /** The connection was lost without a closing handshake (1006). */
  ABNORMAL_CLOSURE: 5,
  /** Stopped by SIGINT (128 + 2), after the graceful close or at once on the second one. */
  INTERRUPTED: 130,
  /** Stopped by SIGTERM (128 + 15). */
  TERMINATED: 143,
} as const

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

/** A failure known in advance, reported as one line on stderr with its exit status (no stack trace). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message)
    this.name = 'CliError'
  }
}

/** A wrong command line: exit status 2. */
export const usageError = (message: string) => new CliError(message, ExitCode.USAGE)

/** How a connection ended, as the exit status judges it. */
export interface Outcome {
  /** The peer's close code (1005: none given, 1006: no CLOSE came). */
  code: number
  reason: string
  /** The code of the CLOSE we sent first, before the peer's arrived; null if the peer closed first. */
  closedFirstWith: number | null
  /** The failure that ended the connection, if any. */
  error: Error | null
}

/** Close codes that end a connection normally when the peer chooses them. */
const NORMAL_CODES = new Set([1000, 1001, 1005])

/** The exit status for a connection that ended with `outcome`. */
export function exitCodeOf(outcome: Outcome): number {
  const { error } = outcome
  if (error instanceof WebSocketError) {
    // Closed by us without the peer's answer, or by no one: the connection was lost.
    if (error.code === 'WS_ERR_HEARTBEAT_TIMEOUT' || error.code === 'WS_ERR_ABNORMAL_CLOSURE') return ExitCode.ABNORMAL_CLOSURE
    return ExitCode.FAILURE
  }
  if (error) return (error as NodeJS.ErrnoException).code ? ExitCode.ABNORMAL_CLOSURE : ExitCode.FAILURE
  if (outcome.code === 1006) return ExitCode.ABNORMAL_CLOSURE
  // The peer's answer echoes our code, or says it failed (a server's 1011).
  if (NORMAL_CODES.has(outcome.code) || outcome.code === outcome.closedFirstWith) return ExitCode.OK
  return ExitCode.FAILURE
}

/** The exit status and the line to print for a connect() that failed. */
export function connectFailure(error: unknown, url: string): CliError {
  if (error instanceof HandshakeError) {
    if (error.code === 'WS_ERR_UNEXPECTED_RESPONSE') {
      const body = firstLine(error.body ?? '')
      return new CliError(`${url} refused the upgrade: HTTP ${error.statusCode}${body ? `: ${body}` : ''}`, ExitCode.HANDSHAKE_REFUSED)
    }
    return new CliError(`${url}: bad handshake answer: ${error.message}`, ExitCode.HANDSHAKE_REFUSED)
  }
  const failure = error as NodeJS.ErrnoException
  const what = failure.code && !failure.message.includes(failure.code) ? `${failure.message} (${failure.code})` : failure.message
  return new CliError(`cannot connect to ${url}: ${what}`, ExitCode.CONNECTION_FAILED)
}

/** The first line of `text`, shortened for one line of stderr. */
export function firstLine(text: string): string {
  const line = text.trim().split('\n', 1)[0] ?? ''
  return line.length > 200 ? `${line.slice(0, 200)}...` : line
}

/** The line to print for an outcome that is not a clean close and has no error of its own to show. */
export function outcomeLine(outcome: Outcome): string | null {
  if (outcome.error) return null
  if (outcome.code === 1006) return 'the connection was lost without a closing handshake (1006)'
  if (exitCodeOf(outcome) === ExitCode.OK) return null
  return `the peer closed the connection with ${outcome.code}${outcome.reason ? ` ${JSON.stringify(outcome.reason)}` : ''}`
}
