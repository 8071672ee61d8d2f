/**
 * Deflate, the sending half of permessage-deflate, as a specification: the
 * bytes it produces (against RFC 7692's examples and zlib itself), which
 * messages it compresses, what passes through, window bits and context
 * takeover per side, order and backpressure, and round trips through the
 * whole chain to Inflate and the assembler.
 */
import t from 'tap'
import { constants, inflateRawSync } from 'node:zlib'
import { type FrameSlice, type OutboundFrame, Opcode } from '../../lib/protocol/frame'
import { asText, isText } from '../../lib/protocol/text-bytes'
import { Deflate, type DeflateOptions } from '../../lib/stages/deflate'
import { FrameDecoder } from '../../lib/stages/frame-decoder'
import { FrameEncoder } from '../../lib/stages/frame-encoder'
import { ZlibQueue } from '../../lib/stages/zlib-queue'
import { TAIL, prose, roundTrip, show, zlibCompress, zlibCompressor } from '../helpers/compression'
import { run } from '../helpers/frames'
import { MiB } from '../helpers/memory'
import { until } from '../helpers/ws-wait'

type Out = OutboundFrame | string | Uint8Array

const deflate = async (items: unknown[], options: DeflateOptions = {}) => {
  const { items: out, error } = await run<Out>(new Deflate(options), items)
  if (error) throw error
  return out
}

const payloads = (items: Out[]) => items.map((item) => Buffer.from((item as OutboundFrame).payload!).toString('hex'))

/** The message a compressed payload holds, inflated by zlib alone. */
const inflated = (payload: Uint8Array, windowBits = 15) =>
  inflateRawSync(Buffer.concat([payload, TAIL]), { finishFlush: constants.Z_SYNC_FLUSH, windowBits })

/** Bytes that repeat every `period` bytes and nowhere nearer. */
function periodic(period: number, length: number): Buffer {
  const block = Buffer.from(Array.from({ length: period }, (_, i) => (Math.imul(i + 7, 2654435761) >>> 24) & 0xff))
  return Buffer.concat(Array(Math.ceil(length / period)).fill(block)).subarray(0, length)
}

t.test('RFC 7692 section 7.2.3: "Hello", then "Hello" again sharing the window', async (t) => {
  const out = await deflate(['Hello', 'Hello'], { threshold: 0 })
  t.same(payloads(out), ['f248cdc9c90700', 'f200110000'], '7.2.3.1 and 7.2.3.2, byte for byte')
  t.same(
    out.map((f) => ({ ...(f as OutboundFrame), payload: undefined })),
    [
      { opcode: Opcode.TEXT, payload: undefined, rsv1: true, fin: true, fragmentable: true },
      { opcode: Opcode.TEXT, payload: undefined, rsv1: true, fin: true, fragmentable: true },
    ],
    'one frame per message, RSV1 and FIN set, which an encoder may fragment',
  )
  t.same(payloads(await deflate([''], { threshold: 0 })), ['00'], 'an empty message is one empty stored block header')
})

t.test('context takeover: dropped per message only where our own side agreed to none', async (t) => {
  const twice = ['Hello', 'Hello']
  const fresh = ['f248cdc9c90700', 'f248cdc9c90700']
  const shared = ['f248cdc9c90700', 'f200110000']
  t.same(payloads(await deflate(twice, { threshold: 0, role: 'server', serverNoContextTakeover: true })), fresh, 'server, server_no_context_takeover')
  t.same(payloads(await deflate(twice, { threshold: 0, role: 'server', clientNoContextTakeover: true })), shared, 'server, client_no_context_takeover')
  t.same(payloads(await deflate(twice, { threshold: 0, role: 'client', clientNoContextTakeover: true })), fresh, 'client, client_no_context_takeover')
  t.same(payloads(await deflate(twice, { threshold: 0, role: 'client', serverNoContextTakeover: true })), shared, 'client, server_no_context_takeover')
})

