import t from 'tap'
import { FragmentBuffer } from '../../lib/stages/fragment-buffer'

t.test('joins pieces in order', async (t) => {
  const b = new FragmentBuffer()
  b.append(Buffer.from('ab'))
  b.append(Buffer.alloc(0))
  b.append(Buffer.from('cd'))
  t.equal(b.size, 4)
  t.equal(b.take().toString(), 'abcd')
  t.equal(b.size, 0)
  t.equal(b.take().length, 0)
})

t.test('small views of large buffers are copied, so they do not pin them', async (t) => {
  const big = Buffer.alloc(65536, 1)
  const b = new FragmentBuffer()
  const piece = big.subarray(10, 11)
  b.append(piece)
  big[10] = 2 // a later change to the big buffer must not show through
  t.same([...b.take()], [1])
})

t.test('a piece that is most of its memory is kept as a view (no copy)', async (t) => {
  const whole = Buffer.alloc(40_000, 3)
  const b = new FragmentBuffer()
  b.append(whole)
  t.equal(b.take(), whole)
})

t.test('many one-byte pieces from separate large buffers come back intact', async (t) => {
  const b = new FragmentBuffer()
  for (let i = 0; i < 70_000; i++) b.append(Buffer.alloc(4096, i & 0xff).subarray(0, 1))
  const all = b.take()
  t.equal(all.length, 70_000)
  t.ok(all.every((v, i) => v === (i & 0xff)))
})

t.test('a reserved message is copied into one buffer of that size as it arrives', async (t) => {
  const b = new FragmentBuffer()
  b.reserve(6)
  const first = Buffer.from('abc')
  b.append(first)
  first.fill(0) // the socket's buffer may be reused: the copy must not change
  b.append(Buffer.from('def'))
  const whole = b.take()
  t.equal(whole.toString(), 'abcdef')
  t.equal(whole.buffer.byteLength >= 6 && whole.length, 6)
})

t.test('bytes beyond the reservation (a continuation frame) are kept after it', async (t) => {
  const b = new FragmentBuffer()
  b.reserve(4)
  b.append(Buffer.from('ab'))
  b.append(Buffer.from('cd'))
  b.append(Buffer.from('efgh'))
  t.equal(b.size, 8)
  t.equal(b.take().toString(), 'abcdefgh')
})

t.test('a reservation is ignored once bytes are held, and dropped by clear()', async (t) => {
  const b = new FragmentBuffer()
  b.append(Buffer.from('x'))
  b.reserve(100)
  b.append(Buffer.from('y'))
  t.equal(b.take().toString(), 'xy')
  b.reserve(10)
  b.clear()
  b.append(Buffer.from('z'))
  t.equal(b.take().toString(), 'z')
})

const MiB = 1024 * 1024

t.test('an announced frame costs what has arrived of it, not what it declares', async (t) => {
  const b = new FragmentBuffer()
  const before = process.memoryUsage().arrayBuffers
  b.reserve(90 * MiB)
  b.append(Buffer.from([1]))
  const held = process.memoryUsage().arrayBuffers - before
  t.ok(held < 4 * MiB, `one byte of a 90 MiB frame holds ${(held / MiB).toFixed(2)} MiB`)
  t.same([...b.take()], [1])
})

t.test('an announced frame arriving in pieces ends up in one buffer of exactly its size, in order', async (t) => {
  const size = 1 * MiB
  const expected = Buffer.from(Array.from({ length: size }, (_, i) => (i * 13 + (i >>> 10)) & 0xff))
  // Small pieces (copied into blocks) and large ones (kept as views) before the buffer exists, then more of both.
  const cuts = [0, 1, 7, 300, 40_000, 40_001, 110_000, 300_000, 300_005, 600_000, 900_000, 900_003, size]
  const b = new FragmentBuffer()
  b.reserve(size)
  for (let i = 1; i < cuts.length; i++) b.append(Buffer.from(expected.subarray(cuts[i - 1], cuts[i])))
  const whole = b.take()
  t.ok(whole.equals(expected), 'byte for byte')
  t.equal(whole.buffer.byteLength, size, 'one buffer of the frame size')
})

t.test('a continuation after an announced frame that arrived whole is kept after it', async (t) => {
  const b = new FragmentBuffer()
  b.reserve(200_000)
  b.append(Buffer.alloc(120_000, 1))
  b.append(Buffer.alloc(80_000, 2))
  b.append(Buffer.alloc(10, 3))
  const whole = b.take()
  t.equal(whole.length, 200_010)
  t.same([whole[0], whole[119_999], whole[120_000], whole[199_999], whole[200_000], whole[200_009]], [1, 1, 2, 2, 3, 3])
})
