/**
 * RedisBroker against a real redis-server: two hubs with a broker each (as
 * two processes would have), sharded pub/sub, a client of the user's own,
 * what arrives on a channel that is not a hub's message, the option checks,
 * and a library that loads and works without the redis package installed.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import type { IncomingMessage } from 'node:http'
import t, { type Test } from 'tap'
import { createClient } from 'redis'
import { connect } from '../../../lib/handshake/client'
import type { WebSocketDuplex } from '../../../lib/connection/websocket-duplex'
import { Hub } from '../../../lib/server/hub/hub'
import { RedisBroker, type RedisBrokerOptions } from '../../../lib/server/hub/redis-broker'
import { startRedis, type RedisServer } from '../../helpers/redis-server'
import { serve } from '../../helpers/ws-pair'
import { nextEvent, record, until, within } from '../../helpers/ws-wait'

let redis: RedisServer
t.before(async () => {
  redis = await startRedis()
})
t.teardown(() => redis.stop())

/** A hub with its own broker, and a client of ours in `topic` on a server of its own. */
async function member(t: Test, options: Omit<RedisBrokerOptions, 'url' | 'client'> & { client?: RedisBrokerOptions['client'] }, topic: string) {
  const broker = new RedisBroker(options.client ? options : { ...options, url: redis.url })
  const hub = new Hub({ broker })
  t.teardown(() => hub.close())
  let server!: WebSocketDuplex
  const listening = await serve({}, (ws: WebSocketDuplex, _req: IncomingMessage) => {
    ws.on('error', () => {})
    server = ws
  })
  t.teardown(() => listening.close())
  const client = await within(connect(listening.url), 5000, 'connect')
  client.on('error', () => {})
  await until(() => server !== undefined, 5000, 'accepted')
  await within(hub.ready(), 10_000, 'the broker connects')
  await within(hub.join(server, topic), 5000, 'the subscription')
  return { hub, client, rec: record(client), server }
}

t.test('two hubs, each with its own broker connection, deliver to each other', async (t) => {
  const a = await member(t, {}, 'room')
  const b = await member(t, {}, 'room')
  a.hub.publish('room', 'from a')
  b.hub.publish('room', Buffer.from('from b'))
  await until(() => a.rec.messages.length === 2 && b.rec.messages.length === 2, 5000, 'both have both')
  t.same(a.rec.messages.map(String).sort(), ['from a', 'from b'])
  t.equal(typeof b.rec.messages.find((m) => String(m) === 'from a'), 'string', 'text arrives as text')
  t.ok(Buffer.isBuffer(a.rec.messages.find((m) => String(m) === 'from b')), 'binary as binary')
  t.match(a.hub.stats, { published: 1, received: 1, delivered: 2 }, 'its own publish is delivered once, not again when Redis echoes it')
})

t.test('sharded pub/sub (SSUBSCRIBE/SPUBLISH) carries the same messages', async (t) => {
  const a = await member(t, { sharded: true }, 'shard')
  const b = await member(t, { sharded: true }, 'shard')
  a.hub.publish('shard', 'sharded hello')
  await until(() => b.rec.messages.length === 1, 5000, 'b has it')
  t.same(b.rec.messages, ['sharded hello'])
  const admin = createClient({ url: redis.url })
  await admin.connect()
  t.teardown(() => admin.destroy())
  const sharded = (await admin.sendCommand(['PUBSUB', 'SHARDCHANNELS', 'watershed:*'])) as string[]
  t.same(sharded.map(String), ['watershed:shard'], 'the subscription is a sharded one')
})

