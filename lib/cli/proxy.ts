/**
 * `watershed --proxy [HOST:]PORT TARGET_URL`: a WebSocket proxy in raw
 * mode. For each upgrade it first opens the target, offering what the
 * client offered (subprotocols, extensions) and passing its other headers
 * on; the client then gets the target's choice in its own 101, or the
 * target's refusal status. After both handshakes the two sockets are joined
 * byte for byte: frames pass untouched (the client's stay masked, as the
 * target expects). No extension is negotiated on either leg (accept() in raw
 * mode answers none), so both ends speak uncompressed, whatever they offer.
 */
import http, { type IncomingMessage } from 'node:http'
import https from 'node:https'
import type { Socket } from 'node:net'
import { pipeline, type Duplex } from 'node:stream'
import { accept, clientFromUpgrade, generateKey, HandshakeError, rejectUpgrade, validateUpgradeRequest } from '../index'
import type { Address } from './addresses'
import type { CliOptions } from './args'
import { clientTls } from './connection-options'
import { firstLine } from './exit-codes'
import { createListener, listenOn, peerOf, stopListening } from './listener'
import type { Report } from './report'
import type { Interrupts } from './signals'

/** Headers that belong to one hop, or to the handshake the proxy makes itself. */
const OWN_HEADERS = new Set([
  'connection', 'upgrade', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'content-length', 'host',
  'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-protocol', 'sec-websocket-extensions',
])

/** How long the target has to answer the upgrade. */
const TARGET_TIMEOUT = 10_000

interface Target {
  socket: Socket
  protocol: string | null
}

/** The refusal the client gets when the target cannot be had: its own status when it answered, 502 or 504 when not. */
class TargetFailure extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message)
  }
}

function openTarget(target: URL, req: IncomingMessage, offered: string[], options: CliOptions): Promise<Target> {
  const key = generateKey()
  const headers: Record<string, string> = {}
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]
    if (!OWN_HEADERS.has(name.toLowerCase())) headers[name] = name in headers ? `${headers[name]}, ${req.rawHeaders[i + 1]}` : req.rawHeaders[i + 1]
  }
  const forwardedFor = req.headers['x-forwarded-for']
  headers['X-Forwarded-For'] = [forwardedFor, req.socket.remoteAddress].filter(Boolean).join(', ')
  Object.assign(headers, options.headers, {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Key': key,
    'Sec-WebSocket-Version': '13',
  })
  if (offered.length > 0) headers['Sec-WebSocket-Protocol'] = offered.join(', ')
  const secure = target.protocol === 'wss:' || target.protocol === 'https:'

  return new Promise((resolve, reject) => {
    const request = (secure ? https : http).request({
      ...clientTls(options),
      hostname: target.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: target.port || (secure ? 443 : 80),
      path: target.pathname + target.search,
      headers,
      timeout: TARGET_TIMEOUT,
    })
    request.on('upgrade', (res, socket: Socket, head: Buffer) => {
      try {
        // Checks the 101 against what was offered: the target cannot choose what the client did not ask for.
        const raw = clientFromUpgrade(res, socket, head, key, { raw: true })
        resolve({ socket: raw, protocol: res.headers['sec-websocket-protocol'] ?? null })
      } catch (error) {
        socket.destroy()
        reject(new TargetFailure(`bad handshake answer: ${(error as Error).message}`, 502))
      }
    })
    request.on('response', (res) => {
      const status = res.statusCode ?? 502
      res.resume()
      request.destroy()
      reject(new TargetFailure(`refused the upgrade: HTTP ${status}`, status >= 400 && status <= 599 ? status : 502))
    })
    request.on('timeout', () => request.destroy(new TargetFailure(`no answer within ${TARGET_TIMEOUT / 1000} s`, 504)))
    request.on('error', (error: NodeJS.ErrnoException) => {
      reject(error instanceof TargetFailure ? error : new TargetFailure(firstLine(error.code ?? error.message), 502))
    })
    request.end()
  })
}

export async function runProxy(options: CliOptions, address: Address, target: URL, report: Report, interrupts: Interrupts): Promise<number> {
  const server = createListener(options.tls)
  let nextId = 1
  let open = 0
  let idle: () => void = () => {}

  server.on('upgrade', async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const label = `#${nextId++} `
    socket.on('error', () => socket.destroy())
    let offered: string[]
    try {
      if (options.path !== undefined && new URL(req.url ?? '/', 'http://x').pathname !== options.path) {
        throw new HandshakeError('WS_ERR_HANDSHAKE', `no WebSocket endpoint at ${req.url}`, 404)
      }
      if (options.origin !== undefined && req.headers.origin !== options.origin) {
        throw new HandshakeError('WS_ERR_HANDSHAKE', 'origin not allowed', 403)
      }
      offered = validateUpgradeRequest(req).protocols
    } catch (error) {
      report.info(`${label}refused an upgrade from ${peerOf(req)}: ${(error as Error).message}`)
      return rejectUpgrade(socket, error as Error)
    }
    let back: Target
    try {
      back = await openTarget(target, req, offered, options)
    } catch (error) {
      const failure = error as TargetFailure
      report.error(`${label}${target.href} ${failure.message}`)
      return rejectUpgrade(socket, new HandshakeError('WS_ERR_HANDSHAKE', `the proxy's target ${failure.message}`, failure.status))
    }
    if (socket.destroyed) return back.socket.destroy()
    let front: Socket
    try {
      // The client's 101 names the subprotocol the target chose.
      front = accept(req, socket, head, { raw: true, protocols: () => back.protocol }) as Socket
    } catch (error) {
      back.socket.destroy()
      report.error(`${label}${(error as Error).message}`)
      return rejectUpgrade(socket, error as Error)
    }
    open++
    report.info(`${label}${peerOf(req)} joined to ${target.href}${back.protocol ? ` (subprotocol ${back.protocol})` : ''}`)
    pipeline(front, back.socket, front, (error) => {
      report.info(`${label}ended${error ? ` (${(error as NodeJS.ErrnoException).code ?? error.message})` : ''}`)
      if (--open === 0) idle()
    })
  })
  await listenOn(server, address, report, options.path)

  return new Promise((resolve) => {
    interrupts.onInterrupt(() => {
      // Frames pass through unread, so the proxy cannot put a CLOSE among them: it lets open connections finish.
      stopListening(server)
      if (open === 0) return resolve(interrupts.exitCode)
      report.notice(`waiting for ${open} open connection${open === 1 ? '' : 's'} to end (Ctrl-C again stops at once)`)
      idle = () => resolve(interrupts.exitCode)
    })
  })
}
