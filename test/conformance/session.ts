/**
 * One fuzzing session: the suite's side of one WebSocket connection, after
 * the opening handshake. It plays a case's script byte for byte, hands what
 * comes back to the inbound checker, behaves as a correct endpoint would
 * (answers a CLOSE, answers a PING, closes TCP in its turn) and records what
 * the judge needs: who closed first and with what code, when, and how TCP
 * ended. With permessage-deflate agreed (sections 12-13) it compresses what
 * it sends and has the judge inflate and check what comes back.
 */
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { Case, Script, Step } from './case'
import { dataSet, Slicer } from './deflate/data-sets'
import type { Agreed } from './deflate/negotiation'
import { DeflatePeer } from './deflate/peer'
import { type Mode, pieces } from './delivery'
import { type FrameSpec, OP, closePayload, encodeFrame, headerLength, isSendableCloseCode } from './frames'
import { Inbound } from './inbound'
import { type CaseRecord, type Mark, emptyRecord } from './record'

export interface SessionOptions {
  /** The side the fuzzing peer plays: a client masks and expects unmasked frames; a server the reverse. */
  side: 'client' | 'server'
  mode: Mode
  random: () => number
  /** Fuzzing server only: never close TCP, leave it to the testee client. */
  neverFin?: boolean
  /** The testee client's closeTimeout, which bounds the wait in neverFin mode. */
  testeeCloseTimeout?: number
  /** permessage-deflate as the handshake settled it, if it was negotiated. */
  deflate?: Agreed
}

/** Bounds on every wait, so a misbehaving testee fails a case instead of hanging the suite. */
const SETTLE_MS = 40
const FAIL_WAIT_MS = 3000
const REPLY_WAIT_MS = 3000
const TCP_WAIT_MS = 3000
const ROUNDTRIP_WAIT_MS = 10_000
/** A whole case run, beyond which the connection is cut (a testee that stops reading would block our writes). */
const CASE_DEADLINE_MS = 60_000

let globalSeq = 0

export class Session {
  readonly record: CaseRecord = emptyRecord()
  readonly #socket: Socket
  readonly #options: SessionOptions
  readonly #mask: boolean
  readonly #inbound: Inbound
  readonly #deflate: DeflatePeer | null
  readonly #started = performance.now()
  readonly #waiters = new Set<() => void>()
  readonly #encoded = new Map<FrameSpec, Buffer>()
  #step = -1
  #expected = 0

