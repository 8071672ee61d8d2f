/**
 * How the hub behaves when things break, with real processes and a real
 * redis-server: the broker restarts (the hubs reconnect and resubscribe;
 * what was published meanwhile is lost, and they say so), the broker is not
 * there at start (local delivery works, the broker is joined when it comes),
 * a server process dies (its connections are gone, the others go on).
 */
import t from 'tap'
import { RedisServer, freePort } from '../../helpers/redis-server'
import { HubProcess, hubProcesses } from '../../helpers/hub-process'
import { closedWithin, nextEvent, until } from '../../helpers/ws-wait'

/** Waits until a round trip through `ws` is done: anything sent to it before has arrived by then. */
async function settled(ws: { ping(data: string): boolean } & NodeJS.EventEmitter): Promise<void> {
  ws.ping('')
  await nextEvent(ws, 'pong')
}

t.test('the broker restarts: both hubs reconnect and resubscribe, and report what was lost', async (t) => {
  const { redis, processes: [one, two] } = await hubProcesses(t, ['one', 'two'])
  const alice = await one.join('room')
  const alsoOne = await one.join('room')
  const bob = await two.join('room')
  alice.ws.write('before')
  await until(() => bob.rec.messages.length === 1, 10_000, 'bob has the first message')

  // Events from here on: both hubs said 'broker-up' once already, at start.
  const [fromOne, fromTwo] = [one.events.length, two.events.length]
  await redis.kill()
  await one.waitFor((e) => e.event === 'broker-down', 10_000, fromOne)
  await two.waitFor((e) => e.event === 'broker-down', 10_000, fromTwo)
  alice.ws.write('during the outage')
  await until(() => alsoOne.rec.messages.length === 2, 5000, "alice's neighbour in her own process still gets it")
  await settled(bob.ws)
  t.same(bob.rec.messages, ['before'], 'nothing crosses while the broker is down')
  t.match(await one.stats(), { unsent: 1, outages: 1, connected: false })

  await redis.restart()
  const loss = await one.waitFor((e) => e.event === 'loss', 15_000, fromOne)
  t.equal(loss.unsent, 1, "'loss' counts the message that could not be sent")
  t.ok((loss.ms as number) > 0, 'and gives the outage window')
  await one.waitFor((e) => e.event === 'broker-up', 15_000, fromOne)
  await two.waitFor((e) => e.event === 'broker-up', 15_000, fromTwo)
  t.match(await two.stats(), { outages: 1, connected: true })

  // Resubscribed without anyone joining again.
  alice.ws.write('after')
  bob.ws.write('bob is back')
  await until(() => bob.rec.messages.length === 3 && alice.rec.messages.length === 4, 10_000, 'messages cross again')
  // (Each publisher's messages keep their order; two publishers' may interleave either way.)
  t.same(bob.rec.messages.slice(1).sort(), ['after', 'bob is back'], 'the message of the outage is lost, the later ones arrive')
  t.same(alice.rec.messages.slice(2).sort(), ['after', 'bob is back'])
})

t.test('the broker is unreachable at start: the process serves locally and joins the broker when it comes', async (t) => {
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  const lonely = await HubProcess.start(url, 'lonely')
  t.teardown(() => lonely.kill())
  const down = await lonely.waitFor((e) => e.event === 'broker-down')
  t.match(down.error, /ECONNREFUSED/, 'broker-down carries the reason')

  // The connections are served, and the hub works in its own process meanwhile.
  const { ws: ann, rec: annRec } = await lonely.connect('room')
  const { rec: benRec } = await lonely.connect('room')
  ann.write('local while alone')
  await until(() => annRec.messages.length === 1 && benRec.messages.length === 1, 5000, 'both local members have it')
  t.match(await lonely.stats(), { published: 1, delivered: 2, unsent: 1, outages: 1, connected: false })

  // Redis comes up on that port: the hub connects, subscribes, and reports the loss window.
  const redis = new RedisServer()
  t.teardown(() => redis.stop())
  await redis.start(port)
  await lonely.waitFor((e) => e.event === 'broker-up', 15_000)
  const loss = await lonely.waitFor((e) => e.event === 'loss')
  t.equal(loss.unsent, 1)
  await lonely.waitFor((e) => e.event === 'joined' && e.topic === 'room')
  const other = await HubProcess.start(url, 'other')
  t.teardown(() => other.kill())
  const cleo = await other.join('room')
  cleo.ws.write('hello from other')
  await until(() => annRec.messages.length === 2, 10_000, 'ann gets what cleo sent from the other process')
  t.same(annRec.messages, ['local while alone', 'hello from other'])
  t.equal(lonely.stderr, '', 'and the lonely process never complained on stderr')
})

t.test('a server process dies: its connections are gone, the other processes go on', async (t) => {
  const { processes: [one, two, doomed] } = await hubProcesses(t, ['one', 'two', 'doomed'])
  const [alice, bob, victim] = await Promise.all([one, two, doomed].map((p) => p.join('room')))
  alice.ws.write('all three')
  await until(() => victim.rec.messages.length === 1 && bob.rec.messages.length === 1, 10_000, 'everyone has the first')

  doomed.kill('SIGKILL')
  t.same((await closedWithin(victim.rec, 5000, "the dead process's client sees the end"))[0], 1006, 'closed abnormally: nobody sent a CLOSE')
  t.equal((await doomed.exited).signal, 'SIGKILL')

  alice.ws.write('two left')
  bob.ws.write('still here')
  await until(() => alice.rec.messages.length === 3 && bob.rec.messages.length === 3, 10_000, 'the others still talk')
  t.same(alice.rec.messages.sort(), ['all three', 'still here', 'two left'])
  t.same(bob.rec.messages.sort(), ['all three', 'still here', 'two left'])
  t.match(await one.stats(), { outages: 0, unsent: 0, connected: true }, 'the broker never went away for the others')
})
