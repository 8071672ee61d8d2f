/**
 * The vocabulary of the case table. A case is direction-neutral: it says which
 * frames the fuzzing peer sends, when it pauses, and what must come back. The
 * fuzzing client masks what it sends, the fuzzing server does not; the judge
 * is the same for both.
 */
import type { DataSetName } from './deflate/data-sets'
import type { Profile } from './deflate/negotiation'
import { type FrameSpec, OP, closePayload } from './frames'

export type Step =
  /** Send frames: as one write (default), one write per frame ('frame'), or in writes of `chop` bytes. */
  | { kind: 'send'; frames: FrameSpec[]; chop?: 'frame' | number }
  /**
   * Send bytes [from, to) of one frame's payload, the header going with the
   * part that starts at 0. Parts of the same FrameSpec object share one mask
   * key, so a frame can arrive in pieces with pauses in between.
   */
  | { kind: 'part'; frame: FrameSpec; from: number; to: number }
  /**
   * Pause. With `failFast`, the testee's CLOSE must have arrived by the end of
   * this pause: during it, or while the step just before it was being sent.
   * With `received`, that many items must have come back by its end (an
   * answer that waits for later frames is too late).
   */
  | { kind: 'wait'; ms: number; failFast?: boolean; received?: number }
  /** Send one message `times` times, each after the echo of the previous one arrived. */
  | { kind: 'roundtrip'; frames: FrameSpec[]; times: number }
  /**
   * Sections 12-13 (permessage-deflate negotiated): send `count` slices of
   * `size` bytes of a data set, taken cyclically, each compressed by the
   * fuzzing peer and split into frames of `fragmentSize` payload bytes (0:
   * one frame), each after the echo of the previous one arrived and was checked.
   */
  | { kind: 'deflate-echo'; data: DataSetName; size: number; count: number; fragmentSize: number }

/** Something the testee sent that the judge compares: a whole message or a control frame. */
export type Received =
  | { type: 'text'; data: Buffer }
  | { type: 'binary'; data: Buffer }
  | { type: 'pong'; data: Buffer }
  | { type: 'ping'; data: Buffer }

export interface ExpectedClose {
  /** Who must send the first CLOSE: the fuzzing peer (normal close, or a bad CLOSE it sends) or the testee (failing). */
  first: 'fuzzer' | 'testee'
  /** Codes the testee's CLOSE may carry; 1005 stands for a CLOSE without a code. */
  codes: number[]
  /** Both CLOSE frames exchanged and TCP closed in the right order, without a reset. */
  clean: boolean
}

export interface Script {
  steps: Step[]
  /** The received sequence required, or a list of sequences any one of which is right. */
  received: Received[] | { anyOf: Received[][] }
}

export interface Case {
  id: string
  section: number
  description: string
  close: ExpectedClose
  /** Built when run, so the large payloads of section 9 exist only while their case runs. */
  build: () => Script
  /** A single text message that can also be sent as one fragment per byte. */
  perByteFragments?: boolean
  /** How long to wait for echoes after the last step (default 5 s). */
  echoTimeoutMs?: number
  /** Sections 12-13: permessage-deflate is negotiated, with this profile's offers or answer. */
  deflate?: Profile
}

// Frame builders.
const bytes = (data: string | Buffer) => (typeof data === 'string' ? Buffer.from(data, 'utf8') : data)
export const text = (data: string | Buffer, fin = true, rsv = 0): FrameSpec => ({ opcode: OP.TEXT, payload: bytes(data), fin, rsv })
export const binary = (data: Buffer, fin = true, rsv = 0): FrameSpec => ({ opcode: OP.BINARY, payload: data, fin, rsv })
export const continuation = (data: string | Buffer, fin = true): FrameSpec => ({ opcode: OP.CONTINUATION, payload: bytes(data), fin })
export const ping = (data: string | Buffer = Buffer.alloc(0), rsv = 0): FrameSpec => ({ opcode: OP.PING, payload: bytes(data), rsv })
export const pong = (data: string | Buffer = Buffer.alloc(0)): FrameSpec => ({ opcode: OP.PONG, payload: bytes(data) })
export const frame = (opcode: number, data: string | Buffer = Buffer.alloc(0), fin = true, rsv = 0): FrameSpec => ({ opcode, payload: bytes(data), fin, rsv })
/** A CLOSE frame: no code means an empty payload; `raw` gives the payload exactly. */
export const close = (code?: number, reason: string | Buffer = '', rsv = 0): FrameSpec => ({
  opcode: OP.CLOSE,
  payload: code === undefined ? Buffer.alloc(0) : closePayload(code, reason),
  rsv,
})
export const closeRaw = (payload: Buffer): FrameSpec => ({ opcode: OP.CLOSE, payload })

/** A message split into frames of at most `size` payload bytes (at least one frame). */
export function fragments(opcode: number, payload: Buffer, size: number): FrameSpec[] {
  const frames: FrameSpec[] = []
  for (let start = 0; start === 0 || start < payload.length; start += size) {
    const end = Math.min(start + size, payload.length)
    frames.push({ opcode: start === 0 ? opcode : OP.CONTINUATION, payload: payload.subarray(start, end), fin: end === payload.length })
  }
  return frames
}

// Step builders.
export const send = (...frames: FrameSpec[]): Step => ({ kind: 'send', frames })
export const sendFramewise = (...frames: FrameSpec[]): Step => ({ kind: 'send', frames, chop: 'frame' })
export const sendChopped = (chop: number, ...frames: FrameSpec[]): Step => ({ kind: 'send', frames, chop })
export const wait = (ms: number, failFast = false): Step => ({ kind: 'wait', ms, failFast })
/** A pause by whose end `received` items must have come back. */
export const waitFor = (ms: number, received: number): Step => ({ kind: 'wait', ms, received })

// Expected items.
export const gotText = (data: string | Buffer): Received => ({ type: 'text', data: bytes(data) })
export const gotBinary = (data: Buffer): Received => ({ type: 'binary', data })
export const gotPong = (data: string | Buffer = Buffer.alloc(0)): Received => ({ type: 'pong', data: bytes(data) })

// Expected closes.
/** The fuzzing peer closes with 1000 once everything expected has come back. */
export const NORMAL: ExpectedClose = { first: 'fuzzer', codes: [1000], clean: true }
/** The testee must fail the connection with `code`. */
export const fails = (code: number): ExpectedClose => ({ first: 'testee', codes: [code], clean: false })
export const PROTOCOL_ERROR = fails(1002)
export const INVALID_PAYLOAD = fails(1007)

/** A case defined by id, words, expected close and a script builder. */
export function def(
  id: string,
  description: string,
  expectedClose: ExpectedClose,
  build: () => Script,
  extra: Pick<Case, 'perByteFragments' | 'echoTimeoutMs' | 'deflate'> = {},
): Case {
  return { id, section: Number(id.split('.')[0]), description, close: expectedClose, build, ...extra }
}

/** Deterministic filler so payloads are reproducible and recognisable in a dump. */
export function filler(length: number, pattern: string | Buffer): Buffer {
  const unit = bytes(pattern)
  const out = Buffer.allocUnsafe(length)
  for (let i = 0; i < length; i += unit.length) unit.copy(out, i, 0, Math.min(unit.length, length - i))
  return out
}