  constructor(socket: Socket, head: Buffer, options: SessionOptions) {
    this.#socket = socket
    this.#options = options
    this.#mask = options.side === 'client'
    const deflate = (this.#deflate = options.deflate ? new DeflatePeer(options.deflate, options.side) : null)
    this.#inbound = new Inbound(this.record, options.side === 'server', {
      ping: (payload) => this.#onPing(payload),
      close: (code, reason, payload) => this.#onCloseFrame(code, reason, payload),
    }, deflate && { inflater: deflate.inflater, message: (type, data, compressed) => deflate.check.received(type, data, compressed) })
    socket.on('data', this.#onData)
    socket.on('end', this.#onEnd)
    socket.on('error', this.#onError)
    socket.on('close', this.#onClose)
    socket.setNoDelay(true)
    if (head.length > 0) this.#onData(head)
    socket.resume()
  }

  async run(c: Case, script: Script): Promise<CaseRecord> {
    const rec = this.record
    const wanted = 'anyOf' in script.received ? script.received.anyOf : [script.received]
    this.#expected = Math.max(...wanted.map((list) => list.length))
    if (this.#expected === 0) rec.echoesDone = this.#mark()
    const deadline = Math.max(CASE_DEADLINE_MS, 2 * (c.echoTimeoutMs ?? 0))
    const timer = setTimeout(() => {
      rec.problems.push(`the case was cut off after ${deadline} ms`)
      this.#socket.destroy()
    }, deadline)
    try {
      await this.#play(c, script)
    } finally {
      clearTimeout(timer)
    }
    if (this.#deflate) {
      rec.problems.push(...this.#deflate.check.findings())
      rec.notes.push(...this.#deflate.check.notes())
    }
    return rec
  }

  async #play(c: Case, script: Script): Promise<void> {
    const rec = this.record
    await this.#runSteps(script.steps)
    // Everything expected back (or the testee is closing), then a short quiet spell that would catch extras.
    await this.#until(() => rec.received.length >= this.#expected || this.#closing(), c.echoTimeoutMs ?? 5000)
    if (!this.#closing()) await this.#until(() => this.#closing(), SETTLE_MS)
    if (c.close.first === 'testee') await this.#until(() => this.#closing(), FAIL_WAIT_MS)
    if (!this.#closing() && !rec.fuzzerClose) this.#sendClose(closePayload(1000))

    if (!(await this.#until(() => rec.testeeClose !== null || this.#gone(), REPLY_WAIT_MS))) {
      rec.problems.push(`no CLOSE from the testee within ${REPLY_WAIT_MS} ms of ours`)
    }
    await this.#closeTcp()
  }

  // ---- the script --------------------------------------------------------

  async #runSteps(steps: Step[]): Promise<void> {
    for (let i = 0; i < steps.length && !this.#blocked(); i++) {
      this.#step = i
      const step = steps[i]
      if (step.kind === 'wait') {
        await this.#until(() => this.#closing(), step.ms)
        if (step.received !== undefined) this.record.checkpoints.push({ step: i, received: this.record.received.length })
      } else if (step.kind === 'send') {
        for (const write of this.#writesOf(step.frames, step.chop)) if (!(await this.#write(write.bytes, write.closeAt))) break
      } else if (step.kind === 'part') {
        const whole = this.#encodeOnce(step.frame)
        const header = headerLength(step.frame.payload.length, this.#mask)
        await this.#write(whole.subarray(step.from === 0 ? 0 : header + step.from, header + step.to), null)
      } else if (step.kind === 'deflate-echo') {
        await this.#deflateEcho(step)
      } else {
        for (let n = 0; n < step.times && !this.#blocked(); n++) {
          const before = this.record.received.length
          await this.#write(Buffer.concat(step.frames.map((f) => encodeFrame(f, this.#mask))), null)
          if (!(await this.#until(() => this.record.received.length > before || this.#closing(), ROUNDTRIP_WAIT_MS))) {
            this.record.problems.push(`no echo of message ${n + 1} of ${step.times} within ${ROUNDTRIP_WAIT_MS} ms`)
            break
          }
        }
      }
    }
    this.#step = steps.length
  }

  /** Sections 12-13: each slice compressed and sent once the previous echo has come back (and been checked). */
  async #deflateEcho(step: Extract<Step, { kind: 'deflate-echo' }>): Promise<void> {
    const peer = this.#deflate
    if (!peer) {
      this.record.problems.push('permessage-deflate was not negotiated')
      return
    }
    const set = dataSet(step.data)
    const slicer = new Slicer(set)
    const type = set.text ? 'text' : 'binary'
    for (let n = 0; n < step.count && !this.#blocked(); n++) {
      const message = slicer.next(step.size)
      peer.check.expect(type, message)
      const before = peer.check.arrived
      await this.#write(Buffer.concat(peer.framesOf(type, message, step.fragmentSize).map((f) => encodeFrame(f, this.#mask))), null)
      if (!(await this.#until(() => peer.check.arrived > before || this.#closing(), ROUNDTRIP_WAIT_MS))) {
        this.record.problems.push(`no echo of message ${n + 1} of ${step.count} within ${ROUNDTRIP_WAIT_MS} ms`)
        break
      }
    }
    this.record.echoesDone = this.#mark()
  }

  /** The writes a send step makes; closeAt is where a CLOSE frame starts in that write, if one does. */
  #writesOf(frames: FrameSpec[], chop: 'frame' | number | undefined): Array<{ bytes: Buffer; closeAt: number | null }> {
    const encoded = frames.map((f) => encodeFrame(f, this.#mask))
    if (chop === 'frame') return encoded.map((bytes, i) => ({ bytes, closeAt: frames[i].opcode === OP.CLOSE ? 0 : null }))
    let closeAt: number | null = null
    let offset = 0
    frames.forEach((f, i) => {
      if (f.opcode === OP.CLOSE && closeAt === null) closeAt = offset
      offset += encoded[i].length
    })
    const all = Buffer.concat(encoded)
    if (chop === undefined) return [{ bytes: all, closeAt }]
    const writes: Array<{ bytes: Buffer; closeAt: number | null }> = []
    for (let start = 0; start < all.length; start += chop) {
      const inside = closeAt !== null && closeAt >= start && closeAt < start + chop
      writes.push({ bytes: all.subarray(start, start + chop), closeAt: inside ? closeAt! - start : null })
    }
    return writes
  }

  #encodeOnce(frame: FrameSpec): Buffer {
    let bytes = this.#encoded.get(frame)
    if (!bytes) this.#encoded.set(frame, (bytes = encodeFrame(frame, this.#mask)))
    return bytes
  }

  /** Writes one script write, cut into pieces by the delivery mode. False when sending had to stop. */
  async #write(bytes: Buffer, closeAt: number | null): Promise<boolean> {
    let offset = 0
    for (const size of pieces(bytes.length, this.#options.mode, this.#options.random)) {
      if (this.#blocked()) return false
      if (closeAt !== null && closeAt >= offset && closeAt < offset + size && !this.record.fuzzerClose) {
        this.record.fuzzerClose = this.#mark()
      }
      this.record.firstWrite ??= this.#mark()
      await this.#send(bytes.subarray(offset, offset + size))
      offset += size
      // Let the testee (same process) read this piece before the next one goes out.
      await nextTurn()
    }
    return true
  }

  #send(bytes: Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#socket.writable) return resolve()
      this.#socket.write(bytes, () => resolve())
    })
  }

  #sendClose(payload: Buffer): void {
    this.record.fuzzerClose ??= this.#mark()
    if (this.#socket.writable) this.#socket.write(encodeFrame({ opcode: OP.CLOSE, payload }, this.#mask))
  }

  // ---- closing TCP -------------------------------------------------------

  async #closeTcp(): Promise<void> {
    const rec = this.record
    const { side, neverFin } = this.#options
    // A server closes TCP first once the closing handshake is over; a client waits for the server's FIN.
    if (side === 'server' && !neverFin) this.#fin()
    const bound = neverFin ? (this.#options.testeeCloseTimeout ?? 5000) + TCP_WAIT_MS : TCP_WAIT_MS
    const ended = await this.#until(() => rec.testeeFin !== null || rec.reset !== null || rec.closed !== null, bound)
    if (!ended) rec.problems.push(`the testee had not closed TCP ${bound} ms after the closing handshake`)
    this.#fin()
    if (!(await this.#until(() => rec.closed !== null, TCP_WAIT_MS))) {
      rec.problems.push('the TCP connection did not close after both FINs')
      this.#socket.destroy()
      await this.#until(() => rec.closed !== null, 1000)
    }
  }

  #fin(): void {
    if (this.record.fuzzerFin || this.#socket.destroyed) return
    this.record.fuzzerFin = this.#mark()
    this.#socket.end()
  }

  // ---- what the testee sends ---------------------------------------------

  readonly #onData = (chunk: Buffer): void => {
    this.#inbound.push(chunk)
    if (this.record.received.length >= this.#expected && !this.record.echoesDone) this.record.echoesDone = this.#mark()
    this.#notify()
  }

  #onPing(payload: Buffer): void {
    // A correct peer answers, unless it has already sent its CLOSE.
    if (!this.record.fuzzerClose && this.#socket.writable) this.#socket.write(encodeFrame({ opcode: OP.PONG, payload }, this.#mask))
  }

  #onCloseFrame(code: number, reason: string, payload: Buffer): void {
    this.record.testeeClose = { ...this.#mark(), code, reason, step: this.#step }
    // Answer as a correct endpoint: echo the code (section 5.5.1).
    if (!this.record.fuzzerClose) this.#sendClose(code === 1005 || !isSendableCloseCode(code) ? Buffer.alloc(0) : payload.subarray(0, 2))
  }

  readonly #onEnd = (): void => {
    this.record.testeeFin ??= this.#mark()
    // The testee closed its side of TCP: nothing is left to say, close ours too.
    this.#fin()
    this.#notify()
  }

  readonly #onError = (error: NodeJS.ErrnoException): void => {
    this.record.reset ??= { ...this.#mark(), code: error.code ?? error.message }
    this.#notify()
  }

  readonly #onClose = (): void => {
    this.record.closed ??= this.#mark()
    this.#notify()
  }

  // ---- state -------------------------------------------------------------

  /** The testee has sent its CLOSE or ended the connection. */
  #closing(): boolean {
    return this.record.testeeClose !== null || this.#gone()
  }

  #gone(): boolean {
    const rec = this.record
    return rec.testeeFin !== null || rec.reset !== null || rec.closed !== null
  }

  /** Stop sending: the testee has gone, or closed first (then only our answering CLOSE goes out). */
  #blocked(): boolean {
    const rec = this.record
    if (this.#gone()) return true
    if (!rec.testeeClose) return false
    return !rec.fuzzerClose || rec.fuzzerClose.seq > rec.testeeClose.seq
  }

  #mark(): Mark {
    return { seq: ++globalSeq, time: performance.now() - this.#started }
  }

  #until(condition: () => boolean, ms: number): Promise<boolean> {
    if (condition()) return Promise.resolve(true)
    return new Promise((resolve) => {
      const check = () => {
        if (condition()) finish(true)
      }
      const finish = (value: boolean) => {
        clearTimeout(timer)
        this.#waiters.delete(check)
        resolve(value)
      }
      const timer = setTimeout(() => finish(condition()), ms)
      this.#waiters.add(check)
    })
  }

  #notify(): void {
    for (const check of [...this.#waiters]) check()
  }
}
