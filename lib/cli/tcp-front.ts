/**
 * `--proxy [HOST:]PORT --to-tcp HOST:PORT`: a WebSocket front for a TCP
 * service. Each connection gets a TCP connection of its own; every message
 * (binary, or text as its UTF-8 bytes) is written to it as it is, and what
 * the service sends comes back as binary messages, one per chunk read. The
 * service closing its side closes the WebSocket (1000); a client's close
 * half-closes the TCP connection, and what the service still answers goes
 * out before our CLOSE.
 */
import net from 'node:net'
import { WebSocketServer, type InboundMessage, type WebSocketDuplex } from '../index'
import { type Address, urlHost } from './addresses'
import type { CliOptions } from './args'
import { acceptOptions } from './connection-options'
import { RecordSplitter } from './framing'
import { createListener, listenOn, peerOf, stopListening } from './listener'
import { MessageSink } from './message-sink'
import { watchConnection, type Report } from './report'
import { Session } from './session'
import type { Interrupts } from './signals'
import { maxRecord } from './stdio'

export async function runTcpFront(options: CliOptions, address: Address, service: Address, report: Report, interrupts: Interrupts): Promise<number> {
  const server = createListener(options.tls)
  const verify = (req: { headers: Record<string, string | string[] | undefined> }) =>
    options.origin === undefined || req.headers.origin === options.origin || { status: 403, body: 'origin not allowed\n' }
  const wss = new WebSocketServer({ server, path: options.path, verify, ...acceptOptions(options, true) })
  await listenOn(server, address, report, options.path)
  const serviceName = `${urlHost(service.host)}:${service.port}`

  let nextId = 1
  wss.on('connection', (ws: WebSocketDuplex<InboundMessage>, req) => {
    const label = `#${nextId++} `
    report.info(`${label}connected from ${peerOf(req)}; opening ${serviceName}`)
    watchConnection(ws, report, label)
    const tcp = net.connect({ host: service.host, port: service.port, allowHalfOpen: true })
    let reached = false
    tcp.once('connect', () => {
      reached = true
      report.info(`${label}joined to ${serviceName}`)
    })
    tcp.on('error', (error: NodeJS.ErrnoException) => {
      report.error(`${label}${reached ? 'connection to' : 'cannot reach'} ${serviceName}: ${error.code ?? error.message}`)
      if (!ws.writableEnded) ws.close(1011, reached ? 'the service connection failed' : 'the service is unreachable')
    })
    const session = new Session(ws, {
      records: tcp.pipe(new RecordSplitter(options.framing, maxRecord(options))),
      sink: new MessageSink(tcp, options.framing),
      // The service closed its side: so do we, after what it sent.
      afterInput: () => [1000, ''],
      // The client closed: the service sees the end of its input.
      afterOutput: () => {
        if (!tcp.destroyed && !tcp.writableEnded) tcp.end()
      },
      halfOpen: true,
      report,
      label,
    })
    void session.done.then(() => tcp.destroy())
  })

  return new Promise((resolve) => {
    interrupts.onInterrupt(() => {
      stopListening(server)
      void wss.close(1001, 'server shutting down').then(() => resolve(interrupts.exitCode))
    })
  })
}
