import t from 'tap'
import { ControlFrame } from '../../lib/protocol/control-frame'
import { FrameDecoder } from '../../lib/stages/frame-decoder'
import { type AssembledItem, MessageAssembler, type MessageAssemblerOptions } from '../../lib/stages/message-assembler'
import type { FrameSlice } from '../../lib/protocol/frame'
import { type RunResult, clientFrame, splits } from '../helpers/frames'

/** Bytes through a decoder and an assembler, as a connection would carry them. */
function assemble(chunks: Buffer[], options: MessageAssemblerOptions = {}): Promise<RunResult<AssembledItem>> {
  const decoder = new FrameDecoder()
  const assembler = new MessageAssembler(options)
  decoder.pipe(assembler)
  let decodeError: Error | null = null
  // As the duplex does: a decoder error surfaces once the frames before it are assembled.
  decoder.on('error', (error) => {
    decodeError = error
    assembler.end()
  })
  return new Promise((resolve) => {
    const items: AssembledItem[] = []
    const timer = setTimeout(() => resolve({ items, error: new Error('assembler did not finish in time') }), 5000)
    const finish = (error: Error | null) => {
      clearTimeout(timer)
      resolve({ items, error })
    }
    assembler.on('data', (item: AssembledItem) => items.push(item))
    assembler.on('error', finish)
    assembler.on('end', () => finish(decodeError))
    for (const chunk of chunks) decoder.write(chunk)
    decoder.end()
  })
}

const show = (items: AssembledItem[]) =>
  items.map((i) => (i instanceof ControlFrame ? `${i.type}:${i.type === 'close' ? i.code : i.payload.toString()}` : typeof i === 'string' ? `text:${i}` : `binary:${i.toString('hex')}`))

t.test('a single-frame text message becomes a string, a binary one a Buffer', async (t) => {
  const { items, error } = await assemble([clientFrame({ opcode: 1, payload: 'hello' }), clientFrame({ opcode: 2, payload: Buffer.from([0, 255]) })])
  t.equal(error, null)
  t.equal(items[0], 'hello')
  t.ok(Buffer.isBuffer(items[1]))
  t.same(show(items), ['text:hello', 'binary:00ff'])
})

t.test('joins continuation frames, with control frames between fragments passed on in order', async (t) => {
  const bytes = [
    clientFrame({ opcode: 1, fin: false, payload: 'frag' }),
    clientFrame({ opcode: 9, payload: 'p1' }),
    clientFrame({ opcode: 0, fin: false, payload: 'men' }),
    clientFrame({ opcode: 10, payload: 'p2' }),
    clientFrame({ opcode: 0, payload: 'ted' }),
    clientFrame({ opcode: 2, fin: false, payload: Buffer.from([1]) }),
    clientFrame({ opcode: 0, payload: Buffer.from([2]) }),
    clientFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe8, 0x6f, 0x6b]) }),
  ]
  const { items, error } = await assemble(bytes)
  t.equal(error, null)
  t.same(show(items), ['ping:p1', 'pong:p2', 'text:fragmented', 'binary:0102', 'close:1000'])
  const close = items.at(-1) as ControlFrame
  t.equal(close.reason, 'ok')
})

t.test('empty messages and empty fragments', async (t) => {
  const { items } = await assemble([
    clientFrame({ opcode: 1, payload: '' }),
    clientFrame({ opcode: 2, payload: '' }),
    clientFrame({ opcode: 1, fin: false, payload: '' }),
    clientFrame({ opcode: 0, fin: false, payload: '' }),
    clientFrame({ opcode: 0, payload: '' }),
  ])
  t.same(items, ['', Buffer.alloc(0), ''])
})

