import t from 'tap'
import { FrameDecoder } from '../../lib/stages/frame-decoder'
import { FrameEncoder, type FrameEncoderOptions } from '../../lib/stages/frame-encoder'
import type { FrameSlice } from '../../lib/protocol/frame'
import { PreparedMessage } from '../../lib/protocol/prepared-message'
import { hex, run } from '../helpers/frames'

const encode = async (items: unknown[], options: FrameEncoderOptions = {}) => {
  const { items: chunks, error } = await run<Buffer>(new FrameEncoder(options), items)
  if (error) throw error
  return Buffer.concat(chunks)
}

/** Decodes what a client-side encoder wrote, as a server would. */
const decodeAs = async (bytes: Buffer, role: 'server' | 'client') => (await run<FrameSlice>(new FrameDecoder({ role }), [bytes])).items

t.test('server frames match the RFC 6455 section 5.7 examples byte for byte', async (t) => {
  t.same(await encode(['Hello']), hex('810548656c6c6f'))
  t.same(await encode([{ opcode: 9, payload: Buffer.from('Hello') }]), hex('890548656c6c6f'))
  t.same(await encode([Buffer.alloc(256, 0)]), Buffer.concat([hex('827e0100'), Buffer.alloc(256)]))
  t.same(await encode([Buffer.alloc(65536, 0)]), Buffer.concat([hex('827f0000000000010000'), Buffer.alloc(65536)]))
})

t.test('picks the 7-, 16- and 64-bit length forms at their boundaries', async (t) => {
  for (const [length, second, headerLength] of [[125, 125, 2], [126, 126, 4], [65535, 126, 4], [65536, 127, 10]]) {
    const bytes = await encode([Buffer.alloc(length)])
    t.equal(bytes[1], second, `length ${length}`)
    t.equal(bytes.length, headerLength + length)
  }
})

t.test('client frames are masked with a fresh key each, and decode back to the payload', async (t) => {
  const bytes = await encode(['Hello', 'Hello', Buffer.from([1, 2, 3])], { role: 'client' })
  const frames = await decodeAs(bytes, 'server')
  t.same(frames.map((f) => [f.opcode, f.masked, f.payload.toString('hex')]), [
    [1, true, Buffer.from('Hello').toString('hex')],
    [1, true, Buffer.from('Hello').toString('hex')],
    [2, true, '010203'],
  ])
  const key1 = bytes.subarray(2, 6)
  const key2 = bytes.subarray(13, 17)
  t.notSame(key1, key2, 'two frames, two mask keys')
})

t.test("the caller's buffer is never masked in place", async (t) => {
  const data = Buffer.from('keep me as I am, please')
  const copy = Buffer.from(data)
  const large = Buffer.alloc(100_000, 0x5a)
  await encode([data, large], { role: 'client' })
  t.same(data, copy)
  t.ok(large.every((b) => b === 0x5a))
})

t.test("a server frame past a few hundred bytes is its header, then the caller's own bytes, not a copy", async (t) => {
  const small = Buffer.alloc(100, 1)
  const large = Buffer.alloc(1024, 2)
  const { items: chunks, error } = await run<Buffer>(new FrameEncoder(), [small, large])
  t.error(error)
  t.equal(chunks.length, 3, 'the small frame in one chunk, the large one in two')
  t.same(chunks[0], Buffer.concat([hex('8264'), small]), 'header and payload together: one piece for the writev')
  t.same(chunks[1], hex('827e0400'), 'the header alone')
  t.equal(chunks[2].buffer, large.buffer, 'the payload is the caller\'s memory: nothing copied')
  t.equal(chunks[2].byteOffset, large.byteOffset)
  t.equal(chunks[2].length, 1024)
})

t.test('a Uint8Array that is not a Buffer is sent as binary, from its own view', async (t) => {
  const backing = new Uint8Array([9, 9, 1, 2, 3, 9])
  const frames = await decodeAs(await encode([backing.subarray(2, 5)]), 'client')
  t.equal(frames[0].opcode, 2)
  t.same([...frames[0].payload], [1, 2, 3])
})

t.test('fragmentSize splits text and binary messages into continuation frames', async (t) => {
  const frames = await decodeAs(await encode(['abcdefghij', Buffer.alloc(7, 1)], { fragmentSize: 4 }), 'client')
  t.same(frames.map((f) => [f.opcode, f.fin, f.payload.length]), [
    [1, false, 4], [0, false, 4], [0, true, 2],
    [2, false, 4], [0, true, 3],
  ])
})

