/** stdin and stdout as the local end of a connection (client mode, and a server with --once or broadcasting). */
import type { Readable } from 'node:stream'
import { limits } from '../index'
import type { CliOptions } from './args'
import { NEWLINE, RecordSplitter } from './framing'
import { MessageSink } from './message-sink'
import type { Report } from './report'
import type { CloseChoice, SessionEnds } from './session'
import type { Interrupts } from './signals'
import { Terminal } from './terminal'

export interface Stdio {
  records: Readable | null
  whole: SessionEnds['whole']
  sink: MessageSink
  /** What the input's end does: close with --close-code (1000), or nothing with --no-close. */
  afterInput: () => CloseChoice
  terminal: Terminal | null
}

/** The largest record read from a byte stream: the message limit, or the library's default. */
export const maxRecord = (options: CliOptions) => options.maxMessageSize ?? limits.DEFAULT_MAX_MESSAGE_SIZE

/** Records from stdin (typed lines, in a terminal) and a sink on stdout. */
export function openStdio(options: CliOptions, report: Report, interrupts: Interrupts): Stdio {
  const { framing } = options
  const afterInput = (): CloseChoice => (options.noClose ? null : [options.closeCode, options.closeReason])
  const interactive =
    process.stdin.isTTY && process.stdout.isTTY && framing.delimiter === NEWLINE && !framing.binary && !framing.whole
  if (interactive) {
    const terminal = new Terminal(process.stdin, process.stdout, interrupts, report)
    return { records: terminal.lines, whole: null, sink: new MessageSink(terminal.output, framing), afterInput, terminal }
  }
  const sink = new MessageSink(process.stdout, framing)
  if (framing.whole) return { records: null, whole: { source: process.stdin, binary: framing.binary }, sink, afterInput, terminal: null }
  const records = process.stdin.pipe(new RecordSplitter(framing, maxRecord(options)))
  return { records, whole: null, sink, afterInput, terminal: null }
}