t.test('the same messages come out at every byte boundary split of the input', async (t) => {
  const stream = Buffer.concat([
    clientFrame({ opcode: 1, fin: false, payload: 'κόσ' }),
    clientFrame({ opcode: 9, payload: '' }),
    clientFrame({ opcode: 0, payload: 'με €𝄞' }),
    clientFrame({ opcode: 2, payload: Buffer.alloc(130, 9) }),
  ])
  const expected = show((await assemble([Buffer.from(stream)])).items)
  t.same(expected, ['ping:', 'text:κόσμε €𝄞', `binary:${'09'.repeat(130)}`])
  for (const chunks of splits(stream)) {
    const result = await assemble(chunks)
    t.same(show(result.items), expected, `in ${chunks.length} pieces`)
  }
})

const failures: [string, Buffer[], string, number][] = [
  ['a continuation with no message in progress', [clientFrame({ opcode: 0, payload: 'x' })], 'WS_ERR_UNEXPECTED_CONTINUATION', 1002],
  ['a new text frame while a message is in progress', [clientFrame({ opcode: 1, fin: false, payload: 'a' }), clientFrame({ opcode: 1, payload: 'b' })], 'WS_ERR_EXPECTED_CONTINUATION', 1002],
  ['a new binary frame while a message is in progress', [clientFrame({ opcode: 2, fin: false }), clientFrame({ opcode: 2 })], 'WS_ERR_EXPECTED_CONTINUATION', 1002],
  ['invalid UTF-8 in a single frame', [clientFrame({ opcode: 1, payload: Buffer.from([0xce, 0xba, 0xff]) })], 'WS_ERR_INVALID_UTF8', 1007],
  ['a text message ending mid-character', [clientFrame({ opcode: 1, payload: Buffer.from([0x61, 0xe2, 0x82]) })], 'WS_ERR_INVALID_UTF8', 1007],
  ['a UTF-16 surrogate encoded in UTF-8', [clientFrame({ opcode: 1, payload: Buffer.from([0xed, 0xa0, 0x80]) })], 'WS_ERR_INVALID_UTF8', 1007],
  ['an overlong encoding', [clientFrame({ opcode: 1, payload: Buffer.from([0xc0, 0xaf]) })], 'WS_ERR_INVALID_UTF8', 1007],
  ['a close code of 1005', [clientFrame({ opcode: 8, payload: Buffer.from([0x03, 0xed]) })], 'WS_ERR_INVALID_CLOSE_CODE', 1002],
  ['a close code of 999', [clientFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe7]) })], 'WS_ERR_INVALID_CLOSE_CODE', 1002],
  ['a close code of 5000', [clientFrame({ opcode: 8, payload: Buffer.from([0x13, 0x88]) })], 'WS_ERR_INVALID_CLOSE_CODE', 1002],
  ['a 1-byte close payload', [clientFrame({ opcode: 8, payload: Buffer.from([0x03]) })], 'WS_ERR_INVALID_CLOSE_PAYLOAD', 1002],
  ['a close reason that is not UTF-8', [clientFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe8, 0xff]) })], 'WS_ERR_INVALID_UTF8', 1007],
]

for (const [name, bytes, code, status] of failures) {
  t.test(`fails on ${name}: ${code} (${status})`, async (t) => {
    const { error } = await assemble(bytes)
    t.equal(error?.code, code)
    t.equal(error?.status, status)
  })
}

t.test('invalid UTF-8 fails in the fragment where it arrives, before the message ends', async (t) => {
  const decoder = new FrameDecoder()
  const assembler = new MessageAssembler()
  decoder.pipe(assembler)
  const failed = new Promise<Error & { code?: string }>((resolve) => assembler.on('error', resolve))
  decoder.write(clientFrame({ opcode: 1, fin: false, payload: 'κόσμε' }))
  decoder.write(clientFrame({ opcode: 0, fin: false, payload: Buffer.from([0xf4, 0x90, 0x80, 0x80]) }))
  t.equal((await failed).code, 'WS_ERR_INVALID_UTF8', 'the third fragment was never sent')
})

