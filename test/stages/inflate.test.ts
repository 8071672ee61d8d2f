/**
 * Inflate, the receiving half of permessage-deflate, as a specification:
 * RFC 7692's own examples, the shape of what it emits, order around control
 * frames, every way of cutting the bytes, context takeover and window bits,
 * the memory a decompression bomb may cost, and how bad data ends.
 */
import fc from 'fast-check'
import t, { type Test } from 'tap'
import { PassThrough } from 'node:stream'
import { WebSocketError } from '../../lib/protocol/errors'
import { type FrameSlice, Opcode } from '../../lib/protocol/frame'
import { FrameDecoder } from '../../lib/stages/frame-decoder'
import { Inflate } from '../../lib/stages/inflate'
import { ZlibQueue } from '../../lib/stages/zlib-queue'
import { type ChainOutcome, TAIL, prose, receive, show, zlibCompress, zlibCompressor } from '../helpers/compression'
import { MASK, frame, hex, run, splits } from '../helpers/frames'
import { MiB } from '../helpers/memory'
import { drive, feedArb } from '../fuzz/drive'
import { until } from '../helpers/ws-wait'
import { fuzzParameters } from '../fuzz/runs'
import { applySplit, splitArb } from '../fuzz/split'

const RSV1 = 4

/** A frame as a server sends it (unmasked); `rsv1` marks a compressed message's first frame. */
const server = (opcode: number, payload: Buffer | string, fin = true, rsv1 = false) =>
  frame({ opcode, payload, fin, rsv: rsv1 ? RSV1 : 0 })

const shown = (outcome: ChainOutcome) => outcome.items.map(show)

function assertClean(t: Test, outcome: ChainOutcome): void {
  t.equal(outcome.thrown, undefined, 'nothing thrown')
  t.notOk(outcome.hung, 'the chain settled')
  t.same(
    outcome.errors.map((e) => `${e.stage}:${e.error.code}`),
    [],
    'no error',
  )
}

/** The one error a chain ended with: its stage, code and close status. */
const failure = (outcome: ChainOutcome) =>
  outcome.errors.map((e) => ({ stage: e.stage, code: e.error.code, status: e.error.status, coded: e.error instanceof WebSocketError }))

/** A slice as the decoder emits it, for feeding Inflate by hand. */
function slice(opcode: number, payload: Buffer | string, fields: Partial<FrameSlice> = {}): FrameSlice {
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload
  return {
    fin: true,
    rsv1: false,
    rsv2: false,
    rsv3: false,
    opcode,
    masked: false,
    length: bytes.length,
    offset: 0,
    first: true,
    last: true,
    payload: bytes,
    ...fields,
  }
}

t.test('RFC 7692 section 7.2.3: the examples inflate, however the bytes are cut', async (t) => {
  const examples: Array<[string, Buffer, string[]]> = [
    ['7.2.3.1, one compressed block', hex('c1 07 f2 48 cd c9 c9 07 00'), ['text:Hello']],
    ['7.2.3.1, the same fragmented', hex('41 03 f2 48 cd 80 04 c9 c9 07 00'), ['text:Hello']],
    ['7.2.3.2, sharing the sliding window', hex('c1 07 f2 48 cd c9 c9 07 00 c1 05 f2 00 11 00 00'), ['text:Hello', 'text:Hello']],
    ['7.2.3.3, a block with no compression', hex('c1 0b 00 05 00 fa ff 48 65 6c 6c 6f 00'), ['text:Hello']],
    ['7.2.3.4, a block with BFINAL set', hex('c1 08 f3 48 cd c9 c9 07 00 00'), ['text:Hello']],
    ['7.2.3.5, two blocks in one message', hex('c1 0d f2 48 05 00 00 00 ff ff ca c9 c9 07 00'), ['text:Hello']],
  ]
  for (const [name, bytes, expected] of examples) {
    const whole = await receive([bytes])
    assertClean(t, whole)
    t.same(shown(whole), expected, name)
    for (const chunks of splits(bytes)) {
      const cut = await receive(chunks)
      if (cut.errors.length > 0 || shown(cut).join() !== expected.join()) {
        t.fail(`${name}, cut as ${chunks.map((c) => c.length).join('+')}: ${shown(cut)} ${JSON.stringify(failure(cut))}`)
        return
      }
    }
    t.pass(`${name}: the same at every cut`)
  }
})

