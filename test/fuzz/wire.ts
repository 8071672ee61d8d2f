/**
 * A test-side model of what travels on the wire: frames, and messages cut
 * into frames with control frames between them. Bytes are made by the
 * helpers' own frame writer, never by the library's encoder, so a property
 * never checks the library against itself.
 */
import fc from 'fast-check'
import { frame } from '../helpers/frames'

export const CONTINUATION = 0x0
export const TEXT = 0x1
export const BINARY = 0x2
export const CLOSE = 0x8
export const PING = 0x9
export const PONG = 0xa

export interface FrameModel {
  opcode: number
  fin: boolean
  payload: Buffer
  /** The 4-byte key of a client's frame; null for a server's. */
  mask: Buffer | null
}

export const encodeFrame = (f: FrameModel): Buffer =>
  frame({ opcode: f.opcode, fin: f.fin, payload: f.payload, mask: f.mask })

export const encodeFrames = (frames: readonly FrameModel[]): Buffer => Buffer.concat(frames.map(encodeFrame))

/**
 * Bytes of a given length that are cheap to make for large sizes and still
 * differ from position to position, so a slice put back in the wrong place
 * shows.
 */
export function patterned(length: number, seed: number): Buffer {
  const bytes = Buffer.allocUnsafe(length)
  for (let i = 0; i < length; i++) bytes[i] = (seed + i * 31 + (i >> 8) * 7) & 0xff
  // A counterexample prints the recipe, not 64 KiB of numbers.
  Object.defineProperty(bytes, fc.toStringMethod, { value: () => `patterned(${length}, ${seed})` })
  return bytes
}

const bytesArb = (maxLength: number) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a))

/** Payload lengths where the header changes shape (7-bit, 16-bit, 64-bit length). */
const SMALL_BOUNDARIES = [0, 1, 124, 125, 126, 127, 128]
const LARGE_BOUNDARIES = [65535, 65536]

/** A data frame payload: mostly short and random, sometimes at a length boundary. */
export const dataPayloadArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 5, arbitrary: bytesArb(140) },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom(...SMALL_BOUNDARIES), fc.nat(255)).map(([n, seed]) => patterned(n, seed)),
  },
)

/** A large payload at a 16/64-bit length boundary; at most one per sequence, to keep runs fast. */
export const largePayloadArb: fc.Arbitrary<Buffer> = fc
  .tuple(fc.constantFrom(...LARGE_BOUNDARIES), fc.nat(255))
  .map(([n, seed]) => patterned(n, seed))

/** A control frame payload: at most 125 bytes, with 0 and 125 likely. */
export const controlPayloadArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 3, arbitrary: bytesArb(125) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(0, 125), fc.nat(255)).map(([n, seed]) => patterned(n, seed)) },
)

export const maskKeyArb: fc.Arbitrary<Buffer> = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((a) => Buffer.from(a))

/** A mask key for a client's frame, none for a server's. */
export const maskFor = (masked: boolean): fc.Arbitrary<Buffer | null> => (masked ? maskKeyArb : fc.constant(null))

/**
 * One well-formed frame, judged alone: any data opcode with any FIN, or a
 * control frame (always FIN, at most 125 bytes). Frame order is not the
 * decoder's business, so a continuation may come first.
 */
export function frameArb(masked: boolean, payload: fc.Arbitrary<Buffer> = dataPayloadArb): fc.Arbitrary<FrameModel> {
  const data = fc.record({
    opcode: fc.constantFrom(CONTINUATION, TEXT, BINARY),
    fin: fc.boolean(),
    payload,
    mask: maskFor(masked),
  })
  const control = fc.record({
    opcode: fc.constantFrom(CLOSE, PING, PONG),
    fin: fc.constant(true),
    payload: controlPayloadArb,
    mask: maskFor(masked),
  })
  return fc.oneof({ weight: 3, arbitrary: data }, { weight: 2, arbitrary: control })
}

/** A sequence of well-formed frames, with at most one large one somewhere in it. */
export function frameSequenceArb(masked: boolean, maxLength = 10): fc.Arbitrary<FrameModel[]> {
  return fc
    .tuple(
      fc.array(frameArb(masked), { maxLength }),
      fc.option(frameArb(masked, largePayloadArb), { freq: 8 }),
      fc.nat(),
    )
    .map(([frames, large, at]) => {
      if (large === null) return frames
      const i = at % (frames.length + 1)
      return [...frames.slice(0, i), large, ...frames.slice(i)]
    })
}

// ---------------------------------------------------------------------------
// Messages

export type MessageKind = 'text' | 'binary'

/** What the receiving side should see, in order. */
export type Expected =
  | { type: 'text'; text: string }
  | { type: 'binary'; bytes: Buffer }
  | { type: 'ping' | 'pong'; payload: Buffer }
  | { type: 'close'; code: number; reason: string }