t.test('invalid UTF-8 fails while its frame is still arriving, on the first impossible byte', async (t) => {
  const decoder = new FrameDecoder()
  const assembler = new MessageAssembler()
  decoder.pipe(assembler)
  const failed = new Promise<Error & { code?: string }>((resolve) => assembler.on('error', resolve))
  const bytes = clientFrame({ opcode: 1, payload: Buffer.concat([Buffer.from('κόσμε'), Buffer.from([0xf4, 0x90, 0x80, 0x80]), Buffer.from('edited')]) })
  const cut = bytes.length - 'edited'.length - 2 // ends after 0xF4 0x90
  decoder.write(bytes.subarray(0, cut))
  t.equal((await failed).code, 'WS_ERR_INVALID_UTF8')
})

t.test('the message size limit is judged on the declared length, across fragments', async (t) => {
  const single = await assemble([clientFrame({ opcode: 2, payload: Buffer.alloc(101) })], { maxMessageSize: 100 })
  t.equal(single.error?.code, 'WS_ERR_MESSAGE_TOO_LARGE')
  t.equal(single.error?.status, 1009)
  const fragmented = await assemble(
    [clientFrame({ opcode: 1, fin: false, payload: 'a'.repeat(60) }), clientFrame({ opcode: 0, payload: 'a'.repeat(41) })],
    { maxMessageSize: 100 },
  )
  t.equal(fragmented.error?.code, 'WS_ERR_MESSAGE_TOO_LARGE')
  const exact = await assemble([clientFrame({ opcode: 1, fin: false, payload: 'a'.repeat(60) }), clientFrame({ opcode: 0, payload: 'a'.repeat(40) })], { maxMessageSize: 100 })
  t.equal(exact.error, null)
  t.equal((exact.items[0] as string).length, 100)
})

t.test('the fragment count limit fails with 1009', async (t) => {
  const frames = [clientFrame({ opcode: 2, fin: false })]
  for (let i = 0; i < 9; i++) frames.push(clientFrame({ opcode: 0, fin: false }))
  frames.push(clientFrame({ opcode: 0 }))
  const { error } = await assemble(frames, { maxFragments: 10 })
  t.equal(error?.code, 'WS_ERR_TOO_MANY_FRAGMENTS')
  t.equal(error?.status, 1009)
})

t.test('a 4 MiB message in 65,537 fragments is assembled under the default limits', async (t) => {
  const parts = [clientFrame({ opcode: 2, fin: false, payload: Buffer.alloc(64, 1) })]
  for (let i = 1; i < 65536; i++) parts.push(clientFrame({ opcode: 0, fin: false, payload: Buffer.alloc(64, 1) }))
  parts.push(clientFrame({ opcode: 0, payload: '' }))
  const { items, error } = await assemble([Buffer.concat(parts)])
  t.equal(error, null)
  t.equal((items[0] as Buffer).length, 4 * 1024 * 1024)
})

t.test('nothing is delivered after a CLOSE frame', async (t) => {
  const { items } = await assemble([
    clientFrame({ opcode: 1, payload: 'before' }),
    clientFrame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) }),
    clientFrame({ opcode: 1, payload: 'after' }),
    clientFrame({ opcode: 9, payload: 'late ping' }),
  ])
  t.same(show(items), ['text:before', 'close:1000'])
})

t.test('an empty CLOSE reports code 1005', async (t) => {
  const { items } = await assemble([clientFrame({ opcode: 8 })])
  t.equal((items[0] as ControlFrame).code, 1005)
})

t.test('messages before a protocol error are delivered before the error', async (t) => {
  const { items, error } = await assemble([
    clientFrame({ opcode: 1, payload: 'one' }),
    clientFrame({ opcode: 1, payload: 'two' }),
    clientFrame({ opcode: 1, payload: Buffer.from([0xff]) }),
  ])
  t.same(items, ['one', 'two'])
  t.equal(error?.code, 'WS_ERR_INVALID_UTF8')
})

