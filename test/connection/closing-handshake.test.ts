/**
 * The closing handshake's state machine, as a specification: the states a
 * connection passes through when either side closes first, when it fails,
 * and when TCP closes; what may still be sent in each.
 */
import t from 'tap'
import { ClosingHandshake } from '../../lib/connection/closing-handshake'
import { ControlFrame } from '../../lib/protocol/control-frame'

const close = (code: number) => new ControlFrame('close', Buffer.from([code >> 8, code & 0xff]), code, '')

const closers = [
  {
    who: 'we close first',
    first: (c: ClosingHandshake) => c.sent(),
    second: (c: ClosingHandshake) => c.received(close(1000)),
    middle: 'closeSent',
    // Section 5.5.1: no data frame after our CLOSE.
    sendInMiddle: false,
  },
  {
    who: 'the peer closes first',
    first: (c: ClosingHandshake) => c.received(close(1001)),
    second: (c: ClosingHandshake) => c.sent(),
    middle: 'closeReceived',
    // Our answer, and the messages written before it, may still go out.
    sendInMiddle: true,
  },
] as const

for (const { who, first, second, middle, sendInMiddle } of closers) {
  t.test(`${who}: open, ${middle}, closing, closed`, async (t) => {
    const c = new ClosingHandshake()
    t.equal(c.state, 'open')
    t.ok(c.canSend)
    first(c)
    t.equal(c.state, middle)
    t.equal(c.canSend, sendInMiddle, `may send in ${middle}: ${sendInMiddle}`)
    t.notOk(c.exchanged)
    second(c)
    t.equal(c.state, 'closing')
    t.ok(c.exchanged, 'both CLOSEs exchanged')
    t.notOk(c.canSend)
    t.ok(c.peerClose, 'the peer\'s CLOSE is kept')
    c.tcpClosed()
    t.equal(c.state, 'closed')
    t.ok(c.closed)
  })
}

t.test('only the first CLOSE from the peer counts', async (t) => {
  const c = new ClosingHandshake()
  c.received(close(1000))
  c.received(close(4000))
  t.equal(c.peerClose?.code, 1000)
})

t.test('a failure: failed, and the first failure is the one kept', async (t) => {
  const c = new ClosingHandshake()
  const first = new Error('first')
  t.ok(c.fail(first), 'the first failure is taken')
  t.equal(c.state, 'failed')
  t.notOk(c.canSend)
  t.notOk(c.closeSent, 'no CLOSE yet: the connection sends one with the status')
  c.sent()
  t.ok(c.closeSent)
  t.equal(c.state, 'failed', 'sending the CLOSE does not leave failed')
  t.notOk(c.fail(new Error('second')), 'a second failure is not taken')
  t.equal(c.failure, first)
  c.tcpClosed()
  t.equal(c.state, 'closed')
})

t.test('a failure found after TCP closed is recorded; the state stays closed', async (t) => {
  const c = new ClosingHandshake()
  c.tcpClosed()
  const late = new Error('the last frames held a protocol error')
  t.ok(c.fail(late))
  t.equal(c.state, 'closed')
  t.equal(c.failure, late)
  t.notOk(c.canSend)
})
