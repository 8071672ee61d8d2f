/**
 * The heartbeat finds peers that are gone without a word, and only those:
 * a peer that answers, a peer busy sending one long frame, and a peer we
 * ourselves stopped reading from all stay connected.
 */
import t, { type Test } from 'tap'
import { connect } from '../../lib/handshake/client'
import { Opcode } from '../../lib/protocol/frame'
import { Heartbeat } from '../../lib/connection/heartbeat'
import { tcp } from '../../lib/connection/transport'
import { clientFrame } from '../helpers/frames'
import { pair, serve } from '../helpers/ws-pair'
import { rawConnect, rawServe, WireReader } from '../helpers/ws-raw'
import { closedWithin, delay, record, until } from '../helpers/ws-wait'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import type { Socket } from 'node:net'

const BEAT = { interval: 80, timeout: 80 }

/** A server whose connections all have the heartbeat; each duplex is recorded. */
async function heartbeatServer(t: Test) {
  const accepted: WebSocketDuplex[] = []
  const listening = await serve({ heartbeat: BEAT, closeTimeout: 500 }, (ws) => {
    accepted.push(ws)
  })
  t.teardown(() => listening.close())
  return { listening, accepted }
}

t.test('settings that cannot work are refused at once', async (t) => {
  const socket = { bytesRead: 0, isPaused: () => false } as unknown as Socket
  for (const bad of [0, -5, Number.NaN, Infinity, { interval: 100, timeout: 0 }]) {
    t.throws(() => new Heartbeat(socket, tcp, bad, () => {}, () => {}), RangeError, `heartbeat ${JSON.stringify(bad)}`)
  }
})

t.test('a peer that answers the pings stays connected, and gets a ping every interval', async (t) => {
  const { server, client, cleanup } = await pair({ server: { heartbeat: BEAT } })
  t.teardown(cleanup)
  const serverRec = record(server)
  const clientRec = record(client)
  await delay(700)
  t.same(serverRec.errors, [], 'no error on the server')
  t.ok(clientRec.pings.length >= 4, `the client was pinged ${clientRec.pings.length} times in 700 ms`)
  t.ok(serverRec.pongs.length >= 4, `the server saw ${serverRec.pongs.length} pongs`)
  t.equal(server.destroyed, false, 'the connection is open')
  client.write('still here')
  await until(() => serverRec.messages.length === 1, 2000, 'message after the heartbeats')
  t.equal(serverRec.messages[0], 'still here')
})

t.test('a half-open connection (the peer went silent, reads nothing, sends nothing) is failed as 1006', async (t) => {
  const { listening, accepted } = await heartbeatServer(t)
  // The peer's machine is gone: its socket neither reads nor answers.
  const { socket } = await rawConnect(listening.port)
  t.teardown(() => socket.destroy())
  await until(() => accepted.length === 1, 2000, 'accepted')
  const ws = accepted[0]
  const rec = record(ws)
  const started = Date.now()
  const [code] = await closedWithin(rec, 3000, 'the heartbeat to give up')
  t.equal(code, 1006, 'closed abnormally: no CLOSE could be exchanged')
  t.equal(rec.errors.length, 1, 'one error')
  t.equal(rec.errors[0].code, 'WS_ERR_HEARTBEAT_TIMEOUT')
  t.ok(Date.now() - started >= BEAT.interval, 'not before a ping went unanswered')
  t.ok(ws.socket.destroyed, 'the TCP connection is gone')
})

t.test('the client side has the same heartbeat: a server that stops answering is found', async (t) => {
  const silent: Socket[] = []
  const server = await rawServe((socket) => silent.push(socket))
  t.teardown(() => server.close())
  const client = await connect(server.url, { heartbeat: BEAT, closeTimeout: 500 })
  const rec = record(client)
  const [code] = await closedWithin(rec, 3000, 'the client heartbeat to give up')
  t.equal(code, 1006)
  t.equal(rec.errors[0]?.code, 'WS_ERR_HEARTBEAT_TIMEOUT')
})

