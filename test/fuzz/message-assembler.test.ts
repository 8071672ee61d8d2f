/**
 * FrameDecoder piped into MessageAssembler, as properties over generated
 * message sequences:
 *
 * - fragmented messages with control frames between the fragments come out
 *   whole, in order, with the control frames where they were, however the
 *   bytes are cut; nothing after a CLOSE comes out;
 * - a text message with broken UTF-8 fails with 1007 in the frame that holds
 *   the first wrong byte, and the same way for every cut;
 * - with a small maxMessageSize no larger message ever comes out, and the
 *   first message over it fails with 1009 in the frame that crosses it.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import t from 'tap'
import { ControlFrame } from '../../lib/protocol/control-frame'
import { WebSocketError } from '../../lib/protocol/errors'
import { FrameDecoder } from '../../lib/stages/frame-decoder'
import { type AssembledItem, MessageAssembler, type MessageAssemblerOptions } from '../../lib/stages/message-assembler'
import { type DriveOptions, drive, feedArb, type Outcome } from './drive'
import { fuzzParameters, runs } from './runs'
import { type Split, applySplit, splitArb } from './split'
import {
  CLOSE,
  type Expected,
  type MessagePlan,
  type PlannedFrame,
  binaryPlanArb,
  closeCodeArb,
  closePayload,
  closeReasonArb,
  dataPayloadArb,
  encodeFrames,
  frameArb,
  layOut,
  maskKeyArb,
  patterned,
  planArb,
  textArb,
  textPlanArb,
} from './wire'

/** A short, comparable description of one item: failures print these, not 64 KiB buffers. */
function describeBytes(bytes: Buffer): string {
  if (bytes.length <= 48) return bytes.toString('hex')
  return `${bytes.length} bytes, sha1 ${createHash('sha1').update(bytes).digest('hex').slice(0, 16)}`
}

function describe(item: Expected): string {
  switch (item.type) {
    case 'text':
      return `text ${JSON.stringify(item.text)}`
    case 'binary':
      return `binary ${describeBytes(item.bytes)}`
    case 'close':
      return `close ${item.code} ${JSON.stringify(item.reason)}`
    default:
      return `${item.type} ${describeBytes(item.payload)}`
  }
}

/** What the assembler emitted, in the same terms as the plan. */
function received(item: AssembledItem): Expected {
  if (typeof item === 'string') return { type: 'text', text: item }
  if (Buffer.isBuffer(item)) return { type: 'binary', bytes: item }
  assert.ok(item instanceof ControlFrame, `unexpected item ${String(item)}`)
  if (item.type === 'close') return { type: 'close', code: item.code, reason: item.reason }
  return { type: item.type, payload: item.payload }
}

const emitted = (planned: readonly PlannedFrame[]): Expected[] =>
  planned.flatMap((p) => (p.emits === null ? [] : [p.emits]))

const assemble = (bytes: Buffer, split: Split, feed: DriveOptions, options: MessageAssemblerOptions = {}) =>
  drive<AssembledItem>([new FrameDecoder({ role: 'server' }), new MessageAssembler(options)], applySplit(bytes, split), feed)

function assertSettled(outcome: Outcome<AssembledItem>): void {
  assert.equal(outcome.thrown, undefined, `an exception escaped from write/end: ${String(outcome.thrown)}`)
  assert.ok(!outcome.hung, 'the pipeline neither ended nor failed in time')
  assert.equal(outcome.itemsAfterError, 0, 'nothing emitted after the error')
}

/** The items, then the error (stage, code, status) or none: the whole observable outcome. */
function outcomeOf(outcome: Outcome<AssembledItem>): string[] {
  const seen = outcome.items.map((item) => describe(received(item)))
  for (const { stage, error } of outcome.errors) seen.push(`error at stage ${stage}: ${String(error.code)} ${String(error.status)}`)
  return seen
}

