/**
 * The opening handshake done by hand (RFC 6455 section 4), on both sides,
 * with the accept value computed here from the RFC's GUID rather than by the
 * library under test.
 */
import { createHash, randomBytes } from 'node:crypto'
import net, { type Socket } from 'node:net'

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
const HANDSHAKE_TIMEOUT_MS = 5000

export const acceptFor = (key: string) => createHash('sha1').update(key + GUID).digest('base64')

export interface Head {
  /** The request or status line. */
  line: string
  /** Header names in lower case; repeated headers joined with ', '. */
  headers: Record<string, string>
}

function parseHead(text: string): Head {
  const [line, ...rest] = text.split('\r\n')
  const headers: Record<string, string> = {}
  for (const entry of rest) {
    const colon = entry.indexOf(':')
    if (colon <= 0) continue
    const name = entry.slice(0, colon).trim().toLowerCase()
    const value = entry.slice(colon + 1).trim()
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
  }
  return { line, headers }
}

const hasToken = (value: string | undefined, token: string) =>
  (value ?? '').split(',').some((part) => part.trim().toLowerCase() === token)

/**
 * Reads an HTTP head (up to the blank line) from `socket`. Resolves with it
 * and the bytes after it; the caller attaches its own listeners in the same
 * tick, so nothing is lost.
 */
export function readHead(socket: Socket): Promise<{ head: Head; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0)
    const timer = setTimeout(() => fail(new Error(`no complete HTTP head within ${HANDSHAKE_TIMEOUT_MS} ms`)), HANDSHAKE_TIMEOUT_MS)
    const cleanup = () => {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('error', fail)
      socket.off('end', onEnd)
    }
    const fail = (error: Error) => {
      cleanup()
      reject(error)
    }
    const onEnd = () => fail(new Error('connection ended during the handshake'))
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      const end = received.indexOf('\r\n\r\n')
      if (end === -1) return
      cleanup()
      socket.pause()
      resolve({ head: parseHead(received.subarray(0, end).toString('latin1')), rest: received.subarray(end + 4) })
    }
    socket.on('data', onData)
    socket.on('error', fail)
    socket.on('end', onEnd)
  })
}

/**
 * Client side: connect, send the upgrade request (offering `extensions`, if
 * given), check the 101. The socket comes back paused, with the response head.
 */
export async function clientHandshake(port: number, path: string, extensions?: string): Promise<{ socket: Socket; rest: Buffer; head: Head }> {
  const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true })
  const key = randomBytes(16).toString('base64')
  socket.on('connect', () => {
    socket.write(
      `GET ${path} HTTP/1.1\r\n` +
        `Host: 127.0.0.1:${port}\r\n` +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${key}\r\n` +
        (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') +
        'Sec-WebSocket-Version: 13\r\n\r\n',
    )
  })
  try {
    const { head, rest } = await readHead(socket)
    const problem = !/^HTTP\/1\.1 101\b/.test(head.line)
      ? `expected 101, got "${head.line}"`
      : !hasToken(head.headers.upgrade, 'websocket')
        ? 'the 101 has no "Upgrade: websocket"'
        : !hasToken(head.headers.connection, 'upgrade')
          ? 'the 101 has no "Connection: Upgrade"'
          : head.headers['sec-websocket-accept'] !== acceptFor(key)
            ? 'wrong Sec-WebSocket-Accept'
            : // RFC 6455 section 4.1: an extension "that was not present in the client's handshake" MUST fail the connection.
              !extensions && head.headers['sec-websocket-extensions'] !== undefined
              ? `the 101 names extensions (${head.headers['sec-websocket-extensions']}) though none was offered`
              : null
    if (problem) throw new Error(problem)
    return { socket, rest, head }
  } catch (error) {
    socket.destroy()
    throw error
  }
}

/** Server side: judge an upgrade request. Returns the 101 response (with `extensions`, if given), or throws saying what is wrong. */
export function answerUpgrade(head: Head, extensions?: string): string {
  const [method, , version] = head.line.split(' ')
  const h = head.headers
  const key = h['sec-websocket-key'] ?? ''
  const problem =
    method !== 'GET' || version !== 'HTTP/1.1'
      ? `request line "${head.line}"`
      : !hasToken(h.upgrade, 'websocket')
        ? 'no "Upgrade: websocket"'
        : !hasToken(h.connection, 'upgrade')
          ? 'no "Connection: Upgrade"'
          : h['sec-websocket-version'] !== '13'
            ? `Sec-WebSocket-Version ${h['sec-websocket-version']}`
            : Buffer.from(key, 'base64').length !== 16 || Buffer.from(key, 'base64').toString('base64') !== key
              ? `Sec-WebSocket-Key "${key}" is not base64 of 16 bytes`
              : h.host === undefined
                ? 'no Host header'
                : null
  if (problem) throw new Error(`bad upgrade request: ${problem}`)
  return (
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${acceptFor(key)}\r\n` +
    (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') +
    '\r\n'
  )
}