t.test('after a final block the next message starts a new window', async (t) => {
  const outcome = await receive([hex('c1 08 f3 48 cd c9 c9 07 00 00'), hex('c1 07 f2 48 cd c9 c9 07 00'), hex('81 02 68 69')])
  assertClean(t, outcome)
  t.same(shown(outcome), ['text:Hello', 'text:Hello', 'text:hi'])
})

t.test('emits each piece of inflated output as a whole frame: RSV1 clear, FIN on the message end only', async (t) => {
  const text = prose(100_000)
  const compressed = zlibCompress(text)
  // Two wire frames, so the message also spans fragments.
  const cut = Math.floor(compressed.length / 2)
  const wire = Buffer.concat([
    server(Opcode.TEXT, compressed.subarray(0, cut), false, true),
    server(Opcode.CONTINUATION, compressed.subarray(cut)),
  ])
  const outcome = await drive<FrameSlice>([new FrameDecoder({ role: 'client', allowRsv1: true }), new Inflate({ role: 'client' })], [wire], { paced: false })
  t.same(outcome.errors, [])
  const pieces = outcome.items
  t.ok(pieces.length > 2, `${pieces.length} pieces`)
  t.equal(Buffer.concat(pieces.map((p) => p.payload)).toString(), text, 'the pieces make the message')
  t.same(
    pieces.map((p) => p.opcode),
    [Opcode.TEXT, ...Array(pieces.length - 1).fill(Opcode.CONTINUATION)],
    'the message opcode first, continuations after',
  )
  t.same(
    pieces.map((p) => p.fin),
    [...Array(pieces.length - 1).fill(false), true],
    'FIN on the last piece only',
  )
  for (const p of pieces) {
    if (p.rsv1 || !p.first || !p.last || p.offset !== 0 || p.length !== p.payload.length || p.payload.length > 16 * 1024) {
      t.fail(`a piece out of shape: ${JSON.stringify({ ...p, payload: p.payload.length })}`)
      return
    }
  }
  t.pass('each piece is a whole frame of at most 16 KiB with its own length')
})

t.test('a message end that inflates to nothing still ends the message, with an empty FIN piece', async (t) => {
  // "He" and a sync flush in the first frame; the second holds only an empty stored block's header.
  const first = hex('f2 48 05 00 00 00 ff ff')
  const outcome = await drive<FrameSlice>(
    [new FrameDecoder({ role: 'client', allowRsv1: true }), new Inflate({ role: 'client' })],
    [Buffer.concat([server(Opcode.TEXT, first, false, true), server(Opcode.CONTINUATION, hex('00'))])],
    { paced: false },
  )
  t.same(outcome.errors, [])
  t.same(
    outcome.items.map((p) => [p.opcode, p.fin, p.payload.toString()]),
    [
      [Opcode.TEXT, false, 'He'],
      [Opcode.CONTINUATION, true, ''],
    ],
  )
  const empty = await receive([server(Opcode.BINARY, hex('00'), true, true), server(Opcode.TEXT, Buffer.alloc(0), false, true), server(0, hex('00'))])
  assertClean(t, empty)
  t.same(shown(empty), ['binary:', 'text:'], 'empty messages, compressed')
})

t.test('uncompressed messages and control frames pass through as the same objects, in order', async (t) => {
  const inputs = [
    slice(Opcode.TEXT, 'plain', { fin: false }),
    slice(Opcode.PING, 'p'),
    slice(Opcode.CONTINUATION, ' text'),
    slice(Opcode.BINARY, Buffer.from([1, 2, 3]), { first: true, last: false, length: 5 }),
    slice(Opcode.BINARY, Buffer.from([4, 5]), { first: false, last: true, length: 5, offset: 3 }),
    slice(Opcode.CLOSE, Buffer.from([0x03, 0xe8])),
  ]
  const { items, error } = await run<FrameSlice>(new Inflate(), inputs)
  t.equal(error, null)
  t.equal(items.length, inputs.length)
  t.ok(
    items.every((item, i) => item === inputs[i]),
    'each one is the object that went in',
  )
})

