/**
 * Slow consumers never hold up the rest: one client that never reads among
 * 500 that do. The stalled one's outbound queue stays within the hub's
 * budget (the messages it cannot take are dropped and counted, or it is
 * closed, as the policy says), and the others get every message as fast as
 * they did without it: measured, round by round.
 */
import type { IncomingMessage } from 'node:http'
import t, { type Test } from 'tap'
import { connect } from '../../../lib/handshake/client'
import type { WebSocketDuplex } from '../../../lib/connection/websocket-duplex'
import { Hub } from '../../../lib/server/hub/hub'
import type { HubOptions } from '../../../lib/server/hub/options'
import { serve } from '../../helpers/ws-pair'
import { rawConnect } from '../../helpers/ws-raw'
import { until, within } from '../../helpers/ws-wait'
import { MiB, retained } from '../../helpers/memory'

const READERS = 500
const ROUNDS = 40
const MESSAGE = 'm'.repeat(1024)
const BUDGET = 64 * 1024

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

/** A hub and a server whose connections the test finds by the path they asked for. */
async function setUp(t: Test, options: HubOptions) {
  const hub = new Hub(options)
  const accepted = new Map<string, WebSocketDuplex>()
  const listening = await serve({}, (ws: WebSocketDuplex, req: IncomingMessage) => {
    ws.on('error', () => {})
    accepted.set(req.url!, ws)
  })
  t.teardown(() => listening.close())
  return { hub, accepted, listening }
}

/** `count` clients of ours that read everything; each counts what it has received. */
async function readers(t: Test, url: string, count: number) {
  const received = new Array<number>(count).fill(0)
  const clients: WebSocketDuplex[] = []
  for (let i = 0; i < count; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, (_, j) => within(connect(`${url}reader-${i + j}`), 10_000, 'connect')),
    )
    batch.forEach((ws, j) => {
      ws.on('error', () => {})
      ws.on('data', () => received[i + j]++)
    })
    clients.push(...batch)
  }
  t.teardown(() => clients.forEach((ws) => ws.destroy()))
  return { clients, received }
}

/**
 * A client that completes the handshake and then never reads a byte, with
 * its TCP buffers (and the server's) already full: the hub has been feeding
 * it alone until the budget turned a message away.
 */
async function stalledClient(t: Test, setup: Awaited<ReturnType<typeof setUp>>) {
  const raw = await rawConnect(setup.listening.port)
  t.teardown(() => raw.socket.destroy())
  await until(() => setup.accepted.has('/'), 5000, 'the server has the stalled connection')
  const server = setup.accepted.get('/')!
  await setup.hub.join(server, 'fill')
  const block = Buffer.alloc(16 * 1024)
  for (let sent = 0; setup.hub.stats.dropped + setup.hub.stats.closedSlow === 0; sent += block.length) {
    if (sent > 64 * MiB) throw new Error('64 MiB went to a client that reads nothing, and the budget never turned a message away')
    setup.hub.publish('fill', block)
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
  return server
}

/** Publishes ROUNDS messages one at a time; each round ends when every reader has it. Returns the rounds' times in ms. */
async function rounds(hub: Hub, received: number[], sample: () => void): Promise<number[]> {
  const times: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const target = received[0] + 1
    const start = performance.now()
    hub.publish('all', MESSAGE)
    sample()
    await until(() => received.every((n) => n >= target), 10_000, `round ${round}: every reader has the message`)
    times.push(performance.now() - start)
  }
  return times
}

