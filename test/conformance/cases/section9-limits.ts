/**
 * Section 9: limits and performance. Large messages, large messages in many
 * small frames, large messages written in small pieces, and many small
 * messages one after another. Each must be echoed exactly; how long it took
 * is recorded as a signal, never asserted.
 */
import { type Case, NORMAL, type Step, binary, def, filler, fragments, gotBinary, gotText, send, sendChopped, text } from '../case'
import { OP } from '../frames'

const KiB = 1024
const MiB = 1024 * KiB
const TEXT_FILL = 'stream-me-'
const BINARY_FILL = Buffer.from([0xfe, 0xed, 0xfa, 0xce])
const size = (n: number) => (n >= MiB ? `${n / MiB} MiB` : n >= KiB ? `${n / KiB} KiB` : `${n} B`)
const SLOW = { echoTimeoutMs: 120_000 }

type Kind = 'text' | 'binary'
const payloadOf = (kind: Kind, n: number) => filler(n, kind === 'text' ? TEXT_FILL : BINARY_FILL)
const gotOf = (kind: Kind, p: Buffer) => (kind === 'text' ? gotText(p) : gotBinary(p))
const frameOf = (kind: Kind, p: Buffer) => (kind === 'text' ? text(p) : binary(p))
const opOf = (kind: Kind) => (kind === 'text' ? OP.TEXT : OP.BINARY)

function bigMessages(group: number, kind: Kind): Case[] {
  return [64 * KiB, 256 * KiB, MiB, 4 * MiB, 8 * MiB, 16 * MiB].map((n, i) =>
    def(`9.${group}.${i + 1}`, `a ${size(n)} ${kind} message in one frame is echoed`, NORMAL, () => {
      const p = payloadOf(kind, n)
      return { steps: [send(frameOf(kind, p))], received: [gotOf(kind, p)] }
    }, SLOW),
  )
}

function manyFrames(group: number, kind: Kind): Case[] {
  return [64, 256, KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, MiB, 4 * MiB].map((frameSize, i) =>
    def(`9.${group}.${i + 1}`, `a 4 MiB ${kind} message in frames of ${size(frameSize)} is echoed`, NORMAL, () => {
      const p = payloadOf(kind, 4 * MiB)
      return { steps: [send(...fragments(opOf(kind), p, frameSize))], received: [gotOf(kind, p)] }
    }, SLOW),
  )
}

function smallWrites(group: number, kind: Kind): Case[] {
  return [64, 128, 256, 512, KiB, 2 * KiB].map((chop, i) =>
    def(`9.${group}.${i + 1}`, `a 1 MiB ${kind} message written in ${chop}-byte pieces is echoed`, NORMAL, () => {
      const p = payloadOf(kind, MiB)
      return { steps: [sendChopped(chop, frameOf(kind, p))], received: [gotOf(kind, p)] }
    }, SLOW),
  )
}

function manyMessages(group: number, kind: Kind): Case[] {
  return [0, 16, 64, 256, KiB, 4 * KiB].map((n, i) =>
    def(`9.${group}.${i + 1}`, `1000 ${kind} messages of ${size(n)}, each sent after the previous echo`, NORMAL, () => {
      const p = payloadOf(kind, n)
      const step: Step = { kind: 'roundtrip', frames: [frameOf(kind, p)], times: 1000 }
      return { steps: [step], received: Array.from({ length: 1000 }, () => gotOf(kind, p)) }
    }, SLOW),
  )
}

export const section9: Case[] = [
  ...bigMessages(1, 'text'),
  ...bigMessages(2, 'binary'),
  ...manyFrames(3, 'text'),
  ...manyFrames(4, 'binary'),
  ...smallWrites(5, 'text'),
  ...smallWrites(6, 'binary'),
  ...manyMessages(7, 'text'),
  ...manyMessages(8, 'binary'),
]
