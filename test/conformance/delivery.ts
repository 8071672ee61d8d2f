/**
 * Delivery modes: the same case, its bytes written differently.
 *
 * - whole:     writes exactly as the case says.
 * - bytes:     every write cut into 1-byte writes.
 * - random:    every write cut at random points (seeded, reproducible).
 * - fragments: for UTF-8 stress cases, the text message re-sent as one
 *              fragment per byte, so validation must work across frames.
 * - no-fin:    (testee client only) the fuzzing server never closes TCP: the
 *              client must still end the connection within its closeTimeout.
 *
 * Pauses between steps are kept in every mode. Sections 9, 12 and 13 run in
 * 'whole' only; 'bytes' and 'random' apply to cases writing at most
 * CHOP_LIMIT bytes, which is every case of sections 1-7 and 10.
 */
import type { Case, Script } from './case'
import { headerLength, OP } from './frames'

export type Mode = 'whole' | 'bytes' | 'random' | 'fragments' | 'no-fin'
export type Testee = 'server' | 'client'

/** Cases writing more than this are not re-run in 'bytes' and 'random' mode. */
export const CHOP_LIMIT = 512 * 1024

/** Total bytes a script writes (masked framing, the larger of the two directions). */
export function scriptBytes(script: Script): number {
  let total = 0
  for (const step of script.steps) {
    if (step.kind === 'send') for (const f of step.frames) total += headerLength(f.payload.length, true) + f.payload.length
    else if (step.kind === 'part') total += step.to - step.from + (step.from === 0 ? headerLength(step.frame.payload.length, true) : 0)
    else if (step.kind === 'roundtrip') {
      for (const f of step.frames) total += (headerLength(f.payload.length, true) + f.payload.length) * step.times
    } else if (step.kind === 'deflate-echo') {
      // Before compression: what the testee inflates and compresses again.
      total += (headerLength(step.size, true) + step.size) * step.count
    }
  }
  return total
}

/** The modes a case runs in, for one testee. */
export function modesFor(c: Case, testee: Testee): Mode[] {
  if (c.section === 9 || c.deflate) return ['whole']
  const modes: Mode[] = ['whole']
  if (scriptBytes(c.build()) <= CHOP_LIMIT) modes.push('bytes', 'random')
  if (c.perByteFragments) modes.push('fragments')
  if (testee === 'client') modes.push('no-fin')
  return modes
}

/** In 'fragments' mode each single-frame text message becomes one continuation per byte. */
export function applyFragments(script: Script): Script {
  const steps = script.steps.map((step) => {
    if (step.kind !== 'send') return step
    const frames = step.frames.flatMap((f) => {
      if (f.opcode !== OP.TEXT || f.fin === false || (f.rsv ?? 0) !== 0 || f.payload.length < 2) return [f]
      return [...f.payload].map((byte, i) => ({
        opcode: i === 0 ? OP.TEXT : OP.CONTINUATION,
        payload: Buffer.from([byte]),
        fin: i === f.payload.length - 1,
      }))
    })
    return { ...step, frames }
  })
  return { ...script, steps }
}

/** At most `cap` messages per deflate-echo step (sections 12-13), for the plans that cannot afford the reference count. */
export function capEchoes(script: Script, cap: number | null): Script {
  if (cap === null) return script
  return { ...script, steps: script.steps.map((step) => (step.kind === 'deflate-echo' ? { ...step, count: Math.min(step.count, cap) } : step)) }
}

/** Piece sizes for one write of `length` bytes in the given mode. */
export function pieces(length: number, mode: Mode, random: () => number): number[] {
  if (mode === 'bytes') return Array.from({ length }, () => 1)
  if (mode !== 'random' || length <= 1) return [length]
  const sizes: number[] = []
  // A log-uniform ceiling per piece (up to the write's length, at most 4 KiB): mostly small pieces, some large.
  const top = Math.log(Math.min(length, 4096))
  for (let left = length; left > 0;) {
    const ceiling = Math.max(1, Math.floor(Math.exp(random() * top)))
    const size = Math.min(left, 1 + Math.floor(random() * ceiling))
    sizes.push(size)
    left -= size
  }
  return sizes
}
