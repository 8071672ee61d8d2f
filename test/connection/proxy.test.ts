/**
 * Proxies built from the public pieces: a message-level proxy that pipes two
 * duplexes into each other, a byte-level proxy over raw sockets, and a
 * frame-level proxy made of a decoder and an encoder in each direction.
 */
import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import { pipeline } from 'node:stream'
import { pipeline as rsPipeline } from 'readable-stream'
import t, { type Test } from 'tap'
import { connect } from '../../lib/handshake/client'
import { FrameDecoder } from '../../lib/stages/frame-decoder'
import { FrameEncoder } from '../../lib/stages/frame-encoder'
import { accept } from '../../lib/handshake/server'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { listen, serve } from '../helpers/ws-pair'
import { closedWithin, nextEvent, record, until, within, type Recording } from '../helpers/ws-wait'

/** An echo backend that records each connection it accepts. */
async function echoBackend() {
  const connections: Array<{ ws: WebSocketDuplex; rec: Recording }> = []
  const listening = await serve({}, (ws) => {
    const rec = record(ws)
    ws.on('data', (message: string | Buffer) => ws.write(message))
    connections.push({ ws, rec })
  })
  return { listening, connections }
}

const MESSAGES = () => ['hello', '', 'ünïcödé ✓', Buffer.from([0, 1, 2, 255]), Buffer.alloc(0), randomBytes(300 * 1024)]

/** A message proxy: each client connection piped to its own backend connection with `pipe3`. */
async function messageProxy(t: Test, pipe3: typeof pipeline, backendUrl: string) {
  const legs: Array<{ front: WebSocketDuplex; back: WebSocketDuplex; done: Promise<Error | null | undefined> }> = []
  const front = await serve({}, (a) => {
    a.on('error', () => {})
    void connect(backendUrl).then((b) => {
      b.on('error', () => {})
      const done = new Promise<Error | null | undefined>((resolve) => pipe3(a, b, a, resolve))
      legs.push({ front: a, back: b, done })
    })
  })
  t.teardown(() => front.close())
  return { front, legs }
}

const pipelines = { 'node:stream': pipeline, 'readable-stream': rsPipeline as unknown as typeof pipeline }

for (const [name, pipe3] of Object.entries(pipelines)) {
  t.test(`message-level proxy: pipeline(a, b, a) from ${name}`, async (t) => {
    const backend = await echoBackend()
    t.teardown(() => backend.listening.close())
    const { front, legs } = await messageProxy(t, pipe3, backend.listening.url)

    /** A client through the proxy, once both legs stand; the backend's side of it. */
    const through = async () => {
      const client = await within(connect(front.url), 5000, 'connect through the proxy')
      t.teardown(() => client.destroy())
      const count = backend.connections.length + 1
      await until(() => legs.length === count && backend.connections.length === count, 5000, 'both legs')
      return { client, c: record(client), back: backend.connections[count - 1], leg: legs[count - 1] }
    }

    t.test('messages pass both ways, types kept; a clean close ends the pipeline without error', async (t) => {
      const { client, c, back, leg } = await through()
      const sent = MESSAGES()
      for (const message of sent) client.write(message)
      await until(() => c.messages.length === sent.length, 10000, 'every echo')
      t.strictSame(c.messages, sent, 'messages round-trip through the proxy, types kept')
      const backRec = record(leg.back, { read: false })
      client.close(1000)
      await closedWithin(c, 5000, "the client's close")
      const [backendCode] = await closedWithin(back.rec, 5000, "the backend's close")
      t.equal(backendCode, 1000, 'the backend saw a clean close')
      await closedWithin(backRec, 5000, "the proxy's backend leg to close")
      t.ok(leg.front.destroyed && leg.back.destroyed, 'both proxy legs are closed')
      // 'finish' waits for each leg's TCP close, so a clean close ends the pipeline without error.
      const error = (await within(leg.done, 5000, 'the pipeline to finish')) as (Error & { code?: string }) | undefined
      t.notOk(error, `the pipeline ended without error (${error?.code})`)
    })

    t.test("the client's close code and reason reach the backend, and its echo comes back", async (t) => {
      const { client, c, back } = await through()
      client.close(4001, 'leaving through the proxy')
      t.strictSame(await closedWithin(back.rec), [4001, 'leaving through the proxy'], "the backend's view")
      t.strictSame(await closedWithin(c), [4001, ''], "the client gets its code echoed")
    })

    t.test("the backend's close code and reason reach the client", async (t) => {
      const { c, back } = await through()
      back.ws.close(4002, 'the backend is done')
      t.strictSame(await closedWithin(c), [4002, 'the backend is done'], "the client's view")
      t.equal((await closedWithin(back.rec))[0], 4002, "the backend gets its code echoed")
    })

    t.test('a close chosen by the proxy itself wins over the forwarded one', async (t) => {
      const { c, back, leg } = await through()
      leg.back.close(4003, 'proxy policy')
      t.strictSame(await closedWithin(back.rec), [4003, 'proxy policy'], "the backend's view")
      t.equal((await closedWithin(c))[0], 4003, "the backend's echo, forwarded to the client")
    })
  })
}

