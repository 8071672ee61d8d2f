/**
 * A deliberately strict raw DEFLATE reader (RFC 1951) for tests: it rebuilds
 * the bytes and refuses any back-reference farther than the window allows.
 * zlib's own inflater is no judge of that: it follows a distance into bytes
 * it produced in the same call, however far back. Exact, and table-driven so
 * that the conformance suite can read megabytes with it (tens of MB/s).
 */

const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
const DISTANCE_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
  6145, 8193, 12289, 16385, 24577,
]
const DISTANCE_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

/**
 * A canonical Huffman code (RFC 1951 section 3.2.2) as a lookup table indexed
 * by the next `bits` input bits (least significant first, so codes are stored
 * bit-reversed). An entry is symbol << 4 | code length; 0 marks input that is
 * no code (an incomplete code set).
 */
interface Huffman {
  table: Int32Array
  bits: number
}

function huffman(lengths: number[]): Huffman {
  const counts = new Array<number>(16).fill(0)
  for (const length of lengths) counts[length]++
  counts[0] = 0
  let left = 1
  for (let length = 1; length < 16; length++) {
    left = (left << 1) - counts[length]
    if (left < 0) throw new Error('over-subscribed Huffman code')
  }
  const bits = Math.max(1, lengths.reduce((a, b) => Math.max(a, b), 0))
  const table = new Int32Array(1 << bits)
  const next = new Array<number>(16).fill(0)
  for (let length = 1, code = 0; length < 16; length++) {
    code = (code + counts[length - 1]) << 1
    next[length] = code
  }
  lengths.forEach((length, symbol) => {
    if (length === 0) return
    const code = next[length]++
    let reversed = 0
    for (let i = 0; i < length; i++) reversed |= ((code >> i) & 1) << (length - 1 - i)
    for (let i = reversed; i < table.length; i += 1 << length) table[i] = (symbol << 4) | length
  })
  return { table, bits }
}

const FIXED_LITERALS = huffman(Array.from({ length: 288 }, (_, s) => (s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8)))
const FIXED_DISTANCES = huffman(new Array<number>(30).fill(5))

/**
 * Inflates `data`; throws if a distance exceeds 2^windowBits or the stream is
 * malformed. `history` is what came before (a kept window, for context
 * takeover): distances may reach into it, never beyond the window, and it is
 * not part of the output.
 */
export function strictInflateRaw(
  data: Uint8Array,
  windowBits: number,
  history: Uint8Array = new Uint8Array(0),
): { output: Buffer; farthest: number } {
  const window = 1 << windowBits
  let out = new Uint8Array(Math.max(1024, history.length + data.length * 4))
  out.set(history)
  let size = history.length
  const grow = (more: number) => {
    if (size + more <= out.length) return
    const bigger = new Uint8Array(Math.max(out.length * 2, size + more))
    bigger.set(out.subarray(0, size))
    out = bigger
  }
  let farthest = 0
  let pos = 0 // next input byte
  let buffer = 0 // bits read ahead, least significant first
  let count = 0 // how many bits `buffer` holds
  let overrun = 0 // zero bytes made up past the end of the input
  const fill = (n: number) => {
    while (count < n) {
      if (pos < data.length) buffer |= data[pos++] << count
      else overrun++
      count += 8
    }
  }
  const consume = (n: number) => {
    // Bits made up past the end may be looked at (a table lookup), never used.
    if (n > count - 8 * overrun) throw new Error('deflate stream ends inside a block')
    buffer >>>= n
    count -= n
  }
  const bits = (n: number): number => {
    if (n === 0) return 0
    fill(n)
    const value = buffer & ((1 << n) - 1)
    consume(n)
    return value
  }
  const decode = (h: Huffman): number => {
    fill(h.bits)
    const entry = h.table[buffer & ((1 << h.bits) - 1)]
    if (entry === 0) throw new Error('invalid Huffman code')
    consume(entry & 15)
    return entry >> 4
  }
  const atEnd = () => pos >= data.length && count - 8 * overrun <= 0

  let final = false
  // A sync-flushed stream has no final block: it stops, byte-aligned, after an empty stored block.
  while (!final && !atEnd()) {
    final = bits(1) === 1
    const type = bits(2)
    if (type === 0) {
      const skip = count % 8
      bits(skip)
      const length = bits(16)
      if ((bits(16) ^ 0xffff) !== length) throw new Error('stored block length check failed')
      grow(length)
      for (let i = 0; i < length; i++) out[size++] = bits(8)
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
      if (lengths.length > nLiterals + nDistances) throw new Error('code lengths overrun the alphabets')
      literals = huffman(lengths.slice(0, nLiterals))
      distances = huffman(lengths.slice(nLiterals))
    }
    for (;;) {
      const symbol = decode(literals)
      if (symbol < 256) {
        grow(1)
        out[size++] = symbol
      } else if (symbol === 256) break
      else {
        const l = symbol - 257
        if (l >= 29) throw new Error('invalid length symbol')
        const length = LENGTH_BASE[l] + bits(LENGTH_EXTRA[l])
        const d = decode(distances)
        if (d >= 30) throw new Error('invalid distance symbol')
        const distance = DISTANCE_BASE[d] + bits(DISTANCE_EXTRA[d])
        if (distance > window) throw new Error(`distance ${distance} beyond a ${window}-byte window`)
        if (distance > size) throw new Error(`distance ${distance} before the start of the data`)
        farthest = Math.max(farthest, distance)
        grow(length)
        for (let i = 0; i < length; i++, size++) out[size] = out[size - distance]
      }
    }
  }
  return { output: Buffer.from(out.buffer, out.byteOffset + history.length, size - history.length), farthest }
}
