/**
 * FrameDecoder: a Transform from bytes to frame slices (RFC 6455 section 5.2).
 *
 * It never waits for a whole frame: whatever part of a payload has arrived
 * goes out at once as a slice (a view of the input, unmasked in place), so a
 * 1 GiB frame never sits in memory and the assembler can check UTF-8 while a
 * frame is still arriving. Everything one frame header can reveal is judged
 * here, before any payload is read or memory allocated.
 *
 * Input chunks are taken over: masked payloads are unmasked where they lie.
 */
import type { TransformCallback } from 'node:stream'
import { Transform } from './streams'
import { DrainGate } from './drain-gate'
import { WebSocketError, protocolError, tooBig } from '../protocol/errors'
import {
  type FrameSlice,
  type Role,
  MAX_CONTROL_PAYLOAD,
  Opcode,
  isControl,
  isKnownOpcode,
} from '../protocol/frame'
import { applyMask } from '../protocol/mask'
import { DEFAULT_MAX_MESSAGE_SIZE } from '../protocol/limits'

/** Options of a FrameDecoder. */
export interface FrameDecoderOptions {
  /**
   * Whose frames these are. 'server' (the default) decodes what a client
   * sends, which must be masked; 'client' decodes a server's, which must not be.
   */
  role?: Role
  /** The largest payload a frame may declare; larger fails with 1009. Default 100 MiB. */
  maxPayload?: number
  /**
   * Allow RSV1 on the first frame of a data message, for a negotiated
   * extension that defines it (permessage-deflate); never on control or
   * continuation frames.
   */
  allowRsv1?: boolean
  /** Frames buffered on the readable side before backpressure. Default 16. */
  readableHighWaterMark?: number
}

const MAX_HEADER = 14

/** Header bytes needed once the second byte is known. */
function headerLength(second: number): number {
  const len7 = second & 0x7f
  const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0
  return 2 + ext + (second & 0x80 ? 4 : 0)
}

/** A Transform from bytes to frame slices (FrameSlice): parses and unmasks frame headers and never waits for a whole frame. */
export class FrameDecoder extends Transform {
  readonly #expectMasked: boolean
  readonly #maxPayload: number
  readonly #allowRsv1: boolean
  readonly #gate: DrainGate

  /** A header that arrived split across chunks. */
  readonly #header = Buffer.allocUnsafe(MAX_HEADER)
  #headerFill = 0

  // The frame whose payload is being read.
  #inPayload = false
  #b0 = 0
  #opcode = 0
  #masked = false
  #length = 0
  #offset = 0
  readonly #maskKey = Buffer.allocUnsafe(4)

  constructor(options: FrameDecoderOptions = {}) {
    super({
      readableObjectMode: true,
      readableHighWaterMark: options.readableHighWaterMark ?? 16,
    })
    this.#expectMasked = (options.role ?? 'server') === 'server'
    this.#maxPayload = options.maxPayload ?? DEFAULT_MAX_MESSAGE_SIZE
    this.#allowRsv1 = options.allowRsv1 ?? false
    this.#gate = new DrainGate(this)
  }

  override read(size?: number) {
    const frame = super.read(size)
    this.#gate.check()
    return frame
  }