/** Mask keys for the client's frames, used in turn. */
const keysArb = fc.array(maskKeyArb, { minLength: 1, maxLength: 4 })

t.test('fragmented messages with interleaved pings come out whole and in order, however cut', async (t) => {
  const count = runs(200)
  const caseArb = fc.record({
    plans: fc.array(planArb, { maxLength: 6 }),
    close: fc.option(fc.record({ code: closeCodeArb, reason: closeReasonArb }), { freq: 2 }),
    // Sent after the CLOSE: never delivered (RFC 6455 section 1.4).
    afterClose: fc.array(binaryPlanArb(), { maxLength: 2 }),
    keys: keysArb,
    split: splitArb,
    feed: feedArb,
  })
  await fc.assert(
    fc.asyncProperty(caseArb, async ({ plans, close, afterClose, keys, split, feed }) => {
      const planned = layOut(plans, keys)
      const expected = emitted(planned)
      let bytes = encodeFrames(planned.map((p) => p.frame))
      if (close) {
        const payload = closePayload(close.code, close.reason)
        const trailing = layOut(afterClose, keys).map((p) => p.frame)
        bytes = Buffer.concat([bytes, encodeFrames([{ opcode: CLOSE, fin: true, payload, mask: keys[0] }, ...trailing])])
        expected.push({ type: 'close', code: close.code, reason: close.reason })
      }
      const outcome = await assemble(bytes, split, feed)
      assertSettled(outcome)
      assert.deepEqual(outcomeOf(outcome), expected.map(describe))
    }),
    fuzzParameters(count),
  )
  t.pass(`${count} message sequences`)
})

// ---------------------------------------------------------------------------
// Broken UTF-8

/**
 * How a text message is broken, at a character boundary: `at` is where the
 * first wrong byte lands, relative to the insertion point.
 */
type Corruption =
  /** A byte that can never stand at a character boundary. */
  | { kind: 'byte'; bytes: number[]; at: 0 }
  /** A character cut short: the byte after it (or the message end) is wrong. */
  | { kind: 'truncated'; bytes: number[]; at: number }
  /** A lead byte and a second byte that it does not allow. */
  | { kind: 'bad-second'; bytes: number[]; at: 1 }

const neverAtBoundary = fc.oneof(
  fc.integer({ min: 0x80, max: 0xbf }), // a continuation byte with no lead
  fc.constantFrom(0xc0, 0xc1), // overlong two-byte leads
  fc.integer({ min: 0xf5, max: 0xff }), // beyond U+10FFFF, or never UTF-8
)

const truncatedChar = fc
  .tuple(fc.integer({ min: 0x80, max: 0x10ffff }).filter((cp) => cp < 0xd800 || cp > 0xdfff), fc.nat())
  .map(([cp, keep]): Corruption => {
    const whole = [...Buffer.from(String.fromCodePoint(cp), 'utf8')]
    const bytes = whole.slice(0, 1 + (keep % (whole.length - 1)))
    return { kind: 'truncated', bytes, at: bytes.length }
  })

const badSecond = fc
  .oneof(
    fc.tuple(fc.constant(0xe0), fc.integer({ min: 0x80, max: 0x9f })), // overlong three-byte
    fc.tuple(fc.constant(0xed), fc.integer({ min: 0xa0, max: 0xbf })), // a surrogate
    fc.tuple(fc.constant(0xf0), fc.integer({ min: 0x80, max: 0x8f })), // overlong four-byte
    fc.tuple(fc.constant(0xf4), fc.integer({ min: 0x90, max: 0xbf })), // beyond U+10FFFF
    fc.tuple(fc.integer({ min: 0xc2, max: 0xf4 }), fc.integer({ min: 0x00, max: 0x7f })), // no continuation
  )
  .map(([lead, second]): Corruption => ({ kind: 'bad-second', bytes: [lead, second], at: 1 }))

