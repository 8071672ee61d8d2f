import t from 'tap'
import { FragmentBuffer } from '../lib/fragment-buffer'

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
