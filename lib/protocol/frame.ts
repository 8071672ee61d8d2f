/**
 * Frame vocabulary shared by the decoder, assembler and encoder: opcodes, the
 * shape of a decoded frame slice, and the header codec (RFC 6455 section 5.2).
 */

export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const

/** Which end of a connection: the server (sends unmasked frames) or the client (masks every frame). */
export type Role = 'server' | 'client'

/** Control frames carry at most 125 bytes of payload (section 5.5). */
export const MAX_CONTROL_PAYLOAD = 125

export const isControl = (opcode: number) => (opcode & 0x8) !== 0

export const isKnownOpcode = (opcode: number) =>
  opcode <= Opcode.BINARY || (opcode >= Opcode.CLOSE && opcode <= Opcode.PONG)

/**
 * One piece of one frame, as the decoder emits it. A frame's payload may come
 * out in several slices; `first` and `last` mark the ends of the frame and
 * `offset` is where this slice starts within the frame's payload.
 */
export interface FrameSlice {
  fin: boolean
  rsv1: boolean
  rsv2: boolean
  rsv3: boolean
  opcode: number
  masked: boolean
  /** The payload length the frame header declared. */
  length: number
  offset: number
  first: boolean
  last: boolean
  /** This slice of the payload, already unmasked. */
  payload: Buffer
}

/**
 * A frame to send. Written to a FrameEncoder, it is framed as given; a
 * decoded `FrameSlice` is one too, so decoder → encoder is a frame proxy.
 */
export interface OutboundFrame {
  opcode: number
  payload?: Uint8Array
  fin?: boolean
  rsv1?: boolean
  /** For frames passed on slice by slice: the whole frame's length. */
  length?: number
  first?: boolean
  last?: boolean
  /**
   * A whole message (a compressed one, say) that an encoder with
   * `fragmentSize` may split like any other: RSV1 then stays on the first
   * fragment only (RFC 7692 section 6.1). Without it, a frame goes out as given.
   */
  fragmentable?: boolean
}

/** The size of a header for `length` payload bytes, with or without a mask. */
export function headerSize(length: number, masked: boolean): number {
  const base = length < 126 ? 2 : length < 0x10000 ? 4 : 10
  return masked ? base + 4 : base
}

/**
 * Whether `chunk` holds exactly one whole frame: a header and all the
 * payload it declares (the encoder's piece for a small or masked frame),
 * rather than a header whose payload follows in other pieces.
 */
export function isWholeFrame(chunk: Buffer): boolean {
  if (chunk.length < 2) return false
  const code = chunk[1] & 0x7f
  const mask = (chunk[1] & 0x80) !== 0 ? 4 : 0
  if (code < 126) return chunk.length === 2 + mask + code
  if (code === 126) return chunk.length >= 4 && chunk.length === 4 + mask + chunk.readUInt16BE(2)
  return chunk.length >= 10 && chunk.length === 10 + mask + chunk.readUInt32BE(2) * 0x100000000 + chunk.readUInt32BE(6)
}

/**
 * Writes a frame header into `target` at `at` and returns where the payload
 * begins. The mask key, when given, follows the length.
 */
export function writeHeader(
  target: Buffer,
  at: number,
  fin: boolean,
  rsv1: boolean,
  opcode: number,
  length: number,
  maskKey: Uint8Array | null,
): number {
  target[at] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode
  const maskBit = maskKey ? 0x80 : 0
  let pos = at + 2
  if (length < 126) {
    target[at + 1] = maskBit | length
  } else if (length < 0x10000) {
    target[at + 1] = maskBit | 126
    target.writeUInt16BE(length, pos)
    pos += 2
  } else {
    target[at + 1] = maskBit | 127
    target.writeUInt32BE(Math.floor(length / 0x100000000), pos)
    target.writeUInt32BE(length >>> 0, pos + 4)
    pos += 8
  }
  if (maskKey) {
    target[pos] = maskKey[0]
    target[pos + 1] = maskKey[1]
    target[pos + 2] = maskKey[2]
    target[pos + 3] = maskKey[3]
    pos += 4
  }
  return pos
}
