/**
 * The bytes of a message being assembled. Memory follows the bytes, not the
 * number of fragments: a slice that is most of the memory it sits in is kept
 * as a view; a small one (which would pin a whole socket read buffer) is
 * copied into a shared block. So 65,537 one-byte fragments cost 64 KiB, not
 * 65,537 retained socket buffers.
 */

const BLOCK_SIZE = 16 * 1024

export class FragmentBuffer {
  /** A buffer sized for a frame announced in advance, filled as its slices arrive. */
  #target: Buffer | null = null
  #targetFill = 0
  #chunks: Buffer[] = []
  #block: Buffer | null = null
  #blockFill = 0
  #size = 0

  get size(): number {
    return this.#size
  }

  /**
   * Sizes the message in advance when it starts with a frame whose length is
   * known: its slices are copied into place as they arrive, so a large
   * message is held once, not as socket buffers plus their concatenation.
   */
  reserve(bytes: number): void {
    if (this.#size !== 0) return
    this.#target = Buffer.allocUnsafe(bytes)
    this.#targetFill = 0
  }

  append(piece: Buffer): void {
    if (piece.length === 0) return
    this.#size += piece.length
    const target = this.#target
    if (target !== null && target.length - this.#targetFill >= piece.length) {
      piece.copy(target, this.#targetFill)
      this.#targetFill += piece.length
      return
    }
    this.#sealTarget()
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
    this.#sealTarget()
    this.#sealBlock()
    const chunks = this.#chunks
    const whole =
      chunks.length === 1 ? chunks[0] : chunks.length === 0 ? Buffer.alloc(0) : Buffer.concat(chunks, this.#size)
    this.clear()
    return whole
  }

  clear(): void {
    this.#target = null
    this.#targetFill = 0
    this.#chunks = []
    this.#block = null
    this.#blockFill = 0
    this.#size = 0
  }

  #sealTarget(): void {
    if (this.#target === null) return
    if (this.#targetFill > 0) this.#chunks.push(this.#target.subarray(0, this.#targetFill))
    this.#target = null
    this.#targetFill = 0
  }

  #sealBlock(): void {
    if (this.#block !== null && this.#blockFill > 0) {
      this.#chunks.push(this.#block.subarray(0, this.#blockFill))
      this.#block = this.#block.length - this.#blockFill >= 1024 ? this.#block.subarray(this.#blockFill) : null
      this.#blockFill = 0
    }
  }
}
