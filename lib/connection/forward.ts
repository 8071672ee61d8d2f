/**
 * Forwards a readable's chunks into a writable with backpressure, as
 * `readable.pipe()` does, for the pipeline inside a connection: four
 * listeners instead of pipe()'s nine closures and its bookkeeping for many
 * destinations, which every open connection would otherwise carry (a quarter
 * of an idle connection's heap). Errors are not forwarded: the connection
 * listens to each stage itself. Returns a function that stops forwarding.
 */
import type { Readable, Writable } from 'node:stream'

export function forward(source: Readable, dest: Writable): () => void {
  let forwarding = true
  const onData = (chunk: unknown) => {
    // The write itself may stop forwarding (a CLOSE read from this very chunk):
    // then the source is someone else's to pause or resume.
    if (!dest.write(chunk) && forwarding) source.pause()
  }
  const onDrain = () => source.resume()
  const onEnd = () => dest.end()
  // A destination that has failed or closed takes nothing more.
  const stop = () => {
    forwarding = false
    source.off('data', onData)
    source.off('end', onEnd)
    dest.off('drain', onDrain)
    dest.off('close', stop)
  }
  source.on('data', onData)
  source.on('end', onEnd)
  dest.on('drain', onDrain)
  dest.on('close', stop)
  // As pipe() does: a source paused before (a socket held during the handshake) flows now.
  source.resume()
  return stop
}
