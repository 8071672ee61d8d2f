/**
 * `watershed --listen [HOST:]PORT`: with --exec, a program per connection;
 * with --once, one connection joined to stdin and stdout; otherwise stdin is
 * broadcast to every client and every client's messages go to stdout.
 */
import type { IncomingMessage } from 'node:http'
import { WebSocketServer, type InboundMessage, type VerifyResult, type WebSocketDuplex } from '../index'
import type { Address } from './addresses'
import type { CliOptions } from './args'
import { Broadcast } from './broadcast'
import { acceptOptions } from './connection-options'
import { runCommand } from './exec'
import { exitCodeOf, outcomeLine } from './exit-codes'
import { createListener, listenOn, peerOf, stopListening } from './listener'
import { quoted, watchConnection, type Report } from './report'
import { Session } from './session'
import type { Interrupts } from './signals'
import { openStdio } from './stdio'

type Connection = WebSocketDuplex<InboundMessage>

export async function runServer(options: CliOptions, address: Address, report: Report, interrupts: Interrupts): Promise<number> {
  const server = createListener(options.tls)
  let taken = false
  const verify = (req: IncomingMessage): VerifyResult => {
    if (options.once && taken) return { status: 503, body: 'this server takes one connection, and has it\n' }
    if (options.origin !== undefined && req.headers.origin !== options.origin) {
      report.info(`refused an upgrade from ${peerOf(req)}: Origin ${quoted(req.headers.origin ?? '')}`)
      return { status: 403, body: 'origin not allowed\n' }
    }
    return true
  }
  // A program's last output still goes out after the peer's CLOSE: the answer waits for it.
  const wss = new WebSocketServer({ server, path: options.path, verify, ...acceptOptions(options, options.exec !== null) })
  wss.on('rejected', (req, error) => report.info(`refused an upgrade from ${peerOf(req)}: HTTP ${error.statusCode} (${error.message})`))
  await listenOn(server, address, report, options.path)

  let nextId = 1
  const welcome = (ws: Connection, req: IncomingMessage): string => {
    const label = `#${nextId++} `
    const protocol = ws.protocol ? `, subprotocol ${ws.protocol}` : ''
    report.info(`${label}connected from ${peerOf(req)} (${req.url ?? '/'}${protocol})`)
    watchConnection(ws, report, label)
    return label
  }
  const facts = (ws: Connection, req: IncomingMessage) => ({ remoteAddress: req.socket.remoteAddress, url: req.url, protocol: ws.protocol })

  let stopped: (code: number) => void = () => {}
  const result = new Promise<number>((resolve) => (stopped = resolve))
  interrupts.onInterrupt(() => {
    stopListening(server)
    void wss.close(1001, 'server shutting down').then(() => stopped(interrupts.exitCode))
  })

  if (options.once) {
    wss.on('connection', (ws: Connection, req) => {
      if (taken) return ws.close(1013, 'try again later')
      taken = true
      stopListening(server)
      const label = welcome(ws, req)
      let session: Session
      if (options.exec) {
        session = runCommand(ws, options, report, facts(ws, req), label).session
      } else {
        const stdio = openStdio(options, report, interrupts)
        session = new Session(ws, { ...stdio, halfOpen: false, report, label, outputFailed: () => session.interrupt(1001, 'output closed') })
        void session.done.finally(() => stdio.terminal?.close())
      }
      interrupts.onInterrupt(() => session.interrupt(1001, 'server shutting down'))
      void session.done.then((outcome) => {
        if (interrupts.signal) return stopped(interrupts.exitCode)
        const line = outcomeLine(outcome)
        if (line) report.error(`${label}${line}`)
        stopped(exitCodeOf(outcome))
      })
    })
  } else if (options.exec) {
    wss.on('connection', (ws: Connection, req) => {
      runCommand(ws, options, report, facts(ws, req), welcome(ws, req))
    })
  } else {
    const stdio = openStdio(options, report, interrupts)
    const broadcast = new Broadcast()
    stdio.records?.pipe(broadcast)
    stdio.records?.once('end', () => report.info('the input ended; still serving (Ctrl-C stops)'))
    stdio.records?.once('error', (error: Error) => report.error(`${error.message}; nothing more is read from the input`))
    wss.on('connection', (ws: Connection, req) => {
      const label = welcome(ws, req)
      broadcast.add(ws)
      new Session(ws, { sink: stdio.sink, halfOpen: false, report, label })
    })
    void result.finally(() => stdio.terminal?.close())
  }
  return result
}
