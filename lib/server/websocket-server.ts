/**
 * The common server case without plumbing: attach to an existing http,
 * https or HTTP/2 server, take upgrades (and, over HTTP/2, extended
 * CONNECTs: RFC 8441) for some paths, let a hook authenticate or refuse
 * them with a real HTTP answer, and hand out a WebSocketDuplex per
 * connection, whichever transport it came by.
 */
import { EventEmitter } from 'node:events'
import type { IncomingMessage, Server as HttpServer } from 'node:http'
import type { Http2SecureServer, Http2Server, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2'
import type { Socket } from 'node:net'
import type { Server as HttpsServer } from 'node:https'
import type { Duplex as NodeDuplex } from 'node:stream'
import { CloseStatus, HandshakeError } from '../protocol/errors'
import { DEFAULT_HANDSHAKE_TIMEOUT } from '../protocol/limits'
import { validateServerOptions } from './options'
import { accept, rejectUpgrade, validateUpgradeRequest, type AcceptOptions, type WebSocketRequest } from '../handshake/server'
import { acceptHttp2, http2Request, rejectHttp2, validateExtendedConnect } from '../handshake/h2-server'
import type { WebSocketDuplex } from '../connection/websocket-duplex'
import type { Carrier } from '../connection/transport'
import { Http2Dispatcher, isHttp2Server } from './h2-dispatch'
import { OwnServer } from './own-server'

/** How a verify hook refuses an upgrade: the HTTP status, and optionally a body and headers. */
export interface UpgradeRefusal {
  status: number
  body?: string
  headers?: Record<string, string>
}

/** `true` or nothing accepts; `false` answers 403; a refusal answers what it says. */
export type VerifyResult = boolean | undefined | void | UpgradeRefusal

/** Decides whether an upgrade request is accepted: true or undefined accepts, false or an UpgradeRefusal refuses; may be async. */
export type VerifyUpgrade<R extends WebSocketRequest = IncomingMessage> = (req: R) => VerifyResult | Promise<VerifyResult>

/** Which request paths a WebSocketServer takes: one path, a list, or a test. */
export type PathFilter<R extends WebSocketRequest = IncomingMessage> = string | readonly string[] | ((pathname: string, req: R) => boolean)

/** The servers a WebSocketServer attaches to. */
export type AnyServer = HttpServer | HttpsServer | Http2Server | Http2SecureServer
/** The HTTP/2 servers a WebSocketServer attaches to (h2c, or TLS with or without allowHTTP1). */
export type AnyHttp2Server = Http2Server | Http2SecureServer
/** What carries a server's connections: sockets, or (HTTP/2, perhaps with allowHTTP1) sockets and streams. */
export type CarrierOf<S extends AnyServer> = S extends AnyHttp2Server ? Carrier : Socket
/** The request a server's connections come with. */
export type RequestOf<S extends AnyServer> = S extends AnyHttp2Server ? WebSocketRequest : IncomingMessage

/** Options of a WebSocketServer: the server, paths, verify, and every option of accept(). */
export interface WebSocketServerOptions<S extends AnyServer = HttpServer | HttpsServer> extends Omit<AcceptOptions, 'raw'> {
  /**
   * The server to take WebSockets from: http or https (upgrades), or
   * http2.createServer / createSecureServer (extended CONNECTs, whose
   * SETTINGS_ENABLE_CONNECT_PROTOCOL is then turned on; with allowHTTP1,
   * upgrades too). Without it, call handleUpgrade() / handleStream() yourself.
   */
  server?: S
  /**
   * Instead of `server`: listen on this port (0 for any free one) with an
   * http server of its own, which answers ordinary requests 426 and closes
   * with close(). 'listening' says when it is ready, address() where.
   */
  port?: number
  /** With `port`: the address to listen on. Default: every address (`::` or `0.0.0.0`). */
  host?: string
  /** With `port`: the length of the queue of pending TCP connections. */
  backlog?: number
  /** Only these paths (exact pathnames, query ignored), or a predicate. Default: every path. */
  path?: PathFilter<RequestOf<S>>
  /** Authenticates or refuses an upgrade before the 101 (or HTTP/2 200) answer is written. */
  verify?: VerifyUpgrade<RequestOf<S>>
  /** How long verify() may take before the upgrade is refused with 503, in ms. Default 10000. */
  handshakeTimeout?: number
}

/** The events of a WebSocketServer and their arguments. */
export interface WebSocketServerEvents<S extends AnyServer = HttpServer | HttpsServer> {
  /** A WebSocket: over HTTP/2 its socket is the stream, and its request an Http2ServerRequest. */
  connection: [ws: WebSocketDuplex<string | Buffer, CarrierOf<S>>, req: RequestOf<S>]
  /** An upgrade that was answered with an HTTP error instead of 101 (or 200). */
  rejected: [req: RequestOf<S>, error: HandshakeError]
  /** With `port`: the server of its own listens. */
  listening: []
  /** With `port`: the server of its own failed (EADDRINUSE, EACCES). */
  error: [error: Error]
  close: []
}

/** Bytes a client may send ahead of the 101 while verify() runs, before reading stops. */
const EARLY_DATA_LIMIT = 64 * 1024

/** Upgrade dispatch per http server, so several WebSocketServers can share one by path. */
const dispatchers = new WeakMap<HttpServer | HttpsServer, Dispatcher>()

class Dispatcher {
  readonly targets = new Set<WebSocketServer<AnyServer>>()

  constructor(readonly server: HttpServer | HttpsServer) {
    server.on('upgrade', this.onUpgrade)
  }

  static for(server: HttpServer | HttpsServer): Dispatcher {
    let dispatcher = dispatchers.get(server)
    if (!dispatcher) {
      dispatcher = new Dispatcher(server)
      dispatchers.set(server, dispatcher)
    }
    return dispatcher
  }

  // The listener stays on the http server: without any, Node would hand later
  // upgrades to 'request', and a server with no request handler never answers.
  remove(target: WebSocketServer<AnyServer>): void {
    this.targets.delete(target)
  }

  readonly onUpgrade = (req: IncomingMessage, socket: NodeDuplex, head: Buffer): void => {
    for (const target of this.targets) {
      if (target.shouldHandle(req)) {
        // A throwing 'connection' listener surfaces as it would from a plain 'upgrade' listener.
        target.handleUpgrade(req, socket, head).catch((error: unknown) => process.nextTick(() => {
          throw error
        }))
        return
      }
    }
    // Other 'upgrade' listeners may want it; if there are none, nobody will answer.
    if (this.server.listenerCount('upgrade') === 1) {
      rejectUpgrade(socket, new HandshakeError('WS_ERR_HANDSHAKE', `no WebSocket endpoint at ${pathnameOf(req)}`, 404))
    }
  }
}

function pathnameOf(req: WebSocketRequest): string {
  const url = req.url ?? '/'
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}

function matches(filter: PathFilter<WebSocketRequest> | undefined, req: WebSocketRequest): boolean {
  if (filter === undefined) return true
  const pathname = pathnameOf(req)
  if (typeof filter === 'string') return pathname === filter
  if (typeof filter === 'function') return filter(pathname, req)
  return filter.includes(pathname)
}

function refusal(result: VerifyResult): HandshakeError | null {
  if (result === true || result === undefined) return null
  if (result === false) return new HandshakeError('WS_ERR_HANDSHAKE', 'upgrade refused', 403)
  if (!Number.isInteger(result.status) || result.status < 400 || result.status > 599) {
    return new HandshakeError('WS_ERR_HANDSHAKE', 'upgrade refused', 500)
  }
  const error = new HandshakeError('WS_ERR_HANDSHAKE', 'upgrade refused', result.status, result.headers ?? {})
  error.body = result.body ?? ''
  return error
}

/**
 * Public: upgrades from an http(s) server become WebSocketDuplex streams,
 * announced by 'connection'. Upgrades the verify hook refuses, and malformed
 * ones, get an HTTP error answer and a 'rejected' event.
 */
export class WebSocketServer<S extends AnyServer = HttpServer | HttpsServer> extends EventEmitter<WebSocketServerEvents<S>> {
  readonly #options: Omit<WebSocketServerOptions, 'server' | 'port' | 'host' | 'backlog' | 'path' | 'verify' | 'handshakeTimeout'>
  readonly #path: PathFilter<WebSocketRequest> | undefined
  readonly #verify: VerifyUpgrade<WebSocketRequest> | undefined
  readonly #handshakeTimeout: number
  readonly #dispatcher: Dispatcher | null
  readonly #h2Dispatcher: Http2Dispatcher | null
  readonly #server: AnyServer | null
  readonly #own: OwnServer | null
  readonly #clients = new Set<WebSocketDuplex<string | Buffer, CarrierOf<S>>>()
  #closing: Promise<void> | null = null

  /** `onListening`, with `port`: called once the server of its own listens. */
  constructor(options: WebSocketServerOptions<S> = {}, onListening?: () => void) {
    // Before the http server is given an 'upgrade' listener: a bad option leaves nothing behind.
    validateServerOptions(options as WebSocketServerOptions)
    if (onListening !== undefined && typeof onListening !== 'function') throw new TypeError('onListening must be a function')
    super()
    const { server: given, port, host, backlog, path, verify, handshakeTimeout, ...acceptOptions } = options
    this.#own =
      port === undefined
        ? null
        : new OwnServer({ port, host, backlog }, { listening: () => this.emit('listening'), error: (error) => this.emit('error', error) })
    const server = (this.#own?.server as S | undefined) ?? given
    this.#server = server ?? null
    if (onListening) this.once('listening', onListening)
    this.#options = acceptOptions
    this.#path = path as PathFilter<WebSocketRequest> | undefined
    this.#verify = verify as VerifyUpgrade<WebSocketRequest> | undefined
    this.#handshakeTimeout = handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT
    // An HTTP/2 server with allowHTTP1 has upgrades too: it gets both dispatchers.
    this.#dispatcher = server ? Dispatcher.for(server as HttpServer) : null
    this.#dispatcher?.targets.add(this as WebSocketServer<AnyServer>)
    this.#h2Dispatcher = server && isHttp2Server(server) ? Http2Dispatcher.for(server) : null
    this.#h2Dispatcher?.targets.add(this as WebSocketServer<AnyServer>)
  }

  /** Where the server listens (as net.Server's address()): null while it does not, or without a server. */
  address(): ReturnType<HttpServer['address']> {
    return this.#server?.address() ?? null
  }

  /** The connections that are open now. */
  get clients(): ReadonlySet<WebSocketDuplex<string | Buffer, CarrierOf<S>>> {
    return this.#clients
  }

  /** Whether an upgrade (or extended CONNECT) request is for one of this server's paths. */
  shouldHandle(req: RequestOf<S>): boolean {
    return matches(this.#path, req)
  }

  /**
   * Completes (or refuses) one WebSocket over HTTP/2, from an HTTP/2
   * server's 'stream' event the caller received itself (`req` when Node's
   * compatibility layer made one). Resolves to the connection, or null when
   * refused or gone.
   */
  async handleStream(
    stream: ServerHttp2Stream, headers: IncomingHttpHeaders, req: WebSocketRequest = http2Request(stream, headers),
  ): Promise<WebSocketDuplex<string | Buffer, ServerHttp2Stream> | null> {
    let ws: WebSocketDuplex<string | Buffer, ServerHttp2Stream>
    try {
      this.#refuseWhenClosing()
      if (this.#verify) {
        // A malformed request never reaches the hook. The stream holds what the client sends
        // meanwhile (HTTP/2 flow control bounds it), so only its going away is watched.
        validateExtendedConnect(headers)
        await this.#verified(req)
        if (stream.destroyed || stream.closed) return null
        this.#refuseWhenClosing()
      }
      ws = acceptHttp2(stream, headers, this.#options)
    } catch (cause) {
      this.#refuse(req, cause, (error) => rejectHttp2(stream, error))
      return null
    }
    this.#welcome(ws as unknown as WebSocketDuplex<string | Buffer, CarrierOf<S>>, req)
    return ws
  }

  /**
   * Completes (or refuses) one upgrade, from an 'upgrade' event the caller
   * received itself. Resolves to the connection, or null when refused.
   */
  async handleUpgrade(req: IncomingMessage, socket: NodeDuplex, head: Buffer): Promise<WebSocketDuplex | null> {
    // Until the duplex owns the socket, a reset must not become an uncaught error.
    const onSocketError = () => socket.destroy()
    socket.on('error', onSocketError)
    let ws: WebSocketDuplex
    try {
      this.#refuseWhenClosing()
      if (this.#verify) {
        // A malformed upgrade never reaches the hook.
        validateUpgradeRequest(req)
        const early = await this.#verifiedWhileWatching(req, socket)
        if (early === null) return null
        head = Buffer.concat([head, ...early])
        this.#refuseWhenClosing()
      }
      ws = accept(req, socket, head, this.#options)
    } catch (cause) {
      this.#refuse(req, cause, (error) => rejectUpgrade(socket, error))
      return null
    } finally {
      socket.off('error', onSocketError)
    }
    this.#welcome(ws as WebSocketDuplex<string | Buffer, CarrierOf<S>>, req)
    return ws
  }

  #welcome(ws: WebSocketDuplex<string | Buffer, CarrierOf<S>>, req: WebSocketRequest): void {
    this.#clients.add(ws)
    // The socket's close too: a connection nobody reads may never get to 'close'.
    // Plain listeners: each once() would add a wrapper and its state to every connection; both fire at most once.
    const gone = () => this.#clients.delete(ws)
    ws.on('close', gone)
    ws.socket.on('close', gone)
    // Outside the try: a throwing listener is the application's error, not an HTTP answer.
    ;(this as WebSocketServer<AnyServer>).emit('connection', ws, req)
  }

  /**
   * Stops taking upgrades, closes every open connection with 1001 (going
   * away) and resolves once they have all closed; a server of its own
   * (`port`) stops listening too. A server that was given stays open.
   */
  close(code: number = CloseStatus.GOING_AWAY, reason = 'server shutting down'): Promise<void> {
    if (this.#closing) return this.#closing
    this.#dispatcher?.remove(this as WebSocketServer<AnyServer>)
    this.#h2Dispatcher?.targets.delete(this as WebSocketServer<AnyServer>)
    const closed = [...this.#clients].map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.destroyed || ws.socket.destroyed) return resolve()
          ws.once('close', () => resolve())
          ws.socket.once('close', () => resolve())
          ws.close(code, reason)
        }),
    )
    if (this.#own) closed.push(this.#own.close())
    this.#closing = Promise.all(closed).then(() => {
      this.emit('close')
    })
    return this.#closing
  }

  #refuseWhenClosing(): void {
    if (this.#closing) throw new HandshakeError('WS_ERR_HANDSHAKE', 'server is shutting down', 503)
  }

  #refuse(req: WebSocketRequest, cause: unknown, answer: (error: HandshakeError) => void): void {
    let error: HandshakeError
    if (cause instanceof HandshakeError) {
      error = cause
    } else {
      // The body says nothing of the cause: it may hold secrets.
      error = new HandshakeError('WS_ERR_HANDSHAKE', 'upgrade failed', 500)
      error.cause = cause
    }
    try {
      answer(error)
    } catch (unsendable) {
      // A refusal with headers that cannot be sent (CR LF in a value) still gets an answer.
      const fallback = new HandshakeError('WS_ERR_HANDSHAKE', 'upgrade failed', 500)
      fallback.cause = unsendable
      answer(fallback)
      error = fallback
    }
    ;(this as WebSocketServer<AnyServer>).emit('rejected', req, error)
  }

  /**
   * Runs verify() while watching the socket, which Node leaves unread after
   * an upgrade: a client that leaves meanwhile is noticed (null), and what it
   * sent early is kept (bounded) to go on as part of the head.
   */
  async #verifiedWhileWatching(req: IncomingMessage, socket: NodeDuplex): Promise<Buffer[] | null> {
    const early: Buffer[] = []
    let earlyBytes = 0
    let gone = false
    const onData = (chunk: Buffer) => {
      early.push(chunk)
      earlyBytes += chunk.length
      // Stop reading rather than buffer without bound; the kernel holds the rest.
      if (earlyBytes >= EARLY_DATA_LIMIT) socket.pause()
    }
    const onGone = () => {
      gone = true
    }
    socket.on('data', onData)
    socket.on('end', onGone)
    socket.on('close', onGone)
    try {
      await this.#verified(req)
    } finally {
      socket.off('data', onData)
      socket.off('end', onGone)
      socket.off('close', onGone)
      socket.pause()
    }
    if (gone || socket.destroyed) {
      socket.destroy()
      return null
    }
    return early
  }

  async #verified(req: WebSocketRequest): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new HandshakeError('WS_ERR_HANDSHAKE_TIMEOUT', 'upgrade verification timed out', 503)),
        this.#handshakeTimeout,
      )
    })
    try {
      const refused = refusal(await Promise.race([this.#verify!(req), timeout]))
      if (refused) throw refused
    } finally {
      clearTimeout(timer)
    }
  }
}
