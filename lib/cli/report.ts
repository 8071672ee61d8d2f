/**
 * What the command says on stderr: one line per failure, always (never a
 * stack trace for a failure it expects), and with -v what happens on each
 * connection (opening, pings, pongs, closes). stdout carries messages only.
 */
import type { InboundMessage, WebSocketDuplex } from '../index'

export class Report {
  /** Where lines go; the terminal replaces it so that lines do not break the line being typed. */
  write: (line: string) => void = (line) => process.stderr.write(line)

  constructor(readonly verbose: boolean) {}

  /** A failure or a fact the user must see. */
  error(message: string): void {
    this.write(`watershed: ${message}\n`)
  }

  /** A fact the user needs whatever the verbosity (where a server listens). */
  notice(message: string): void {
    this.write(`watershed: ${message}\n`)
  }

  /** A fact shown with -v. */
  info(message: string): void {
    if (this.verbose) this.write(`watershed: ${message}\n`)
  }
}

/** A payload or reason as it reads on one line. */
export const quoted = (payload: Buffer | string) => JSON.stringify(typeof payload === 'string' ? payload : payload.toString('latin1'))

/** With -v: the connection's control frames and its close, each as a line prefixed by `label` (e.g. '#3 '). */
export function watchConnection(ws: WebSocketDuplex<InboundMessage>, report: Report, label = ''): void {
  if (!report.verbose) return
  ws.on('ping', (payload: Buffer) => report.info(`${label}ping received ${quoted(payload)}`))
  ws.on('pong', (payload: Buffer) => report.info(`${label}pong received ${quoted(payload)}`))
  ws.on('closing', (code: number, reason: string) => report.info(`${label}the peer closes: ${code} ${quoted(reason)}`))
  ws.on('close', (code: number, reason: string) => report.info(`${label}closed: ${code}${code === 1006 ? ' (no closing handshake)' : ''} ${quoted(reason)}`))
}

/** A connection's error as one line. */
export function describeError(error: Error): string {
  const { code, status } = error as Error & { code?: string; status?: number }
  if (code === 'WS_ERR_SOURCE_FAILED' && error.cause instanceof Error) return describeError(error.cause)
  if (code?.startsWith('WS_ERR_')) return `${error.message} (${code}${status && status >= 1000 ? `, close ${status}` : ''})`
  return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message
}
