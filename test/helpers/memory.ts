/**
 * What an attack made this process allocate or hold: a sampler of off-heap
 * buffer memory, and a full-collection measure of what stays pinned.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

export const MiB = 1024 * 1024

/** Samples this process's off-heap buffer memory, to show what an attack made it allocate. */
export function memorySampler(): { stop(): number } {
  const base = process.memoryUsage().arrayBuffers
  let peak = base
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().arrayBuffers)
  }, 5)
  return {
    /** Growth of the peak over the start, in bytes. */
    stop() {
      clearInterval(timer)
      peak = Math.max(peak, process.memoryUsage().arrayBuffers)
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
