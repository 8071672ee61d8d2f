import t from 'tap'
import { FrameDecoder } from '../../lib/stages/frame-decoder'
import type { FrameSlice } from '../../lib/protocol/frame'
import { MASK, clientFrame, frame, hex, run, splits } from '../helpers/frames'

const decode = (chunks: Buffer[], options = {}) => run<FrameSlice>(new FrameDecoder(options), chunks)

/** Joins slices back into whole frames: [opcode, fin, payload]. */
function whole(slices: FrameSlice[]): [number, boolean, string][] {
  const frames: [number, boolean, string][] = []
  let parts: Buffer[] = []
  for (const s of slices) {
    parts.push(Buffer.from(s.payload))
    if (s.last) {
      frames.push([s.opcode, s.fin, Buffer.concat(parts).toString('latin1')])
      parts = []
    }
  }
  return frames
}

t.test('decodes the RFC 6455 section 5.7 examples', async (t) => {
  const client = { role: 'client' as const }
  t.same(whole((await decode([hex('810548656c6c6f')], client)).items), [[1, true, 'Hello']])
  t.same(whole((await decode([hex('818537fa213d7f9f4d5158')])).items), [[1, true, 'Hello']])
  t.same(whole((await decode([hex('010348656c'), hex('80026c6f')], client)).items), [[1, false, 'Hel'], [0, true, 'lo']])
  t.same(whole((await decode([hex('890548656c6c6f')], client)).items), [[9, true, 'Hello']])
  t.same(whole((await decode([hex('8a8537fa213d7f9f4d5158')])).items), [[10, true, 'Hello']])
  const binary256 = Buffer.concat([hex('827e0100'), Buffer.alloc(256, 0x61)])
  t.same(whole((await decode([binary256], client)).items), [[2, true, 'a'.repeat(256)]])
  const binary64k = Buffer.concat([hex('827f0000000000010000'), Buffer.alloc(65536, 0x62)])
  t.same(whole((await decode([binary64k], client)).items), [[2, true, 'b'.repeat(65536)]])
})

t.test('reports the header fields of each slice', async (t) => {
  const { items } = await decode([clientFrame({ opcode: 2, fin: false, payload: 'abc' })])
  t.equal(items.length, 1)
  t.match(items[0], { fin: false, rsv1: false, rsv2: false, rsv3: false, opcode: 2, masked: true, length: 3, offset: 0, first: true, last: true })
})

t.test('gives the same frames however the input is split, at every byte boundary', async (t) => {
  const stream = Buffer.concat([
    clientFrame({ opcode: 1, fin: false, payload: 'héllo ' }),
    clientFrame({ opcode: 9, payload: 'ping' }),
    clientFrame({ opcode: 0, payload: 'wörld' }),
    clientFrame({ opcode: 2, payload: Buffer.alloc(300, 7) }),
    clientFrame({ opcode: 2, payload: '' }),
    clientFrame({ opcode: 8, payload: hex('03e8') }),
  ])
  const expected = whole((await decode([Buffer.from(stream)])).items)
  t.equal(expected.length, 6)
  let cases = 0
  for (const chunks of splits(stream)) {
    const result = await decode(chunks)
    if (result.error) t.fail(`split failed: ${result.error.message}`)
    t.same(whole(result.items), expected, `split into ${chunks.length} pieces`)
    cases++
  }
  t.equal(cases, stream.length)
})

t.test('emits a payload in slices as it arrives, without waiting for the whole frame', async (t) => {
  const decoder = new FrameDecoder()
  const bytes = clientFrame({ opcode: 2, payload: Buffer.alloc(100_000, 1) })
  const seen: FrameSlice[] = []
  decoder.on('data', (s: FrameSlice) => seen.push(s))
  decoder.write(bytes.subarray(0, 1000))
  await new Promise((r) => setImmediate(r))
  t.equal(seen.length, 1, 'the first part comes out before the rest is sent')
  t.equal(seen[0].first, true)
  t.equal(seen[0].last, false)
  t.equal(seen[0].length, 100_000)
  decoder.end(bytes.subarray(1000))
  await new Promise((r) => decoder.on('end', r))
  t.equal(seen.at(-1)!.last, true)
  t.equal(seen.reduce((n, s) => n + s.payload.length, 0), 100_000)
  t.ok(seen.every((s) => s.payload.every((b) => b === 1)), 'every slice unmasked at its own offset')
})

