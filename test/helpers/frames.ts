/**
 * Test-side frame building and stage driving, written independently of the
 * library's own header codec so that tests do not confirm the code by itself.
 */
import type { Transform } from 'node:stream'

export interface FrameSpec {
  fin?: boolean
  rsv?: number // the three RSV bits as 0..7 (RSV1 = 4)
  opcode: number
  payload?: Buffer | string
  mask?: Buffer | null // a 4-byte key, or null/undefined for none
  /** Declare this length instead of the payload's (for oversize tests). */
  declaredLength?: number | bigint
}

export function frame(spec: FrameSpec): Buffer {
  const payload = typeof spec.payload === 'string' ? Buffer.from(spec.payload) : spec.payload ?? Buffer.alloc(0)
  const length = BigInt(spec.declaredLength ?? payload.length)
  const bytes: number[] = [((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | spec.opcode]
  const maskBit = spec.mask ? 0x80 : 0
  if (length < 126n) bytes.push(maskBit | Number(length))
  else if (length < 65536n) bytes.push(maskBit | 126, Number(length >> 8n), Number(length & 0xffn))
  else {
    bytes.push(maskBit | 127)
    for (let shift = 56n; shift >= 0n; shift -= 8n) bytes.push(Number((length >> shift) & 0xffn))
  }
  let body = payload
  if (spec.mask) {
    bytes.push(...spec.mask)
    body = Buffer.from(payload.map((b, i) => b ^ spec.mask![i % 4]))
  }
  return Buffer.concat([Buffer.from(bytes), body])
}

export const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d])

/** A frame as a client sends it (masked). */
export const clientFrame = (spec: FrameSpec) => frame({ mask: MASK, ...spec })

export const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex')

export interface RunResult<T> {
  items: T[]
  error: (Error & { code?: string; status?: number }) | null
}

/** Writes chunks into a stage, ends it, and collects what it emits until it ends or fails. */
export function run<T>(stage: Transform, chunks: unknown[], end = true): Promise<RunResult<T>> {
  return new Promise((resolve) => {
    const items: T[] = []
    let settled = false
    const finish = (error: Error | null) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve({ items, error })
    }
    const timer = setTimeout(() => finish(new Error('stage did not finish in time')), 5000)
    stage.on('data', (item: T) => items.push(item))
    stage.on('error', (err) => finish(err))
    stage.on('end', () => finish(null))
    for (const chunk of chunks) stage.write(chunk)
    if (end) stage.end()
  })
}

/** Every way of cutting `bytes` into two pieces, and into single bytes. */
export function* splits(bytes: Buffer): Generator<Buffer[]> {
  for (let cut = 1; cut < bytes.length; cut++) yield [bytes.subarray(0, cut), bytes.subarray(cut)].map((b) => Buffer.from(b))
  yield [...bytes].map((b) => Buffer.from([b]))
}
