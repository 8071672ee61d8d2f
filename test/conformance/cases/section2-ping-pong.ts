/**
 * Section 2: PING and PONG. Every PING is answered with a PONG carrying the
 * same payload; unsolicited PONGs are ignored; a PING over 125 bytes is a
 * protocol error (control frames are limited to 125, section 5.5).
 */
import { type Case, NORMAL, PROTOCOL_ERROR, def, filler, gotPong, ping, pong, send, sendChopped } from '../case'

const SMALL_BINARY = Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff])
const tenPayloads = Array.from({ length: 10 }, (_, i) => `ping number ${i}`)

export const section2: Case[] = [
  def('2.1', 'a PING without payload is answered by an empty PONG', NORMAL, () => ({
    steps: [send(ping())],
    received: [gotPong()],
  })),
  def('2.2', 'a PING with a short text payload is answered with the same payload', NORMAL, () => ({
    steps: [send(ping('are you there?'))],
    received: [gotPong('are you there?')],
  })),
  def('2.3', 'a PING with a short binary (not UTF-8) payload is answered with the same bytes', NORMAL, () => ({
    steps: [send(ping(SMALL_BINARY))],
    received: [gotPong(SMALL_BINARY)],
  })),
  def('2.4', 'a PING with a 125-byte payload (the maximum) is answered', NORMAL, () => {
    const payload = filler(125, Buffer.from([0xfe]))
    return { steps: [send(ping(payload))], received: [gotPong(payload)] }
  }),
  def('2.5', 'a PING with a 126-byte payload fails the connection with 1002', PROTOCOL_ERROR, () => ({
    steps: [send(ping(filler(126, Buffer.from([0xfe]))))],
    received: [],
  })),
  def('2.6', 'a 125-byte PING written one byte at a time is answered', NORMAL, () => {
    const payload = filler(125, Buffer.from([0xfe]))
    return { steps: [sendChopped(1, ping(payload))], received: [gotPong(payload)] }
  }),
  def('2.7', 'an unsolicited empty PONG is ignored', NORMAL, () => ({ steps: [send(pong())], received: [] })),
  def('2.8', 'an unsolicited PONG with payload is ignored', NORMAL, () => ({
    steps: [send(pong('nobody asked'))],
    received: [],
  })),
  def('2.9', 'an unsolicited PONG followed by a PING: only the PING is answered', NORMAL, () => ({
    steps: [send(pong('nobody asked'), ping('this one did'))],
    received: [gotPong('this one did')],
  })),
  def('2.10', 'ten PINGs in a row are each answered, in order', NORMAL, () => ({
    steps: [send(...tenPayloads.map((p) => ping(p)))],
    received: tenPayloads.map((p) => gotPong(p)),
  })),
  def('2.11', 'ten PINGs written one byte at a time are each answered, in order', NORMAL, () => ({
    steps: tenPayloads.map((p) => sendChopped(1, ping(p))),
    received: tenPayloads.map((p) => gotPong(p)),
  })),
]
