/**
 * Deliberately careless permessage-deflate peers, for checking that the judge
 * of sections 12-13 fails what is wrong. Each answers the handshake with a
 * header of its choosing and then echoes every message compressed by rules
 * of its own, which may not be the ones it agreed to: a 15-bit window after
 * agreeing 8, a kept context after agreeing none, RSV1 on every frame, or no
 * compression at all. Built from the suite's own codec, like ../careless-peers.ts.
 */
import type { Socket } from 'node:net'
import { rawClient, startRawServer } from '../careless-peers'
import type { ClientStarter } from '../fuzzing-server'
import { OP, FrameParser, closePayload, encodeFrame } from '../frames'
import type { TesteeServer } from '../testee'
import { DeflatePeer } from './peer'

export interface Carelessness {
  /** The Sec-WebSocket-Extensions value the careless server answers (ignored by the careless client). */
  answer?: string
  /** How it really compresses what it sends. */
  window: number
  keepsContext: boolean
  /** Sets RSV1 on every frame of a message, and splits its echoes into frames of this many bytes. */
  rsv1OnEveryFrame?: number
  /** Sends everything uncompressed. */
  neverCompresses?: boolean
}

/**
 * Echoes messages as `how` says. What the fuzzing peer sends is inflated with
 * a kept 15-bit window, which reads a message whether or not it refers back.
 */
function carelessEcho(socket: Socket, head: Buffer, mask: boolean, how: Carelessness): void {
  const mine = { noContextTakeover: !how.keepsContext, maxWindowBits: how.window }
  const side = mask ? 'client' : 'server'
  const peer = new DeflatePeer({
    serverNoContextTakeover: side === 'server' ? mine.noContextTakeover : false,
    clientNoContextTakeover: side === 'client' ? mine.noContextTakeover : false,
    serverMaxWindowBits: side === 'server' ? mine.maxWindowBits : 15,
    clientMaxWindowBits: side === 'client' ? mine.maxWindowBits : 15,
  }, side)
  const parser = new FrameParser()
  let parts: Buffer[] = []
  let opcode = 0
  let compressed = false
  const onData = (chunk: Buffer) => {
    for (const f of parser.push(chunk)) {
      if (f.opcode === OP.CLOSE) {
        socket.write(encodeFrame({ opcode: OP.CLOSE, payload: closePayload(1000) }, mask))
        if (!mask) socket.end()
        return
      }
      if (f.opcode >= 8) continue
      if (f.opcode !== OP.CONTINUATION) [parts, opcode, compressed] = [[], f.opcode, (f.rsv & 4) !== 0]
      parts.push(f.payload)
      if (!f.fin) continue
      const message = compressed ? peer.inflater.inflate(Buffer.concat(parts)) : Buffer.concat(parts)
      const type = opcode === OP.TEXT ? 'text' : 'binary'
      if (how.neverCompresses) {
        socket.write(encodeFrame({ opcode, payload: message }, mask))
        continue
      }
      const frames = peer.framesOf(type, message, how.rsv1OnEveryFrame ?? 0)
      for (const frame of frames) socket.write(encodeFrame({ ...frame, rsv: how.rsv1OnEveryFrame ? 4 : frame.rsv }, mask))
    }
  }
  socket.on('error', () => {})
  socket.on('end', () => socket.end())
  socket.on('data', onData)
  if (head.length > 0) onData(head)
}

export const startCarelessDeflateServer = (how: Carelessness): Promise<TesteeServer> =>
  startRawServer((socket, head) => carelessEcho(socket, head, false, how), how.answer ?? 'permessage-deflate')

/** A client that offers permessage-deflate as browsers do, then compresses as `how` says, whatever the answer. */
export const carelessDeflateClient = (how: Carelessness): ClientStarter =>
  rawClient((socket, rest) => carelessEcho(socket, rest, true, how), 'permessage-deflate; client_max_window_bits')