t.test('a peer busy sending one long frame is alive, although its PONG cannot come before the frame ends', async (t) => {
  const { listening, accepted } = await heartbeatServer(t)
  const { socket } = await rawConnect(listening.port)
  t.teardown(() => socket.destroy())
  const reader = new WireReader(socket, 'client')
  await until(() => accepted.length === 1, 2000, 'accepted')
  const rec = record(accepted[0])
  const size = 40 * 1024
  const whole = clientFrame({ opcode: Opcode.BINARY, payload: Buffer.alloc(size, 7) })
  // About 600 ms of trickling: several heartbeat rounds, none of them answered with a PONG.
  const steps = 30
  const step = Math.ceil(whole.length / steps)
  for (let at = 0; at < whole.length; at += step) {
    socket.write(whole.subarray(at, at + step))
    await delay(20)
  }
  await until(() => rec.messages.length === 1, 2000, 'the long message')
  t.equal((rec.messages[0] as Buffer).length, size, 'the whole frame arrived')
  t.ok(reader.frames.some((f) => f.opcode === Opcode.PING), 'pings were sent meanwhile')
  t.same(rec.errors, [], 'no heartbeat failure')
})

t.test('a peer whose bytes we do not read (our reader is slow) is not declared dead', async (t) => {
  const { server, client, cleanup } = await pair({
    server: { heartbeat: BEAT, readableHighWaterMark: 1 },
  })
  t.teardown(cleanup)
  const errors: Error[] = []
  server.on('error', (error) => errors.push(error))
  // Nobody reads on the server: the client's messages, and its pongs behind them, pile up in TCP.
  const chunk = Buffer.alloc(64 * 1024)
  const written = 100
  for (let i = 0; i < written; i++) client.write(chunk)
  await until(() => server.socket.isPaused(), 3000, 'the server socket paused by backpressure')
  await delay(600)
  t.same(errors, [], 'no heartbeat failure while we were the ones not reading')
  t.equal(server.destroyed, false)
  // Reading again: everything arrives, and the connection is healthy.
  let received = 0
  server.on('data', () => received++)
  await until(() => received === written, 5000, 'every message read')
  t.pass(`${received} messages read after the pause`)
})

t.test('the heartbeat stops with the closing handshake: no ping after CLOSE, no timer left', async (t) => {
  const { listening, accepted } = await heartbeatServer(t)
  const { socket } = await rawConnect(listening.port)
  const reader = new WireReader(socket, 'client')
  await until(() => accepted.length === 1, 2000, 'accepted')
  const rec = record(accepted[0])
  socket.write(clientFrame({ opcode: Opcode.CLOSE, payload: Buffer.from([0x03, 0xe8]) }))
  const [code] = await closedWithin(rec, 2000)
  t.equal(code, 1000, 'a clean close')
  const frames = reader.frames.length
  await delay(300)
  t.equal(reader.frames.length, frames, 'nothing sent after the close')
  t.equal(reader.frames.filter((f) => f.opcode === Opcode.CLOSE).length, 1, 'one CLOSE answered')
  t.same(rec.errors, [])
})

t.test('heartbeat pings are ordinary unmasked server PINGs with an empty payload', async (t) => {
  const { listening, accepted } = await heartbeatServer(t)
  const { socket } = await rawConnect(listening.port)
  t.teardown(() => socket.destroy())
  const reader = new WireReader(socket, 'client')
  await until(() => accepted.length === 1, 2000, 'accepted')
  accepted[0].on('error', () => {})
  await reader.waitFor(() => reader.frames.length > 0, 2000, 'a ping')
  const ping = reader.frames[0]
  t.equal(ping.opcode, Opcode.PING)
  t.equal(ping.payload.length, 0)
  t.equal(ping.masked, false, 'a server ping is not masked')
})
