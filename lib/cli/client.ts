/** `watershed URL`: one connection, joined to stdin and stdout or, with --exec, to a program. */
import { connect, type InboundMessage, type WebSocketDuplex } from '../index'
import type { CliOptions } from './args'
import { connectOptions } from './connection-options'
import { connectFailure, exitCodeOf, outcomeLine } from './exit-codes'
import { runCommand } from './exec'
import { watchConnection, type Report } from './report'
import { Session } from './session'
import type { Interrupts } from './signals'
import { openStdio } from './stdio'

/** Runs the client; resolves to the exit status once everything received has been written. */
export async function runClient(options: CliOptions, url: URL, report: Report, interrupts: Interrupts): Promise<number> {
  const abort = new AbortController()
  interrupts.onInterrupt(() => abort.abort())
  const halfOpen = options.exec !== null
  let ws: WebSocketDuplex<InboundMessage>
  try {
    ws = await connect(url, { ...connectOptions(options, halfOpen), signal: abort.signal })
  } catch (error) {
    if (interrupts.signal) return interrupts.exitCode
    const failure = connectFailure(error, url.href)
    report.error(failure.message)
    return failure.exitCode
  }
  const negotiated = [ws.protocol && `subprotocol ${ws.protocol}`, ws.extensions && `extensions ${ws.extensions}`].filter(Boolean)
  report.info(`connected to ${url.href}${negotiated.length > 0 ? ` (${negotiated.join(', ')})` : ''}`)
  watchConnection(ws, report)

  let session: Session
  let finished: Promise<unknown>
  if (options.exec) {
    const command = runCommand(ws, options, report, { url: url.href, protocol: ws.protocol })
    session = command.session
    finished = command.exited
  } else {
    const stdio = openStdio(options, report, interrupts)
    session = new Session(ws, {
      records: stdio.records,
      whole: stdio.whole,
      sink: stdio.sink,
      afterInput: stdio.afterInput,
      // Nobody reads our output any more (`| head -1`): we go away.
      outputFailed: () => session.interrupt(1001, 'output closed'),
      halfOpen: false,
      report,
    })
    finished = session.done.then(() => stdio.sink.flushed()).finally(() => stdio.terminal?.close())
  }
  interrupts.onInterrupt(() => session.interrupt())
  const outcome = await session.done
  await finished
  if (interrupts.signal) return interrupts.exitCode
  const line = outcomeLine(outcome)
  if (line) report.error(line)
  return exitCodeOf(outcome)
}
