/**
 * The upgrade requests this process sent, found again from their sockets.
 *
 * A client completed from an 'upgrade' event (`clientFromUpgrade`, the
 * original API's `connect(res, socket, head, key)`) must refuse a
 * subprotocol or extension that its request did not offer (RFC 6455 section
 * 4.1: "the client MUST _Fail the WebSocket Connection_"), yet Node does not
 * lead from an upgrade response back to its request. So every client request
 * that carries a Sec-WebSocket-Key is noted, through Node's own
 * `http.client.request.start` diagnostics channel, against the socket it
 * goes out on (a WeakMap: nothing outlives the socket). The watch starts
 * with the first key made (`generateKey()`, `new Watershed()`), which comes
 * before the request that carries it; a process that never makes one pays
 * nothing.
 */
import diagnostics from 'node:diagnostics_channel'
import type { ClientRequest } from 'node:http'

const requests = new WeakMap<object, ClientRequest>()

function noteRequest(message: unknown): void {
  const request = (message as { request?: ClientRequest }).request
  if (!request || request.getHeader('sec-websocket-key') === undefined) return
  if (request.socket) requests.set(request.socket, request)
  else request.once('socket', (socket) => requests.set(socket, request))
}

let watching = false

/** Starts noting upgrade requests (once per process). */
export function watchUpgradeRequests(): void {
  if (watching) return
  watching = true
  diagnostics.subscribe('http.client.request.start', noteRequest)
}

/** The request that went out on `socket`, if it was an upgrade request of this process. */
export function upgradeRequestOn(socket: object): ClientRequest | undefined {
  return requests.get(socket)
}
