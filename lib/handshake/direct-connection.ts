/**
 * The TCP or TLS connection of a client handshake, made directly rather
 * than by an http.Agent. A WebSocket keeps its socket for its whole life,
 * and a socket an Agent made carries the Agent's listeners for that whole
 * life, and through their closures the request's options and headers: about
 * 3 KiB more per idle client connection. An `agent` or `createConnection`
 * given in requestOptions (a proxy's agent, say) is used as given.
 */
import type { RequestOptions } from 'node:https'
import net from 'node:net'
import tls from 'node:tls'

/** What to add to the request's options: a createConnection, unless the caller chose how to connect. */
export function directConnection(secure: boolean, given: RequestOptions | undefined): Pick<RequestOptions, 'createConnection'> {
  // A fresh object each time: the caller builds the request's options on it.
  if (given?.agent !== undefined || given?.createConnection !== undefined) return {}
  return { createConnection: (secure ? tlsConnect : netConnect) as RequestOptions['createConnection'] }
}

// The request's options carry its URL path as `path`, which net.connect would take for a unix socket's:
// only `socketPath` is one.
function netConnect(options: net.NetConnectOpts & { socketPath?: string }): net.Socket {
  return net.connect({ ...options, path: options.socketPath } as net.NetConnectOpts)
}

function tlsConnect(options: tls.ConnectionOptions & { path?: string; socketPath?: string }): tls.TLSSocket {
  // SNI names the host, never an IP address (RFC 6066 section 3), as the https Agent does.
  const host = options.host ?? ''
  const servername = options.servername ?? (net.isIP(host) ? undefined : host)
  return tls.connect({ ...options, path: options.socketPath, servername })
}