t.test('fragmentSize is a positive integer or Infinity', async (t) => {
  for (const fragmentSize of [0, -1, 1.5, NaN]) t.throws(() => new FrameEncoder({ fragmentSize }), RangeError, String(fragmentSize))
  t.doesNotThrow(() => new FrameEncoder({ fragmentSize: Infinity }))
})

t.test('multi-byte text is counted in bytes, not characters', async (t) => {
  const frames = await decodeAs(await encode(['€'.repeat(50)]), 'client')
  t.equal(frames[0].length, 150)
  t.equal(frames[0].payload.toString(), '€'.repeat(50))
})

t.test('control frames that are too long or not final are refused', async (t) => {
  await t.rejects(encode([{ opcode: 9, payload: Buffer.alloc(126) }]), RangeError)
  await t.rejects(encode([{ opcode: 8, fin: false }]), RangeError)
  await t.rejects(encode([42]), TypeError)
})

/** Runs items through an encoder; what it emitted before failing, and the failure. */
const attempt = async (items: unknown[], options: FrameEncoderOptions = {}) => {
  const { items: chunks, error } = await run<Buffer>(new FrameEncoder(options), items)
  return { bytes: Buffer.concat(chunks), error }
}

t.test('an opcode that is not an integer from 0 to 15 is refused with a RangeError, and nothing of it is sent', async (t) => {
  // 16 and above would spill into the FIN and RSV bits of the first header byte.
  for (const opcode of [16, 0x81, 255, -1, 1.5, NaN, Infinity]) {
    const { bytes, error } = await attempt(['before', { opcode, payload: Buffer.from('x') }])
    t.type(error, RangeError, `opcode ${opcode}`)
    t.match(error?.message, /opcode/)
    t.same(bytes, hex('81066265666f7265'), `opcode ${opcode}: only the frame before it went out`)
  }
})

t.test('reserved opcodes (3-7, 0xB-0xF) are refused: RFC 6455 gives them no meaning and a peer must fail on them', async (t) => {
  for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
    const { bytes, error } = await attempt([{ opcode, payload: Buffer.from('x') }])
    t.type(error, RangeError, `opcode 0x${opcode.toString(16)}`)
    t.match(error?.message, /reserved opcode/)
    t.equal(bytes.length, 0)
  }
})

t.test('allowReservedOpcodes sends reserved opcodes, still under the control frame rules from 0x8 up', async (t) => {
  const options = { allowReservedOpcodes: true }
  t.same(await encode([{ opcode: 3, payload: Buffer.from('x') }, { opcode: 0xb, payload: Buffer.from('y') }], options), hex('8301788b0179'))
  await t.rejects(encode([{ opcode: 0xb, fin: false }], options), RangeError)
  await t.rejects(encode([{ opcode: 16 }], options), RangeError)
})

t.test('frames passed on slice by slice must add up to their declared length', async (t) => {
  const slice = (first: boolean, last: boolean, payload: string, length?: number, opcode = 2) =>
    ({ opcode, first, last, length, payload: Buffer.from(payload) })
  const header = hex('8204') // a binary frame declaring 4 bytes

  t.test('slices that add up exactly are framed once, with the declared length', async (t) => {
    const { bytes, error } = await attempt([slice(true, false, 'ab', 4), slice(false, false, ''), slice(false, true, 'cd')])
    t.equal(error, null)
    t.same(bytes, Buffer.concat([header, Buffer.from('abcd')]))
    const full = await attempt([slice(true, false, 'abcd', 4), slice(false, true, ''), 'next'])
    t.equal(full.error, null, 'a first slice may carry every byte, closed by an empty last slice')
    t.same(full.bytes, Buffer.concat([header, Buffer.from('abcd'), hex('81046e657874')]))
  })

  const failures: Array<[string, unknown[], RegExp, Buffer]> = [
    ['a first slice longer than the declared length', [slice(true, false, 'abcde', 4)], /declared/, Buffer.alloc(0)],
    ['a later slice that runs past the declared length', [slice(true, false, 'ab', 4), slice(false, false, 'cde')], /past/,
      Buffer.concat([header, Buffer.from('ab')])],
    ['a last slice that falls short of the declared length', [slice(true, false, 'ab', 4), slice(false, true, 'c')], /short/,
      Buffer.concat([header, Buffer.from('ab')])],
    ['a new frame started before the last slice', [slice(true, false, 'ab', 4), slice(true, false, 'xy', 2)], /before/,
      Buffer.concat([header, Buffer.from('ab')])],
    ['a whole frame before the last slice', [slice(true, false, 'ab', 4), { opcode: 9, payload: Buffer.from('p') }], /before/,
      Buffer.concat([header, Buffer.from('ab')])],
    ['a message before the last slice', [slice(true, false, 'ab', 4), 'text'], /before/, Buffer.concat([header, Buffer.from('ab')])],
    ['a slice of another opcode', [slice(true, false, 'ab', 4), slice(false, true, 'cd', undefined, 1)], /opcode/,
      Buffer.concat([header, Buffer.from('ab')])],
    ['a slice with no frame started', [slice(false, true, 'cd')], /no frame/, Buffer.alloc(0)],
    ['a whole frame declaring another length than its payload', [{ opcode: 2, payload: Buffer.from('ab'), length: 3 }], /declare/,
      Buffer.alloc(0)],
  ]
  for (const [what, items, message, sent] of failures) {
    t.test(`${what} fails the encoder, and nothing of it is sent`, async (t) => {
      const { bytes, error } = await attempt(items)
      t.type(error, RangeError)
      t.match(error?.message, message)
      t.same(bytes, sent, 'only what went before it')
    })
  }
})

