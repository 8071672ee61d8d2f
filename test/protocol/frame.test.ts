/**
 * The header codec: writeHeader() lays out what section 5.2 says, and
 * isWholeFrame() tells a piece holding one whole frame from a header whose
 * payload follows in other pieces.
 */
import t, { type Test } from 'tap'
import { headerSize, isWholeFrame, writeHeader } from '../../lib/protocol/frame'

const KEY = Uint8Array.from([1, 2, 3, 4])

/** A frame of `length` payload bytes, its header written by writeHeader(). */
function frameOf(t: Test, length: number, masked: boolean): Buffer {
  const size = headerSize(length, masked)
  const bytes = Buffer.alloc(size + length, 0x61)
  t.equal(writeHeader(bytes, 0, true, false, 2, length, masked ? KEY : null), size, `header of ${length} bytes`)
  return bytes
}

t.test('a header and all the payload it declares is a whole frame, at every length encoding', async (t) => {
  for (const length of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
    for (const masked of [false, true]) {
      const bytes = frameOf(t, length, masked)
      const size = headerSize(length, masked)
      t.ok(isWholeFrame(bytes), `${length} bytes${masked ? ', masked' : ''}: whole`)
      if (length > 0) {
        t.notOk(isWholeFrame(bytes.subarray(0, size)), `${length}: the header alone is not`)
        t.notOk(isWholeFrame(bytes.subarray(0, bytes.length - 1)), `${length}: one byte short is not`)
      }
      t.notOk(isWholeFrame(Buffer.concat([bytes, Buffer.from([0])])), `${length}: one byte over is not`)
    }
  }
})

t.test('a piece too short to hold the header it starts is not a whole frame', async (t) => {
  t.notOk(isWholeFrame(Buffer.alloc(0)))
  t.notOk(isWholeFrame(Buffer.from([0x82])))
  t.notOk(isWholeFrame(Buffer.from([0x82, 126, 0])), 'a 16-bit length cut short')
  t.notOk(isWholeFrame(Buffer.from([0x82, 127, 0, 0, 0, 0])), 'a 64-bit length cut short')
})
