/**
 * The bytes of a message being assembled. Memory follows the bytes, not the
 * number of fragments: a slice that is most of the memory it sits in is kept
 * as a view; a small one (which would pin a whole socket read buffer) is
 * copied into a shared block. So 65,537 one-byte fragments cost 64 KiB, not
 * 65,537 retained socket buffers.
 *
 * Nor does memory follow what a frame header declares: a message announced as
 * one long frame gets a buffer of that frame's exact size only once half of
 * the frame has arrived, so it never holds more than twice what the peer
 * sent. Until then its slices are held as above; then they are copied in, and
 * the rest is copied in as it arrives. Each byte is copied once, and the
 * frame ends up in one buffer with no final concatenation.
 */

const BLOCK_SIZE = 16 * 1024

/** An announced frame up to this size gets its buffer at once. */
const EAGER_RESERVE = 64 * 1024

export class FragmentBuffer {
  /** A buffer sized for a frame announced in advance, filled as its slices arrive. */
  #target: Buffer | null = null
  #targetFill = 0
  /** The length of the announced frame whose buffer is not allocated yet; 0 when none. */
  #announced = 0
  #chunks: Buffer[] = []
  #block: Buffer | null = null
  #blockFill = 0
  #size = 0

  get size(): number {
    return this.#size
  }

  /**
   * Announces that the message starts with a frame of `bytes`: its slices
   * will be gathered in one buffer of that size, allocated once half of them
   * are here, rather than concatenated at the end.
   */
  reserve(bytes: number): void {
    if (this.#size !== 0) return
    this.#announced = bytes
    if (bytes <= EAGER_RESERVE) this.#allocateTarget()
  }

  append(piece: Buffer): void {
    if (piece.length === 0) return
    // Half the announced frame is here: from now on its buffer costs at most twice what arrived.
    if (this.#announced !== 0 && (this.#size + piece.length) * 2 >= this.#announced) this.#allocateTarget()
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
    this.#announced = 0
    this.#chunks = []
    this.#block = null
    this.#blockFill = 0
    this.#size = 0
  }

  /** Allocates the announced frame's buffer and moves what is held into it, in order. */
  #allocateTarget(): void {
    const length = this.#announced
    this.#announced = 0
    // Only the announced frame's own slices come before its buffer; anything else is kept as it is.
    if (this.#size > length) return
    const target = Buffer.allocUnsafe(length)
    let fill = 0
    for (const chunk of this.#chunks) fill += chunk.copy(target, fill)
    if (this.#block !== null) fill += this.#block.copy(target, fill, 0, this.#blockFill)
    this.#chunks = []
    this.#block = null
    this.#blockFill = 0
    this.#target = target
    this.#targetFill = fill
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