t.test('control frames between the fragments of a compressed message keep their place', async (t) => {
  const compressor = zlibCompressor()
  const parts = [await compressor.compress('Hello, '), await compressor.compress('fragmented '), await compressor.compress('world')]
  compressor.close()
  // The sync-flush tails between parts stay: only the message's own tail is removed.
  const wire = [
    server(Opcode.TEXT, Buffer.concat([parts[0], TAIL]), false, true),
    server(Opcode.PING, 'p1'),
    server(Opcode.CONTINUATION, Buffer.concat([parts[1], TAIL]), false),
    server(Opcode.PONG, 'p2'),
    server(Opcode.CONTINUATION, parts[2]),
    server(Opcode.PING, 'p3'),
  ]
  // All at once: the inflation is asynchronous, the control frames are not, and still none overtakes.
  const slices = await drive<FrameSlice>([new FrameDecoder({ role: 'client', allowRsv1: true }), new Inflate({ role: 'client' })], [Buffer.concat(wire)], {
    paced: false,
  })
  t.same(slices.errors, [])
  const labels = slices.items.map((s) => (s.opcode >= 8 ? `control:${s.payload}` : `data:${s.payload}`))
  t.same(labels, ['data:Hello, ', 'control:p1', 'data:fragmented ', 'control:p2', 'data:world', 'control:p3'])
  const messages = await receive([Buffer.concat(wire)])
  assertClean(t, messages)
  t.same(shown(messages), ['ping:7031', 'pong:7032', 'text:Hello, fragmented world', 'ping:7033'])
})

t.test('a stream of messages cut at every byte boundary gives the same messages', async (t) => {
  const compressor = zlibCompressor()
  const c = (text: string | Buffer) => compressor.compress(text)
  const binary = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7) % 256))
  const first = await c('Hello')
  const second = await c('Hello')
  const fragA = await c('a fragmented ')
  const fragB = await c('message, ünïcödé 🦊')
  const bin = await c(binary)
  const text = await c(prose(200, 3))
  compressor.close()
  const wire = Buffer.concat([
    server(Opcode.TEXT, first, true, true),
    server(Opcode.TEXT, second, true, true),
    server(Opcode.TEXT, Buffer.concat([fragA, TAIL]), false, true),
    server(Opcode.PING, 'mid'),
    server(Opcode.CONTINUATION, fragB),
    server(Opcode.BINARY, Buffer.from('raw bytes')),
    server(Opcode.BINARY, bin, true, true),
    server(Opcode.TEXT, text, true, true),
    server(Opcode.CLOSE, Buffer.from([0x03, 0xe8])),
  ])
  const expected = [
    'text:Hello',
    'text:Hello',
    'ping:6d6964',
    'text:a fragmented message, ünïcödé 🦊',
    `binary:${Buffer.from('raw bytes').toString('hex')}`,
    'binary:300 bytes',
    'text:200 chars',
    'close:1000',
  ]
  const whole = await receive([wire])
  assertClean(t, whole)
  t.same(shown(whole), expected)
  t.equal((whole.items[5] as Buffer).compare(binary), 0)
  t.equal(whole.items[6], prose(200, 3))
  let cuts = 0
  for (const chunks of splits(wire)) {
    const outcome = await receive(chunks)
    cuts++
    if (outcome.errors.length > 0 || outcome.hung || shown(outcome).join('|') !== expected.join('|') || outcome.items[6] !== prose(200, 3)) {
      t.fail(`cut ${chunks.map((ch) => ch.length).join('+')}: ${shown(outcome)} ${JSON.stringify(failure(outcome))}`)
      return
    }
  }
  t.pass(`the same at all ${cuts} cuts of ${wire.length} bytes`)
})