const corruptionArb: fc.Arbitrary<Corruption> = fc.oneof(
  neverAtBoundary.map((byte): Corruption => ({ kind: 'byte', bytes: [byte], at: 0 })),
  truncatedChar,
  badSecond,
)

/** Byte offsets of the character boundaries of `text`, its end included. */
function boundaries(text: string): number[] {
  const offsets = [0]
  let offset = 0
  for (const char of text) offsets.push((offset += Buffer.byteLength(char)))
  return offsets
}

t.test('broken UTF-8 fails with 1007 in the frame of the first wrong byte, however cut', async (t) => {
  const count = runs(300)
  const caseArb = fc.record({
    before: fc.array(planArb, { maxLength: 3 }),
    text: textArb,
    corruption: corruptionArb,
    // Where to break the text: at its end (a truncated last character) or at any boundary.
    where: fc.oneof(fc.constant('end' as const), fc.nat()),
    // How the broken message is cut and what control frames go between its fragments (its bytes are set below).
    target: textPlanArb(fc.constant('')),
    after: fc.array(planArb, { maxLength: 2 }),
    keys: keysArb,
    split: splitArb,
    feed: feedArb,
  })
  await fc.assert(
    fc.asyncProperty(caseArb, async ({ before, text, corruption, where, target, after, keys, split, feed }) => {
      const bounds = boundaries(text)
      const at = where === 'end' ? bounds[bounds.length - 1] : bounds[where % bounds.length]
      const good = Buffer.from(text, 'utf8')
      const bytes = Buffer.concat([good.subarray(0, at), Buffer.from(corruption.bytes), good.subarray(at)])
      const bad = at + corruption.at // the first wrong byte; bytes.length means the end
      const broken: MessagePlan = { ...target, bytes }
      const planned = layOut([...before, broken, ...after], keys)

      // Everything before the frame holding the first wrong byte comes out; nothing from it on.
      const index = before.length
      const badFrame = planned.findIndex(
        ({ fragment: f }) =>
          f !== undefined && f.message === index && ((f.from <= bad && bad < f.to) || (bad === bytes.length && f.last)),
      )
      assert.ok(badFrame >= 0, 'the test finds the frame of the wrong byte')
      const expected = emitted(planned.slice(0, badFrame)).map(describe)
      expected.push('error at stage 1: WS_ERR_INVALID_UTF8 1007')

      const outcome = await assemble(encodeFrames(planned.map((p) => p.frame)), split, feed)
      assertSettled(outcome)
      assert.deepEqual(outcomeOf(outcome), expected)
      const error = outcome.errors[0].error
      assert.ok(error instanceof WebSocketError)
    }),
    fuzzParameters(count),
  )
  t.pass(`${count} broken text messages`)
})

// ---------------------------------------------------------------------------
// Size limit

const LIMIT = 4096

/** Messages around the limit: small ones, ones just under or at it, ones over it. */
const sizedPlanArb: fc.Arbitrary<MessagePlan> = fc.oneof(
  { weight: 3, arbitrary: binaryPlanArb() },
  {
    weight: 3,
    arbitrary: binaryPlanArb(
      fc.tuple(fc.integer({ min: LIMIT - 8, max: LIMIT + 8 }), fc.nat(255)).map(([n, seed]) => patterned(n, seed)),
    ),
  },
  {
    weight: 1,
    arbitrary: binaryPlanArb(
      fc.tuple(fc.integer({ min: LIMIT, max: 3 * LIMIT }), fc.nat(255)).map(([n, seed]) => patterned(n, seed)),
    ),
  },
  // Multi-byte text of 1000-1500 graphemes: sometimes under the limit, sometimes over.
  { weight: 2, arbitrary: textPlanArb(fc.string({ unit: 'grapheme', minLength: 1000, maxLength: 1500 })) },
)

