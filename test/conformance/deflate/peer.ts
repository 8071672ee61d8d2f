/**
 * The fuzzing peer's permessage-deflate end of one connection: what it
 * agreed, its compressor for what it sends, the judge's inflater for what the
 * testee sends, and the check of the echoes.
 */
import { fragments } from '../case'
import { type FrameSpec, OP } from '../frames'
import { FuzzerDeflater, JudgeInflater, rulesFor } from './codec'
import { EchoCheck } from './echo-check'
import type { Agreed } from './negotiation'

export class DeflatePeer {
  readonly agreed: Agreed
  readonly inflater: JudgeInflater
  readonly check = new EchoCheck()
  readonly #deflater: FuzzerDeflater

  /** `side`: the side the fuzzing peer plays. */
  constructor(agreed: Agreed, side: 'client' | 'server') {
    this.agreed = agreed
    this.#deflater = new FuzzerDeflater(rulesFor(agreed, side))
    this.inflater = new JudgeInflater(rulesFor(agreed, side === 'client' ? 'server' : 'client'))
  }

  /**
   * One message, compressed, in frames of at most `fragmentSize` payload
   * bytes (0: one frame). RFC 7692 section 6.1: "An endpoint MUST NOT set the
   * "Per-Message Compressed" bit of control frames and non-first fragments of
   * a data message": RSV1 goes on the first frame only.
   */
  framesOf(type: 'text' | 'binary', message: Buffer, fragmentSize: number): FrameSpec[] {
    const payload = this.#deflater.compress(message)
    const opcode = type === 'text' ? OP.TEXT : OP.BINARY
    const frames = fragments(opcode, payload, fragmentSize > 0 ? fragmentSize : Math.max(1, payload.length))
    frames[0].rsv = 4
    return frames
  }
}