t.test('a control frame split across reads is passed on whole', async (t) => {
  const bytes = clientFrame({ opcode: 9, payload: 'split ping payload' })
  const { items } = await assemble([bytes.subarray(0, 9), bytes.subarray(9, 12), bytes.subarray(12)].map((b) => Buffer.from(b)))
  t.same(show(items), ['ping:split ping payload'])
})

t.test('long text messages decode alike whether ASCII or not', async (t) => {
  const texts = ['a'.repeat(4096), `${'a'.repeat(4095)}é`, 'κόσμε'.repeat(500), '\u007f'.repeat(2000)]
  const { items, error } = await assemble(texts.map((text) => clientFrame({ opcode: 1, payload: text })))
  t.equal(error, null)
  t.same(items, texts)
})

t.test('a large frame arriving in many reads, alone or opening a fragmented message, comes out whole', async (t) => {
  const big = Buffer.alloc(300_000)
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff
  const single = clientFrame({ opcode: 2, payload: big })
  const fragmented = Buffer.concat([
    clientFrame({ opcode: 1, fin: false, payload: 'a'.repeat(100_000) }),
    clientFrame({ opcode: 0, payload: 'b'.repeat(70_000) }),
  ])
  const bytes = Buffer.concat([single, fragmented])
  const reads: Buffer[] = []
  for (let at = 0; at < bytes.length; at += 16_384) reads.push(bytes.subarray(at, at + 16_384))
  const { items, error } = await assemble(reads)
  t.equal(error, null)
  t.same(items[0], big, 'the single frame, byte for byte')
  t.equal(items[1], 'a'.repeat(100_000) + 'b'.repeat(70_000), 'the fragmented message, with its continuation after the reserved part')
})

/** One slice of a binary frame, as the decoder emits it. */
const binarySlice = (length: number, offset: number, payload: Buffer): FrameSlice => ({
  fin: true, rsv1: false, rsv2: false, rsv3: false, opcode: 2, masked: false,
  length, offset, first: offset === 0, last: offset + payload.length === length, payload,
})

const MiB = 1024 * 1024

t.test('memory follows the bytes received, not the length a frame header declares', async (t) => {
  const assembler = new MessageAssembler()
  const before = process.memoryUsage().arrayBuffers
  await new Promise<void>((resolve, reject) =>
    assembler.write(binarySlice(90 * MiB, 0, Buffer.from([1])), (error?: Error | null) => (error ? reject(error) : resolve())),
  )
  const held = process.memoryUsage().arrayBuffers - before
  t.ok(held < 4 * MiB, `one byte of a frame declaring 90 MiB holds ${(held / MiB).toFixed(2)} MiB`)
  assembler.destroy()
})

t.test('a 64 MiB frame arriving in 64 KiB slices is delivered byte for byte, in one buffer of its size', async (t) => {
  const size = 64 * MiB
  const step = 64 * 1024
  // Each slice its own buffer, as socket reads are; the pattern shifts per slice so order and overlap show.
  const pattern = Buffer.from(Array.from({ length: step + 251 }, (_, i) => (i * 7 + (i >>> 8)) & 0xff))
  const sliceAt = (offset: number) => Buffer.from(pattern.subarray((offset / step) % 251, (offset / step) % 251 + step))
  const assembler = new MessageAssembler()
  const delivered = new Promise<AssembledItem>((resolve) => assembler.once('data', resolve))
  for (let offset = 0; offset < size; offset += step) {
    if (!assembler.write(binarySlice(size, offset, sliceAt(offset)))) await new Promise((resolve) => assembler.once('drain', resolve))
  }
  const message = (await delivered) as Buffer
  t.ok(Buffer.isBuffer(message))
  t.equal(message.length, size)
  t.equal(message.buffer.byteLength, size, 'one buffer of exactly the frame size')
  let mismatch = -1
  for (let offset = 0; offset < size && mismatch === -1; offset += step) {
    if (!message.subarray(offset, offset + step).equals(sliceAt(offset))) mismatch = offset
  }
  t.equal(mismatch, -1, 'every slice in its place')
})
