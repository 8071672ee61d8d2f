/**
 * Ctrl-C: the first SIGINT (or SIGTERM) closes gracefully, with 1001 going
 * away; a second one exits at once, for a peer that never answers.
 */
import { ExitCode } from './exit-codes'

export class Interrupts {
  /** The signal that stopped the command, once one came. */
  signal: 'SIGINT' | 'SIGTERM' | null = null
  #graceful: (() => void) | null = null
  /** Run before an immediate exit (the terminal back to its normal mode). */
  cleanup: () => void = () => {}

  constructor() {
    process.on('SIGINT', () => this.trigger('SIGINT'))
    process.on('SIGTERM', () => this.trigger('SIGTERM'))
  }

  /** What the first signal does; a signal that came before this was set is acted on now. */
  onInterrupt(graceful: () => void): void {
    this.#graceful = graceful
    if (this.signal) graceful()
  }

  get exitCode(): number {
    return this.signal === 'SIGTERM' ? ExitCode.TERMINATED : ExitCode.INTERRUPTED
  }

  /** A signal, from the process or from the terminal (Ctrl-C while the line editor has it). */
  trigger(signal: 'SIGINT' | 'SIGTERM'): void {
    if (this.signal) {
      this.cleanup()
      process.exit(this.exitCode)
    }
    this.signal = signal
    this.#graceful?.()
  }
}
