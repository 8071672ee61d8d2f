/**
 * Ways of cutting a byte stream into the chunks a socket might deliver, as
 * values fast-check can generate and shrink. A split is chosen without
 * knowing the stream's length, and applied to whatever stream it meets.
 */
import fc from 'fast-check'

export type Split =
  /** The whole stream in one chunk. */
  | { kind: 'whole' }
  /** One byte per chunk: every header field arrives on its own. */
  | { kind: 'bytes' }
  /** Cuts at these offsets (taken modulo length + 1); a repeated offset gives an empty chunk. */
  | { kind: 'cuts'; at: number[] }
  /** Chunks of these sizes, repeated in turn until the stream is used up. */
  | { kind: 'sizes'; sizes: number[] }

/**
 * At most this many chunks by default: a 64 KiB frame cut into single bytes
 * tells no more than its header cut so, and would make a run take seconds.
 */
const MAX_CHUNKS = 2048

export const splitArb: fc.Arbitrary<Split> = fc.oneof(
  fc.constant<Split>({ kind: 'whole' }),
  fc.constant<Split>({ kind: 'bytes' }),
  fc.record({ kind: fc.constant('cuts' as const), at: fc.array(fc.nat(), { maxLength: 24 }) }),
  fc.record({
    kind: fc.constant('sizes' as const),
    sizes: fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 6 }),
  }),
)

/** Cuts `bytes` as `split` says. Each chunk is a copy: the decoder unmasks its input in place. */
export function applySplit(bytes: Uint8Array, split: Split, maxChunks = MAX_CHUNKS): Buffer[] {
  const length = bytes.length
  const piece = (from: number, to: number) => Buffer.from(bytes.subarray(from, to))
  const least = Math.ceil(length / maxChunks)
  switch (split.kind) {
    case 'whole':
      return [piece(0, length)]
    case 'bytes':
    case 'sizes': {
      const sizes = split.kind === 'bytes' ? [1] : split.sizes
      const chunks: Buffer[] = []
      for (let pos = 0, i = 0; pos < length; i++) {
        const size = Math.max(sizes[i % sizes.length], least)
        chunks.push(piece(pos, pos + size))
        pos += size
      }
      return chunks
    }
    case 'cuts': {
      const at = split.at.map((cut) => cut % (length + 1)).sort((a, b) => a - b)
      const bounds = [0, ...at, length]
      const chunks: Buffer[] = []
      for (let i = 1; i < bounds.length; i++) chunks.push(piece(bounds[i - 1], bounds[i]))
      return chunks
    }
  }
}
