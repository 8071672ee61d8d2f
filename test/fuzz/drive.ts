/**
 * Feeds chunks through a chain of stages (decoder, then perhaps assembler)
 * and reports everything that came out, however it ended. Every run has a
 * deadline, so a stage that neither ends nor fails is reported as hung
 * rather than stalling the property.
 */
import fc from 'fast-check'
import type { Transform } from 'node:stream'

export interface StageError {
  /** Index of the stage that failed (0 = the first). */
  stage: number
  error: Error & { code?: unknown; status?: unknown }
}

export interface Outcome<T> {
  /** What the last stage emitted, in order. */
  items: T[]
  /** Every 'error' event, in the order they fired. */
  errors: StageError[]
  /** An exception that escaped from write() or end(): never acceptable. */
  thrown: unknown
  /** True if the chain neither ended nor failed before the deadline. */
  hung: boolean
  /** Items emitted by the last stage after its own 'error': never acceptable. */
  itemsAfterError: number
}

export interface DriveOptions {
  /**
   * Wait for each chunk to be taken before writing the next, letting the
   * event loop turn between chunks; otherwise write them all at once, so
   * they queue up in the stage. Both happen on a real socket.
   */
  paced: boolean
  /**
   * How the last stage is read: 'flowing' takes every item as it comes;
   * 'slow' reads one item per turn of the event loop, so the stages fill up
   * and backpressure reaches the writer.
   */
  consumer?: 'flowing' | 'slow'
  timeoutMs?: number
}

/** How a run is fed and read, chosen by the property like everything else. */
export const feedArb: fc.Arbitrary<DriveOptions> = fc.record({
  paced: fc.boolean(),
  consumer: fc.constantFrom('flowing' as const, 'slow' as const),
})

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * Pipes `stages` into each other, writes `chunks` into the first, ends it and
 * waits until the last stage ends or fails. A stage that fails ends the next
 * one, as WebSocketDuplex does, so whatever it had passed on is still
 * delivered before the chain settles.
 */
export function drive<T>(stages: Transform[], chunks: Buffer[], options: DriveOptions): Promise<Outcome<T>> {
  const last = stages[stages.length - 1]
  const outcome: Outcome<T> = { items: [], errors: [], thrown: undefined, hung: false, itemsAfterError: 0 }
  let lastFailed = false
  let settle!: () => void
  const settled = new Promise<void>((resolve) => {
    settle = resolve
  })
  let done = false
  const finish = () => {
    if (done) return
    done = true
    clearTimeout(timer)
    settle()
  }
  const timer = setTimeout(() => {
    outcome.hung = true
    finish()
  }, options.timeoutMs ?? 5000)

  stages.forEach((stage, index) => {
    if (index + 1 < stages.length) stage.pipe(stages[index + 1])
    stage.on('error', (error: StageError['error']) => {
      outcome.errors.push({ stage: index, error })
      if (stage === last) {
        lastFailed = true
        finish()
      } else {
        stages[index + 1].end()
      }
    })
  })
  const take = (item: T) => {
    if (lastFailed) outcome.itemsAfterError++
    outcome.items.push(item)
  }
  if (options.consumer === 'slow') {
    const readOne = () => {
      if (done) return
      const item = last.read() as T | null
      if (item === null) last.once('readable', readOne)
      else {
        take(item)
        setImmediate(readOne)
      }
    }
    last.once('readable', readOne)
  } else {
    last.on('data', take)
  }
  last.on('end', finish)

  const first = stages[0]
  const failed = () => outcome.errors.length > 0 || done
  const feed = async () => {
    try {
      for (const chunk of chunks) {
        if (failed()) return
        if (!options.paced) {
          first.write(chunk)
          continue
        }
        const taken = new Promise<void>((resolve) => first.write(chunk, () => resolve()))
        await Promise.race([taken, settled])
        await turn()
      }
      if (!failed()) first.end()
    } catch (error) {
      outcome.thrown = error
      finish()
    }
  }
  void feed()
  // A late event would show up as an item after the error; give it one turn to appear.
  return settled.then(turn).then(() => outcome)
}
