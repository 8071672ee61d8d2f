/**
 * The opening handshake at the byte level: upgrade requests written as exact
 * bytes over raw TCP, responses read back and parsed by hand (status line,
 * headers, body, and whether the server then closed), an HTTP server that
 * hands every request to one upgrade handler, and a plain TCP server that
 * answers upgrade requests with whatever bytes a test crafts.
 */
import { createHash } from 'node:crypto'
import http, { type IncomingMessage } from 'node:http'
import net, { type AddressInfo, type Socket } from 'node:net'
import type { Duplex as NodeDuplex } from 'node:stream'

/** The example key and its answer from RFC 6455 section 1.3. */
export const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ=='
export const RFC_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='

/** The accept value for `key`, computed here rather than by the library. */
export const acceptFor = (key: string) =>
  createHash('sha1')
    .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
    .digest('base64')

/** How long any single wait in these helpers may take before it fails. */
const WAIT_MS = 5000

function deadline<T>(promise: Promise<T>, what: string, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.()
      reject(new Error(`${what}: nothing within ${WAIT_MS} ms`))
    }, WAIT_MS)
  })
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer))
}

export interface RequestShape {
  method?: string
  path?: string
  version?: string
}

/**
 * A valid upgrade request for the RFC key, as bytes, with header changes:
 * a string replaces a header's value, null removes the header, an array
 * sends the header once per value. Names are matched case-insensitively.
 */
export function upgradeRequest(
  changes: Record<string, string | string[] | null> = {},
  { method = 'GET', path = '/chat', version = 'HTTP/1.1' }: RequestShape = {},
): Buffer {
  const headers: Array<[string, string | string[] | null]> = [
    ['Host', 'server.example.com'],
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Key', RFC_KEY],
    ['Sec-WebSocket-Version', '13'],
  ]
  for (const [name, value] of Object.entries(changes)) {
    const index = headers.findIndex(([existing]) => existing.toLowerCase() === name.toLowerCase())
    if (index === -1) headers.push([name, value])
    else headers[index] = [name, value]
  }
  let text = `${method} ${path} ${version}\r\n`
  for (const [name, value] of headers) {
    if (value === null) continue
    for (const one of Array.isArray(value) ? value : [value]) text += `${name}: ${one}\r\n`
  }
  return Buffer.from(text + '\r\n', 'latin1')
}

export interface HttpHead {
  /** The first line, without its CRLF. */
  startLine: string
  /** Header values by lower-case name, in arrival order. */
  headers: Record<string, string[]>
  /** Everything after the blank line. */
  rest: Buffer
}

/** Splits raw bytes into start line, headers and what follows, or null if the head is incomplete. */
export function parseHead(bytes: Buffer): HttpHead | null {
  const end = bytes.indexOf('\r\n\r\n')
  if (end === -1) return null
  const [startLine, ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n')
  const headers: Record<string, string[]> = Object.create(null)
  for (const line of lines) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim().toLowerCase()
    ;(headers[name] ??= []).push(line.slice(colon + 1).trim())
  }
  return { startLine, headers, rest: bytes.subarray(end + 4) }
}

/** A header's single value, or undefined; fails loudly if it was sent more than once. */
export function header(head: HttpHead, name: string): string | undefined {
  const values = head.headers[name.toLowerCase()]
  if (values === undefined) return undefined
  if (values.length !== 1) throw new Error(`header ${name} sent ${values.length} times`)
  return values[0]
}

/** The status code of a response head. */
export const statusOf = (head: HttpHead) => Number(head.startLine.split(' ')[1])

export interface WholeResponse extends HttpHead {
  /** Every byte received before the server closed. */
  bytes: Buffer
}

/**
 * Sends `bytes` over a fresh TCP connection and reads until the server ends
 * it. Fails if the server has not closed within the deadline, so a response
 * that leaves the socket open fails the test instead of hanging it.
 */
export function exchangeUntilClosed(port: number, bytes: Buffer): Promise<WholeResponse> {
  const socket = net.connect({ host: '127.0.0.1', port })
  const chunks: Buffer[] = []
  const done = new Promise<WholeResponse>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('end', () => {
      const all = Buffer.concat(chunks)
      const head = parseHead(all)
      if (head === null) return reject(new Error(`no complete response before EOF: ${JSON.stringify(all.toString('latin1'))}`))
      resolve({ ...head, bytes: all })
    })
    socket.write(bytes)
  })
  return deadline(done, 'response then EOF', () => socket.destroy()).finally(() => socket.destroy())
}

export interface OpenResponse extends HttpHead {
  /** The connection, paused, with any bytes after the head put back. */
  socket: Socket
}

