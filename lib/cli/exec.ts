/**
 * --exec: a connection joined to a program of its own. Messages go to the
 * program's stdin (framed as asked), its stdout is cut into messages, and
 * its exit closes the connection: 1000 for status 0, 1011 otherwise. When
 * the peer closes first, the program's stdin ends and its last output is
 * still sent (the connection is half-open until then); a program that does
 * not exit within --kill-after gets SIGTERM, and as long again later SIGKILL.
 */
import { spawn } from 'node:child_process'
import type { InboundMessage, WebSocketDuplex } from '../index'
import type { CliOptions } from './args'
import { RecordSplitter } from './framing'
import { MessageSink } from './message-sink'
import type { Report } from './report'
import { type CloseChoice, Session } from './session'
import { maxRecord } from './stdio'

/** A close reason fits in 123 bytes. */
const short = (text: string) => (Buffer.byteLength(text) > 100 ? `${text.slice(0, 97)}...` : text)

/** Facts about the connection, given to the program as environment variables. */
export interface ConnectionFacts {
  remoteAddress?: string
  url?: string
  protocol: string | null
}

export function runCommand(
  ws: WebSocketDuplex<InboundMessage>,
  options: CliOptions,
  report: Report,
  facts: ConnectionFacts,
  label = '',
): { session: Session; exited: Promise<CloseChoice> } {
  const [command, ...args] = options.exec!
  const env: NodeJS.ProcessEnv = { ...process.env, WATERSHED_PROTOCOL: facts.protocol ?? '' }
  if (facts.remoteAddress !== undefined) env.WATERSHED_REMOTE_ADDRESS = facts.remoteAddress
  if (facts.url !== undefined) env.WATERSHED_URL = facts.url
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'], env })
  report.info(`${label}started ${command} (pid ${child.pid ?? 'none'})`)

  const exited = new Promise<CloseChoice>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      report.error(`${label}cannot run ${command}: ${error.code === 'ENOENT' ? 'command not found' : error.message}`)
      resolve([1011, short(`cannot run ${command}`)])
    })
    child.once('exit', (status, signal) => {
      clearTimeout(killTimer)
      const how = signal ? `was killed by ${signal}` : `exited with ${status}`
      report.info(`${label}${command} ${how}`)
      resolve(status === 0 ? [1000, ''] : [1011, short(`${command} ${how}`)])
    })
  })

  let killTimer: NodeJS.Timeout | undefined
  // The peer is done: the program's input ends, and it has --kill-after to finish.
  const windDown = () => {
    if (!child.stdin.writableEnded) child.stdin.end()
    if (killTimer || child.exitCode !== null || child.signalCode !== null) return
    killTimer = setTimeout(() => {
      child.kill('SIGTERM')
      killTimer = setTimeout(() => child.kill('SIGKILL'), options.killAfter)
      killTimer.unref()
    }, options.killAfter)
    killTimer.unref()
  }

  const { framing } = options
  const source = child.stdout
  const session = new Session(ws, {
    records: framing.whole ? null : source.pipe(new RecordSplitter(framing, maxRecord(options))),
    whole: framing.whole ? { source, binary: framing.binary } : null,
    sink: new MessageSink(child.stdin, framing),
    afterInput: () => exited,
    afterOutput: windDown,
    // A program that stops reading its input: what it did not read is dropped, its exit closes.
    outputFailed: () => report.info(`${label}${command} closed its input`),
    halfOpen: true,
    report,
    label,
  })
  // However the connection ended, the program is not left running.
  void session.done.then(windDown)
  return { session, exited }
}
