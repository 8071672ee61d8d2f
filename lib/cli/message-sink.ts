/**
 * Received messages written to a byte stream (stdout, a child's stdin, a TCP
 * connection), one after another, in the framing asked for. Each write waits
 * for the stream to drain, so a slow consumer holds back the reading of the
 * connection, and through TCP the peer: backpressure end to end.
 */
import type { Writable } from 'node:stream'
import { isMessageStream, type InboundMessage } from '../index'
import { recordEnds, type Framing } from './framing'

export class MessageSink {
  /** Messages from several connections (a server's clients) are written whole, one at a time. */
  #queue: Promise<void> = Promise.resolve()
  #failure: Error | null = null

  constructor(
    readonly out: Writable,
    private readonly framing: Framing,
  ) {
    // A consumer that went away (EPIPE) fails the writes, not the process.
    out.on('error', (error: Error) => {
      this.#failure ??= error
    })
  }

  /** Why writing stopped (the consumer closed its end), or null. */
  get failure(): Error | null {
    return this.#failure
  }

  /** Writes one message; resolves once the stream has room for more, rejects if it failed. */
  write(message: InboundMessage): Promise<void> {
    const next = this.#queue.then(() => this.#write(message))
    this.#queue = next.catch(() => {})
    return next
  }

  async #write(message: InboundMessage): Promise<void> {
    if (isMessageStream(message)) {
      // Streamed: its length is not known, and it never has to be held whole (not length-prefixed).
      for await (const chunk of message) await this.#put(chunk as Buffer)
      const { after } = recordEnds(this.framing, 0)
      if (after) await this.#put(after)
      return
    }
    const bytes = typeof message === 'string' ? Buffer.from(message, 'utf8') : message
    const { before, after } = recordEnds(this.framing, bytes.length)
    // One write per message: small messages are the common case.
    await this.#put(before || after ? Buffer.concat([before ?? EMPTY, bytes, after ?? EMPTY]) : bytes)
  }

  #put(chunk: Buffer): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure)
    if (this.out.destroyed || this.out.writableEnded) return Promise.reject(new Error('the output is closed'))
    if (this.out.write(chunk)) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const done = (error?: Error) => {
        this.out.off('drain', onDrain)
        this.out.off('error', onError)
        this.out.off('close', onClose)
        if (error) reject(error)
        else resolve()
      }
      const onDrain = () => done()
      const onError = (error: Error) => done(error)
      const onClose = () => done(this.#failure ?? new Error('the output is closed'))
      this.out.on('drain', onDrain)
      this.out.on('error', onError)
      this.out.on('close', onClose)
    })
  }

  /** Ends the stream after the messages already given. */
  async end(): Promise<void> {
    await this.#queue
    if (!this.out.destroyed && !this.out.writableEnded) this.out.end()
  }

  /** Resolves once everything written so far has been handed to the system. */
  async flushed(): Promise<void> {
    await this.#queue
    if (this.out.destroyed || this.#failure) return
    await new Promise<void>((resolve) => {
      if (this.out.writableEnded) {
        if (this.out.writableFinished) resolve()
        else this.out.once('finish', resolve).once('close', resolve)
      } else {
        this.out.write(EMPTY, () => resolve())
      }
    })
  }
}

const EMPTY = Buffer.alloc(0)
