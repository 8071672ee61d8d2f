/**
 * The hub across processes: server processes of their own (each with our
 * server and a hub), joined through a real redis-server started for this
 * file. A message sent by a client of one process reaches the topic's
 * members in every process, text and binary, and nobody outside the topic.
 */
import t from 'tap'
import { createClient } from 'redis'
import { hubProcesses } from '../../helpers/hub-process'
import { nextEvent, until } from '../../helpers/ws-wait'

t.test('messages published in one process reach the members in every process', async (t) => {
  const { processes } = await hubProcesses(t, ['one', 'two', 'three'])
  const [one, two, three] = processes

  const alice = await one.join('room')
  const bob = await two.join('room')
  const carol = await three.join('room')
  const dave = await three.join('elsewhere')

  alice.ws.write('hello from one')
  alice.ws.write(Buffer.from([0, 1, 2, 255]))
  bob.ws.write('ünïcödé from two ✓')
  await until(() => [alice, bob, carol].every((m) => m.rec.messages.length === 3), 10_000, 'every member has three messages')
  for (const [who, member] of [['alice', alice], ['bob', bob], ['carol', carol]] as const) {
    const texts = member.rec.messages.filter((m) => typeof m === 'string')
    const binary = member.rec.messages.filter((m) => Buffer.isBuffer(m)) as Buffer[]
    t.same(texts.sort(), ['hello from one', 'ünïcödé from two ✓'], `${who} has both texts, as text`)
    t.same(binary.map((b) => [...b]), [[0, 1, 2, 255]], `${who} has the binary message, as binary`)
    // One publisher's messages keep their order everywhere.
    t.same(member.rec.messages.filter((m) => m !== 'ünïcödé from two ✓').map(String), ['hello from one', String(Buffer.from([0, 1, 2, 255]))])
  }
  dave.ws.ping('round trip')
  await nextEvent(dave.ws, 'pong')
  t.same(dave.rec.messages, [], 'a member of another topic gets none of it')

  const statsOne = await one.stats()
  const statsThree = await three.stats()
  t.match(statsOne, { published: 2, received: 1, unsent: 0, malformed: 0, connected: true })
  t.match(statsThree, { published: 0, received: 3 })
})

t.test('one subscriber connection per process, however many topics and sockets', async (t) => {
  const { redis, processes } = await hubProcesses(t, ['one', 'two'])
  for (const p of processes) {
    for (const topic of ['a', 'b', 'c', 'd']) {
      await p.join(topic)
      await p.join(topic)
    }
  }
  const admin = createClient({ url: redis.url })
  await admin.connect()
  t.teardown(() => admin.destroy())
  const clients = String(await admin.sendCommand(['CLIENT', 'LIST'])).trim().split('\n')
  const subscribers = clients.filter((line) => /\bflags=\S*P/.test(line))
  t.equal(subscribers.length, 2, 'two processes, two subscriber connections (16 sockets in 4 topics)')
  t.ok(subscribers.every((line) => /\bsub=4\b/.test(line)), 'each subscribed to the 4 topics once', { subscribers })
  t.equal(clients.length, 2 * 2 + 1, 'and one publishing connection each (plus this one)')
  const channels = (await admin.sendCommand(['PUBSUB', 'CHANNELS', 'watershed:*'])) as string[]
  t.same([...channels].map(String).sort(), ['watershed:a', 'watershed:b', 'watershed:c', 'watershed:d'], 'one channel per topic, under the prefix')
})