t.test(`with maxMessageSize ${LIMIT} (and perhaps maxFragments), the first message over a limit fails with 1009 where it crosses it`, async (t) => {
  const count = runs(150)
  const caseArb = fc.record({
    plans: fc.array(sizedPlanArb, { maxLength: 5 }),
    maxFragments: fc.option(fc.integer({ min: 1, max: 4 }), { freq: 2 }),
    keys: keysArb,
    split: splitArb,
    feed: feedArb,
  })
  await fc.assert(
    fc.asyncProperty(caseArb, async ({ plans, maxFragments, keys, split, feed }) => {
      const planned = layOut(plans, keys)
      // Both limits are judged when a fragment starts, on its declared length, before its payload arrives.
      const tooMany = (f: PlannedFrame['fragment']) => maxFragments !== null && f !== undefined && f.index >= maxFragments
      const tooLarge = (f: PlannedFrame['fragment']) => f !== undefined && f.to > LIMIT
      const crossing = planned.findIndex(({ fragment: f }) => tooMany(f) || tooLarge(f))
      const upTo = crossing === -1 ? planned.length : crossing
      const expected = emitted(planned.slice(0, upTo)).map(describe)
      if (crossing !== -1) {
        const code = tooMany(planned[crossing].fragment) ? 'WS_ERR_TOO_MANY_FRAGMENTS' : 'WS_ERR_MESSAGE_TOO_LARGE'
        expected.push(`error at stage 1: ${code} 1009`)
      }

      const options = { maxMessageSize: LIMIT, ...(maxFragments === null ? {} : { maxFragments }) }
      const outcome = await assemble(encodeFrames(planned.map((p) => p.frame)), split, feed, options)
      assertSettled(outcome)
      assert.deepEqual(outcomeOf(outcome), expected)
    }),
    fuzzParameters(count),
  )
  t.pass(`${count} sequences around the limits`)
})

t.test(`with maxMessageSize ${LIMIT}, random frames never produce a larger message`, async (t) => {
  const count = runs(200)
  // Messages around the limit, with stray frames of any kind thrown in (continuations
  // out of place, text that is not UTF-8, large frames, bad CLOSE payloads), then perhaps garbage.
  const strayPayloadArb = fc.oneof(
    { weight: 4, arbitrary: dataPayloadArb },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.integer({ min: 1000, max: 3 * LIMIT }), fc.nat(255)).map(([n, seed]) => patterned(n, seed)),
    },
  )
  const caseArb = fc.record({
    plans: fc.array(sizedPlanArb, { maxLength: 4 }),
    strays: fc.array(fc.tuple(fc.nat(), frameArb(true, strayPayloadArb)), { maxLength: 3 }),
    garbage: fc.uint8Array({ maxLength: 40 }),
    keys: keysArb,
    split: splitArb,
    feed: feedArb,
  })
  await fc.assert(
    fc.asyncProperty(caseArb, async ({ plans, strays, garbage, keys, split, feed }) => {
      const frames = layOut(plans, keys).map((p) => p.frame)
      for (const [at, stray] of strays) frames.splice(at % (frames.length + 1), 0, stray)
      const outcome = await assemble(Buffer.concat([encodeFrames(frames), garbage]), split, feed, { maxMessageSize: LIMIT })
      assertSettled(outcome)
      for (const item of outcome.items) {
        if (typeof item === 'string') assert.ok(Buffer.byteLength(item) <= LIMIT, 'text within the limit')
        else if (Buffer.isBuffer(item)) assert.ok(item.length <= LIMIT, 'binary within the limit')
      }
      for (const { error } of outcome.errors) {
        assert.ok(error instanceof WebSocketError, `errors are WebSocketErrors, got ${error?.name}: ${error?.message}`)
        assert.ok([1002, 1007, 1009].includes(error.status), `a protocol status, got ${error.status}`)
        if (/TOO_LARGE|TOO_MANY/.test(error.code)) assert.equal(error.status, 1009)
      }
    }),
    fuzzParameters(count),
  )
  t.pass(`${count} random frame sequences under a size limit`)
})
