/**
 * Pipes the encoder's bytes into the socket like `readable.pipe()`, but
 * corks the socket for the rest of the tick on the first write, so the frames
 * produced while handling one read (a burst of echoes, header and payload of
 * one large frame) leave in a single writev instead of a syscall each.
 */
import type { Carrier } from './transport'
import type { Readable } from 'node:stream'

/** Bytes the socket may hold queued before the encoder is paused. */
const MAX_QUEUED = 256 * 1024

export function pipeCorked(source: Readable, socket: Carrier): () => void {
  let corked = false
  const uncork = () => {
    corked = false
    socket.uncork()
  }
  const onData = (chunk: Buffer) => {
    if (socket.destroyed) return
    if (!corked) {
      corked = true
      socket.cork()
      process.nextTick(uncork)
    }
    // Past the socket's own mark, let a few frames gather before pausing, so a
    // burst can leave in one writev; memory stays bounded by MAX_QUEUED.
    if (!socket.write(chunk) && socket.writableLength >= MAX_QUEUED) source.pause()
  }
  const onDrain = () => source.resume()
  const onEnd = () => {
    if (!socket.destroyed) socket.end()
  }
  source.on('data', onData)
  source.on('end', onEnd)
  socket.on('drain', onDrain)
  return () => {
    source.off('data', onData)
    source.off('end', onEnd)
    socket.off('drain', onDrain)
  }
}