/** Sends `bytes` and resolves once a response head has arrived; the socket stays open. */
export function exchangeHead(port: number, bytes: Buffer): Promise<OpenResponse> {
  const socket = net.connect({ host: '127.0.0.1', port })
  let received = Buffer.alloc(0)
  const done = new Promise<OpenResponse>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      const head = parseHead(received)
      if (head === null) return
      socket.off('data', onData)
      socket.pause()
      if (head.rest.length > 0) socket.unshift(head.rest)
      resolve({ ...head, rest: Buffer.alloc(0), socket })
    }
    socket.on('data', onData)
    socket.on('error', reject)
    socket.on('end', () => reject(new Error('connection closed before a response head')))
    socket.write(bytes)
  })
  return deadline(done, 'response head', () => socket.destroy()).catch((error) => {
    socket.destroy()
    throw error
  })
}

/** Reads exactly `length` bytes from a paused or flowing socket. */
export function readBytes(socket: Socket, length: number): Promise<Buffer> {
  const done = new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let have = 0
    const onData = (chunk: Buffer) => {
      chunks.push(chunk)
      have += chunk.length
      if (have < length) return
      socket.off('data', onData)
      socket.off('end', onEnd)
      socket.pause()
      const all = Buffer.concat(chunks)
      if (all.length > length) socket.unshift(all.subarray(length))
      resolve(all.subarray(0, length))
    }
    const onEnd = () => reject(new Error(`connection ended after ${have} of ${length} bytes`))
    socket.on('data', onData)
    socket.once('end', onEnd)
    socket.resume()
  })
  return deadline(done, `${length} bytes`)
}

/** Resolves when the peer's FIN arrives (bytes before it are discarded). */
export function endOf(socket: Socket): Promise<void> {
  if (socket.readableEnded) return Promise.resolve()
  const done = new Promise<void>((resolve) => {
    socket.once('end', () => resolve())
    socket.once('close', () => resolve())
  })
  socket.resume()
  return deadline(done, 'EOF')
}

export type UpgradeHandler = (req: IncomingMessage, socket: Socket, head: Buffer) => void

export interface TestServer {
  port: number
  close(): Promise<void>
}

function track(server: net.Server): Set<Socket> {
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  return sockets
}

async function listening(server: net.Server, sockets: Set<Socket>): Promise<TestServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/**
 * An HTTP server on an ephemeral port that gives every request to
 * `onUpgrade`: upgrades with their head bytes, and also requests Node does
 * not count as upgrades (no Upgrade header, no Connection token), with their
 * socket and no head, so the library judges them itself.
 */
export function upgradeServer(onUpgrade: UpgradeHandler, server: http.Server = http.createServer()): Promise<TestServer> {
  const sockets = track(server)
  server.on('upgrade', (req: IncomingMessage, socket: NodeDuplex, head: Buffer) => onUpgrade(req, socket as Socket, head))
  server.on('request', (req: IncomingMessage) => onUpgrade(req, req.socket, Buffer.alloc(0)))
  return listening(server, sockets)
}

/** An upgrade request as a plain TCP server saw it. */
export interface SeenRequest extends HttpHead {
  socket: Socket
}

export interface CraftedServer extends TestServer {
  url: string
  /** Every request received, in order. */
  requests: SeenRequest[]
  /** How many TCP connections arrived. */
  connections(): number
}

/**
 * A plain TCP server that reads each request head and lets `answer` write
 * whatever bytes it likes, so a client can be shown any response at all.
 */
export async function craftedServer(answer: (request: SeenRequest) => void): Promise<CraftedServer> {
  const server = net.createServer()
  const sockets = track(server)
  const requests: SeenRequest[] = []
  let connections = 0
  server.on('connection', (socket: Socket) => {
    connections++
    socket.on('error', () => {}) // the client's resets are not under test here
    let received = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      const head = parseHead(received)
      if (head === null) return
      socket.off('data', onData)
      const request = { ...head, socket }
      requests.push(request)
      answer(request)
    }
    socket.on('data', onData)
  })
  const base = await listening(server, sockets)
  return { ...base, url: `ws://127.0.0.1:${base.port}/`, requests, connections: () => connections }
}

/** A 101 response head that correctly answers `request`, plus extra header lines. */
export function switchingProtocols(request: HttpHead, extraLines: string[] = []): string {
  const key = header(request, 'sec-websocket-key') ?? ''
  return (
    'HTTP/1.1 101 Switching Protocols\r\n' +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${acceptFor(key)}\r\n` +
    extraLines.map((line) => line + '\r\n').join('') +
    '\r\n'
  )
}
