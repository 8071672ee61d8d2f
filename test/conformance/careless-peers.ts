/**
 * Deliberately careless peers, built from the suite's own codec, for checking
 * that the judge fails what is wrong. The careless server echoes every data
 * frame as it came (reserved bits, bad UTF-8 and all), ignores PINGs, answers
 * any CLOSE with 1000, and closes TCP only if told to. The careless client
 * echoes without masking and, at a CLOSE, just closes TCP.
 */
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { ClientStarter } from './fuzzing-server'
import { OP, FrameParser, closePayload, encodeFrame } from './frames'
import { acceptFor, clientHandshake } from './handshake'
import type { TesteeServer } from './testee'

/** Echoes frames on `socket`, masking them or not; at a CLOSE, answers 1000 (if `answer`) and calls `onClose`. */
function carelessEcho(socket: Socket, head: Buffer, mask: boolean, answer: boolean, onClose: () => void): void {
  const parser = new FrameParser()
  let closed = false
  const onData = (chunk: Buffer) => {
    for (const f of parser.push(chunk)) {
      if (closed) return
      if (f.opcode === OP.CLOSE) {
        closed = true
        if (answer) socket.write(encodeFrame({ opcode: OP.CLOSE, payload: closePayload(1000) }, mask))
        onClose()
      } else if (f.opcode < 8) {
        socket.write(encodeFrame({ opcode: f.opcode, payload: f.payload, fin: f.fin, rsv: f.rsv }, mask))
      }
    }
  }
  socket.on('error', () => {})
  socket.on('end', () => socket.end())
  socket.on('data', onData)
  if (head.length > 0) onData(head)
}

/**
 * An http.Server that answers every upgrade with a 101 of its own making
 * (with `extensions`, if given) and hands the socket to `echo`. Shared by the
 * careless peers here and in ./deflate.
 */
export async function startRawServer(echo: (socket: Socket, head: Buffer) => void, extensions?: string): Promise<TesteeServer> {
  const sockets = new Set<Socket>()
  const server = http.createServer()
  server.on('upgrade', (req, socket: Socket, head: Buffer) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    const key = String(req.headers['sec-websocket-key'])
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n` +
        (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') +
        '\r\n',
    )
    echo(socket, head)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    logFor: () => undefined,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

export const startCarelessServer = (options: { closeTcp: boolean }): Promise<TesteeServer> =>
  startRawServer((socket, head) =>
    carelessEcho(socket, head, false, true, () => {
      if (options.closeTcp) socket.end()
    }),
  )

/** A client under test made of a raw socket: upgrades (offering `extensions`), then leaves the socket to `echo`. */
export const rawClient = (echo: (socket: Socket, rest: Buffer) => void, extensions?: string): ClientStarter => async (url) => {
  const target = new URL(url)
  const { socket, rest } = await clientHandshake(Number(target.port), target.pathname, extensions)
  echo(socket, rest)
  socket.resume()
  return { ws: { destroy: () => socket.destroy() }, log: { errors: [], closeCode: null, closed: Promise.resolve() } }
}

export const startCarelessClient: ClientStarter = rawClient((socket, rest) => carelessEcho(socket, rest, false, false, () => socket.end()))
