/**
 * Section 4: reserved opcodes. Opcodes 3-7 (data) and 11-15 (control) have no
 * meaning yet; receiving one is a protocol error (section 5.2). A good message
 * sent before it is still echoed, a PING after it is not answered.
 */
import { type Case, PROTOCOL_ERROR, def, frame, gotText, ping, send, text } from '../case'

const GOOD = 'before the unknown opcode'

function opcodeCases(group: number, opcodes: number[], kind: string): Case[] {
  return opcodes.map((opcode, i) => {
    const id = `4.${group}.${i + 1}`
    if (i === 0) {
      return def(id, `a ${kind} frame with reserved opcode ${opcode} and no payload fails with 1002`, PROTOCOL_ERROR, () => ({
        steps: [send(frame(opcode))],
        received: [],
      }))
    }
    if (i === 1) {
      return def(id, `a ${kind} frame with reserved opcode ${opcode} and a payload fails with 1002`, PROTOCOL_ERROR, () => ({
        steps: [send(frame(opcode, 'what am I?'))],
        received: [],
      }))
    }
    const payload = i === 2 ? '' : 'what am I?'
    return def(
      id,
      `good text, then reserved opcode ${opcode}${payload ? ' with payload' : ''}, then PING: text echoed, then 1002`,
      PROTOCOL_ERROR,
      () => ({ steps: [send(text(GOOD), frame(opcode, payload), ping('must not be answered'))], received: [gotText(GOOD)] }),
    )
  })
}

export const section4: Case[] = [...opcodeCases(1, [3, 4, 5, 6, 7], 'data'), ...opcodeCases(2, [11, 12, 13, 14, 15], 'control')]