t.test("'drop': a client that never reads among 500 that do", async (t) => {
  const setup = await setUp(t, { outboundBudget: BUDGET, slowConsumer: 'drop' })
  const { hub, listening } = setup
  const stalled = await stalledClient(t, setup)
  t.equal(hub.droppedFor(stalled), 1, 'the stalled client is full: its first message over budget was dropped')
  const { clients, received } = await readers(t, listening.url, READERS)
  for (let i = 0; i < READERS; i++) await hub.join(setup.accepted.get(`/reader-${i}`)!, 'all')
  t.equal(clients.length, READERS)

  const without = await rounds(hub, received, () => {})
  await hub.join(stalled, 'all')
  let largest = 0
  const droppedBefore = hub.droppedFor(stalled)
  const heldBefore = stalled.bufferedAmount
  const withStalled = await rounds(hub, received, () => (largest = Math.max(largest, stalled.bufferedAmount)))

  t.ok(received.every((n) => n === 2 * ROUNDS), `all ${READERS} readers got all ${2 * ROUNDS} messages`)
  const dropped = hub.droppedFor(stalled) - droppedBefore
  const frame = MESSAGE.length + 4
  // Room left under the budget took a few messages; every one after that was dropped, and counted.
  t.ok(dropped >= ROUNDS - Math.floor((BUDGET - heldBefore) / frame), `${dropped} of ${ROUNDS} messages dropped for the stalled client`)
  t.equal(stalled.bufferedAmount - heldBefore, (ROUNDS - dropped) * frame, 'each message was either queued for it or counted as dropped')
  t.equal(hub.stats.dropped, hub.droppedFor(stalled), 'no reader lost a message')
  t.ok(largest <= BUDGET, `its queue stayed within the budget: at most ${largest} bytes (budget ${BUDGET}; ${heldBefore} when it joined)`)

  // 64 MiB more for it alone: an unbounded queue would now hold all of it.
  const base = retained()
  const block = Buffer.alloc(16 * 1024)
  for (let i = 0; i < 4096; i++) hub.publish('fill', block)
  const growth = retained() - base
  t.ok(growth < 8 * MiB, `64 MiB published to it, the process holds ${(growth / MiB).toFixed(1)} MiB more`)
  t.ok(stalled.bufferedAmount <= BUDGET, 'its queue is still within the budget')

  const [a, b] = [median(without), median(withStalled)]
  t.comment(`median round (publish until ${READERS} readers have it): ${a.toFixed(1)} ms without the stalled client, ${b.toFixed(1)} ms with it`)
  t.ok(b <= a * 2 + 5, `the readers are not held up: ${b.toFixed(1)} ms a round with the stalled client, ${a.toFixed(1)} ms without`)
})

t.test("'close': the client that never reads is closed with 1013 and let go; the readers go on", async (t) => {
  const setup = await setUp(t, { outboundBudget: BUDGET, slowConsumer: 'close', slowCloseTimeout: 500 })
  const { hub, listening } = setup
  const overflows: Array<[string, string]> = []
  hub.on('overflow', (_ws, topic, action) => overflows.push([topic, action]))
  const stalled = await stalledClient(t, setup)
  t.same(overflows, [['fill', 'closed']], "one 'overflow' event: closed")
  t.equal(hub.stats.closedSlow, 1)
  t.same(hub.topicsOf(stalled), [], 'it left its groups at once')
  t.ok(stalled.writableEnded, 'its closing handshake has begun (the CLOSE waits behind its queue)')
  const closed = await within(new Promise<number>((resolve) => stalled.once('close', resolve)), 5000, 'the stalled connection ends')
  t.equal(closed, 1006, 'a peer that reads nothing never answers the CLOSE: destroyed after slowCloseTimeout')
  t.ok(stalled.destroyed)

  const { received } = await readers(t, listening.url, 50)
  for (let i = 0; i < 50; i++) await hub.join(setup.accepted.get(`/reader-${i}`)!, 'all')
  await rounds(hub, received, () => {})
  t.ok(received.every((n) => n === ROUNDS), 'the readers get everything')
})

t.test("'close' with 1008: a reader that catches up late gets the CLOSE after what was queued", async (t) => {
  const setup = await setUp(t, { outboundBudget: BUDGET, slowConsumer: 'close', slowCloseCode: 1008 })
  const { hub, listening } = setup
  const ws = await within(connect(`${listening.url}slow`), 5000, 'connect')
  ws.on('error', () => {})
  ws.pause()
  await until(() => setup.accepted.has('/slow'), 5000, 'accepted')
  const server = setup.accepted.get('/slow')!
  await hub.join(server, 'all')
  const block = Buffer.alloc(64 * 1024)
  let sent = 0
  while (hub.stats.closedSlow === 0) {
    sent += hub.publish('all', block)
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
  // Now it reads: every message queued before the CLOSE arrives, then the CLOSE with 1008.
  let got = 0
  const closed = new Promise<[number, string]>((resolve) => ws.once('closing', (code: number, reason: string) => resolve([code, reason])))
  ws.on('data', () => got++)
  ws.resume()
  const [code, reason] = await within(closed, 10_000, 'the CLOSE')
  t.equal(code, 1008)
  t.equal(reason, 'too slow: outbound budget exceeded')
  t.equal(got, sent, `all ${sent} messages accepted for it arrived before the CLOSE`)
})