  override _transform(chunk: Buffer, _encoding: string, callback: TransformCallback): void {
    const end = chunk.length
    let pos = 0
    try {
      while (pos < end) {
        if (!this.#inPayload) {
          pos = this.#takeHeader(chunk, pos, end)
          if (!this.#inPayload) break
        }
        pos = this.#takePayload(chunk, pos, end)
      }
    } catch (err) {
      if (!(err instanceof WebSocketError)) throw err
      // Frames pushed before the bad one are read first; then the error.
      this.#gate.hold(() => callback(err))
      return
    }
    callback()
  }

  /** Between frames with nothing buffered: dropping the decoder now loses nothing. */
  get idle(): boolean {
    return this.#headerFill === 0 && !this.#inPayload && this.writableLength === 0 && this.readableLength === 0
  }

  /** Consumes header bytes; starts the frame once its header is complete. */
  #takeHeader(chunk: Buffer, pos: number, end: number): number {
    if (this.#headerFill === 0 && end - pos >= 2) {
      const need = headerLength(chunk[pos + 1])
      if (end - pos >= need) {
        this.#startFrame(chunk, pos)
        return pos + need
      }
    }
    const header = this.#header
    while (pos < end) {
      header[this.#headerFill++] = chunk[pos++]
      if (this.#headerFill < 2) continue
      // Judge the first two bytes as soon as they are here, not when the rest comes.
      if (this.#headerFill === 2) this.#checkStart(header[0], header[1])
      if (this.#headerFill === headerLength(header[1])) {
        this.#headerFill = 0
        this.#startFrame(header, 0)
        break
      }
    }
    return pos
  }

  #checkStart(b0: number, b1: number): void {
    const opcode = b0 & 0x0f
    if ((b0 & 0x40 && !this.#allowRsv1) || b0 & 0x30) {
      throw protocolError('WS_ERR_UNEXPECTED_RSV', 'reserved bits set without a negotiated extension')
    }
    // RFC 7692 section 6.1: "An endpoint MUST NOT set the "Per-Message Compressed" bit of control
    // frames and non-first fragments of a data message. An endpoint receiving such a frame MUST
    // _Fail the WebSocket Connection_."
    if (b0 & 0x40 && (isControl(opcode) || opcode === Opcode.CONTINUATION)) {
      throw protocolError('WS_ERR_UNEXPECTED_RSV', `RSV1 set on a ${isControl(opcode) ? 'control' : 'continuation'} frame`)
    }
    if (!isKnownOpcode(opcode)) {
      throw protocolError('WS_ERR_INVALID_OPCODE', `reserved opcode 0x${opcode.toString(16)}`)
    }
    if (isControl(opcode)) {
      if (!(b0 & 0x80)) throw protocolError('WS_ERR_FRAGMENTED_CONTROL', 'fragmented control frame')
      if ((b1 & 0x7f) > MAX_CONTROL_PAYLOAD) {
        throw protocolError('WS_ERR_CONTROL_TOO_LONG', 'control frame payload over 125 bytes')
      }
    }
    const masked = (b1 & 0x80) !== 0
    if (masked !== this.#expectMasked) {
      throw masked
        ? protocolError('WS_ERR_UNEXPECTED_MASK', 'a server must not mask its frames')
        : protocolError('WS_ERR_MASK_REQUIRED', 'a client must mask its frames')
    }
  }

  #startFrame(buf: Buffer, at: number): void {
    const b0 = buf[at]
    const b1 = buf[at + 1]
    this.#checkStart(b0, b1)
    let length = b1 & 0x7f
    let pos = at + 2
    if (length === 126) {
      length = buf.readUInt16BE(pos)
      pos += 2
    } else if (length === 127) {
      const high = buf.readUInt32BE(pos)
      if (high & 0x80000000) {
        throw protocolError('WS_ERR_INVALID_LENGTH', 'frame length has its most significant bit set')
      }
      length = high * 0x100000000 + buf.readUInt32BE(pos + 4)
      pos += 8
    }
    if (length > this.#maxPayload) {
      throw tooBig('WS_ERR_PAYLOAD_TOO_LARGE', `frame of ${length} bytes exceeds the limit of ${this.#maxPayload}`)
    }
    this.#masked = (b1 & 0x80) !== 0
    if (this.#masked) buf.copy(this.#maskKey, 0, pos, pos + 4)
    this.#b0 = b0
    this.#opcode = b0 & 0x0f
    this.#length = length
    this.#offset = 0
    this.#inPayload = true
  }

  /** Emits whatever part of the current payload this chunk holds. */
  #takePayload(chunk: Buffer, pos: number, end: number): number {
    const take = Math.min(this.#length - this.#offset, end - pos)
    if (take === 0 && this.#length !== 0) return pos
    const payload = chunk.subarray(pos, pos + take)
    if (this.#masked) applyMask(payload, this.#maskKey, this.#offset, payload)
    const offset = this.#offset
    this.#offset += take
    const last = this.#offset === this.#length
    if (last) this.#inPayload = false
    const b0 = this.#b0
    const slice: FrameSlice = {
      fin: (b0 & 0x80) !== 0,
      rsv1: (b0 & 0x40) !== 0,
      rsv2: (b0 & 0x20) !== 0,
      rsv3: (b0 & 0x10) !== 0,
      opcode: this.#opcode,
      masked: this.#masked,
      length: this.#length,
      offset,
      first: offset === 0,
      last,
      payload,
    }
    this.push(slice)
    return pos + take
  }
}