t.test('detachContext(): an idle stage gives its window to the next Deflate, whose messages continue from it', async (t) => {
  const first = new Deflate({ threshold: 0 })
  const out: Out[] = []
  first.on('data', (item: Out) => out.push(item))
  first.write('Hello')
  await until(() => out.length === 1, 5000, 'the first message')
  t.ok(first.idle, 'idle between messages')
  const context = first.detachContext()
  t.ok(context, 'the compressor, window and all')
  t.equal(first.detachContext(), null, 'given once')
  first.destroy()
  await new Promise((resolve) => setImmediate(resolve))
  t.notOk(context!.destroyed, 'destroying the first stage leaves it open')
  const next = await deflate(['Hello'], { threshold: 0, context: context! })
  t.same(payloads([...out, ...next]), ['f248cdc9c90700', 'f200110000'], 'RFC 7692 section 7.2.3.2: the second refers back into the first')
  t.ok(context!.destroyed, 'closed by the stage that took it, when it ended')

  const reset = new Deflate({ threshold: 0, serverNoContextTakeover: true })
  reset.on('data', () => {})
  reset.write('Hello')
  await until(() => reset.idle && reset.writableLength === 0, 5000, 'the message compressed')
  t.equal(reset.detachContext(), null, 'without context takeover there is no window to keep')
  reset.destroy()
  const streaming = new Deflate({ threshold: 0 })
  const parts: Out[] = []
  streaming.on('data', (item: Out) => parts.push(item))
  streaming.write({ part: Buffer.from('Hel'), opcode: Opcode.TEXT, first: true, fin: false })
  await until(() => parts.length === 1, 5000, 'the first piece')
  t.notOk(streaming.idle, 'a streamed message half sent: not idle')
  t.equal(streaming.detachContext(), null, 'nothing given mid-message')
  streaming.destroy()
})

t.test('the bytes are zlib’s: a raw deflate with a sync flush, its tail removed', async (t) => {
  const messages: Array<string | Buffer> = ['Hello', prose(5000, 1), periodic(300, 100_000), prose(3000, 2), Buffer.alloc(MiB, 0x5a), '']
  for (const settings of [
    {},
    { windowBits: 10, memLevel: 4, level: 1 },
    { windowBits: 12, memLevel: 9, level: 9 },
  ]) {
    const { windowBits, ...rest } = settings
    const options: DeflateOptions = { threshold: 0, serverMaxWindowBits: windowBits, ...rest }
    // Each message alone: what zlib gives for it from scratch.
    const alone = await deflate(messages, { ...options, serverNoContextTakeover: true })
    t.same(
      payloads(alone),
      messages.map((m) => zlibCompress(m, settings).toString('hex')),
      `no context takeover, ${JSON.stringify(settings)}`,
    )
    // With context takeover: what one zlib stream gives for them in turn.
    const compressor = zlibCompressor(settings)
    const expected: string[] = []
    // An empty message is '00' either way: zlib gives nothing for a sync flush with no input after another.
    for (const m of messages) expected.push(m.length === 0 ? '00' : (await compressor.compress(m)).toString('hex'))
    compressor.close()
    const together = await deflate(messages, options)
    t.same(payloads(together), expected, `context takeover, ${JSON.stringify(settings)}`)
    t.same(
      alone.map((f, i) => inflated((f as OutboundFrame).payload!).equals(Buffer.from(messages[i]))),
      messages.map(() => true),
      'and zlib inflates each back',
    )
  }
})

t.test('threshold: shorter messages pass as they came, measured in bytes', async (t) => {
  const short = 'x'.repeat(1023)
  const bytes = Buffer.alloc(1023)
  const out = await deflate([short, bytes, 'x'.repeat(1024), Buffer.alloc(1024)])
  t.equal(out[0], short, 'a 1023-byte string is not compressed')
  t.equal(out[1], bytes, 'nor a 1023-byte Buffer: the same object goes on')
  t.same(
    out.slice(2).map((f) => [(f as OutboundFrame).opcode, (f as OutboundFrame).rsv1]),
    [
      [Opcode.TEXT, true],
      [Opcode.BINARY, true],
    ],
    '1024 bytes are',
  )
  // 600 two-byte characters are 1,200 bytes; 341 three-byte ones are 1,023, 342 are 1,026.
  const multi = await deflate(['é'.repeat(600), '日'.repeat(341), '日'.repeat(342), '🦊'.repeat(255), '🦊'.repeat(256)])
  t.same(
    multi.map((item) => typeof item !== 'string'),
    [true, false, true, false, true],
    'text is judged by its UTF-8 length, not its length in UTF-16 units',
  )
  const all = await deflate(['a', Buffer.from([1])], { threshold: 0 })
  t.ok(all.every((f) => (f as OutboundFrame).rsv1), 'threshold 0 compresses everything')
})

