/**
 * Section 7: the closing handshake (sections 5.5.1, 7.1, 7.4). The testee
 * answers a CLOSE with a CLOSE, ignores whatever follows it, checks the code
 * and reason it receives (1002 for a bad code or a malformed payload, 1007
 * for a reason that is not UTF-8), and the server closes TCP first.
 */
import {
  type Case, type ExpectedClose, close, closeRaw, continuation, def, filler, gotText, ping, send, text,
} from '../case'

const byFuzzer = (codes: number[], clean: boolean): ExpectedClose => ({ first: 'fuzzer', codes, clean })
const VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]
const INVALID_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999]
const OUT_OF_RANGE = [5000, 65535]
const BIG = () => filler(256 * 1024, 'close-after-me ')

export const section7: Case[] = [
  def('7.1.1', 'a text message followed by CLOSE: the echo, then CLOSE 1000', byFuzzer([1000], true), () => ({
    steps: [send(text('last words')), send(close(1000))],
    received: [gotText('last words')],
  })),
  def('7.1.2', 'two CLOSE frames: the second is ignored', byFuzzer([1000], true), () => ({
    steps: [send(close(1000), close(1000))],
    received: [],
  })),
  def('7.1.3', 'a PING after CLOSE is not answered', byFuzzer([1000], true), () => ({
    steps: [send(close(1000), ping('too late'))],
    received: [],
  })),
  def('7.1.4', 'a text message after CLOSE is not echoed', byFuzzer([1000], true), () => ({
    steps: [send(close(1000), text('too late'))],
    received: [],
  })),
  def('7.1.5', 'a fragment, CLOSE, then the last fragment: nothing is echoed', byFuzzer([1000], true), () => ({
    steps: [send(text('begun ', false), close(1000), continuation('too late'))],
    received: [],
  })),
  def(
    '7.1.6',
    'a 256 KiB text message, CLOSE, then a PING: no PONG; the echo may or may not precede the CLOSE',
    byFuzzer([1000], true),
    () => {
      const payload = BIG()
      return { steps: [send(text(payload), close(1000), ping('too late'))], received: { anyOf: [[], [gotText(payload)]] } }
    },
  ),
  def('7.3.1', 'an empty CLOSE is answered with a CLOSE (empty or 1000)', byFuzzer([1005, 1000], true), () => ({
    steps: [send(close())],
    received: [],
  })),
  def('7.3.2', 'a CLOSE with a 1-byte payload is answered with 1002', byFuzzer([1002], false), () => ({
    steps: [send(closeRaw(Buffer.from([0x03])))],
    received: [],
  })),
  def('7.3.3', 'a CLOSE with code 1000 and no reason is answered with 1000', byFuzzer([1000], true), () => ({
    steps: [send(close(1000))],
    received: [],
  })),
  def('7.3.4', 'a CLOSE with code 1000 and a reason is answered with 1000', byFuzzer([1000], true), () => ({
    steps: [send(close(1000, 'goodbye, and thanks'))],
    received: [],
  })),
  def('7.3.5', 'a CLOSE with a 123-byte reason (the most that fits) is answered with 1000', byFuzzer([1000], true), () => ({
    steps: [send(close(1000, filler(123, 'r')))],
    received: [],
  })),
  def('7.3.6', 'a CLOSE with a 124-byte reason (a 126-byte control frame) is answered with 1002', byFuzzer([1002], false), () => ({
    steps: [send(close(1000, filler(124, 'r')))],
    received: [],
  })),
  def('7.5.1', 'a CLOSE whose reason is not UTF-8 is answered with 1007', byFuzzer([1007], false), () => ({
    steps: [send(close(1000, Buffer.concat([Buffer.from('bye'), Buffer.from('eda080', 'hex'), Buffer.from('now')])))],
    received: [],
  })),
  ...VALID_CODES.map((code, i) =>
    def(`7.7.${i + 1}`, `a CLOSE with valid code ${code} is answered (with ${code} or 1000)`, byFuzzer([code, 1000], true), () => ({
      steps: [send(close(code))],
      received: [],
    })),
  ),
  ...INVALID_CODES.map((code, i) =>
    def(`7.9.${i + 1}`, `a CLOSE with code ${code}, not allowed on the wire, is answered with 1002`, byFuzzer([1002], false), () => ({
      steps: [send(close(code))],
      received: [],
    })),
  ),
  ...OUT_OF_RANGE.map((code, i) =>
    def(`7.13.${i + 1}`, `a CLOSE with code ${code}, out of range, is answered with 1002`, byFuzzer([1002], false), () => ({
      steps: [send(close(code))],
      received: [],
    })),
  ),
]
