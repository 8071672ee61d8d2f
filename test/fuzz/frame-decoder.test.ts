/**
 * FrameDecoder, as properties over generated input:
 *
 * - whatever bytes arrive, cut however, the decoder ends or fails with a
 *   WebSocketError; nothing is thrown, nothing hangs, and what it emits
 *   before failing is well-formed;
 * - well-formed frames come out as exactly the frames that were sent, however
 *   the stream is cut.
 */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import t from 'tap'
import { WebSocketError } from '../../lib/protocol/errors'
import type { FrameSlice, Role } from '../../lib/protocol/frame'
import { FrameDecoder } from '../../lib/stages/frame-decoder'
import { type DriveOptions, drive, feedArb, type Outcome } from './drive'
import { fuzzParameters, runs } from './runs'
import { type Split, applySplit, splitArb } from './split'
import { type FrameModel, encodeFrames, frameSequenceArb } from './wire'

interface WholeFrame {
  opcode: number
  fin: boolean
  masked: boolean
  payload: Buffer
}

/**
 * Joins slices into frames, checking on the way what every slice promises:
 * its place in its frame, header fields that agree across the frame, the
 * masking the role requires, and the limits on control frames.
 */
function joinSlices(slices: readonly FrameSlice[], role: Role, maxPayload: number): WholeFrame[] {
  const frames: WholeFrame[] = []
  let current: FrameSlice | null = null
  let parts: Buffer[] = []
  let next = 0
  for (const s of slices) {
    assert.equal(s.first, s.offset === 0, 'first marks offset 0')
    assert.equal(s.first, current === null, 'a frame starts only after the last one ended')
    assert.equal(s.offset, next, 'slices of a frame are contiguous')
    assert.ok(s.offset + s.payload.length <= s.length, 'a slice stays inside its frame')
    assert.equal(s.last, s.offset + s.payload.length === s.length, 'last marks the end of the payload')
    if (current) {
      for (const field of ['opcode', 'fin', 'length', 'masked'] as const) {
        assert.equal(s[field], current[field], `${field} is the same in every slice of a frame`)
      }
    }
    assert.equal(s.masked, role === 'server', 'client frames are masked, server frames are not')
    assert.ok(!s.rsv1 && !s.rsv2 && !s.rsv3, 'no reserved bit without an extension')
    assert.ok([0, 1, 2, 8, 9, 10].includes(s.opcode), `known opcode, got ${s.opcode}`)
    if (s.opcode >= 8) assert.ok(s.fin && s.length <= 125, 'a control frame is whole and short')
    assert.ok(s.length <= maxPayload, 'within maxPayload')
    parts.push(Buffer.from(s.payload))
    current = s
    next = s.offset + s.payload.length
    if (s.last) {
      frames.push({ opcode: s.opcode, fin: s.fin, masked: s.masked, payload: Buffer.concat(parts) })
      current = null
      parts = []
      next = 0
    }
  }
  return frames
}

/** What must hold however the decoder's run ended. */
function assertSettledCleanly(outcome: Outcome<FrameSlice>): void {
  assert.equal(outcome.thrown, undefined, `an exception escaped from write/end: ${String(outcome.thrown)}`)
  assert.ok(!outcome.hung, 'the decoder neither ended nor failed in time')
  assert.ok(outcome.errors.length <= 1, `at most one error, got ${outcome.errors.length}`)
  assert.equal(outcome.itemsAfterError, 0, 'no frame after the error')
  for (const { error } of outcome.errors) {
    assert.ok(error instanceof WebSocketError, `errors are WebSocketErrors, got ${error?.name}: ${error?.message}`)
    assert.equal(typeof error.code, 'string')
    // The decoder judges framing (1002) and size (1009); nothing else is its business.
    assert.ok(error.status === 1002 || error.status === 1009, `status 1002 or 1009, got ${String(error.status)}`)
  }
}

const roleArb = fc.constantFrom<Role>('server', 'client')
/** Sometimes a small frame limit, so that the 1009 path is reached too. */
const maxPayloadArb = fc.option(fc.integer({ min: 0, max: 200 }), { freq: 3 })
const DEFAULT_MAX = 100 * 1024 * 1024

const decode = (bytes: Uint8Array, role: Role, maxPayload: number | null, split: Split, feed: DriveOptions) =>
  drive<FrameSlice>([new FrameDecoder({ role, ...(maxPayload === null ? {} : { maxPayload }) })], applySplit(bytes, split), feed)

