import t from 'tap'
import { Utf8Validator } from '../../lib/protocol/utf8'

/** Feeds `bytes` one piece at a time; returns the piece index where it failed, or -1, and whether it ended whole. */
function feed(pieces: Buffer[]): { failedAt: number; complete: boolean } {
  const v = new Utf8Validator()
  for (let i = 0; i < pieces.length; i++) if (!v.push(pieces[i])) return { failedAt: i, complete: false }
  return { failedAt: -1, complete: v.end() }
}

const valid = [
  '', 'plain ascii', 'κόσμε', '€ sign', '𝄞 clef', 'mixed: a€𝄞κ',
  '\u0000', '\u007f', '\u0080', '\u07ff', '\u0800', '\uffff', '\u{10000}', '\u{10ffff}', '\ud7ff', '\ue000',
]

const invalid: [string, number[]][] = [
  ['lone continuation', [0x80]],
  ['overlong slash, 2 bytes', [0xc0, 0xaf]],
  ['overlong slash, 3 bytes', [0xe0, 0x80, 0xaf]],
  ['overlong slash, 4 bytes', [0xf0, 0x80, 0x80, 0xaf]],
  ['C1 lead', [0xc1, 0xbf]],
  ['high surrogate', [0xed, 0xa0, 0x80]],
  ['low surrogate', [0xed, 0xbf, 0xbf]],
  ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ['F5 lead', [0xf5, 0x80, 0x80, 0x80]],
  ['FE', [0xfe]],
  ['FF', [0xff]],
  ['truncated 3-byte in the middle', [0xe2, 0x82, 0x41]],
  ['5-byte sequence', [0xf8, 0x88, 0x80, 0x80, 0x80]],
]

t.test('accepts valid text split at every byte boundary', async (t) => {
  for (const text of valid) {
    const bytes = Buffer.from(`x${text}y`)
    for (let cut = 0; cut <= bytes.length; cut++) {
      const r = feed([bytes.subarray(0, cut), bytes.subarray(cut)])
      if (r.failedAt !== -1 || !r.complete) t.fail(`${JSON.stringify(text)} cut at ${cut}`)
    }
    t.same(feed([...bytes].map((b) => Buffer.from([b]))), { failedAt: -1, complete: true }, JSON.stringify(text))
  }
})

t.test('rejects invalid sequences wherever they are cut', async (t) => {
  for (const [name, seq] of invalid) {
    const bytes = Buffer.concat([Buffer.from('ok '), Buffer.from(seq), Buffer.from(' tail')])
    for (let cut = 0; cut <= bytes.length; cut++) {
      const r = feed([bytes.subarray(0, cut), bytes.subarray(cut)])
      if (r.failedAt === -1) t.fail(`${name} cut at ${cut} was accepted`)
    }
    t.not(feed([...bytes].map((b) => Buffer.from([b]))).failedAt, -1, name)
  }
})

t.test('fails on the first byte that makes the text impossible, not later', async (t) => {
  // F4 90: no code point can follow; the validator must say so before the rest arrives.
  const bytes = [0xce, 0xba, 0xf4, 0x90, 0x80, 0x80, 0x41]
  const r = feed(bytes.map((b) => Buffer.from([b])))
  t.equal(r.failedAt, 3)
  t.equal(feed([Buffer.from([0xed]), Buffer.from([0xa0])]).failedAt, 1, 'surrogate lead judged at its second byte')
  t.equal(feed([Buffer.from([0xe0, 0x9f])]).failedAt, 0, 'overlong judged inside one piece too')
})

t.test('an incomplete character at the end is reported by end(), and end() resets', async (t) => {
  const v = new Utf8Validator()
  t.equal(v.push(Buffer.from([0xe2, 0x82])), true)
  t.equal(v.end(), false)
  t.equal(v.push(Buffer.from('fresh')), true)
  t.equal(v.end(), true)
})
