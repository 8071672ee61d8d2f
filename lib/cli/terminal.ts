/**
 * Interactive use: when stdin and stdout are a terminal, the line being
 * typed is kept by a line editor (node:readline, no prompt), and each line
 * printed (a message received, a note on stderr) is drawn above it, so that
 * messages show up while the user is typing without breaking the line.
 * Ctrl-C is the same graceful interrupt as SIGINT; Ctrl-D ends the input.
 */
import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline'
import { Readable, Writable } from 'node:stream'
import type { Interrupts } from './signals'
import type { Report } from './report'

export class Terminal {
  readonly #editor: Interface
  /** Typed lines, one per object: the records to send. */
  readonly lines: Readable
  /** Where received messages are written (bytes, as the framing made them). */
  readonly output: Writable
  /** A line printed in parts (a streamed message) is still open: the typed line is not redrawn yet. */
  #midLine = false
  #closed = false

  constructor(input: NodeJS.ReadStream, private readonly out: NodeJS.WriteStream, interrupts: Interrupts, report: Report) {
    this.#editor = createInterface({ input, output: out, prompt: '', terminal: true })
    const editor = this.#editor
    this.lines = new Readable({
      objectMode: true,
      read: () => editor.resume(),
    })
    editor.on('line', (line: string) => {
      if (!this.lines.push(line)) editor.pause()
    })
    editor.on('close', () => {
      // Ctrl-D: the input ends, and printing goes on without a line editor.
      this.#closed = true
      this.lines.push(null)
    })
    // In raw mode Ctrl-C reaches the editor, not the process.
    editor.on('SIGINT', () => interrupts.trigger('SIGINT'))
    this.output = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        this.#print(chunk, out)
        callback()
      },
    })
    report.write = (line) => this.#print(line, process.stderr)
    interrupts.cleanup = () => this.close()
  }

  #print(text: string | Buffer, stream: NodeJS.WriteStream): void {
    if (this.#closed) {
      stream.write(text)
      return
    }
    if (!this.#midLine) {
      // Clear the typed line; it is drawn again below what is printed.
      clearLine(this.out, 0)
      cursorTo(this.out, 0)
    }
    stream.write(text)
    const last = typeof text === 'string' ? text.charCodeAt(text.length - 1) : text[text.length - 1]
    this.#midLine = last !== 0x0a
    // Redraw the line being typed, its cursor where it was.
    if (!this.#midLine) this.#editor.prompt(true)
  }

  /** Gives the terminal back in its normal mode. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#editor.close()
  }
}
