/**
 * Section 10: a message the sender fragments on its own (here into 1300-byte
 * frames, a typical path MTU) is reassembled and echoed as one message.
 */
import { type Case, NORMAL, def, filler, fragments, gotText, send } from '../case'
import { OP } from '../frames'

export const section10: Case[] = [
  def('10.1.1', 'a 65536-byte text message sent as 1300-byte frames is echoed whole', NORMAL, () => {
    const payload = filler(65536, 'cut-to-size ')
    return { steps: [send(...fragments(OP.TEXT, payload, 1300))], received: [gotText(payload)] }
  }),
]
