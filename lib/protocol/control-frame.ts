/**
 * A control frame as the MessageAssembler passes it on: in order with the
 * messages around it, so that a CLOSE never overtakes the message before it.
 */
import { Opcode } from './frame'

/** The three control frames of RFC 6455 section 5.5. */
export type ControlType = 'ping' | 'pong' | 'close'

/** A PING, PONG or CLOSE frame as the assembler hands it on: its type, payload and, for CLOSE, code and reason. */
export class ControlFrame {
  readonly type: ControlType
  readonly payload: Buffer
  /** For CLOSE: the status code (1005 when the frame had none). */
  readonly code: number
  /** For CLOSE: the reason, decoded. */
  readonly reason: string

  constructor(type: ControlType, payload: Buffer, code = 0, reason = '') {
    this.type = type
    this.payload = payload
    this.code = code
    this.reason = reason
  }

  get opcode(): number {
    return this.type === 'ping' ? Opcode.PING : this.type === 'pong' ? Opcode.PONG : Opcode.CLOSE
  }
}
