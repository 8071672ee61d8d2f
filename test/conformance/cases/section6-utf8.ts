/**
 * Section 6: UTF-8 in text messages (section 8.1). Valid text is echoed
 * however it is fragmented; invalid text fails the connection with 1007, and
 * fails it fast: as soon as the offending byte has arrived, even in the middle
 * of a frame that is still incomplete.
 */
import {
  type Case, INVALID_PAYLOAD, NORMAL, continuation, def, fragments, gotText, send, text, wait,
} from '../case'
import { OP } from '../frames'
import { UTF8_GROUPS } from './utf8-sequences'

const hex = (h: string) => Buffer.from(h, 'hex')
const MIXED = 'Grüße-µ@ßöäüàá-naïve-€-𝄞!'
const KOSME = hex('cebae1bdb9cf83cebcceb5')
/** Valid text, an encoded surrogate, more valid text. */
const BROKEN = Buffer.concat([KOSME, hex('eda080'), Buffer.from('-after')])

/** Fail-fast cases: the message arrives in three parts with 1 s pauses; the middle part makes it invalid. */
function failFast(id: string, parts: [string, string, string], asFrames: boolean, note: string): Case {
  const [a, b, c] = parts.map(hex)
  return def(id, `${note}; CLOSE 1007 must arrive in the pause after the bad part`, INVALID_PAYLOAD, () => {
    if (asFrames) {
      return {
        steps: [send(text(a, false)), wait(1000), send(continuation(b, false)), wait(1000, true), send(continuation(c))],
        received: [],
      }
    }
    const whole = text(Buffer.concat([a, b, c]))
    return {
      steps: [
        { kind: 'part', frame: whole, from: 0, to: a.length },
        wait(1000),
        { kind: 'part', frame: whole, from: a.length, to: a.length + b.length },
        wait(1000, true),
        { kind: 'part', frame: whole, from: a.length + b.length, to: whole.payload.length },
      ],
      received: [],
    }
  })
}

const AFTER = Buffer.from('-after').toString('hex')
const stress: Case[] = UTF8_GROUPS.flatMap((group, g) =>
  group.sequences.map((seq, s) =>
    def(
      `6.${g + 5}.${s + 1}`,
      `${group.title}: ${seq.hex.length > 40 ? seq.hex.slice(0, 40) + '…' : seq.hex} is ${seq.valid ? 'valid, echoed' : 'invalid, 1007'}`,
      seq.valid ? NORMAL : INVALID_PAYLOAD,
      () => ({ steps: [send(text(hex(seq.hex)))], received: seq.valid ? [gotText(hex(seq.hex))] : [] }),
      { perByteFragments: true },
    ),
  ),
)

export const section6: Case[] = [
  def('6.1.1', 'an empty text message is echoed', NORMAL, () => ({ steps: [send(text(''))], received: [gotText('')] })),
  def('6.1.2', 'a text message of three empty fragments is echoed as one empty message', NORMAL, () => ({
    steps: [send(text('', false), continuation('', false), continuation(''))],
    received: [gotText('')],
  })),
  def('6.1.3', 'a text message of an empty, a non-empty and an empty fragment is echoed', NORMAL, () => ({
    steps: [send(text('', false), continuation('only the middle', false), continuation(''))],
    received: [gotText('only the middle')],
  })),
  def('6.2.1', 'valid multi-byte text in one frame is echoed', NORMAL, () => ({
    steps: [send(text(MIXED))],
    received: [gotText(MIXED)],
  })),
  def('6.2.2', 'valid multi-byte text in two fragments split between characters is echoed', NORMAL, () => {
    const cut = Buffer.byteLength('Grüße-µ@ßöä')
    const bytes = Buffer.from(MIXED)
    return { steps: [send(text(bytes.subarray(0, cut), false), continuation(bytes.subarray(cut)))], received: [gotText(MIXED)] }
  }),
  def('6.2.3', 'valid multi-byte text in 1-byte fragments (splitting characters) is echoed', NORMAL, () => ({
    steps: [send(...fragments(OP.TEXT, Buffer.from(MIXED), 1))],
    received: [gotText(MIXED)],
  })),
  def('6.2.4', 'valid Greek text in 1-byte fragments is echoed', NORMAL, () => ({
    steps: [send(...fragments(OP.TEXT, KOSME, 1))],
    received: [gotText(KOSME)],
  })),
  def('6.3.1', 'text containing an encoded surrogate fails with 1007', INVALID_PAYLOAD, () => ({
    steps: [send(text(BROKEN))],
    received: [],
  })),
  def('6.3.2', 'the same invalid text in 1-byte fragments fails with 1007', INVALID_PAYLOAD, () => ({
    steps: [send(...fragments(OP.TEXT, BROKEN, 1))],
    received: [],
  })),
  failFast('6.4.1', [KOSME.toString('hex'), 'f4908080', AFTER], true, 'three frames, the second encodes U+110000'),
  failFast('6.4.2', [KOSME.toString('hex') + 'f4', '90', '8080' + AFTER], true, 'three frames, the first ends in F4, the second adds 90'),
  failFast('6.4.3', [KOSME.toString('hex'), 'f4908080', AFTER], false, 'one frame in three writes, the second encodes U+110000'),
  failFast('6.4.4', [KOSME.toString('hex') + 'f4', '90', '8080' + AFTER], false, 'one frame in three writes; only F4 90 of the bad sequence has arrived'),
  ...stress,
]
