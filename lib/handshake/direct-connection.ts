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
import type * as tls from 'node:tls'
import * as lazy from '../connection/lazy-modules'

/**
 * The request options that only say how to connect (TCP and TLS settings):
 * with no others, connect() writes its upgrade request itself
 * (lib/handshake/upgrade-exchange.ts); any other (an `agent`,
 * `createConnection`, `auth`, `headers`, `timeout`, ...) is http.request's
 * to act on, so the request goes through it.
 */
const CONNECTION_OPTIONS = new Set([
  // net.connect
  'family', 'hints', 'localAddress', 'localPort', 'lookup', 'noDelay', 'keepAlive', 'keepAliveInitialDelay',
  'autoSelectFamily', 'autoSelectFamilyAttemptTimeout',
  // tls.connect
  'ALPNProtocols', 'ca', 'cert', 'checkServerIdentity', 'ciphers', 'clientCertEngine', 'crl', 'dhparam', 'ecdhCurve',
  'enableTrace', 'honorCipherOrder', 'key', 'maxVersion', 'minVersion', 'passphrase', 'pfx', 'privateKeyEngine',
  'privateKeyIdentifier', 'rejectUnauthorized', 'requestOCSP', 'secureContext', 'secureOptions', 'secureProtocol',
  'servername', 'session', 'sessionIdContext', 'sigalgs',
])

/** Whether connect() may make the connection and write the request itself: `given` says only how to connect. */
export function connectsDirectly(given: RequestOptions | undefined): boolean {
  if (given === undefined) return true
  for (const name in given) if (!CONNECTION_OPTIONS.has(name)) return false
  return true
}

/** A connection made directly, for a request connect() writes itself. */
export function directSocket(
  secure: boolean, given: RequestOptions | undefined, host: string, port: number, socketPath: string | undefined,
): net.Socket {
  const options = Object.assign({}, given, { host, port, socketPath })
  return secure ? tlsConnect(options as tls.ConnectionOptions) : netConnect(options as net.NetConnectOpts)
}

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
  return lazy.tls().connect({ ...options, path: options.socketPath, servername })
}
