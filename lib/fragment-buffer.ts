/**
 * The bytes of a message being assembled. Memory follows the bytes, not the
 * number of fragments: a slice that is most of the memory it sits in is kept
 * as a view; a small one (which would pin a whole socket read buffer) is
 * copied into a shared block. So 65,537 one-byte fragments cost 64 KiB, not
 * 65,537 retained socket buffers.
 */

const BLOCK_SIZE = 16 * 1024

export class FragmentBuffer {
  #chunks: Buffer[] = []
  #block: Buffer | null = null
  #blockFill = 0
  #size = 0

  get size(): number {
    return this.#size
  }

  append(piece: Buffer): void {
    if (piece.length === 0) return
    this.#size += piece.length
    if (piece.length * 2 >= piece.buffer.byteLength) {
      this.#sealBlock()
      this.#chunks.push(piece)
      return
    }
    if (this.#block === null || this.#block.length - this.#blockFill < piece.length) {
      this.#sealBlock()
      this.#block = Buffer.allocUnsafe(Math.max(BLOCK_SIZE, piece.length))
    }
    piece.copy(this.#block, this.#blockFill)
    this.#blockFill += piece.length
  }

  /** The whole message as one Buffer (a view when it came in one piece); empties this buffer. */
  take(): Buffer {
    this.#sealBlock()
    const chunks = this.#chunks
    const whole =
      chunks.length === 1 ? chunks[0] : chunks.length === 0 ? Buffer.alloc(0) : Buffer.concat(chunks, this.#size)
    this.clear()
    return whole
  }

  clear(): void {
    this.#chunks = []
    this.#block = null
    this.#blockFill = 0
    this.#size = 0
  }

  #sealBlock(): void {
    if (this.#block !== null && this.#blockFill > 0) {
      this.#chunks.push(this.#block.subarray(0, this.#blockFill))
      this.#block = this.#block.length - this.#blockFill >= 1024 ? this.#block.subarray(this.#blockFill) : null
      this.#blockFill = 0
    }
  }
}