t.test('context takeover: kept unless the peer agreed to none', async (t) => {
  const hello = hex('c1 07 f2 48 cd c9 c9 07 00')
  const again = hex('c1 05 f2 00 11 00 00') // refers back into the first message
  const kept = await receive([hello, again], { role: 'client' })
  assertClean(t, kept)
  t.same(shown(kept), ['text:Hello', 'text:Hello'])

  // Our own side's parameter does not bind the peer's messages.
  const ours = await receive([hello, again], { role: 'client', clientNoContextTakeover: true })
  assertClean(t, ours)
  t.same(shown(ours), ['text:Hello', 'text:Hello'], "clientNoContextTakeover does not reset a client's inflater")

  // server_no_context_takeover: the server starts every message afresh, and so does our window.
  const reset = await receive([hello, again], { role: 'client', serverNoContextTakeover: true })
  t.same(shown(reset), ['text:Hello'], 'the first message is delivered')
  t.same(failure(reset), [{ stage: 1, code: 'WS_ERR_INVALID_COMPRESSED_DATA', status: 1007, coded: true }], 'a reference past the message start fails')
  const independent = await receive([hello, hello, hello], { role: 'client', serverNoContextTakeover: true })
  assertClean(t, independent)
  t.same(shown(independent), ['text:Hello', 'text:Hello', 'text:Hello'])

  // The same, seen from the server: the client's parameters apply.
  const masked = (bytes: Buffer) => frame({ opcode: bytes[0] & 0x0f, rsv: 4, payload: bytes.subarray(2), mask: MASK })
  const serverSide = await receive([masked(hello), masked(again)], { role: 'server', clientNoContextTakeover: true })
  t.same(failure(serverSide).map((f) => f.status), [1007])
  const serverKept = await receive([masked(hello), masked(again)], { role: 'server', serverNoContextTakeover: true })
  assertClean(t, serverKept)
})

t.test('detachContext(): an idle stage gives its window to the next Inflate, which continues where it stopped', async (t) => {
  const hello = hex('f2 48 cd c9 c9 07 00')
  const again = hex('f2 00 11 00 00') // refers back into the first message
  const first = new Inflate({ role: 'client' })
  const items: FrameSlice[] = []
  first.on('data', (item: FrameSlice) => items.push(item))
  first.write(slice(Opcode.TEXT, hello, { rsv1: true }))
  await until(() => items.length === 1, 5000, 'the first message')
  t.equal(items[0].payload.toString(), 'Hello')
  t.ok(first.idle, 'idle between messages')
  const context = first.detachContext()
  t.ok(context, 'the inflater, window and all')
  t.equal(first.detachContext(), null, 'given once')
  first.destroy()
  await new Promise((resolve) => setImmediate(resolve))
  t.notOk(context!.destroyed, 'destroying the first stage leaves it open')
  const next = await run<FrameSlice>(new Inflate({ role: 'client', context: context! }), [slice(Opcode.TEXT, again, { rsv1: true })])
  t.equal(next.error, null)
  t.same(next.items.map((item) => item.payload.toString()), ['Hello'], 'the back-reference inflates against the kept window')
  t.ok(context!.destroyed, 'closed by the stage that took it, when it ended')
})

t.test('detachContext() gives nothing mid-message, without context takeover, or before any message', async (t) => {
  const fresh = new Inflate({ role: 'client' })
  t.equal(fresh.detachContext(), null, 'before any message: nothing to keep')
  fresh.destroy()
  const compressed = zlibCompress(prose(2000))
  const midway = new Inflate({ role: 'client' })
  const pieces: FrameSlice[] = []
  midway.on('data', (item: FrameSlice) => pieces.push(item))
  midway.write(slice(Opcode.TEXT, compressed.subarray(0, 100), { rsv1: true, fin: false }))
  await until(() => pieces.length > 0, 5000, 'the first piece')
  t.notOk(midway.idle, 'a message half inflated: not idle')
  t.equal(midway.detachContext(), null, 'nothing given mid-message')
  midway.destroy()
  const reset = new Inflate({ role: 'client', serverNoContextTakeover: true })
  const out: FrameSlice[] = []
  reset.on('data', (item: FrameSlice) => out.push(item))
  reset.write(slice(Opcode.TEXT, zlibCompress('Hello'), { rsv1: true }))
  await until(() => out.length === 1, 5000, 'the message')
  t.ok(reset.idle, 'idle between messages')
  t.equal(reset.detachContext(), null, 'without context takeover there is no window to keep')
  reset.destroy()
})

