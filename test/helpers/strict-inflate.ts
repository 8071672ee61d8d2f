/**
 * A deliberately strict raw DEFLATE reader (RFC 1951) for tests: it rebuilds
 * the bytes and refuses any back-reference farther than the window allows.
 * zlib's own inflater is no judge of that: it follows a distance into bytes
 * it produced in the same call, however far back. Slow (bit by bit), exact.
 */

const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
const DISTANCE_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
  6145, 8193, 12289, 16385, 24577,
]
const DISTANCE_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

interface Huffman {
  counts: number[] // how many codes of each length
  symbols: number[] // symbols in canonical order
}

function huffman(lengths: number[]): Huffman {
  const counts = new Array<number>(16).fill(0)
  for (const length of lengths) counts[length]++
  counts[0] = 0
  const offsets = [0, 0]
  for (let length = 1; length < 15; length++) offsets.push(offsets[length] + counts[length])
  const symbols: number[] = []
  lengths.forEach((length, symbol) => {
    if (length !== 0) symbols[offsets[length]++] = symbol
  })
  return { counts, symbols }
}

const FIXED_LITERALS = huffman(Array.from({ length: 288 }, (_, s) => (s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8)))
const FIXED_DISTANCES = huffman(new Array<number>(30).fill(5))

/** Inflates `data`; throws if a distance exceeds 2^windowBits or the stream is malformed. */
export function strictInflateRaw(data: Uint8Array, windowBits: number): { output: Buffer; farthest: number } {
  const window = 1 << windowBits
  const out: number[] = []
  let farthest = 0
  let bit = 0
  const bits = (n: number): number => {
    let value = 0
    for (let i = 0; i < n; i++, bit++) {
      if (bit >> 3 >= data.length) throw new Error('deflate stream ends inside a block')
      value |= ((data[bit >> 3] >> (bit & 7)) & 1) << i
    }
    return value
  }
  const decode = (h: Huffman): number => {
    // Canonical codes, read most significant bit first (RFC 1951 section 3.1.1).
    let code = 0
    let first = 0
    let index = 0
    for (let length = 1; length <= 15; length++) {
      code |= bits(1)
      const count = h.counts[length]
      if (code - first < count) return h.symbols[index + code - first]
      index += count
      first = (first + count) << 1
      code <<= 1
    }
    throw new Error('invalid Huffman code')
  }

  let final = false
  // A sync-flushed stream has no final block: it stops, byte-aligned, after an empty stored block.
  while (!final && bit >> 3 < data.length) {
    final = bits(1) === 1
    const type = bits(2)
    if (type === 0) {
      bit = (bit + 7) & ~7
      const length = bits(16)
      if ((bits(16) ^ 0xffff) !== length) throw new Error('stored block length check failed')
      for (let i = 0; i < length; i++) out.push(bits(8))
      continue
    }
    if (type === 3) throw new Error('reserved block type')
    let literals = FIXED_LITERALS
    let distances = FIXED_DISTANCES
    if (type === 2) {
      const nLiterals = bits(5) + 257
      const nDistances = bits(5) + 1
      const nCodeLengths = bits(4) + 4
      const codeLengthLengths = new Array<number>(19).fill(0)
      for (let i = 0; i < nCodeLengths; i++) codeLengthLengths[CODE_LENGTH_ORDER[i]] = bits(3)
      const codeLengths = huffman(codeLengthLengths)
      const lengths: number[] = []
      while (lengths.length < nLiterals + nDistances) {
        const symbol = decode(codeLengths)
        if (symbol < 16) lengths.push(symbol)
        else if (symbol === 16) {
          if (lengths.length === 0) throw new Error('repeat with no previous length')
          const previous = lengths[lengths.length - 1]
          for (let n = 3 + bits(2); n > 0; n--) lengths.push(previous)
        } else for (let n = symbol === 17 ? 3 + bits(3) : 11 + bits(7); n > 0; n--) lengths.push(0)
      }
      literals = huffman(lengths.slice(0, nLiterals))
      distances = huffman(lengths.slice(nLiterals))
    }
    for (;;) {
      const symbol = decode(literals)
      if (symbol < 256) out.push(symbol)
      else if (symbol === 256) break
      else {
        const l = symbol - 257
        if (l >= 29) throw new Error('invalid length symbol')
        const length = LENGTH_BASE[l] + bits(LENGTH_EXTRA[l])
        const d = decode(distances)
        if (d >= 30) throw new Error('invalid distance symbol')
        const distance = DISTANCE_BASE[d] + bits(DISTANCE_EXTRA[d])
        if (distance > window) throw new Error(`distance ${distance} beyond a ${window}-byte window`)
        if (distance > out.length) throw new Error(`distance ${distance} before the start of the data`)
        farthest = Math.max(farthest, distance)
        for (let i = 0; i < length; i++) out.push(out[out.length - distance])
      }
    }
  }
  return { output: Buffer.from(out), farthest }
}