t.test('a zero-length frame is one empty slice that is both first and last', async (t) => {
  const { items } = await decode([clientFrame({ opcode: 1, payload: '' })])
  t.equal(items.length, 1)
  t.match(items[0], { first: true, last: true, length: 0 })
  t.equal(items[0].payload.length, 0)
})

const rejects: [string, Buffer, string, number, object?][] = [
  ['RSV1 without an extension', clientFrame({ opcode: 1, rsv: 4, payload: 'x' }), 'WS_ERR_UNEXPECTED_RSV', 1002],
  ['RSV2', clientFrame({ opcode: 1, rsv: 2, payload: 'x' }), 'WS_ERR_UNEXPECTED_RSV', 1002],
  ['RSV3', clientFrame({ opcode: 1, rsv: 1, payload: 'x' }), 'WS_ERR_UNEXPECTED_RSV', 1002],
  ['reserved data opcode 3', clientFrame({ opcode: 3 }), 'WS_ERR_INVALID_OPCODE', 1002],
  ['reserved data opcode 7', clientFrame({ opcode: 7 }), 'WS_ERR_INVALID_OPCODE', 1002],
  ['reserved control opcode 0xB', clientFrame({ opcode: 0xb }), 'WS_ERR_INVALID_OPCODE', 1002],
  ['reserved control opcode 0xF', clientFrame({ opcode: 0xf }), 'WS_ERR_INVALID_OPCODE', 1002],
  ['a fragmented PING', clientFrame({ opcode: 9, fin: false, payload: 'x' }), 'WS_ERR_FRAGMENTED_CONTROL', 1002],
  ['a fragmented CLOSE', clientFrame({ opcode: 8, fin: false }), 'WS_ERR_FRAGMENTED_CONTROL', 1002],
  ['a PING of 126 bytes', clientFrame({ opcode: 9, payload: Buffer.alloc(126) }), 'WS_ERR_CONTROL_TOO_LONG', 1002],
  ['an unmasked frame from a client', frame({ opcode: 1, payload: 'x' }), 'WS_ERR_MASK_REQUIRED', 1002],
  ['a masked frame from a server', clientFrame({ opcode: 1, payload: 'x' }), 'WS_ERR_UNEXPECTED_MASK', 1002, { role: 'client' }],
  ['a 64-bit length with the top bit set', clientFrame({ opcode: 2, declaredLength: 1n << 63n }), 'WS_ERR_INVALID_LENGTH', 1002],
  ['a declared length over the limit', clientFrame({ opcode: 2, declaredLength: 2049 }), 'WS_ERR_PAYLOAD_TOO_LARGE', 1009, { maxPayload: 2048 }],
  ['a 2^62 byte frame under the default limit', clientFrame({ opcode: 2, declaredLength: 1n << 62n }), 'WS_ERR_PAYLOAD_TOO_LARGE', 1009],
]

for (const [name, bytes, code, status, options] of rejects) {
  t.test(`rejects ${name} with ${code} (${status})`, async (t) => {
    const { items, error } = await decode([bytes], options)
    t.equal(items.length, 0, 'nothing of the bad frame comes out')
    t.equal(error?.code, code)
    t.equal(error?.status, status)
  })
}