t.test('window bits 9 to 15: what a peer compresses within its window inflates', async (t) => {
  for (let bits = 9; bits <= 15; bits++) {
    const compressor = zlibCompressor({ windowBits: bits })
    const messages = [prose(5000, bits), prose(3000, bits + 1), prose(5000, bits)]
    const wire: Buffer[] = []
    for (const m of messages) wire.push(server(Opcode.TEXT, await compressor.compress(m), true, true))
    compressor.close()
    const outcome = await receive(wire, { role: 'client', serverMaxWindowBits: bits })
    assertClean(t, outcome)
    t.same(outcome.items, messages, `${bits} bits`)
  }
  // A peer that agreed to 9 bits but refers 1,000 bytes back, into the message before.
  const random = Buffer.from(Array.from({ length: 1000 }, (_, i) => (Math.imul(i + 1, 2654435761) >>> 24) & 0xff))
  const wide = zlibCompressor({ windowBits: 15 })
  const wire = [server(Opcode.BINARY, await wide.compress(random), true, true), server(Opcode.BINARY, await wide.compress(random), true, true)]
  wide.close()
  const narrow = await receive(wire, { role: 'client', serverMaxWindowBits: 9 })
  t.same(failure(narrow).map((f) => f.status), [1007], 'a reference beyond the agreed window fails')
  const full = await receive(wire, { role: 'client' })
  assertClean(t, full)
})

t.test('window bits 8: a peer compressing with zlib (9 bits in fact) is understood', async (t) => {
  const compressor = zlibCompressor({ windowBits: 9 })
  const messages = [prose(4000, 8), prose(4000, 8)]
  const wire: Buffer[] = []
  for (const m of messages) wire.push(server(Opcode.TEXT, await compressor.compress(m), true, true))
  compressor.close()
  const outcome = await receive(wire, { role: 'client', serverMaxWindowBits: 8 })
  assertClean(t, outcome)
  t.same(outcome.items, messages)
})

/** A DEFLATE stream of `mib` MiB of zeros, about 1 KiB per MiB: a decompression bomb. */
async function zeroBomb(mib: number): Promise<Buffer> {
  const compressor = zlibCompressor({ level: 9, memLevel: 9 })
  const zeros = Buffer.alloc(MiB)
  const first = await compressor.compress(zeros)
  const next = await compressor.compress(zeros)
  const again = await compressor.compress(zeros)
  compressor.close()
  // Every further MiB compresses the same way: the stream repeats.
  if (!next.equals(again)) throw new Error('the bomb does not repeat')
  const parts = [first]
  for (let i = 1; i < mib; i++) parts.push(TAIL, next)
  return Buffer.concat(parts)
}

