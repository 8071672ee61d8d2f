import t from 'tap'
import { PreparedMessage } from '../../lib/protocol/prepared-message'
import { asText } from '../../lib/protocol/text-bytes'
import { FrameDecoder } from '../../lib/stages/frame-decoder'
import type { FrameSlice } from '../../lib/protocol/frame'
import { hex, run } from '../helpers/frames'

const bytesOf = (message: PreparedMessage, fragmentSize?: number) => Buffer.concat(message.frames(fragmentSize))

t.test('a string is one unmasked text frame, as RFC 6455 section 5.7 shows it', async (t) => {
  const message = new PreparedMessage('Hello')
  t.equal(message.text, true)
  t.equal(message.byteLength, 5)
  t.same(bytesOf(message), hex('810548656c6c6f'))
})

t.test('bytes are binary; bytes marked by asText() are text', async (t) => {
  t.same(bytesOf(new PreparedMessage(Buffer.from([1, 2, 3]))), hex('8203010203'))
  t.same(bytesOf(new PreparedMessage(new Uint8Array([0xff]))), hex('8201ff'))
  t.same(bytesOf(new PreparedMessage(asText(Buffer.from('hi')))), hex('81026869'))
  t.same(bytesOf(new PreparedMessage('')), hex('8100'), 'an empty message is one empty frame')
})

t.test('the 16- and 64-bit length forms; a large payload is a header and the payload itself', async (t) => {
  t.same(bytesOf(new PreparedMessage(Buffer.alloc(256))), Buffer.concat([hex('827e0100'), Buffer.alloc(256)]))
  const large = new PreparedMessage(Buffer.alloc(65536, 7))
  const frames = large.frames()
  t.equal(frames.length, 2)
  t.same(frames[0], hex('827f0000000000010000'))
  t.ok(frames[1].buffer === large.payload.buffer && frames[1].byteOffset === large.payload.byteOffset, 'the payload is not copied into a frame buffer')
  t.equal(frames[1].length, 65536)
})

t.test('frames are made once per fragment size and shared by every caller', async (t) => {
  const message = new PreparedMessage('x'.repeat(100))
  const first = message.frames()
  t.equal(message.frames(), first, 'the same array, the same buffers')
  t.not(message.frames(40), first)
  t.equal(message.frames(40), message.frames(40))
})

t.test('fragmentSize splits it into a first frame and continuations that decode back', async (t) => {
  const text = 'ünïcödé ✓ '.repeat(10)
  const message = new PreparedMessage(text)
  const { items } = await run<FrameSlice>(new FrameDecoder({ role: 'client' }), [bytesOf(message, 16)])
  t.same(items.map((f) => [f.opcode, f.fin]).slice(0, 2), [[1, false], [0, false]])
  t.same(items[items.length - 1].fin, true)
  t.equal(Buffer.concat(items.map((f) => f.payload)).toString('utf8'), text)
  t.ok(items.every((f) => f.payload.length <= 16))
})

t.test("it keeps its own copy: changing the caller's buffer afterwards changes nothing", async (t) => {
  const data = Buffer.from('before')
  const message = new PreparedMessage(data)
  data.write('after!')
  t.same(message.payload.toString(), 'before')
  t.same(bytesOf(message).subarray(2).toString(), 'before')
})

t.test('anything else is a TypeError; a bad fragment size a RangeError', async (t) => {
  t.throws(() => new PreparedMessage(42 as never), TypeError)
  t.throws(() => new PreparedMessage({ length: 1 } as never), TypeError)
  const message = new PreparedMessage('x')
  for (const size of [0, -1, 1.5, NaN]) t.throws(() => message.frames(size), RangeError, `fragmentSize ${size}`)
})
