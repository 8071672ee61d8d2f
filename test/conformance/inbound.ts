/**
 * What the testee sends, checked frame by frame against RFC 6455 with the
 * suite's own parser: masking in the right direction (and a new key per
 * frame), no RSV bits, no reserved opcodes, control frames whole and at most
 * 125 bytes, continuation frames only inside a message, text that is UTF-8,
 * CLOSE payloads with a sendable code and a UTF-8 reason, nothing after the
 * CLOSE. Messages are reassembled; every finding goes into the record. With
 * permessage-deflate agreed, RSV1 may mark a message's first frame, and such
 * a message is inflated by the judge before it is checked and handed on.
 */
import { isUtf8 } from 'node:buffer'
import type { Received } from './case'
import { FrameParser, OP, type WireFrame, isSendableCloseCode } from './frames'

export interface InboundRecord {
  received: Received[]
  afterClose: string[]
  violations: string[]
}

export interface InboundHandlers {
  ping(payload: Buffer): void
  /** The testee's CLOSE: code 1005 for an empty payload. */
  close(code: number, reason: string, payload: Buffer): void
}

const OPCODE_NAMES: Record<number, string> = { 0: 'continuation', 1: 'text', 2: 'binary', 8: 'CLOSE', 9: 'PING', 10: 'PONG' }
const describe = (f: WireFrame) => `${OPCODE_NAMES[f.opcode] ?? `opcode ${f.opcode}`} frame (${f.payload.length} B)`

/** With permessage-deflate agreed: the judge's inflater, and where whole data messages go instead of `received`. */
export interface InboundDeflate {
  inflater: { inflate(payload: Buffer): Buffer }
  message(type: 'text' | 'binary', data: Buffer, compressed: boolean): void
}

export class Inbound {
  readonly #record: InboundRecord
  readonly #fromClient: boolean
  readonly #handlers: InboundHandlers
  readonly #parser = new FrameParser()
  #fragments: Buffer[] | null = null
  #fragmentOpcode = 0
  #compressed = false
  readonly #deflate: InboundDeflate | null
  #lastMaskKey: Buffer | null = null
  #closed = false

  /** `fromClient`: the testee is a client, so its frames must be masked. */
  constructor(record: InboundRecord, fromClient: boolean, handlers: InboundHandlers, deflate: InboundDeflate | null = null) {
    this.#record = record
    this.#fromClient = fromClient
    this.#handlers = handlers
    this.#deflate = deflate
  }

  push(chunk: Buffer): void {
    for (const frame of this.#parser.push(chunk)) this.#frame(frame)
    if (this.#parser.broken) this.#violation(this.#parser.broken)
  }

  #frame(f: WireFrame): void {
    const rec = this.#record
    if (this.#closed) {
      rec.afterClose.push(describe(f))
      return
    }
    this.#checkMasking(f)
    const startsMessage = f.opcode === OP.TEXT || f.opcode === OP.BINARY
    if (this.#deflate && f.rsv === 4 && !startsMessage) {
      // RFC 7692 section 6.1: "An endpoint MUST NOT set the "Per-Message Compressed"
      // bit of control frames and non-first fragments of a data message."
      this.#violation(`RSV1 on a ${describe(f)}: only the first frame of a data message may carry it`)
    } else if (f.rsv !== 0 && !(this.#deflate && f.rsv === 4)) {
      this.#violation(`${describe(f)} with RSV bits ${f.rsv}`)
    }
    if (f.opcode >= 8) {
      if (!f.fin) this.#violation(`fragmented ${describe(f)}`)
      if (f.payload.length > 125) this.#violation(`${describe(f)} over 125 bytes`)
      if (f.opcode === OP.PING) {
        rec.received.push({ type: 'ping', data: f.payload })
        this.#handlers.ping(f.payload)
      } else if (f.opcode === OP.PONG) rec.received.push({ type: 'pong', data: f.payload })
      else if (f.opcode === OP.CLOSE) this.#close(f.payload)
      else this.#violation(`reserved control opcode ${f.opcode}`)
    } else if (f.opcode === OP.CONTINUATION) {
      if (!this.#fragments) return this.#violation('continuation frame with no message open')
      this.#fragments.push(f.payload)
      if (f.fin) this.#complete()
    } else if (f.opcode === OP.TEXT || f.opcode === OP.BINARY) {
      if (this.#fragments) this.#violation(`new ${describe(f)} while a fragmented message is open`)
      this.#fragments = [f.payload]
      this.#fragmentOpcode = f.opcode
      this.#compressed = this.#deflate !== null && f.rsv === 4
      if (f.fin) this.#complete()
    } else {
      this.#violation(`reserved data opcode ${f.opcode}`)
    }
  }

  #checkMasking(f: WireFrame): void {
    if (!this.#fromClient) {
      if (f.masked) this.#violation(`masked ${describe(f)} from a server`)
      return
    }
    if (!f.masked) return this.#violation(`unmasked ${describe(f)} from a client`)
    if (this.#lastMaskKey?.equals(f.maskKey!)) this.#violation('the same mask key on two frames in a row')
    this.#lastMaskKey = f.maskKey
  }

  #complete(): void {
    const parts = this.#fragments!
    let data = parts.length === 1 ? parts[0] : Buffer.concat(parts)
    this.#fragments = null
    const type = this.#fragmentOpcode === OP.TEXT ? 'text' : 'binary'
    if (this.#compressed) {
      try {
        data = this.#deflate!.inflater.inflate(data)
      } catch (error) {
        this.#violation(`a compressed ${type} message (${data.length} B) that does not inflate as agreed: ${(error as Error).message}`)
      }
    }
    if (type === 'text' && !isUtf8(data)) this.#violation('a text message that is not valid UTF-8')
    if (this.#deflate) this.#deflate.message(type, data, this.#compressed)
    else this.#record.received.push({ type, data })
  }

  #close(payload: Buffer): void {
    let code = 1005
    let reason = ''
    if (payload.length === 1) this.#violation('a CLOSE payload of 1 byte')
    if (payload.length >= 2) {
      code = payload.readUInt16BE(0)
      if (!isSendableCloseCode(code)) this.#violation(`a CLOSE with code ${code}, which may not be sent`)
      const bytes = payload.subarray(2)
      if (!isUtf8(bytes)) this.#violation('a CLOSE reason that is not UTF-8')
      reason = bytes.toString('utf8')
    }
    this.#closed = true
    this.#handlers.close(code, reason, payload)
  }

  #violation(text: string): void {
    if (!this.#record.violations.includes(text)) this.#record.violations.push(text)
  }
}