/** A proxy that joins the client's socket and the backend's socket as given by `join`. */
async function socketProxy(backendUrl: string, join: (front: Socket, back: Socket, done: (error?: Error | null) => void) => void) {
  const finished: Array<Error | null | undefined> = []
  const listening = await listen((req, socket, head) => {
    const front = accept(req, socket, head, { raw: true })
    front.on('error', () => {})
    void connect(backendUrl, { raw: true }).then((back) => {
      back.on('error', () => {})
      join(front, back, (error) => finished.push(error))
    })
  })
  return { listening, finished }
}

const rawJoin = (front: Socket, back: Socket, done: (error?: Error | null) => void) => {
  pipeline(front, back, front, (error) => done(error))
}

const frameJoin = (front: Socket, back: Socket, done: (error?: Error | null) => void) => {
  pipeline(
    front,
    new FrameDecoder({ role: 'server' }), // the client's masked frames
    new FrameEncoder({ role: 'client' }), // re-masked for the backend
    back,
    new FrameDecoder({ role: 'client' }), // the backend's unmasked frames
    new FrameEncoder({ role: 'server' }),
    front,
    (error) => done(error),
  )
}

for (const [kind, join] of [['raw-mode', rawJoin], ['frame-level', frameJoin]] as const) {
  t.test(`${kind} proxy passes everything through untouched`, async (t) => {
    const backend = await echoBackend()
    t.teardown(() => backend.listening.close())
    const proxy = await socketProxy(backend.listening.url, join)
    t.teardown(() => proxy.listening.close())

    /** A client connected through the proxy, and the backend's side of that connection. */
    const throughProxy = async (t: Test) => {
      const before = backend.connections.length
      const client = await within(connect(proxy.listening.url), 5000, 'connect through the proxy')
      t.teardown(() => client.destroy())
      const c = record(client)
      await until(() => backend.connections.length === before + 1, 5000, 'the backend connection')
      return { client, c, back: backend.connections[before] }
    }

    for (const fragmentSize of [undefined, 1000]) {
      t.test(fragmentSize ? `messages sent in ${fragmentSize}-byte fragments` : 'whole messages', async (t) => {
        const client = await within(connect(proxy.listening.url, { fragmentSize }), 5000, 'connect through the proxy')
        t.teardown(() => client.destroy())
        const c = record(client)
        const sent = MESSAGES()
        for (const message of sent) client.write(message)
        await until(() => c.messages.length === sent.length, 10000, 'every echo')
        t.strictSame(c.messages, sent, 'text and binary round-trip, types kept')
        client.close(1000)
        await closedWithin(c)
      })
    }

    t.test('ping and pong, both ways', async (t) => {
      const { client, c, back } = await throughProxy(t)

      const clientPong = nextEvent<[Buffer]>(client, 'pong')
      client.ping('through the proxy')
      t.equal((await clientPong)[0].toString(), 'through the proxy', "the backend's pong reached the client")
      t.strictSame(back.rec.pings.map(String), ['through the proxy'], 'the ping reached the backend')

      const backendPong = nextEvent<[Buffer]>(back.ws, 'pong')
      back.ws.ping(Buffer.from([7, 7, 7]))
      t.strictSame((await backendPong)[0], Buffer.from([7, 7, 7]), "the client's pong reached the backend")
      t.strictSame(c.pings, [Buffer.from([7, 7, 7])], 'the ping reached the client')
      client.close()
      await closedWithin(c)
      await closedWithin(back.rec)
    })

    t.test('a close code and reason from the client reach the backend', async (t) => {
      const { client, c, back } = await throughProxy(t)
      client.close(4002, 'closed through the proxy')
      t.strictSame(await closedWithin(back.rec), [4002, 'closed through the proxy'], "the backend's close")
      const [code] = await closedWithin(c)
      t.equal(code, 4002, "the backend's echo reached the client")
    })

    t.test('a close code and reason from the backend reach the client', async (t) => {
      const { c, back } = await throughProxy(t)
      back.ws.close(4003, 'the backend is done')
      t.strictSame(await closedWithin(c), [4003, 'the backend is done'], "the client's close")
      t.strictSame(c.closing, [[4003, 'the backend is done']])
      const [code] = await closedWithin(back.rec)
      t.equal(code, 4003, "the client's echo reached the backend")
    })

    t.test('a clean close ends each proxy pipeline without error', async (t) => {
      await until(() => proxy.finished.length === backend.connections.length, 5000, 'every pipeline to finish')
      t.strictSame(proxy.finished.filter((error) => error), [], 'no pipeline failed')
    })
  })
}
