/**
 * A process-wide limit on zlib jobs running at once.
 *
 * Why: Node's zlib does its work on libuv's thread pool, and every stream
 * that compresses or inflates holds native buffers while a job is in
 * flight. Left unbounded, thousands of connections compressing at once
 * fragmented the allocator so badly that a process reached gigabytes of RSS
 * for megabytes of live data (ws#1202, nodejs/node#8871: about 2.8 GB
 * unbounded against about 90 MB with five jobs at a time). ws answered with
 * a limiter of 10; so do we.
 *
 * A job is an async function; it starts when a slot is free, in the order
 * jobs were queued (FIFO), and frees its slot when it settles, whether it
 * fulfils, rejects or throws. The compression stages run one job at a time
 * per stream, so a stream holds at most one slot and waits behind at most
 * one job of every other stream: a peer that floods tiny compressed frames
 * slows its own connection, not everyone's.
 *
 * A job must settle without waiting on anything that itself waits for a
 * slot (a downstream reader, another job), or the queue can stall.
 */

export const DEFAULT_ZLIB_CONCURRENCY = 10

export type ZlibJob<T> = () => Promise<T> | T

function checkConcurrency(value: number): void {
  if (!(value === Infinity || (Number.isSafeInteger(value) && value >= 1))) {
    throw new RangeError(`zlib concurrency must be a positive integer or Infinity, not ${value}`)
  }
}

/** A process-wide limit on concurrent zlib jobs, which run on libuv's thread pool. */
export class ZlibQueue {
  #limit: number
  #active = 0
  /** Jobs waiting for a slot, oldest at `#head`. */
  #waiting: Array<() => void> = []
  #head = 0

  constructor(concurrency = DEFAULT_ZLIB_CONCURRENCY) {
    checkConcurrency(concurrency)
    this.#limit = concurrency
  }

  /** The most jobs that run at once. Raising it starts waiting jobs at once; lowering it lets running ones finish. */
  get concurrency(): number {
    return this.#limit
  }

  set concurrency(value: number) {
    checkConcurrency(value)
    this.#limit = value
    this.#startWaiting()
  }

  /** Jobs running now. */
  get active(): number {
    return this.#active
  }

  /** Jobs waiting for a slot. */
  get pending(): number {
    return this.#waiting.length - this.#head
  }

  /** Runs `job` when a slot is free; settles as the job does. */
  run<T>(job: ZlibJob<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.#active++
        let settled: Promise<T>
        try {
          settled = Promise.resolve(job())
        } catch (error) {
          settled = Promise.reject(error)
        }
        // The slot is freed before the caller hears of the result, so the next job is never kept waiting by it.
        settled.then(
          (value) => {
            this.#release()
            resolve(value)
          },
          (error: unknown) => {
            this.#release()
            reject(error)
          },
        )
      }
      if (this.#active < this.#limit && this.pending === 0) start()
      else this.#waiting.push(start)
    })
  }

  #release(): void {
    this.#active--
    this.#startWaiting()
  }

  #startWaiting(): void {
    while (this.#active < this.#limit && this.#head < this.#waiting.length) {
      const start = this.#waiting[this.#head]
      this.#waiting[this.#head++] = undefined as unknown as () => void
      if (this.#head === this.#waiting.length) {
        this.#waiting = []
        this.#head = 0
      } else if (this.#head >= 1024 && this.#head * 2 >= this.#waiting.length) {
        // Drop the consumed front now and then, so a long-busy queue does not keep its history.
        this.#waiting = this.#waiting.slice(this.#head)
        this.#head = 0
      }
      start()
    }
  }
}

/** The queue every compression stage uses unless given another. */
export const zlibQueue = new ZlibQueue()

/** Sets how many zlib jobs may run at once in this process (default 10). */
export function setZlibConcurrency(concurrency: number): void {
  zlibQueue.concurrency = concurrency
}

/** How many zlib jobs may run at once in this process. */
export function zlibConcurrency(): number {
  return zlibQueue.concurrency
}
