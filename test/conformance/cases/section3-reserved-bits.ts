/**
 * Section 3: reserved bits. With no extension negotiated, any RSV bit set is
 * a protocol error (section 5.2): the connection fails with 1002. Frames that
 * came before the bad one are still processed; frames after it are not.
 */
import { type Case, PROTOCOL_ERROR, binary, close, def, gotText, ping, send, sendChopped, sendFramewise, text } from '../case'

const GOOD = 'all bits in order'
const SMALL_BINARY = Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff])

/** A good message, the same message with `rsv` set, then a PING that must not be answered. */
function sandwich(rsv: number, delivery: 'one write' | 'frame-wise' | 'byte-wise') {
  const frames = [text(GOOD), text(GOOD, true, rsv), ping('must not be answered')]
  const step =
    delivery === 'one write' ? send(...frames) : delivery === 'frame-wise' ? sendFramewise(...frames) : sendChopped(1, ...frames)
  return { steps: [step], received: [gotText(GOOD)] }
}

export const section3: Case[] = [
  def('3.1', 'a text message with RSV=1 fails the connection', PROTOCOL_ERROR, () => ({
    steps: [send(text(GOOD, true, 1))],
    received: [],
  })),
  def('3.2', 'good text, then text with RSV=2, then PING: the first is echoed, then 1002', PROTOCOL_ERROR, () =>
    sandwich(2, 'one write'),
  ),
  def('3.3', 'as 3.2 with RSV=3, each frame written on its own', PROTOCOL_ERROR, () => sandwich(3, 'frame-wise')),
  def('3.4', 'as 3.2 with RSV=4, written one byte at a time', PROTOCOL_ERROR, () => sandwich(4, 'byte-wise')),
  def('3.5', 'a binary message with RSV=5 fails the connection', PROTOCOL_ERROR, () => ({
    steps: [send(binary(SMALL_BINARY, true, 5))],
    received: [],
  })),
  def('3.6', 'a PING with RSV=6 fails the connection and is not answered', PROTOCOL_ERROR, () => ({
    steps: [send(ping('reserved bits', 6))],
    received: [],
  })),
  // Our CLOSE goes first on the wire, but it is malformed: the answer must be 1002, not an echo.
  def('3.7', 'a CLOSE with RSV=7 is answered with 1002', { first: 'fuzzer', codes: [1002], clean: false }, () => ({
    steps: [send(close(1000, '', 7))],
    received: [],
  })),
]
