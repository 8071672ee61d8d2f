/**
 * Section 1: framing. Text and binary messages at every payload-length
 * boundary of the header (7-bit, 16-bit, 64-bit lengths), echoed unchanged.
 */
import { type Case, NORMAL, binary, def, filler, gotBinary, gotText, send, sendChopped, text } from '../case'

const LENGTHS = [0, 125, 126, 127, 128, 65535, 65536]
const TEXT_FILL = 'watershed-'
const BINARY_FILL = Buffer.from([0xfe])

function family(group: number, kind: 'text' | 'binary'): Case[] {
  const make = (length: number) => (kind === 'text' ? filler(length, TEXT_FILL) : filler(length, BINARY_FILL))
  const toFrame = (payload: Buffer) => (kind === 'text' ? text(payload) : binary(payload))
  const toGot = (payload: Buffer) => (kind === 'text' ? gotText(payload) : gotBinary(payload))
  const cases = LENGTHS.map((length, i) =>
    def(`1.${group}.${i + 1}`, `a ${kind} message of ${length} bytes is echoed`, NORMAL, () => {
      const payload = make(length)
      return { steps: [send(toFrame(payload))], received: [toGot(payload)] }
    }),
  )
  cases.push(
    def(`1.${group}.8`, `a ${kind} message of 65536 bytes, written in 997-byte pieces, is echoed`, NORMAL, () => {
      const payload = make(65536)
      return { steps: [sendChopped(997, toFrame(payload))], received: [toGot(payload)] }
    }),
  )
  return cases
}

export const section1: Case[] = [...family(1, 'text'), ...family(2, 'binary')]
