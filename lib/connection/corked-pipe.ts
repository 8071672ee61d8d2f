/**
 * Pipes the encoder's bytes into the socket like `readable.pipe()`, but
 * corks the socket for the rest of the tick, so the frames produced while
 * handling one read (a burst of echoes, header and payload of one large
 * frame) leave in a single writev instead of a syscall each.
 *
 * The tick's first piece, when it is a whole frame (a small message, a
 * control frame, any masked frame of a client), is written at once instead:
 * the answer to what was just read leaves without waiting for the tick to
 * end, and without the cork's bookkeeping. Only what follows it is corked.
 */
import type { Carrier } from './transport'
import type { Readable } from 'node:stream'
import { isWholeFrame } from '../protocol/frame'

/** Bytes the socket may hold queued before the encoder is paused. */
const MAX_QUEUED = 256 * 1024

export function pipeCorked(source: Readable, socket: Carrier): () => void {
  let corked = false
  const uncork = () => {
    corked = false
    socket.uncork()
  }
  // Past the socket's own mark, let a few frames gather before pausing, so a
  // burst can leave in one writev; memory stays bounded by MAX_QUEUED.
  const write = (chunk: Buffer) => {
    if (!socket.write(chunk) && socket.writableLength >= MAX_QUEUED) source.pause()
  }
  const onData = (chunk: Buffer) => {
    if (socket.destroyed) return
    if (corked) return write(chunk)
    corked = true
    const whole = isWholeFrame(chunk)
    if (whole) write(chunk)
    socket.cork()
    process.nextTick(uncork)
    if (!whole) write(chunk)
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
