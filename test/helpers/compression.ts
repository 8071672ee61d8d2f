/**
 * Test-side helpers for permessage-deflate: the receiving chain (decoder,
 * Inflate, assembler) and the whole round trip (Deflate, encoder, decoder,
 * Inflate, assembler), both driven by the fuzz suite's drive(), which
 * reports what came out, every error with its stage, a throw or a hang.
 */
import { constants, createDeflateRaw, deflateRawSync } from 'node:zlib'
import type { Transform } from 'node:stream'
import type { Role } from '../../lib/protocol/frame'
import { ControlFrame } from '../../lib/protocol/control-frame'
import { Deflate, type DeflateOptions } from '../../lib/stages/deflate'
import { FrameDecoder } from '../../lib/stages/frame-decoder'
import { FrameEncoder } from '../../lib/stages/frame-encoder'
import { Inflate, type InflateOptions } from '../../lib/stages/inflate'
import { type AssembledItem, MessageAssembler, type MessageAssemblerOptions } from '../../lib/stages/message-assembler'
import { type DriveOptions, type Outcome, drive } from '../fuzz/drive'

export const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff])

/**
 * zlib's own answer: `data` deflated with a sync flush, the tail removed (RFC
 * 7692 section 7.2.1). A `dictionary` is a kept window: the compressor may
 * refer back into it, as a context taken over from earlier messages.
 */
export function zlibCompress(
  data: Buffer | string,
  options: { windowBits?: number; memLevel?: number; level?: number; dictionary?: Buffer } = {},
): Buffer {
  const out = deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH, ...options })
  if (!out.subarray(-4).equals(TAIL)) throw new Error('sync flush without its tail')
  return out.subarray(0, -4)
}

/** One zlib compressor kept across messages (context takeover): each call compresses one message. */
export function zlibCompressor(options: { windowBits?: number; memLevel?: number; level?: number } = {}) {
  const deflater = createDeflateRaw({ ...options, flush: constants.Z_SYNC_FLUSH })
  const chunks: Buffer[] = []
  deflater.on('data', (chunk: Buffer) => chunks.push(chunk))
  return {
    compress(data: Buffer | string): Promise<Buffer> {
      return new Promise((resolve) =>
        deflater.write(typeof data === 'string' ? Buffer.from(data) : data, () => {
          const out = Buffer.concat(chunks.splice(0))
          resolve(out.subarray(0, -4))
        }),
      )
    },
    close: () => deflater.close(),
  }
}

/** A short description of what an assembler emitted. */
export function show(item: AssembledItem): string {
  if (item instanceof ControlFrame) return `${item.type}:${item.type === 'close' ? item.code : item.payload.toString('hex')}`
  if (typeof item === 'string') return item.length <= 40 ? `text:${item}` : `text:${item.length} chars`
  if (!Buffer.isBuffer(item)) return `${item.binary ? 'binary' : 'text'} stream`
  return item.length <= 20 ? `binary:${item.toString('hex')}` : `binary:${item.length} bytes`
}

export type ChainOutcome = Outcome<AssembledItem>

/**
 * Wire bytes through FrameDecoder, Inflate and MessageAssembler. `role` is
 * the receiver's: 'client' reads unmasked server frames (as RFC 7692's
 * examples are), 'server' masked client frames.
 */
export function receive(
  chunks: Buffer[],
  options: InflateOptions & { role?: Role } = {},
  assembler: MessageAssemblerOptions = {},
  feed: DriveOptions = { paced: false },
): Promise<ChainOutcome> {
  const role = options.role ?? 'client'
  const stages: Transform[] = [
    new FrameDecoder({ role, allowRsv1: true }),
    new Inflate({ ...options, role }),
    new MessageAssembler({ maxMessageSize: options.maxMessageSize, ...assembler }),
  ]
  return drive<AssembledItem>(stages, chunks, feed)
}

/**
 * Messages through Deflate and FrameEncoder of one side and FrameDecoder,
 * Inflate and MessageAssembler of the other, as a connection carries them.
 * `sender` is the sending side's role; both sides get the same parameters.
 */
export function roundTrip(
  messages: unknown[],
  params: DeflateOptions & InflateOptions,
  sender: Role = 'client',
): Promise<ChainOutcome> {
  const receiver: Role = sender === 'client' ? 'server' : 'client'
  const stages: Transform[] = [
    new Deflate({ ...params, role: sender }),
    new FrameEncoder({ role: sender }),
    new FrameDecoder({ role: receiver, allowRsv1: true }),
    new Inflate({ ...params, role: receiver }),
    new MessageAssembler({ maxMessageSize: params.maxMessageSize }),
  ]
  return drive<AssembledItem>(stages, messages as Buffer[], { paced: false, timeoutMs: 20_000 })
}

/** Text that compresses somewhat, as chat or JSON does, `length` UTF-16 units long, with multi-byte characters. */
export function prose(length: number, seed = 1): string {
  const words = ['the', 'quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog', 'ünïcödé', '日本語', '🦊', '{"id":', '42}', 'über']
  let state = seed >>> 0 || 1
  let text = ''
  while (text.length < length) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0
    text += words[state % words.length] + ' '
  }
  // Never cut a surrogate pair in two.
  let end = length
  const code = text.charCodeAt(end - 1)
  if (code >= 0xd800 && code <= 0xdbff) end--
  return text.slice(0, end)
}
