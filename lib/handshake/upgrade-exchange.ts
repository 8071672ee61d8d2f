/**
 * One HTTP/1.1 upgrade request written on a socket the client made itself,
 * and the head of the answer read from it, without http.request.
 *
 * Why not http.request: for a request of fixed shape whose answer matters
 * only up to the end of its head, a ClientRequest, its parser and its
 * IncomingMessage cost about as much CPU as everything else in a client's
 * handshake together (see bench/findings.md). connect() takes this way
 * unless the caller chose how to connect (an `agent`, a `createConnection`)
 * or asked for something only http.request does; then http.request is used.
 *
 *   writing ──► reading head ──► 1xx other than 101: read the next head
 *                    │
 *                    ├──► head complete: done(head, rest); the socket is paused, ours no more
 *                    └──► error, close, too large, malformed: failed(error); the socket destroyed
 */
import type { Socket } from 'node:net'
import { HandshakeError } from '../protocol/errors'
import { type HeadLimits, type ResponseHead, headEnd, parseResponseHead } from './response-head'

/** Told the answer's head and the bytes after it (a 101's first frames, or the start of another answer's body). */
export type OnHead = (res: ResponseHead, rest: Buffer) => void

/**
 * A GET request head: the request line, `headers` in their order, and the
 * empty line. A name given twice in different letter cases is sent once,
 * with the later value, where the first stood (as http.request's setHeader does).
 */
export function requestHead(path: string, headers: Record<string, string>): string {
  const fields = new Map<string, [string, string]>()
  for (const name in headers) {
    const lower = name.toLowerCase()
    const seen = fields.get(lower)
    if (seen === undefined) fields.set(lower, [name, headers[name]])
    else seen[1] = headers[name]
  }
  let head = `GET ${path} HTTP/1.1\r\n`
  for (const [name, value] of fields.values()) head += `${name}: ${value}\r\n`
  return head + '\r\n'
}

/**
 * The Host field as http.request writes it: the port only when it is not
 * the scheme's, an IPv6 address in brackets, `localhost` for a unix socket.
 */
export function hostField(hostname: string, port: number, secure: boolean, unix: boolean): string {
  if (unix) return 'localhost'
  const host = hostname.includes(':') ? `[${hostname}]` : hostname
  return port === (secure ? 443 : 80) ? host : `${host}:${port}`
}

/**
 * Writes `request` on `socket` and reads the answer's head within `limits`.
 * Exactly one of `done` and `failed` is called, and nothing after it: after
 * `done` the socket is the caller's (paused, no listener of ours left on it);
 * before `failed` it is destroyed. The caller's deadline or abort destroys the
 * socket with its reason, which arrives here as that error.
 */
export function exchangeUpgrade(socket: Socket, request: string, limits: HeadLimits, done: OnHead, failed: (error: Error) => void): void {
  let received: Buffer | null = null
  let searched = 0
  // The head's size is judged as Node's parser judges it, without its line
  // breaks, so that maxResponseHeaderSize means one thing on either path;
  // counted once per byte, and only once the head is long enough to matter.
  let counted = 0
  let breaks = 0
  const sizeOf = (bytes: Buffer, length: number) => {
    for (; counted < length; counted++) if (bytes[counted] === 10 || bytes[counted] === 13) breaks++
    return length - breaks
  }
  const finish = () => {
    socket.off('data', onData)
    socket.off('error', onError)
    socket.off('close', onClose)
  }
  const fail = (error: Error) => {
    finish()
    socket.destroy()
    failed(error)
  }
  const onError = (error: Error) => fail(error)
  const onClose = () => {
    const error = new Error('socket hang up: the connection closed before a complete HTTP response head') as Error & { code: string }
    error.code = 'ECONNRESET'
    fail(error)
  }
  // A head arriving in many pieces is gathered in a store that doubles, so a
  // peer trickling it byte by byte costs copies in proportion to its length.
  let store: Buffer | null = null
  const gather = (chunk: Buffer): Buffer => {
    if (received === null || received.length === 0) return chunk
    const length = received.length + chunk.length
    if (store === null || received.buffer !== store.buffer || received.byteOffset + length > store.byteOffset + store.length) {
      const grown = Buffer.allocUnsafe(Math.max(1024, 2 * length))
      received.copy(grown)
      store = grown
      received = grown.subarray(0, received.length)
    }
    chunk.copy(store, received.byteOffset - store.byteOffset + received.length)
    return store.subarray(received.byteOffset - store.byteOffset, received.byteOffset - store.byteOffset + length)
  }
  const onData = (chunk: Buffer) => {
    received = gather(chunk)
    for (;;) {
      // A head trickled in byte by byte is searched once, not once per byte.
      const end = headEnd(received, Math.max(0, searched - 3))
      const length = end === -1 ? received.length : end
      if (length > limits.maxHeaderSize && sizeOf(received, length) > limits.maxHeaderSize) {
        return fail(new HandshakeError('WS_ERR_RESPONSE_HEADERS_TOO_LARGE', `response head exceeds ${limits.maxHeaderSize} bytes`))
      }
      if (end === -1) {
        searched = received.length
        return
      }
      searched = counted = breaks = 0
      let res: ResponseHead
      try {
        res = parseResponseHead(received, end, limits)
      } catch (error) {
        return fail(error as Error)
      }
      received = received.subarray(end)
      // RFC 9110 section 15.2: a client must take interim answers (100, 103) before the final one.
      if (res.statusCode >= 100 && res.statusCode < 200 && res.statusCode !== 101) continue
      finish()
      // Whatever follows stays in the socket until its next owner reads.
      socket.pause()
      return done(res, received)
    }
  }
  socket.on('data', onData)
  socket.on('error', onError)
  socket.on('close', onClose)
  socket.write(request)
}