t.test("a client of the user's own: duplicated for subscribing, left open at close", async (t) => {
  const client = createClient({ url: redis.url })
  await client.connect()
  t.teardown(() => client.destroy())
  const a = await member(t, { client, prefix: 'mine:' }, 'room')
  const b = await member(t, {}, 'room')
  const watcher = client.duplicate()
  await watcher.connect()
  t.teardown(() => watcher.destroy())
  const heard: Buffer[] = []
  await watcher.subscribe('mine:room', (message) => heard.push(message), true)
  a.hub.publish('room', 'on the wire')
  await until(() => heard.length === 1, 5000, 'the channel carries it')
  t.equal(heard[0].subarray(17).toString(), 'on the wire', 'under the prefix, behind a 17-byte envelope header')
  await until(() => a.rec.messages.length === 1, 5000, 'the local member has it')
  t.same(b.rec.messages, [], 'a hub with another prefix did not hear it: another set of channels')
  await a.hub.close()
  t.equal(client.isReady, true, "the user's client is still open after the hub closed")
  t.equal(await client.ping(), 'PONG')
})

t.test('what is not a hub message is refused and counted, never sent to a connection', async (t) => {
  const a = await member(t, {}, 'room')
  const reasons: string[] = []
  a.hub.on('malformed', (reason) => reasons.push(reason))
  const intruder = createClient({ url: redis.url })
  await intruder.connect()
  t.teardown(() => intruder.destroy())
  await intruder.publish('watershed:room', 'short')
  await intruder.publish('watershed:room', Buffer.concat([Buffer.from([0x07]), Buffer.alloc(16), Buffer.from('x')]))
  await intruder.publish('watershed:room', Buffer.concat([Buffer.from([0x01]), Buffer.alloc(16), Buffer.from([0xc3, 0x28])]))
  await intruder.publish('watershed:room', Buffer.concat([Buffer.from([0x01]), Buffer.alloc(16), Buffer.from('well formed')]))
  await until(() => a.rec.messages.length === 1, 5000, 'the well-formed one arrives')
  t.same(a.rec.messages, ['well formed'])
  t.same(reasons, [
    'an envelope of 5 bytes is shorter than its header',
    'unknown message kind 0x7',
    'a text message that is not valid UTF-8',
  ])
  t.match(a.hub.stats, { malformed: 3, received: 1 })
  t.equal(a.client.readableEnded, false, 'the connection is still open')
})

t.test('bad options are TypeErrors and RangeErrors', async (t) => {
  t.throws(() => new RedisBroker({} as never), /either a client or a url/)
  t.throws(() => new RedisBroker({ url: redis.url, client: createClient() } as never), /either a client or a url/)
  t.throws(() => new RedisBroker({ url: 6379 } as never), TypeError)
  t.throws(() => new RedisBroker({ client: {} } as never), TypeError)
  t.throws(() => new RedisBroker({ url: redis.url, prefix: 1 } as never), TypeError)
  t.throws(() => new RedisBroker({ url: redis.url, sharded: 'yes' } as never), TypeError)
  t.throws(() => new RedisBroker({ url: redis.url, maxPendingBytes: 0 }), RangeError)
  const broker = new RedisBroker({ url: redis.url })
  t.rejects(async () => broker.subscribe('x'), /not been started/)
  await broker.close()
})

t.test('without the redis package the library loads, the hub works, and a url broker says what is missing', async (t) => {
  // A process in which require('redis') fails as it does where the package is not installed.
  const script = `
    const Module = require('node:module')
    const resolve = Module._resolveFilename
    Module._resolveFilename = function (request, ...rest) {
      if (request === 'redis' || request.startsWith('@redis/')) {
        throw Object.assign(new Error("Cannot find module '" + request + "'"), { code: 'MODULE_NOT_FOUND' })
      }
      return resolve.call(this, request, ...rest)
    }
    const { Hub, RedisBroker } = require(${JSON.stringify(path.resolve(__dirname, '../../../dist'))})
    const hub = new Hub()
    console.log('hub', hub.publish('room', 'nobody here'))
    try { new RedisBroker({ url: 'redis://127.0.0.1:1' }) } catch (error) { console.log(error.message) }
  `
  const env = { ...process.env }
  delete env.NODE_OPTIONS
  const child = spawn(process.execPath, ['-e', script], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text))
  child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text))
  const [code] = await within(nextEvent(child, 'exit'), 10_000, 'the process')
  t.equal(code, 0, output)
  t.same(output.trim().split('\n'), [
    'hub 0',
    "a RedisBroker made from a url needs the optional package 'redis' (npm install redis), or pass a client",
  ])
})
