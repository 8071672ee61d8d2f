/**
 * UTF-8 decoder stress sequences, grouped as in the well-known decoder test
 * file: each group becomes one case family (6.5 to 6.23), each sequence one
 * case. `valid` says whether the bytes are well-formed UTF-8 (RFC 3629):
 * noncharacters such as U+FFFE are well-formed, surrogates and overlong or
 * out-of-range forms are not.
 */

export interface Utf8Group {
  title: string
  sequences: Array<{ valid: boolean; hex: string }>
}

const ok = (hex: string) => ({ valid: true, hex })
const bad = (hex: string) => ({ valid: false, hex })
const KOSME = 'cebae1bdb9cf83cebcceb5'

/** Every prefix of a string of 2-byte and 3-byte characters: only prefixes ending on a character are valid. */
const prefixes = () => {
  const out: Array<{ valid: boolean; hex: string }> = []
  const ends = new Set([2, 5, 7, 9, 11]) // byte lengths at which a character is complete
  for (let n = 1; n <= KOSME.length / 2; n++) out.push({ valid: ends.has(n), hex: KOSME.slice(0, 2 * n) })
  return out
}

/** Each byte of `from..to` followed by a space. */
const lonely = (from: number, to: number) => {
  let hex = ''
  for (let b = from; b <= to; b++) hex += b.toString(16).padStart(2, '0') + '20'
  return bad(hex)
}

/** U+nFFFE and U+nFFFF for planes 1 to 16, encoded in 4 bytes. */
const planeNoncharacters = () => {
  const out: Array<{ valid: boolean; hex: string }> = []
  for (let plane = 1; plane <= 16; plane++) {
    for (const low of [0xfffe, 0xffff]) out.push(ok(Buffer.from(String.fromCodePoint(plane * 0x10000 + low)).toString('hex')))
  }
  return out
}

const continuationBytes = () => {
  let hex = ''
  for (let b = 0x80; b <= 0xbf; b++) hex += b.toString(16)
  return bad(hex)
}

const missingLast = ['c0', 'e080', 'f08080', 'f8808080', 'fc80808080', 'df', 'efbf', 'f7bfbf', 'fbbfbfbf', 'fdbfbfbfbf']

export const UTF8_GROUPS: Utf8Group[] = [
  {
    title: 'some well-formed text',
    sequences: [ok(KOSME), ok('68656c6c6f24776f726c64'), ok('68656c6c6fc2a2776f726c64'), ok('68656c6c6fe282ac776f726c64'), ok('68656c6c6ff0a4ada2776f726c64')],
  },
  { title: 'every prefix of a multi-byte string', sequences: prefixes() },
  { title: 'first sequence of each length 1-4', sequences: [ok('00'), ok('c280'), ok('e0a080'), ok('f0908080')] },
  { title: 'first sequence of length 5 and 6 (beyond U+10FFFF)', sequences: [bad('f888808080'), bad('fc8480808080')] },
  { title: 'last sequence of each length 1-4', sequences: [ok('7f'), ok('dfbf'), ok('efbfbf'), ok('f48fbfbf')] },
  { title: 'last sequence of length 4-6 beyond U+10FFFF', sequences: [bad('f7bfbfbf'), bad('fbbfbfbfbf'), bad('fdbfbfbfbfbf')] },
  { title: 'other boundaries', sequences: [ok('ed9fbf'), ok('ee8080'), ok('efbfbd'), ok('f48fbfbf'), bad('f4908080')] },
  {
    title: 'unexpected continuation bytes',
    sequences: [bad('80'), bad('bf'), bad('80bf'), bad('80bf80'), bad('80bf80bf'), bad('80bf80bf80'), bad('80bf80bf80bf'), continuationBytes()],
  },
  { title: 'lonely start bytes followed by a space', sequences: [lonely(0xc0, 0xdf), lonely(0xe0, 0xef), lonely(0xf0, 0xf7), lonely(0xf8, 0xfb), lonely(0xfc, 0xfd)] },
  { title: 'sequences missing their last byte', sequences: missingLast.map(bad) },
  { title: 'all the incomplete sequences in a row', sequences: [bad(missingLast.join(''))] },
  { title: 'bytes that never appear in UTF-8', sequences: [bad('fe'), bad('ff'), bad('fefeffff')] },
  { title: "overlong forms of '/'", sequences: [bad('c0af'), bad('e080af'), bad('f08080af'), bad('f8808080af'), bad('fc80808080af')] },
  { title: 'largest overlong form of each length', sequences: [bad('c1bf'), bad('e09fbf'), bad('f08fbfbf'), bad('f887bfbfbf'), bad('fc83bfbfbfbf')] },
  { title: 'overlong forms of NUL', sequences: [bad('c080'), bad('e08080'), bad('f0808080'), bad('f880808080'), bad('fc8080808080')] },
  {
    title: 'single UTF-16 surrogates',
    sequences: [bad('eda080'), bad('edadbf'), bad('edae80'), bad('edafbf'), bad('edb080'), bad('edbe80'), bad('edbfbf')],
  },
  {
    title: 'paired UTF-16 surrogates',
    sequences: [
      bad('eda080edb080'), bad('eda080edbfbf'), bad('edadbfedb080'), bad('edadbfedbfbf'),
      bad('edae80edb080'), bad('edae80edbfbf'), bad('edafbfedb080'), bad('edafbfedbfbf'),
    ],
  },
  { title: 'noncharacters (well-formed)', sequences: [ok('efbfbe'), ok('efbfbf'), ...planeNoncharacters()] },
  { title: 'specials U+FFF9 to U+FFFF (well-formed)', sequences: ['efbfb9', 'efbfba', 'efbfbb', 'efbfbc', 'efbfbd', 'efbfbe', 'efbfbf'].map(ok) },
]
