/**
 * Section 5: fragmentation (section 5.4). Control frames must not be
 * fragmented; a message may be split into a first frame and continuations,
 * with control frames between them; a continuation with nothing to continue,
 * or a new data frame while a message is open, is a protocol error.
 */
import {
  type Case, type Step, NORMAL, PROTOCOL_ERROR, continuation, def, gotPong, gotText, ping, send, sendChopped,
  sendFramewise, text, waitFor,
} from '../case'
import { type FrameSpec, OP } from '../frames'

type Delivery = 'one write' | 'frame-wise' | 'byte-wise'
const deliver = (how: Delivery, frames: FrameSpec[]): Step =>
  how === 'one write' ? send(...frames) : how === 'frame-wise' ? sendFramewise(...frames) : sendChopped(1, ...frames)

const twoFragments = [text('first half|', false), continuation('second half')]
const WHOLE = 'first half|second half'

function plainFragments(id: string, how: Delivery): Case {
  return def(id, `a text message in 2 fragments (${how}) is echoed whole`, NORMAL, () => ({
    steps: [deliver(how, twoFragments)],
    received: [gotText(WHOLE)],
  }))
}

function pingBetween(id: string, how: Delivery): Case {
  return def(id, `a text message in 2 fragments with a PING between them (${how}): PONG, then the echo`, NORMAL, () => ({
    steps: [deliver(how, [text('first half|', false), ping('in between'), continuation('second half')])],
    received: [gotPong('in between'), gotText(WHOLE)],
  }))
}

function strayContinuation(id: string, fin: boolean, how: Delivery): Case {
  return def(
    id,
    `a continuation (FIN=${fin ? 1 : 0}) with no message open, then a text message (${how}): 1002, nothing echoed`,
    PROTOCOL_ERROR,
    () => ({ steps: [deliver(how, [continuation('nothing to continue', fin), text('never echoed')])], received: [] }),
  )
}

function repeatedStray(id: string, fin: boolean): Case {
  const round = [continuation('nothing to continue', fin), text('never ', false), continuation('echoed')]
  return def(
    id,
    `twice: a stray continuation (FIN=${fin ? 1 : 0}) then a 2-fragment text message: 1002 at the first frame`,
    PROTOCOL_ERROR,
    () => ({ steps: [send(...round, ...round)], received: [] }),
  )
}

/** Five fragments with two PINGs between them and pauses: each PONG comes back during the pause after its PING. */
function slowFragments(id: string, framewise: boolean): Case {
  const group = (...frames: FrameSpec[]) => (framewise ? sendFramewise(...frames) : send(...frames))
  return def(
    id,
    `a text message in 5 fragments with 2 PINGs between them and 1 s pauses${framewise ? ', each frame written on its own' : ''}`,
    NORMAL,
    () => ({
      steps: [
        group(text('one|', false), continuation('two|', false), ping('first ping')),
        waitFor(1000, 1),
        group(continuation('three|', false), continuation('four|', false), ping('second ping')),
        waitFor(1000, 2),
        group(continuation('five')),
      ],
      received: [gotPong('first ping'), gotPong('second ping'), gotText('one|two|three|four|five')],
    }),
  )
}

export const section5: Case[] = [
  def('5.1', 'a PING in 2 fragments fails with 1002 and is not answered', PROTOCOL_ERROR, () => ({
    steps: [send({ opcode: OP.PING, payload: Buffer.from('first'), fin: false }, continuation('second'))],
    received: [],
  })),
  def('5.2', 'a PONG in 2 fragments fails with 1002', PROTOCOL_ERROR, () => ({
    steps: [send({ opcode: OP.PONG, payload: Buffer.from('first'), fin: false }, continuation('second'))],
    received: [],
  })),
  plainFragments('5.3', 'one write'),
  plainFragments('5.4', 'frame-wise'),
  plainFragments('5.5', 'byte-wise'),
  pingBetween('5.6', 'one write'),
  pingBetween('5.7', 'frame-wise'),
  pingBetween('5.8', 'byte-wise'),
  strayContinuation('5.9', true, 'one write'),
  strayContinuation('5.10', true, 'frame-wise'),
  strayContinuation('5.11', true, 'byte-wise'),
  strayContinuation('5.12', false, 'one write'),
  strayContinuation('5.13', false, 'frame-wise'),
  strayContinuation('5.14', false, 'byte-wise'),
  def(
    '5.15',
    'a 2-fragment message, then a stray continuation and a text message: the first is echoed, then 1002',
    PROTOCOL_ERROR,
    () => ({
      steps: [send(...twoFragments, continuation('nothing to continue', false), text('never echoed'))],
      received: [gotText(WHOLE)],
    }),
  ),
  repeatedStray('5.16', false),
  repeatedStray('5.17', true),
  def('5.18', 'a message whose second fragment is a new text frame fails with 1002', PROTOCOL_ERROR, () => ({
    steps: [send(text('first half|', false), text('second half'))],
    received: [],
  })),
  slowFragments('5.19', false),
  slowFragments('5.20', true),
]
