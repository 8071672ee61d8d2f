/**
 * Extended CONNECT dispatch per HTTP/2 server (RFC 8441), the counterpart of
 * the 'upgrade' dispatch: so several WebSocketServers share one server by
 * path, and a WebSocket nobody takes gets a 404 instead of silence.
 *
 * A WebSocket arrives as a stream whose headers say `:method CONNECT`,
 * `:protocol websocket`. Node's compatibility layer (present once the
 * server has a 'request' handler) turns every CONNECT stream into a
 * 'connect' event and answers 405 when nobody listens to it; without that
 * layer, only 'stream' is emitted. So both are listened to, and each stream
 * is taken once, by whichever comes first.
 */
import type { Http2ServerRequest, Http2ServerResponse, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2'
import { HandshakeError } from '../protocol/errors'
import { adoptHttp2Request, http2Request, isWebSocketConnect, rejectHttp2 } from '../handshake/h2-server'
import type { AnyHttp2Server, AnyServer, WebSocketServer } from './websocket-server'

/** Whether a server speaks HTTP/2 (only those have settings to update). */
export function isHttp2Server(server: AnyServer): server is AnyHttp2Server {
  return typeof (server as AnyHttp2Server).updateSettings === 'function'
}

const dispatchers = new WeakMap<AnyHttp2Server, Http2Dispatcher>()
/** Streams already taken (by 'stream' or by 'connect'). */
const taken = new WeakSet<ServerHttp2Stream>()

export class Http2Dispatcher {
  readonly targets = new Set<WebSocketServer<AnyServer>>()

  constructor(readonly server: AnyHttp2Server) {
    // Sessions opened from now on announce SETTINGS_ENABLE_CONNECT_PROTOCOL; it cannot be taken back.
    server.updateSettings({ enableConnectProtocol: true })
    server.on('stream', this.onStream)
    server.on('connect', this.onConnect)
  }

  static for(server: AnyHttp2Server): Http2Dispatcher {
    let dispatcher = dispatchers.get(server)
    if (!dispatcher) {
      dispatcher = new Http2Dispatcher(server)
      dispatchers.set(server, dispatcher)
    }
    return dispatcher
  }

  readonly onStream = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[]): void => {
    if (taken.has(stream) || !isWebSocketConnect(headers)) return
    // Left to the compatibility layer's 'connect' (below), which comes with its own request.
    if (this.server.listenerCount('request') > 0) return
    this.#dispatch(stream, headers, () => http2Request(stream, headers, rawHeaders), this.server.listenerCount('stream') === 1)
  }

  readonly onConnect = (req: Http2ServerRequest, res: Http2ServerResponse): void => {
    const stream = req.stream
    const alone = this.server.listenerCount('connect') === 1
    if (!isWebSocketConnect(req.headers)) {
      // What the compatibility layer answers a CONNECT nobody takes (our listener stands in its way).
      if (alone) {
        res.writeHead(405)
        res.end()
      }
      return
    }
    if (taken.has(stream)) return
    adoptHttp2Request(req)
    this.#dispatch(stream, req.headers, () => req, alone)
  }

  #dispatch(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, request: () => Http2ServerRequest, alone: boolean): void {
    const req = request()
    for (const target of this.targets) {
      if (target.shouldHandle(req)) {
        taken.add(stream)
        // A throwing 'connection' listener surfaces as it would from a plain 'stream' listener.
        target.handleStream(stream, headers, req).catch((error: unknown) => process.nextTick(() => {
          throw error
        }))
        return
      }
    }
    // Other listeners may want it; if there are none, nobody will answer.
    if (alone) {
      taken.add(stream)
      rejectHttp2(stream, new HandshakeError('WS_ERR_HANDSHAKE', `no WebSocket endpoint at ${req.url}`, 404))
    }
  }
}