t.test('random bytes end or fail with a WebSocketError, never throw or hang', async (t) => {
  const count = runs(300)
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 300 }),
      roleArb,
      maxPayloadArb,
      splitArb,
      feedArb,
      async (bytes, role, maxPayload, split, feed) => {
        const outcome = await decode(bytes, role, maxPayload, split, feed)
        assertSettledCleanly(outcome)
        const frames = joinSlices(outcome.items, role, maxPayload ?? DEFAULT_MAX)
        const emitted = frames.reduce((sum, f) => sum + f.payload.length, 0)
        assert.ok(emitted <= bytes.length, 'never more payload than bytes in')
      },
    ),
    fuzzParameters(count),
  )
  t.pass(`${count} random byte streams`)
})

t.test('garbage after valid frames: the valid frames come out whole first', async (t) => {
  const count = runs(200)
  const caseArb = roleArb.chain((role) =>
    fc.record({
      role: fc.constant(role),
      prefix: frameSequenceArb(role === 'server', 6),
      garbage: fc.uint8Array({ minLength: 1, maxLength: 100 }),
      split: splitArb,
      feed: feedArb,
    }),
  )
  await fc.assert(
    fc.asyncProperty(caseArb, async ({ role, prefix, garbage, split, feed }) => {
      const bytes = Buffer.concat([encodeFrames(prefix), garbage])
      const outcome = await decode(bytes, role, null, split, feed)
      assertSettledCleanly(outcome)
      const frames = joinSlices(outcome.items, role, DEFAULT_MAX)
      // The garbage may itself read as frames, but cannot change those before it.
      assert.ok(frames.length >= prefix.length, `all ${prefix.length} valid frames delivered, got ${frames.length}`)
      assertFramesMatch(frames.slice(0, prefix.length), prefix)
    }),
    fuzzParameters(count),
  )
  t.pass(`${count} valid prefixes followed by garbage`)
})

t.test('valid frames with a few bytes flipped end or fail cleanly', async (t) => {
  const count = runs(200)
  const caseArb = roleArb.chain((role) =>
    fc.record({
      role: fc.constant(role),
      frames: frameSequenceArb(role === 'server', 6),
      // Position (modulo the length) and the value to put there.
      flips: fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }),
      maxPayload: maxPayloadArb,
      split: splitArb,
      feed: feedArb,
    }),
  )
  await fc.assert(
    fc.asyncProperty(caseArb, async ({ role, frames, flips, maxPayload, split, feed }) => {
      const bytes = encodeFrames(frames)
      if (bytes.length > 0) for (const [at, value] of flips) bytes[at % bytes.length] = value
      const outcome = await decode(bytes, role, maxPayload, split, feed)
      assertSettledCleanly(outcome)
      joinSlices(outcome.items, role, maxPayload ?? DEFAULT_MAX)
    }),
    fuzzParameters(count),
  )
  t.pass(`${count} mutated frame streams`)
})

function assertFramesMatch(actual: readonly WholeFrame[], sent: readonly FrameModel[]): void {
  assert.equal(actual.length, sent.length, 'frame count')
  actual.forEach((f, i) => {
    const want = sent[i]
    assert.deepEqual(
      { opcode: f.opcode, fin: f.fin, masked: f.masked },
      { opcode: want.opcode, fin: want.fin, masked: want.mask !== null },
      `header of frame ${i}`,
    )
    assert.ok(f.payload.equals(want.payload), `payload of frame ${i} (${f.payload.length} vs ${want.payload.length} bytes)`)
  })
}

t.test('valid frames decode to exactly what was sent, however the stream is cut', async (t) => {
  const count = runs(200)
  const caseArb = roleArb.chain((role) =>
    fc.record({
      role: fc.constant(role),
      frames: frameSequenceArb(role === 'server'),
      split: splitArb,
      feed: feedArb,
    }),
  )
  await fc.assert(
    fc.asyncProperty(caseArb, async ({ role, frames, split, feed }) => {
      const outcome = await decode(encodeFrames(frames), role, null, split, feed)
      assertSettledCleanly(outcome)
      assert.deepEqual(outcome.errors, [], 'no error on valid frames')
      assertFramesMatch(joinSlices(outcome.items, role, DEFAULT_MAX), frames)
    }),
    fuzzParameters(count),
  )
  t.pass(`${count} valid frame sequences`)
})