export interface MessagePlan {
  kind: MessageKind
  /** The message's bytes (UTF-8 for text). */
  bytes: Buffer
  /** The text, for a text message. */
  text: string
  /** Offsets where the message is cut into fragments; repeats give empty fragments. */
  cuts: number[]
  /** Control frames to send after fragment `after` (mod the fragment count). */
  controls: Array<{ after: number; type: 'ping' | 'pong'; payload: Buffer }>
}

/** Text of any Unicode: whole graphemes, so no lone surrogates. */
export const textArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  // Long ASCII takes another decoding path in the assembler.
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1000, maxLength: 1500 }) },
)

const controlsArb = fc.array(
  fc.record({
    after: fc.nat(),
    type: fc.constantFrom('ping' as const, 'pong' as const),
    payload: controlPayloadArb,
  }),
  { maxLength: 3 },
)

const cutsArb = fc.array(fc.nat(), { maxLength: 5 })

export const textPlanArb = (text: fc.Arbitrary<string> = textArb): fc.Arbitrary<MessagePlan> =>
  fc.record({ text, cuts: cutsArb, controls: controlsArb }).map(({ text, cuts, controls }) => ({
    kind: 'text' as const,
    text,
    bytes: Buffer.from(text, 'utf8'),
    cuts,
    controls,
  }))

export const binaryPlanArb = (bytes: fc.Arbitrary<Buffer> = bytesArb(300)): fc.Arbitrary<MessagePlan> =>
  fc.record({ bytes, cuts: cutsArb, controls: controlsArb }).map(({ bytes, cuts, controls }) => ({
    kind: 'binary' as const,
    text: '',
    bytes,
    cuts,
    controls,
  }))

/** A large binary message (64 KiB and a little more), which the assembler reserves room for. */
export const largeBinaryPlanArb: fc.Arbitrary<MessagePlan> = binaryPlanArb(
  fc.tuple(fc.integer({ min: 65536, max: 70000 }), fc.nat(255)).map(([n, seed]) => patterned(n, seed)),
)

export const planArb: fc.Arbitrary<MessagePlan> = fc.oneof(
  { weight: 8, arbitrary: textPlanArb() },
  { weight: 8, arbitrary: binaryPlanArb() },
  { weight: 1, arbitrary: largeBinaryPlanArb },
)

/** The fragment boundaries of a message: [0, cuts..., length], sorted. */
export function fragmentBounds(plan: MessagePlan): number[] {
  const length = plan.bytes.length
  return [0, ...plan.cuts.map((c) => c % (length + 1)).sort((a, b) => a - b), length]
}

/** One frame of the wire, with what it makes the receiver emit (if anything). */
export interface PlannedFrame {
  frame: FrameModel
  /** Emitted when this frame has arrived: a control frame, or the message its FIN completes. */
  emits: Expected | null
  /** For a fragment: which message, and the byte range of the message it holds. */
  fragment?: { message: number; index: number; from: number; to: number; last: boolean }
}

/**
 * Lays out messages as frames: each message cut at its offsets (first frame
 * TEXT or BINARY, the rest continuations, FIN on the last) with its control
 * frames after the fragments they follow. Mask keys come from `keys`,
 * cycled, or none when it is empty (a server's frames).
 */
export function layOut(plans: readonly MessagePlan[], keys: readonly Buffer[]): PlannedFrame[] {
  const out: PlannedFrame[] = []
  let k = 0
  const mask = () => (keys.length === 0 ? null : keys[k++ % keys.length])
  plans.forEach((plan, message) => {
    const bounds = fragmentBounds(plan)
    const count = bounds.length - 1
    for (let i = 0; i < count; i++) {
      const last = i === count - 1
      const from = bounds[i]
      const to = bounds[i + 1]
      const emits: Expected | null = !last
        ? null
        : plan.kind === 'text'
          ? { type: 'text', text: plan.text }
          : { type: 'binary', bytes: plan.bytes }
      out.push({
        frame: {
          opcode: i === 0 ? (plan.kind === 'text' ? TEXT : BINARY) : CONTINUATION,
          fin: last,
          payload: plan.bytes.subarray(from, to),
          mask: mask(),
        },
        emits,
        fragment: { message, index: i, from, to, last },
      })
      for (const control of plan.controls) {
        if (control.after % count !== i) continue
        out.push({
          frame: { opcode: control.type === 'ping' ? PING : PONG, fin: true, payload: control.payload, mask: mask() },
          emits: { type: control.type, payload: control.payload },
        })
      }
    }
  })
  return out
}

/** Close codes a peer may send (RFC 6455 section 7.4). */
export const closeCodeArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 1000, max: 1003 }),
  fc.integer({ min: 1007, max: 1014 }),
  fc.integer({ min: 3000, max: 4999 }),
)

/** A reason that fits a CLOSE frame: at most 123 bytes of UTF-8. */
export const closeReasonArb: fc.Arbitrary<string> = fc
  .string({ unit: 'grapheme', maxLength: 30 })
  .filter((reason) => Buffer.byteLength(reason) <= 123)

export const closePayload = (code: number, reason: string): Buffer =>
  Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason, 'utf8')])
