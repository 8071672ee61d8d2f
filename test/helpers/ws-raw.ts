/**
 * Raw TCP peers that speak the handshake by hand, so tests can send exactly
 * the bytes they want (unmasked frames, bad UTF-8, data after CLOSE) and see
 * exactly what comes back, including when each side sends its FIN.
 */
import { createHash, randomBytes } from 'node:crypto'
import http, { type IncomingMessage } from 'node:http'
import net, { type AddressInfo, type Socket } from 'node:net'
import type { Duplex as NodeDuplex } from 'node:stream'
import { FrameDecoder } from '../../lib/stages/frame-decoder'
import type { FrameSlice } from '../../lib/protocol/frame'
import { within } from './ws-wait'

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

/** The Sec-WebSocket-Accept value for `key`, computed here rather than by the library. */
export const expectedAccept = (key: string) =>
  createHash('sha1')
    .update(key + GUID)
    .digest('base64')

export interface RawClient {
  socket: Socket
  /** The 101 response head, as text. */
  response: string
}

/**
 * Opens TCP to `port`, sends an upgrade request and checks the 101. The
 * socket comes back paused, with any bytes after the response put back.
 */
export function rawConnect(
  port: number,
  extraHeaders: Record<string, string> = {},
  /** Bytes sent in the same write as the request, as an eager client might. */
  early: Buffer = Buffer.alloc(0),
): Promise<RawClient> {
  const key = randomBytes(16).toString('base64')
  // Half-open allowed, so the peer's FIN does not make us send ours: tests decide when.
  const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true })
  const handshake = new Promise<RawClient>((resolve, reject) => {
    let received = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      const end = received.indexOf('\r\n\r\n')
      if (end === -1) return
      socket.off('data', onData)
      socket.off('error', reject)
      socket.on('error', () => {}) // a raw peer's own socket errors are not under test
      socket.pause()
      const response = received.subarray(0, end).toString('latin1')
      const rest = received.subarray(end + 4)
      if (rest.length > 0) socket.unshift(rest)
      if (!/^HTTP\/1\.1 101 /.test(response)) return reject(new Error(`expected 101, got: ${response}`))
      const acceptLine = response.split('\r\n').find((line) => /^sec-websocket-accept:/i.test(line))
      if (acceptLine?.split(':')[1].trim() !== expectedAccept(key)) return reject(new Error('bad Sec-WebSocket-Accept'))
      resolve({ socket, response })
    }
    socket.on('data', onData)
    socket.on('error', reject)
    socket.on('connect', () => {
      const headers = {
        Host: `127.0.0.1:${port}`,
        Upgrade: 'websocket',
        Connection: 'Upgrade',
        'Sec-WebSocket-Key': key,
        'Sec-WebSocket-Version': '13',
        ...extraHeaders,
      }
      const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`)
      socket.write(Buffer.concat([Buffer.from(`GET / HTTP/1.1\r\n${lines.join('')}\r\n`), early]))
    })
  })
  return within(handshake, 5000, 'raw client handshake').catch((error) => {
    socket.destroy()
    throw error
  })
}

export interface RawServer {
  url: string
  port: number
  close(): Promise<void>
}

/**
 * A server that answers any upgrade with a correct 101 by hand and gives the
 * socket (paused, early bytes put back) to `onSocket`; nothing else is done
 * with it.
 */
export async function rawServe(
  onSocket: (socket: Socket, req: IncomingMessage) => void,
  /** Bytes sent in the same write as the 101 response. */
  early: Buffer = Buffer.alloc(0),
): Promise<RawServer> {
  const server = http.createServer()
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.on('upgrade', (req: IncomingMessage, duplex: NodeDuplex, head: Buffer) => {
    const socket = duplex as Socket
    socket.on('error', () => {}) // a raw peer's own socket errors are not under test
    const key = String(req.headers['sec-websocket-key'])
    const response =
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${expectedAccept(key)}\r\n\r\n`
    socket.write(Buffer.concat([Buffer.from(response), early]))
    socket.pause()
    if (head.length > 0) socket.unshift(head)
    onSocket(socket, req)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `ws://127.0.0.1:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

/** A whole frame, its slices joined. */
export interface WireFrame {
  fin: boolean
  /** RSV1: a compressed message's first frame, when permessage-deflate was negotiated. */
  rsv1: boolean
  opcode: number
  masked: boolean
  payload: Buffer
}

/** A CLOSE frame's payload: the code in network order, then the reason. */
export const closeBody = (code: number, reason = '') =>
  Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason, 'utf8')])

/** The close code in a CLOSE frame's payload, or null when it is empty. */
export const closeCodeOf = (frame: WireFrame) => (frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : null)

/**
 * Reads frames off a raw socket. `decodeAs` is the role of the side doing
 * the reading: 'client' reads a server's unmasked frames, 'server' a client's
 * masked ones. Also notes when the peer's FIN arrives.
 */
export class WireReader {
  readonly frames: WireFrame[] = []
  /** 'frame' and 'end' in arrival order. */
  readonly order: string[] = []
  ended = false
  /** Whether our own FIN had gone out when the peer's arrived. */
  endedBeforePeer = false
  closed = false
  error: Error | null = null
  readonly #decoder: FrameDecoder
  #parts: Buffer[] = []

  /**
   * With `endOnFin` (the default) the reader answers the peer's FIN with its
   * own, as an ordinary TCP client does; tests of who closes first turn it off.
   * `allowRsv1` reads the frames of a connection that negotiated
   * permessage-deflate (their payloads stay compressed).
   */
  constructor(readonly socket: Socket, decodeAs: 'client' | 'server', { endOnFin = true, allowRsv1 = false } = {}) {
    this.#decoder = new FrameDecoder({ role: decodeAs, allowRsv1 })
    this.#decoder.on('data', (slice: FrameSlice) => {
      this.#parts.push(Buffer.from(slice.payload))
      if (!slice.last) return
      this.frames.push({ fin: slice.fin, rsv1: slice.rsv1, opcode: slice.opcode, masked: slice.masked, payload: Buffer.concat(this.#parts) })
      this.#parts = []
      this.order.push('frame')
    })
    this.#decoder.on('error', (error: Error) => {
      this.error = error
    })
    socket.on('data', (chunk: Buffer) => this.#decoder.write(chunk))
    socket.on('end', () => {
      this.ended = true
      this.endedBeforePeer = socket.writableEnded
      this.order.push('end')
      if (endOnFin) socket.end()
    })
    socket.on('close', () => {
      this.closed = true
    })
    socket.on('error', () => {})
    socket.resume()
  }

  /** Waits until `condition` holds, checking on every frame and FIN. */
  async waitFor(condition: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }

  frameWith(opcode: number): WireFrame | undefined {
    return this.frames.find((frame) => frame.opcode === opcode)
  }
}