t.test('{ data, compress } decides for one message', async (t) => {
  const big = prose(5000)
  const bytes = Buffer.from(prose(5000))
  const out = await deflate([
    { data: big, compress: false },
    { data: bytes, compress: false },
    { data: 'hi', compress: true },
    { data: 'hi' },
    { data: big },
  ])
  t.equal(out[0], big, 'compress: false sends it as it is, unwrapped')
  t.equal(out[1], bytes)
  t.same(payloads([out[2]]), [zlibCompress('hi').toString('hex')], 'compress: true compresses it below the threshold')
  t.equal(out[3], 'hi', 'left out, the threshold decides')
  t.equal((out[4] as OutboundFrame).rsv1, true)

  const bad = await run(new Deflate(), [{ data: 42 }])
  t.match(bad.error, { name: 'TypeError' }, 'data must be a string or bytes')
  const badChoice = await run(new Deflate(), [{ data: 'x', compress: 'no' }])
  t.match(badChoice.error, { name: 'TypeError' })
})

t.test('text marked as bytes is compressed as text, and stays marked when it is not', async (t) => {
  const long = asText(Buffer.from(prose(2000)))
  const short = asText(Buffer.from('short'))
  const out = await deflate([long, short])
  t.equal((out[0] as OutboundFrame).opcode, Opcode.TEXT)
  t.equal(out[1], short)
  t.ok(isText(out[1]), 'still text to the encoder')
})

t.test('control frames and frame objects pass through untouched, in order', async (t) => {
  const ping: OutboundFrame = { opcode: Opcode.PING, payload: Buffer.from('p') }
  const own: OutboundFrame = { opcode: Opcode.BINARY, payload: Buffer.from('mine'), rsv1: false }
  const close: OutboundFrame = { opcode: Opcode.CLOSE, payload: Buffer.from([0x03, 0xe8]) }
  const big = prose(50_000)
  const out = await deflate([big, ping, 'small', big, own, Buffer.alloc(200_000), close])
  t.equal(out.length, 7)
  t.same(
    out.map((item) => (typeof item === 'string' ? 'string' : item instanceof Uint8Array ? 'bytes' : item === ping ? 'ping' : item === own ? 'own' : item === close ? 'close' : `compressed:${item.opcode}`)),
    ['compressed:1', 'ping', 'string', 'compressed:1', 'own', 'compressed:2', 'close'],
  )
})

t.test('window bits: our side’s maximum bounds how far back the compressor refers', async (t) => {
  const data = periodic(300, 60_000) // repeats 300 bytes back, nowhere nearer
  const size = async (options: DeflateOptions) => ((await deflate([data], { threshold: 0, ...options }))[0] as OutboundFrame).payload!.length
  t.ok((await size({ role: 'server', serverMaxWindowBits: 9 })) > 50_000, '9 bits (512 bytes, of which zlib uses 250): no match 300 bytes back')
  t.ok((await size({ role: 'server', serverMaxWindowBits: 10 })) < 2_000, '10 bits: it matches')
  t.ok((await size({ role: 'server', clientMaxWindowBits: 9 })) < 2_000, "the client's maximum does not bind a server")
  t.ok((await size({ role: 'client', clientMaxWindowBits: 9 })) > 50_000, "but does bind a client")
})

