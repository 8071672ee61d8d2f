/** The listening side shared by the server and the proxies: an http or https server on HOST:PORT. */
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import type { IncomingMessage } from 'node:http'
import { type Address, urlHost } from './addresses'
import type { Tls } from './args'
import { CliError, ExitCode } from './exit-codes'
import type { Report } from './report'

/** An http server (https with --cert and --key) that answers plain requests with 426: only upgrades are served. */
export function createListener(tls: Tls): http.Server | https.Server {
  const server = tls.cert && tls.key ? https.createServer({ cert: tls.cert, key: tls.key }) : http.createServer()
  server.on('request', (_req: IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(426, { Upgrade: 'websocket', 'Content-Type': 'text/plain; charset=utf-8' })
    res.end('this is a WebSocket endpoint: connect with ws:// or wss://\n')
  })
  return server
}

/** Listens, and says where on stderr; a port in use or not allowed is a failure of its own (exit status 3). */
export function listenOn(server: http.Server | https.Server, address: Address, report: Report, path = '/'): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'the address is in use' : error.code === 'EACCES' ? 'permission denied' : error.message
      reject(new CliError(`cannot listen on ${urlHost(address.host)}:${address.port}: ${why}`, ExitCode.CONNECTION_FAILED))
    }
    server.once('error', onError)
    server.listen(address.port, address.host, () => {
      server.off('error', onError)
      const { port } = server.address() as AddressInfo
      const scheme = server instanceof https.Server ? 'wss' : 'ws'
      report.notice(`listening on ${scheme}://${urlHost(address.host)}:${port}${path}`)
      resolve()
    })
  })
}

/** Stops taking connections; the open ones carry on. */
export const stopListening = (server: http.Server | https.Server) => {
  if (server.listening) server.close()
}

/** A client's address, as `host:port`. */
export const peerOf = (req: IncomingMessage) => `${urlHost(req.socket.remoteAddress ?? '?')}:${req.socket.remotePort ?? '?'}`
