/**
 * Where connect() sends its upgrade request: a ws:, wss:, http: or https:
 * URL (host and port), or a ws+unix: / wss+unix: URL naming a unix domain
 * socket and the request path after it (`ws+unix:/run/app.sock:/chat`, the
 * form ws uses). Also the checks on a redirect's Location.
 */
import { HandshakeError } from '../protocol/errors'

/** The schemes connect() takes, as the error for any other lists them. */
export const CLIENT_SCHEMES = ['ws:', 'wss:', 'http:', 'https:', 'ws+unix:', 'wss+unix:'] as const

export interface ClientTarget {
  /** The URL as given (or as a redirect resolved it). */
  url: URL
  secure: boolean
  /** Host and port for TCP; unset for a unix domain socket. */
  hostname: string
  port: number
  /** The unix domain socket's path, for ws+unix: and wss+unix:. */
  socketPath?: string
  /** The request target: path and query. */
  path: string
}

/** Parses `url` for connect(); throws a TypeError for what is no URL, a SyntaxError for another scheme. */
export function clientTarget(url: string | URL): ClientTarget {
  const parsed = new URL(url)
  const scheme = parsed.protocol
  if (!(CLIENT_SCHEMES as readonly string[]).includes(scheme)) {
    throw new SyntaxError(`unsupported URL scheme "${scheme.slice(0, -1)}": expected one of ${CLIENT_SCHEMES.join(' ')}`)
  }
  const secure = scheme === 'wss:' || scheme === 'https:' || scheme === 'wss+unix:'
  if (scheme.endsWith('+unix:')) {
    // The socket's path runs to the first ':'; what follows is the request path ('/' when nothing does).
    const pathname = parsed.pathname
    const colon = pathname.indexOf(':')
    const socketPath = decodeURIComponent(colon === -1 ? pathname : pathname.slice(0, colon))
    if (socketPath === '' || parsed.host !== '') {
      throw new SyntaxError(`${scheme} URL must name a socket path, as in ${scheme}/run/app.sock:/path`)
    }
    const requestPath = colon === -1 || colon === pathname.length - 1 ? '/' : pathname.slice(colon + 1)
    return { url: parsed, secure, hostname: 'localhost', port: 0, socketPath, path: requestPath + parsed.search }
  }
  return {
    url: parsed,
    secure,
    hostname: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port ? Number(parsed.port) : secure ? 443 : 80,
    path: parsed.pathname + parsed.search,
  }
}

/** HTTP statuses that redirect with a Location (RFC 9110 section 15.4). */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308])

/**
 * Where a redirect leads, resolved against the URL that answered it. It may
 * not turn a network URL into a unix socket or back: a remote server must not
 * steer a client onto this machine's sockets.
 */
export function redirectTarget(location: string, from: ClientTarget, status: number, headers: Record<string, string>): ClientTarget {
  let next: ClientTarget
  try {
    if (from.socketPath !== undefined && !URL.canParse(location)) {
      // A relative Location on a unix socket names another path on the same socket.
      const resolved = new URL(location, new URL(from.path, 'http://localhost'))
      const path = resolved.pathname + resolved.search
      next = { ...from, url: new URL(`${from.url.protocol}${encodeURI(from.socketPath)}:${path}`), path }
    } else {
      next = clientTarget(new URL(location, from.url))
    }
  } catch (error) {
    const refused = new HandshakeError('WS_ERR_INVALID_REDIRECT', `redirected to an unusable Location ${JSON.stringify(location)}: ${(error as Error).message}`, status, headers)
    refused.cause = error
    throw refused
  }
  if ((next.socketPath === undefined) !== (from.socketPath === undefined)) {
    throw new HandshakeError('WS_ERR_INVALID_REDIRECT',
      `redirected from ${from.url.protocol} to ${next.url.protocol}: a redirect may not switch between a network address and a unix socket`, status, headers)
  }
  return next
}

/** Whether two targets are the same origin: credentials set for one are not sent to another. */
export function sameOrigin(a: ClientTarget, b: ClientTarget): boolean {
  return a.secure === b.secure && a.hostname === b.hostname && a.port === b.port && a.socketPath === b.socketPath
}