t.test('with allowRsv1 (a negotiated permessage-deflate), RSV1 is allowed only on the first frame of a data message', async (t) => {
  const allowRsv1 = { allowRsv1: true }
  t.test('on a first TEXT or BINARY frame it passes, and is reported', async (t) => {
    const { items, error } = await decode(
      [clientFrame({ opcode: 1, rsv: 4, fin: false, payload: 'a' }), clientFrame({ opcode: 0, payload: 'b' }), clientFrame({ opcode: 2, rsv: 4, payload: 'c' })],
      allowRsv1,
    )
    t.equal(error, null)
    t.same(items.map((s) => [s.opcode, s.rsv1]), [[1, true], [0, false], [2, true]])
  })
  const misplaced: Array<[string, Buffer[]]> = [
    ['a PING', [clientFrame({ opcode: 9, rsv: 4, payload: 'p' })]],
    ['a PONG', [clientFrame({ opcode: 10, rsv: 4 })]],
    ['a CLOSE', [clientFrame({ opcode: 8, rsv: 4, payload: Buffer.from([0x03, 0xe8]) })]],
    ['a continuation frame', [clientFrame({ opcode: 1, rsv: 4, fin: false, payload: 'a' }), clientFrame({ opcode: 0, rsv: 4, payload: 'b' })]],
  ]
  for (const [what, frames] of misplaced) {
    t.test(`on ${what} it fails with WS_ERR_UNEXPECTED_RSV (1002)`, async (t) => {
      const { items, error } = await decode(frames, allowRsv1)
      t.equal(error?.code, 'WS_ERR_UNEXPECTED_RSV')
      t.equal(error?.status, 1002)
      t.equal(items.length, frames.length - 1, 'nothing of the bad frame comes out')
    })
  }
})

t.test('judges the first two header bytes as soon as they arrive', async (t) => {
  const decoder = new FrameDecoder()
  const failed = new Promise<Error & { code?: string }>((resolve) => decoder.on('error', resolve))
  decoder.write(Buffer.from([0x83, 0x80])) // reserved opcode, rest of the header not yet sent
  const error = await failed
  t.equal(error.code, 'WS_ERR_INVALID_OPCODE')
})

t.test('rejects an oversized length before any payload arrives or is allocated', async (t) => {
  const decoder = new FrameDecoder({ maxPayload: 1024 })
  const failed = new Promise<Error & { code?: string }>((resolve) => decoder.on('error', resolve))
  decoder.write(clientFrame({ opcode: 2, declaredLength: 1 << 30 }))
  t.equal((await failed).code, 'WS_ERR_PAYLOAD_TOO_LARGE')
})

t.test('frames before a bad frame are delivered before the error', async (t) => {
  const bytes = Buffer.concat([clientFrame({ opcode: 1, payload: 'good' }), clientFrame({ opcode: 5 })])
  const { items, error } = await decode([bytes])
  t.same(whole(items), [[1, true, 'good']])
  t.equal(error?.code, 'WS_ERR_INVALID_OPCODE')
})

t.test('the error waits for a slow reader to take the frames before it', async (t) => {
  const decoder = new FrameDecoder()
  let errored = false
  decoder.on('error', () => (errored = true))
  decoder.write(Buffer.concat([clientFrame({ opcode: 1, payload: 'a' }), clientFrame({ opcode: 1, payload: 'b' }), clientFrame({ opcode: 4 })]))
  await new Promise((r) => setImmediate(r))
  t.equal(errored, false, 'not yet: two frames are unread')
  t.equal(decoder.read()?.payload.toString(), 'a')
  t.equal(decoder.read()?.payload.toString(), 'b')
  await new Promise((r) => setImmediate(r))
  t.equal(errored, true)
})

t.test('unmasks in place across slice boundaries with a rotating key offset', async (t) => {
  const payload = Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff))
  const bytes = clientFrame({ opcode: 2, payload })
  for (const cut of [7, 8, 9, 10, 401, 402, 403]) {
    const { items } = await decode([bytes.subarray(0, cut), bytes.subarray(cut)].map((b) => Buffer.from(b)))
    t.same(Buffer.concat(items.map((s) => s.payload)), payload, `cut at ${cut}`)
  }
  t.equal(MASK.length, 4)
})
