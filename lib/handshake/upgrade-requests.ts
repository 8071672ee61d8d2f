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
 * goes out on (a WeakMap: nothing outlives the socket), and forgotten once
 * the handshake is complete: only the two offers are kept, not the request
 * (its headers and state would otherwise stay for the connection's whole
 * life). The watch starts
 * with the first key made (`generateKey()`, `new Watershed()`), which comes
 * before the request that carries it; a process that never makes one pays
 * nothing.
 */
import diagnostics from 'node:diagnostics_channel'
import type { ClientRequest, OutgoingHttpHeader } from 'node:http'

/** What an upgrade request offered: its Sec-WebSocket-Protocol and -Extensions headers as sent. */
export interface UpgradeOffers {
  protocols: OutgoingHttpHeader | undefined
  extensions: OutgoingHttpHeader | undefined
}

const requests = new WeakMap<object, UpgradeOffers>()

function noteRequest(message: unknown): void {
  const request = (message as { request?: ClientRequest }).request
  if (!request || request.getHeader('sec-websocket-key') === undefined) return
  const offers: UpgradeOffers = {
    protocols: request.getHeader('sec-websocket-protocol'),
    extensions: request.getHeader('sec-websocket-extensions'),
  }
  if (request.socket) requests.set(request.socket, offers)
  else request.once('socket', (socket) => requests.set(socket, offers))
}

let watching = false

/** Starts noting upgrade requests (once per process). */
export function watchUpgradeRequests(): void {
  if (watching) return
  watching = true
  diagnostics.subscribe('http.client.request.start', noteRequest)
}

/** What the request that went out on `socket` offered, if it was an upgrade request of this process. */
export function upgradeOffersOn(socket: object): UpgradeOffers | undefined {
  return requests.get(socket)
}

/** The handshake on `socket` is over: its offers are not needed any more. */
export function forgetUpgradeRequest(socket: object): void {
  requests.delete(socket)
}
