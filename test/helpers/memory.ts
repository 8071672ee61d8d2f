/**
 * What an attack made this process allocate or hold: a sampler of off-heap
 * buffer memory, and a full-collection measure of what stays pinned.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

export const MiB = 1024 * 1024

/**
 * Samples `read()` every 5 ms (between this process's callbacks, so a busy
 * process is sampled less often); stop() gives the growth of its peak over
 * its value at the start. Default: this process's off-heap buffer memory, to
 * show what an attack made it allocate.
 */
export function memorySampler(read: () => number = () => process.memoryUsage().arrayBuffers): { stop(): number } {
  const base = read()
  let peak = base
  const timer = setInterval(() => {
    peak = Math.max(peak, read())
  }, 5)
  return {
    /** Growth of the peak over the start (bytes, for memory). */
    stop() {
      clearInterval(timer)
      peak = Math.max(peak, read())
      return peak - base
    },
  }
}

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** What this process holds after a full collection (JS heap and buffers), in bytes: what an attack left pinned. */
export function retained(): number {
  gc()
  gc()
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return heapUsed + arrayBuffers
}

/**
 * The bound on one process's RSS growth while a 1 GiB message streams
 * through it. What the library holds is a few MiB (the stages' buffers, one
 * frame in flight); the rest is garbage waiting for the collector: every
 * socket read and every masked frame is a new buffer, and V8 collects
 * external memory once it has grown by its soft limit (64 MB) since the last
 * collection. Peaks of 2 to 45 MiB are measured; a design that held even a
 * tenth of the message would pass 100 MiB.
 */
export const STREAMING_RSS_BOUND_MIB = 64

setFlagsFromString('--allow-natives-syntax')
/**
 * Whether V8 keeps `object`'s properties in a shape shared with its likes
 * (8 bytes a property) rather than as a dictionary of its own (a hash table,
 * 24 bytes a slot): what an object kept by the thousand should be.
 */
export const hasFastProperties = new Function('object', 'return %HasFastProperties(object)') as (object: object) => boolean