/** Peak growth of buffer memory and RSS over the baseline while `work` runs. */
async function peakGrowth<T>(work: () => Promise<T>): Promise<{ result: T; arrayBuffers: number; rss: number; ms: number }> {
  const base = process.memoryUsage()
  let arrayBuffers = base.arrayBuffers
  let rss = base.rss
  const sample = () => {
    const now = process.memoryUsage()
    arrayBuffers = Math.max(arrayBuffers, now.arrayBuffers)
    rss = Math.max(rss, now.rss)
  }
  const timer = setInterval(sample, 2)
  const started = Date.now()
  const result = await work()
  const ms = Date.now() - started
  clearInterval(timer)
  sample()
  return { result, arrayBuffers: arrayBuffers - base.arrayBuffers, rss: rss - base.rss, ms }
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`

t.test('decompression bombs fail with 1009 as the output grows, at a memory cost near the limit', async (t) => {
  const small = await zeroBomb(1)
  t.ok(small.length < 1100, `1 MiB of zeros compresses to ${small.length} bytes`)
  const kib = await receive([server(Opcode.BINARY, small, true, true)], { maxMessageSize: 64 * 1024 })
  t.same(failure(kib), [{ stage: 1, code: 'WS_ERR_MESSAGE_TOO_LARGE', status: 1009, coded: true }], 'a 1 KiB frame that inflates to 1 MiB, limit 64 KiB')

  const bomb = await zeroBomb(1024)
  const wire = server(Opcode.BINARY, bomb, true, true)
  t.comment(`a ${mib(bomb.length)} frame that inflates to 1 GiB`)
  const limited = await peakGrowth(() => receive([wire], { maxMessageSize: MiB }, {}, { paced: false, timeoutMs: 30_000 }))
  t.same(failure(limited.result), [{ stage: 1, code: 'WS_ERR_MESSAGE_TOO_LARGE', status: 1009, coded: true }], 'limit 1 MiB: fails with 1009')
  t.same(limited.result.items, [], 'nothing delivered')
  t.comment(`limit 1 MiB: buffers grew ${mib(limited.arrayBuffers)}, RSS ${mib(limited.rss)}, in ${limited.ms} ms`)
  t.ok(limited.arrayBuffers < 8 * MiB, `buffer growth ${mib(limited.arrayBuffers)} stays within a few MiB`)
  t.ok(limited.rss < 32 * MiB, `RSS growth ${mib(limited.rss)} stays small`)
  // Inflating the whole GiB takes seconds; stopping at the limit takes a fraction of one.
  t.ok(limited.ms < 3000, `stopped early (${limited.ms} ms)`)

  const byDefault = await peakGrowth(() => receive([wire], {}, {}, { paced: false, timeoutMs: 30_000 }))
  t.same(failure(byDefault.result).map((f) => f.status), [1009], 'the default limit (100 MiB): fails with 1009')
  t.comment(`default limit: buffers grew ${mib(byDefault.arrayBuffers)}, RSS ${mib(byDefault.rss)}, in ${byDefault.ms} ms`)
  t.ok(byDefault.arrayBuffers < 100 * MiB + 32 * MiB, 'memory follows the limit, not the 1 GiB the frame would inflate to')
})

t.test('the limit counts the inflated bytes of every frame of a message together', async (t) => {
  const compressor = zlibCompressor()
  const half = Buffer.alloc(512 * 1024, 0x61)
  const parts = [await compressor.compress(half), await compressor.compress(half), await compressor.compress(half)]
  compressor.close()
  const wire = [
    server(Opcode.BINARY, Buffer.concat([parts[0], TAIL]), false, true),
    server(Opcode.CONTINUATION, Buffer.concat([parts[1], TAIL]), false),
    server(Opcode.CONTINUATION, parts[2]),
  ]
  const under = await receive(wire, { maxMessageSize: 1536 * 1024 })
  assertClean(t, under)
  t.same(shown(under), ['binary:1572864 bytes'])
  const over = await receive(wire, { maxMessageSize: 1536 * 1024 - 1 })
  t.same(failure(over).map((f) => `${f.stage}:${f.code}`), ['1:WS_ERR_MESSAGE_TOO_LARGE'])
})

t.test('data that is not DEFLATE fails with 1007 after the messages before it', async (t) => {
  const cases: Array<[string, Buffer]> = [
    ['a reserved block type', hex('ff ff ff ff')],
    ['stored block lengths that disagree', hex('00 05 00 00 00 48 65 6c 6c 6f')],
    ['a distance before the start', hex('f2 00 11 00 00')],
  ]
  for (const [name, payload] of cases) {
    const outcome = await receive([hex('c1 07 f2 48 cd c9 c9 07 00'), server(Opcode.TEXT, payload, true, true), hex('81 02 68 69')], {
      role: 'client',
      serverNoContextTakeover: true,
    })
    t.equal(outcome.thrown, undefined)
    t.notOk(outcome.hung)
    t.same(shown(outcome), ['text:Hello'], `${name}: the message before is delivered, nothing after`)
    t.same(failure(outcome), [{ stage: 1, code: 'WS_ERR_INVALID_COMPRESSED_DATA', status: 1007, coded: true }], name)
  }
})

t.test('truncated input: a coded error, or what the DEFLATE data decodes to; never a throw or a hang', async (t) => {
  // Cut inside a stored block: the appended tail is read as data, then the next header is invalid.
  const stored = await receive([server(Opcode.TEXT, hex('00 05 00 fa ff 48 65'), true, true)])
  t.same(failure(stored).map((f) => f.status), [1007], 'a stored block cut short')
  // Cut inside a Huffman block: DEFLATE has no length or checksum to tell, so what decodes is delivered.
  const huffman = await receive([server(Opcode.BINARY, hex('f2 48 cd'), true, true)])
  assertClean(t, huffman)
  t.equal(huffman.items.length, 1, 'a Huffman block cut short delivers what it decodes to')
  // The connection ends in the middle of a compressed message: the chain ends, no message, no error here.
  const cutWire = await receive([hex('41 03 f2 48 cd')])
  assertClean(t, cutWire)
  t.same(cutWire.items, [])
  const midFrame = await receive([hex('c1 07 f2 48 cd')])
  assertClean(t, midFrame)
  t.same(midFrame.items, [])
})

t.test('RSV1 where RFC 7692 forbids it, and broken message order, fail with 1002', async (t) => {
  const cases: Array<[string, FrameSlice[], string]> = [
    ['RSV1 on a control frame', [slice(Opcode.PING, 'x', { rsv1: true })], 'WS_ERR_UNEXPECTED_RSV'],
    [
      'RSV1 on a continuation frame',
      [slice(Opcode.TEXT, hex('f2 48'), { rsv1: true, fin: false }), slice(Opcode.CONTINUATION, hex('cd'), { rsv1: true })],
      'WS_ERR_UNEXPECTED_RSV',
    ],
    ['a continuation with no message', [slice(Opcode.CONTINUATION, 'x')], 'WS_ERR_UNEXPECTED_CONTINUATION'],
    [
      // The first fragment inflates to nothing, so only this stage knows that a message began.
      'a new message inside a compressed one that has produced nothing yet',
      [slice(Opcode.TEXT, hex('f2'), { rsv1: true, fin: false }), slice(Opcode.TEXT, 'new')],
      'WS_ERR_EXPECTED_CONTINUATION',
    ],
  ]
  for (const [name, slices, code] of cases) {
    const { error } = await run<FrameSlice>(new Inflate(), slices)
    t.ok(error instanceof WebSocketError, name)
    t.match(error, { code, status: 1002 }, name)
  }
})

t.test('maxFragments counts the frames of a compressed message on the wire', async (t) => {
  const compressed = zlibCompress('Hello, fragments')
  const pieces = [compressed.subarray(0, 3), compressed.subarray(3, 6), Buffer.alloc(0), compressed.subarray(6)]
  const wire = pieces.map((p, i) => server(i === 0 ? Opcode.TEXT : Opcode.CONTINUATION, p, i === pieces.length - 1, i === 0))
  const fits = await receive(wire, { maxFragments: 4 })
  assertClean(t, fits)
  t.same(shown(fits), ['text:Hello, fragments'])
  const over = await receive(wire, { maxFragments: 3 })
  t.same(failure(over).map((f) => `${f.stage}:${f.code}:${f.status}`), ['1:WS_ERR_TOO_MANY_FRAGMENTS:1009'])
})

t.test('every zlib job goes through the queue, one per compressed slice', async (t) => {
  const queue = new ZlibQueue(1)
  let jobs = 0
  const run0 = queue.run.bind(queue)
  queue.run = (job) => {
    jobs++
    return run0(job)
  }
  const compressed = zlibCompress('counted')
  const inflate = new Inflate({ role: 'client', queue })
  const { error } = await run<FrameSlice>(inflate, [
    slice(Opcode.TEXT, compressed.subarray(0, 2), { rsv1: true, fin: false }),
    slice(Opcode.CONTINUATION, Buffer.alloc(0), { fin: false }), // nothing to inflate: no job
    slice(Opcode.CONTINUATION, compressed.subarray(2)),
    slice(Opcode.TEXT, 'plain'), // not compressed: no job
  ])
  t.equal(error, null)
  t.equal(jobs, 2)
  t.equal(queue.active, 0)
})

t.test('destroyed while inflating: the queue slot is freed, nothing is thrown', async (t) => {
  const queue = new ZlibQueue(1)
  const bomb = await zeroBomb(64)
  const inflate = new Inflate({ role: 'client', queue, maxMessageSize: Infinity })
  inflate.on('error', () => {})
  inflate.resume()
  inflate.write(slice(Opcode.BINARY, bomb, { rsv1: true }))
  await new Promise((resolve) => setTimeout(resolve, 5))
  t.equal(queue.active, 1, 'a job is running')
  inflate.destroy()
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(queue.active, 0, 'its slot is free')
  t.equal(await queue.run(() => 'next'), 'next', 'the next job runs')
})

t.test('a slow reader holds the inflater back: what waits is bounded by one slice', async (t) => {
  const compressor = zlibCompressor()
  const slices: FrameSlice[] = []
  for (let i = 0; i < 50; i++) slices.push(slice(Opcode.BINARY, await compressor.compress(Buffer.alloc(64 * 1024, i)), { rsv1: true }))
  compressor.close()
  const source = new PassThrough({ objectMode: true })
  const inflate = new Inflate({ role: 'client' })
  source.pipe(inflate)
  for (const s of slices) source.write(s)
  source.end()
  await new Promise((resolve) => setTimeout(resolve, 200))
  // 16 slices in the readable buffer, plus the pieces of the one slice in hand (64 KiB = 4 pieces).
  t.ok(inflate.readableLength <= 16 + 4, `${inflate.readableLength} slices wait`)
  let bytes = 0
  for await (const piece of inflate as AsyncIterable<FrameSlice>) bytes += piece.payload.length
  t.equal(bytes, 50 * 64 * 1024, 'and everything arrives once read')
})

t.test('options are checked', async (t) => {
  t.throws(() => new Inflate({ serverMaxWindowBits: 7 }), RangeError)
  t.throws(() => new Inflate({ role: 'client', serverMaxWindowBits: 16 }), RangeError)
  t.throws(() => new Inflate({ clientNoContextTakeover: 'yes' as unknown as boolean }), TypeError)
  t.throws(() => new Inflate({ role: 'peer' as unknown as 'server' }), TypeError)
  t.throws(() => new Inflate({ maxMessageSize: 0 }), RangeError)
  t.doesNotThrow(() => new Inflate({ clientMaxWindowBits: 8, maxMessageSize: Infinity }))
})

/** A compressed message as the property sends it: valid, cut short, with a flipped byte, or noise. */
type Sent = { kind: 'valid'; text: string } | { kind: 'broken'; payload: Buffer; text: boolean }

const sentArb: fc.Arbitrary<Sent> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 60 }).map((text): Sent => ({ kind: 'valid', text })),
  fc
    .tuple(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }), fc.nat(), fc.boolean())
    .map(([text, at, binary]): Sent => {
      const payload = zlibCompress(text)
      return { kind: 'broken', payload: payload.subarray(0, at % payload.length), text: !binary }
    }),
  fc
    .tuple(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }), fc.nat(), fc.integer({ min: 1, max: 255 }))
    .map(([text, at, mask]): Sent => {
      const payload = Buffer.from(zlibCompress(text))
      payload[at % payload.length] ^= mask
      return { kind: 'broken', payload, text: true }
    }),
  fc.uint8Array({ maxLength: 64 }).map((bytes): Sent => ({ kind: 'broken', payload: Buffer.from(bytes), text: false })),
)

t.test('property: random, truncated and corrupted DEFLATE input ends in valid output or a coded error', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(sentArb, { minLength: 1, maxLength: 4 }),
      fc.array(fc.nat(), { maxLength: 3 }),
      splitArb,
      feedArb,
      async (sent, fragmentCuts, split, feed) => {
        const frames: Buffer[] = []
        for (const message of sent) {
          const payload = message.kind === 'valid' ? zlibCompress(message.text) : message.payload
          const opcode = message.kind === 'valid' || message.text ? Opcode.TEXT : Opcode.BINARY
          // Fragmented at the chosen offsets, RSV1 on the first frame only.
          const cuts = [...new Set(fragmentCuts.map((c) => c % (payload.length + 1)))].sort((a, b) => a - b)
          const bounds = [0, ...cuts, payload.length]
          for (let i = 1; i < bounds.length; i++) {
            frames.push(server(i === 1 ? opcode : Opcode.CONTINUATION, payload.subarray(bounds[i - 1], bounds[i]), i === bounds.length - 1, i === 1))
          }
        }
        const outcome = await receive(applySplit(Buffer.concat(frames), split), { maxMessageSize: 256 * 1024 }, {}, feed)
        if (outcome.thrown !== undefined) throw new Error(`thrown: ${String(outcome.thrown)}`)
        if (outcome.hung) throw new Error('hung')
        if (outcome.itemsAfterError > 0) throw new Error('items after an error')
        for (const { stage, error } of outcome.errors) {
          if (!(error instanceof WebSocketError) || ![1007, 1009].includes(error.status)) {
            throw new Error(`stage ${stage} failed with an uncoded or unexpected error: ${error.code} ${error.status} ${error.message}`)
          }
        }
        if (sent.every((m) => m.kind === 'valid')) {
          const texts = sent.map((m) => (m as { text: string }).text)
          if (outcome.errors.length > 0 || JSON.stringify(outcome.items) !== JSON.stringify(texts)) {
            throw new Error(`valid messages came out as ${JSON.stringify(outcome.items)}, errors ${JSON.stringify(failure(outcome))}`)
          }
        }
      },
    ),
    fuzzParameters(300),
  )
  t.pass()
})
