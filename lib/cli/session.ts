/**
 * One connection joined to a local end: records read from a byte stream go
 * out as messages (through pipe(), so a full socket stops the reading), and
 * messages received go to a MessageSink (which waits for its stream, so a
 * slow consumer stops the reading of the connection). The session ends with
 * the connection's 'close', and says how it ended.
 */
import type { Readable } from 'node:stream'
import { isMessageStream, type InboundMessage, type WebSocketDuplex } from '../index'
import type { Outcome } from './exit-codes'
import { InputError } from './framing'
import type { MessageSink } from './message-sink'
import { describeError, type Report } from './report'

/** The close code and reason to send, or null to leave the connection open. */
export type CloseChoice = [code: number, reason: string] | null

export interface SessionEnds {
  /** Messages to send, one per object; null when something else sends (a broadcast). */
  records?: Readable | null
  /** With --whole: a byte stream sent as one message (text unless `binary`). */
  whole?: { source: Readable; binary: boolean } | null
  /** Where received messages go. */
  sink: MessageSink
  /** Once everything has been sent: how to close (a command's exit decides). */
  afterInput?: () => CloseChoice | Promise<CloseChoice>
  /** Every message the peer sent has been passed on: its CLOSE came, or the connection ended. */
  afterOutput?: () => void
  /** The sink failed (its reader went away). */
  outputFailed?: (error: Error) => void
  /** The connection was opened with allowHalfOpen: keep sending after the peer's CLOSE, until afterInput. */
  halfOpen: boolean
  report: Report
  /** Prefix of this connection's lines on stderr ('#2 ' on a server). */
  label?: string
}

export class Session {
  readonly done: Promise<Outcome>
  #closedFirstWith: number | null = null
  #peerClosed = false
  #error: Error | null = null
  #sending = true
  /** The whole-input message has been sent in full. */
  #wholeSent = false

  constructor(
    readonly ws: WebSocketDuplex<InboundMessage>,
    private readonly ends: SessionEnds,
  ) {
    ws.on('error', (error: Error & { code?: string }) => {
      // Only that write failed; the closing handshake goes on.
      if (error.code === 'WS_ERR_WRITE_AFTER_CLOSE') return
      if (this.#error) return
      this.#error = error
      ends.report.error(`${ends.label ?? ''}${describeError(error)}`)
    })
    ws.on('closing', () => {
      this.#peerClosed = true
      if (!ends.halfOpen) this.#stopSending()
    })
    const closed = new Promise<Outcome>((resolve) => {
      ws.once('close', (code: number, reason: string) => {
        this.#stopSending()
        resolve({ code, reason, closedFirstWith: this.#closedFirstWith, error: this.#error })
      })
    })
    this.#send()
    const received = this.#receive()
    this.done = Promise.all([closed, received]).then(([outcome]) => outcome)
  }

  /** Closes now (SIGINT: 1001), whatever is still to be sent. */
  interrupt(code = 1001, reason = 'interrupted'): void {
    const { whole } = this.ends
    // A CLOSE cannot go out in the middle of a message: cut the message off (the connection fails with 1011).
    if (whole && !this.#wholeSent) whole.source.destroy(new Error('interrupted while sending the input'))
    this.#stopSending()
    this.#close(code, reason)
  }

  #close(code: number, reason: string): void {
    if (this.ws.writableEnded || this.ws.destroyed) return
    if (!this.#peerClosed) this.#closedFirstWith = code
    this.ws.close(code, reason)
  }

  #send(): void {
    const { records, whole } = this.ends
    if (whole) {
      this.ws.write(whole.source, { text: !whole.binary }, (error) => {
        if (error) return
        this.#wholeSent = true
        void this.#inputEnded()
      })
      return
    }
    if (!records) return
    records.pipe(this.ws, { end: false })
    records.once('end', () => void this.#inputEnded())
    records.once('error', (error: Error) => {
      this.ends.report.error(`${this.ends.label ?? ''}${error.message}`)
      this.#error ??= error
      this.#stopSending()
      this.#close(1011, error instanceof InputError ? error.reason : 'input failed')
    })
  }

  async #inputEnded(): Promise<void> {
    if (!this.#sending) return
    this.#sending = false
    const choice = this.ends.afterInput ? await this.ends.afterInput() : ([1000, ''] as CloseChoice)
    if (choice) this.#close(choice[0], choice[1])
  }

  #stopSending(): void {
    if (!this.#sending) return
    this.#sending = false
    const { records } = this.ends
    if (records) {
      records.unpipe(this.ws)
      records.pause()
    }
  }

  async #receive(): Promise<void> {
    const { sink } = this.ends
    let passing = true
    try {
      // The read side ends before the write side on a half-open connection: ending the loop must not destroy it.
      for await (const message of this.ws.iterator({ destroyOnReturn: false })) {
        if (passing) {
          try {
            await sink.write(message)
            continue
          } catch (error) {
            passing = false
            this.ends.outputFailed?.(error as Error)
          }
        }
        // The reader is gone: what still arrives is read and dropped, so that the connection can close.
        if (isMessageStream(message)) message.resume()
      }
    } catch {
      // The connection's error, reported above.
    }
    this.ends.afterOutput?.()
  }
}