t.test('window bits 8: compressed as 9, which never refers more than 250 bytes back', async (t) => {
  const options: DeflateOptions = { threshold: 0, role: 'server', serverMaxWindowBits: 8 }
  const near = periodic(250, 60_000)
  const far = periodic(251, 60_000)
  const [nearFrame, farFrame] = (await deflate([near, far], { ...options, serverNoContextTakeover: true })) as OutboundFrame[]
  t.ok(nearFrame.payload!.length < 2_000, '250 bytes back: matched')
  t.ok(farFrame.payload!.length > 50_000, '251 bytes back: never')
  t.same(payloads([nearFrame]), [zlibCompress(near, { windowBits: 9 }).toString('hex')], 'the same bytes as zlib at 9 bits')
  // An inflater with a 256-byte window, fed a few bytes at a time so that every reference is checked against it.
  const messages = [prose(20_000, 5), prose(20_000, 5), periodic(200, 30_000)]
  const frames = (await deflate(messages, options)) as OutboundFrame[]
  const stream = Buffer.concat(frames.flatMap((f) => [Buffer.from(f.payload!), TAIL]))
  const out = inflateRawSync(stream, { windowBits: 8, chunkSize: 64, finishFlush: constants.Z_SYNC_FLUSH })
  t.ok(out.equals(Buffer.concat(messages.map((m) => Buffer.from(m)))), 'an 8-bit inflater reads it all, with context takeover')
})

t.test('a compressed message is fragmented by an encoder with fragmentSize, RSV1 on the first fragment only', async (t) => {
  const text = prose(10_000)
  const out = await deflate([text], { threshold: 0 })
  const { items } = await run<Buffer>(new FrameEncoder({ fragmentSize: 100 }), out)
  const { items: slices } = await run<FrameSlice>(new FrameDecoder({ role: 'client', allowRsv1: true }), [Buffer.concat(items)])
  const frames = slices.filter((slice) => slice.first)
  t.ok(frames.length > 1, `${frames.length} fragments`)
  t.strictSame(frames.map((f) => f.rsv1), frames.map((_, i) => i === 0), 'RSV1 on the first only')
  t.strictSame(frames.map((f) => f.opcode), frames.map((_, i) => (i === 0 ? 0x1 : 0x0)), 'TEXT, then continuations')
  t.strictSame(frames.map((f) => f.fin), frames.map((_, i) => i === frames.length - 1), 'FIN on the last only')
  const payload = Buffer.concat(slices.map((slice) => slice.payload))
  t.equal(inflateRawSync(Buffer.concat([payload, TAIL]), { finishFlush: constants.Z_SYNC_FLUSH }).toString(), text, 'the fragments inflate to the message')
})

t.test('backpressure: output waits for the reader, write() says so, order holds', async (t) => {
  const deflateStage = new Deflate({ threshold: 0, writableHighWaterMark: 4, readableHighWaterMark: 4 })
  const messages = Array.from({ length: 40 }, (_, i) => prose(4000, i))
  let refused = 0
  for (const m of messages) if (!deflateStage.write(m)) refused++
  t.ok(refused > 0, `write() returned false ${refused} times`)
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.ok(deflateStage.readableLength <= 4, `${deflateStage.readableLength} frames wait for a reader that has not come`)
  t.ok(deflateStage.writableLength > 30, `${deflateStage.writableLength} messages wait, uncompressed`)
  deflateStage.end()
  const frames: OutboundFrame[] = []
  for await (const frame of deflateStage as AsyncIterable<OutboundFrame>) frames.push(frame)
  const compressor = zlibCompressor()
  const expected: string[] = []
  for (const m of messages) expected.push((await compressor.compress(m)).toString('hex'))
  compressor.close()
  t.same(payloads(frames), expected, 'every message, in order')
})

t.test('every compression is a job on the queue; destroyed mid-job, the slot is freed', async (t) => {
  const queue = new ZlibQueue(1)
  let jobs = 0
  const run0 = queue.run.bind(queue)
  queue.run = (job) => {
    jobs++
    return run0(job)
  }
  await deflate(['Hello', 'x', { data: 'no', compress: false }, prose(2000), { opcode: Opcode.PING }], { threshold: 2, queue })
  t.equal(jobs, 2, 'one job per compressed message, none for the rest')

  const stage = new Deflate({ threshold: 0, queue })
  stage.on('error', () => {})
  stage.resume()
  stage.write(Buffer.alloc(64 * MiB, 1))
  await new Promise((resolve) => setTimeout(resolve, 5))
  t.equal(queue.active, 1, 'a job is running')
  stage.destroy()
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(queue.active, 0, 'its slot is free')
  t.equal(await queue.run(() => 'next'), 'next')
})