t.test('decoder -> encoder is a frame-level proxy, slice by slice', async (t) => {
  const source = await encode(['a'.repeat(70_000), { opcode: 9, payload: Buffer.from('p') }, Buffer.alloc(10, 3)], { role: 'client' })
  const decoder = new FrameDecoder({ role: 'server' })
  const encoder = new FrameEncoder({ role: 'server' })
  decoder.pipe(encoder)
  const out: Buffer[] = []
  encoder.on('data', (c: Buffer) => out.push(c))
  const ended = new Promise((r) => encoder.on('end', r))
  // Slices arrive in pieces: the proxy must re-frame them with the declared length.
  for (let i = 0; i < source.length; i += 1000) decoder.write(Buffer.from(source.subarray(i, i + 1000)))
  decoder.end()
  await ended
  const frames = await decodeAs(Buffer.concat(out), 'client')
  const joined = new Map<number, Buffer[]>()
  for (const f of frames) joined.set(f.opcode, [...(joined.get(f.opcode) ?? []), f.payload])
  t.equal(Buffer.concat(joined.get(1)!).toString(), 'a'.repeat(70_000))
  t.equal(Buffer.concat(joined.get(9)!).toString(), 'p')
  t.same(Buffer.concat(joined.get(2)!), Buffer.alloc(10, 3))
})

t.test('long text, ASCII or not, is framed with its exact UTF-8 length in both roles', async (t) => {
  const texts = [
    'a'.repeat(5000),
    'é'.repeat(3000), // twice as many bytes as units: more than the one-pass room
    `${'a'.repeat(2000)}€`,
    `${'b'.repeat(1500)}\ud800`,
    '𝄞'.repeat(700),
    `${'ascii with a few extras ✓ 😀 '.repeat(3000)}`, // fits the one-pass room, 16-bit length
    `${'x'.repeat(70_000)}漢字`, // 64-bit length form
  ]
  for (const role of ['server', 'client'] as const) {
    const frames = await decodeAs(await encode(texts, { role }), role === 'client' ? 'server' : 'client')
    t.same(frames.map((f) => f.length), texts.map((x) => Buffer.byteLength(x)), `${role}: declared lengths`)
    t.same(frames.map((f) => f.payload.toString()), texts.map((x) => Buffer.from(x).toString()), `${role}: payloads`)
  }
})

t.test("a PreparedMessage goes out as its shared frames on the server side, masked afresh on the client's", async (t) => {
  const message = new PreparedMessage('Hello')
  t.same(await encode([message, message]), hex('810548656c6c6f810548656c6c6f'))
  const encoder = new FrameEncoder()
  const pushed: Buffer[] = []
  encoder.on('data', (chunk: Buffer) => pushed.push(chunk))
  encoder.end(message)
  await new Promise((resolve) => encoder.on('end', resolve))
  t.equal(pushed[0], message.frames()[0], 'the very buffer the message holds, not a copy')

  const masked = await encode([message, new PreparedMessage(Buffer.from([1, 2]))], { role: 'client' })
  const frames = await decodeAs(masked, 'server')
  t.same(frames.map((f) => [f.opcode, f.masked, f.payload.toString('hex')]), [[1, true, '48656c6c6f'], [2, true, '0102']])
  t.same(message.payload.toString(), 'Hello', 'its payload is not masked in place')
  const split = await decodeAs(await encode([new PreparedMessage('abcdef')], { fragmentSize: 4 }), 'client')
  t.same(split.map((f) => [f.opcode, f.fin, f.payload.toString()]), [[1, false, 'abcd'], [0, true, 'ef']], 'fragmentSize applies to it too')
})
