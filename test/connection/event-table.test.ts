/**
 * Listener tables, as a specification: a connection that an application
 * listens to, through either API, keeps its listeners in an object of shared
 * shape, not in a dictionary of its own (a hash table three times the size:
 * most of what the original API's layer added to an idle connection), and
 * still answers as an EventEmitter does.
 */
import { EventEmitter } from 'node:events'
import t from 'tap'
import { listenedEventNames, useEventTable } from '../../lib/connection/event-table'
import { hasFastProperties } from '../helpers/memory'
import { documentedClient, documentedServer } from '../helpers/original-api'
import { pair } from '../helpers/ws-pair'
import { nextEvent } from '../helpers/ws-wait'

type Listened = { _events: object }

t.test('a duplex listened to for every event it emits keeps a table of shared shape', async (t) => {
  const { server, client, cleanup } = await pair()
  t.teardown(cleanup)
  for (const ws of [server, client]) {
    for (const event of ['data', 'error', 'close', 'end', 'finish', 'drain', 'ping', 'pong', 'closing', 'disconnect']) ws.on(event, () => {})
    t.ok(hasFastProperties((ws as unknown as Listened)._events), `${ws.role}: not a dictionary`)
  }
  // And it still works as one: a ping answered, its pong seen.
  const pong = nextEvent<[Buffer]>(client, 'pong')
  client.ping('table')
  t.equal((await pong)[0].toString(), 'table', 'the pong came to its listener')
})

t.test("the original API's connection, as its documentation uses it, keeps tables of shared shape", async (t) => {
  const served = await documentedServer(t)
  const { wsc: client } = await documentedClient(t, served.port)
  const { wsc: server, log } = await served.next()
  for (const wsc of [server, client]) {
    t.ok(hasFastProperties((wsc as unknown as Listened)._events), 'its own table')
    t.ok(hasFastProperties((wsc.duplex as unknown as Listened)._events), "its duplex's table")
  }
  client.send('through')
  await nextEvent(server, 'text')
  t.same(log.texts, ['through'], 'the text came to its listener')
  t.same(server.eventNames().sort(), ['binary', 'connectionReset', 'end', 'error', 'ping', 'pong', 'text'], 'eventNames(): what is listened to')
})

t.test('eventNames() names only the events listened to, as Node streams answer', async (t) => {
  const { server, cleanup } = await pair()
  t.teardown(cleanup)
  const before = server.eventNames()
  t.notOk(before.includes('ping'), 'ping: no listener, not named')
  const onPing = () => {}
  server.on('ping', onPing)
  t.ok(server.eventNames().includes('ping'), 'named once listened to')
  server.off('ping', onPing)
  t.same(server.eventNames(), before, 'gone again once removed')
  t.equal(server.listenerCount('pong'), 0, 'a key without listeners counts none')
  t.equal(server.emit('pong', Buffer.alloc(0)), false, 'and emitting it reaches nobody')
})

t.test('useEventTable() keeps the listeners an emitter already has, and new events still work', async (t) => {
  const emitter = new EventEmitter()
  const seen: string[] = []
  emitter.on('early', (value: string) => seen.push(`early ${value}`))
  useEventTable(emitter, { known: undefined })
  emitter.on('known', (value: string) => seen.push(`known ${value}`))
  emitter.on('unlisted', (value: string) => seen.push(`unlisted ${value}`))
  emitter.emit('early', 'a')
  emitter.emit('known', 'b')
  emitter.emit('unlisted', 'c')
  t.same(seen, ['early a', 'known b', 'unlisted c'], 'every listener called')
  t.same(listenedEventNames(emitter).sort(), ['early', 'known', 'unlisted'])
  emitter.removeAllListeners('known')
  t.same(listenedEventNames(emitter).sort(), ['early', 'unlisted'], 'a removed event is no longer named')
})