t.test('options are checked', async (t) => {
  t.throws(() => new Deflate({ threshold: -1 }), RangeError)
  t.throws(() => new Deflate({ threshold: 1.5 }), RangeError)
  t.throws(() => new Deflate({ level: 10 }), RangeError)
  t.throws(() => new Deflate({ memLevel: 0 }), RangeError)
  t.throws(() => new Deflate({ serverMaxWindowBits: 16 }), RangeError)
  t.throws(() => new Deflate({ clientMaxWindowBits: 7.5 }), RangeError)
  t.throws(() => new Deflate({ serverNoContextTakeover: 1 as unknown as boolean }), TypeError)
  t.throws(() => new Deflate({ threshold: '1' as unknown as number }), TypeError)
  t.doesNotThrow(() => new Deflate({ threshold: 0, level: 0, memLevel: 9, serverMaxWindowBits: 8 }))
})

t.test('round trips: Deflate → FrameEncoder → FrameDecoder → Inflate → MessageAssembler', async (t) => {
  const random = Buffer.from(Array.from({ length: MiB }, (_, i) => (Math.imul(i, 2654435761) >>> 13) & 0xff))
  const messages: Array<string | Buffer> = [
    'Hello',
    'Hello',
    'ünïcödé, 日本語, 🦊 and 🦊',
    Buffer.from([0, 1, 2, 255]),
    '',
    Buffer.alloc(0),
    prose(MiB, 9),
    random,
    Buffer.alloc(MiB, 7),
    'Hello',
  ]
  const expected = messages.map((m) => (typeof m === 'string' ? m : Buffer.from(m).toString('hex')))
  const got = (items: unknown[]) => items.map((m) => (typeof m === 'string' ? m : Buffer.from(m as Buffer).toString('hex')))

  for (const sender of ['client', 'server'] as const) {
    for (const params of [
      {},
      { serverNoContextTakeover: true, clientNoContextTakeover: true },
      { serverNoContextTakeover: true },
      { clientNoContextTakeover: true },
    ]) {
      const outcome = await roundTrip(messages, { threshold: 0, ...params }, sender)
      t.same(outcome.errors, [], `${sender} sends, ${JSON.stringify(params)}: no error`)
      t.ok(got(outcome.items).join('|') === expected.join('|'), `${sender} sends, ${JSON.stringify(params)}: every message back exactly`)
    }
  }

  const mid = messages.filter((m) => m.length < MiB).concat([prose(100_000, 4), random.subarray(0, 100_000)])
  const midExpected = got(mid)
  for (let bits = 8; bits <= 15; bits++) {
    for (const takeover of [true, false]) {
      const params = { serverMaxWindowBits: bits, clientMaxWindowBits: bits, serverNoContextTakeover: !takeover, clientNoContextTakeover: !takeover }
      const outcome = await roundTrip(mid, { threshold: 0, ...params }, bits % 2 === 0 ? 'client' : 'server')
      const ok = outcome.errors.length === 0 && got(outcome.items).join('|') === midExpected.join('|')
      t.ok(ok, `${bits} window bits, context takeover ${takeover ? 'on' : 'off'}: ${ok ? 'every message back' : JSON.stringify(outcome.errors.map((e) => e.error.message)) + outcome.items.map((i) => show(i as string)).join()}`)
    }
  }

  const mixed = await roundTrip(['short', prose(3000), { data: prose(3000), compress: false }, { data: 'tiny', compress: true }], {})
  t.same(mixed.errors, [])
  t.same(mixed.items, ['short', prose(3000), prose(3000), 'tiny'], 'compressed and uncompressed messages mixed, default threshold')
})
