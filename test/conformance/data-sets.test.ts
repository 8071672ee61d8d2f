/**
 * The payloads of sections 12-13 are what the report says they are: of the
 * stated kind and size, text that is UTF-8 with characters beyond ASCII, and
 * slices that follow one another cyclically, each text slice itself UTF-8.
 */
import { isUtf8 } from 'node:buffer'
import { deflateRawSync } from 'node:zlib'
import t from 'tap'
import { ROWS } from './cases/deflate-rows'
import { type DataSetName, Slicer, dataSet } from './deflate/data-sets'

const KB = 1024
const EXPECTED: Record<DataSetName, { text: boolean; min: number; max: number }> = {
  json: { text: true, min: 194 * KB, max: 200 * KB },
  bitmap: { text: false, min: 32830, max: 32830 },
  german: { text: false, min: 160 * KB, max: 165 * KB },
  html: { text: true, min: 264 * KB, max: 270 * KB },
  pdf: { text: false, min: 1024 * KB, max: 1040 * KB },
}

t.test('each data set has its kind and size; the text ones are UTF-8 beyond ASCII', async (t) => {
  for (const [name, want] of Object.entries(EXPECTED) as Array<[DataSetName, (typeof EXPECTED)[DataSetName]]>) {
    const { text, bytes } = dataSet(name)
    t.equal(text, want.text, `${name}: text or binary`)
    t.ok(bytes.length >= want.min && bytes.length <= want.max, `${name}: ${bytes.length} bytes`)
    if (name !== 'bitmap' && name !== 'pdf') {
      t.ok(isUtf8(bytes), `${name}: UTF-8`)
      t.ok(bytes.some((b) => b >= 0x80), `${name}: has multi-byte characters`)
    }
  }
  t.equal(dataSet('bitmap').bytes.subarray(0, 2).toString('latin1'), 'BM', 'the bitmap is a BMP')
  const ratio = deflateRawSync(dataSet('pdf').bytes).length / dataSet('pdf').bytes.length
  t.ok(ratio > 0.7, `the PDF-like data is mostly incompressible (deflates to ${ratio.toFixed(2)})`)
})

t.test('slices follow one another cyclically; text slices end on a character boundary', async (t) => {
  const bitmap = dataSet('bitmap').bytes
  const slicer = new Slicer(dataSet('bitmap'))
  const slices = [slicer.next(30000), slicer.next(70000)]
  t.ok(Buffer.concat(slices).equals(Buffer.concat([bitmap, bitmap, bitmap, bitmap]).subarray(0, 100000)), 'binary: exact sizes, wrapping')

  for (const name of ['json', 'html'] as const) {
    const set = dataSet(name)
    const text = new Slicer(set)
    const sent: Buffer[] = []
    let bad = 0
    for (let i = 0; i < 200; i++) {
      const size = ROWS[i % ROWS.length].size
      const slice = text.next(size)
      if (!isUtf8(slice) || slice.length > size || slice.length < size - 3) bad++
      sent.push(slice)
    }
    t.equal(bad, 0, `${name}: every slice UTF-8, at most 3 bytes short`)
    const all = Buffer.concat(sent)
    const cycles = Buffer.concat(Array.from({ length: Math.ceil(all.length / set.bytes.length) + 1 }, () => set.bytes))
    t.ok(all.equals(cycles.subarray(0, all.length)), `${name}: each slice starts where the previous one ended`)
  }
})
