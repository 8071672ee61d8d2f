/**
 * forward(): the joint between stages inside a connection. It keeps pipe()'s
 * backpressure, ends the destination with the source, lets go of a
 * destination that closed, and never pauses a source it no longer forwards.
 */
import t from 'tap'
import { PassThrough, Readable, Writable } from 'readable-stream'
import { forward } from '../../lib/connection/forward'
import { clientFrame } from '../helpers/frames'
import { serve } from '../helpers/ws-pair'
import { rawConnect, WireReader } from '../helpers/ws-raw'
import { closedWithin, record, until } from '../helpers/ws-wait'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'

t.test('passes every chunk on, in order, and ends the destination with the source', async (t) => {
  const got: string[] = []
  const dest = new Writable({
    objectMode: true,
    write(chunk, _encoding, callback) {
      got.push(chunk)
      callback()
    },
  })
  forward(Readable.from(['a', 'b', 'c']), dest)
  await new Promise((resolve) => dest.on('finish', resolve))
  t.same(got, ['a', 'b', 'c'])
})

t.test('pauses the source while the destination is full, and resumes it on drain', async (t) => {
  const source = new PassThrough({ objectMode: true })
  let release: (() => void) | null = null
  const dest = new Writable({
    objectMode: true,
    highWaterMark: 1,
    write(_chunk, _encoding, callback) {
      release = callback
    },
  })
  forward(source, dest)
  source.write('one')
  source.write('two')
  await until(() => release !== null, 1000, 'the first write')
  t.ok(source.isPaused(), 'paused while the destination holds a write')
  const done = release!
  release = null
  done()
  await until(() => !source.isPaused(), 1000, 'resumed on drain')
  t.pass('resumed')
})

t.test('a write that stops forwarding (the destination closed meanwhile) leaves the source alone', async (t) => {
  const source = new PassThrough({ objectMode: true })
  let stop: () => void = () => {}
  const dest = new Writable({
    objectMode: true,
    highWaterMark: 1,
    write(_chunk, _encoding, callback) {
      // Reading this chunk makes the owner stop forwarding and take the source over.
      stop()
      source.resume()
      callback()
    },
  })
  stop = forward(source, dest)
  source.write('the last one forwarded')
  await new Promise((resolve) => setImmediate(resolve))
  t.notOk(source.isPaused(), 'the source was not paused behind its new owner')
  t.equal(source.listenerCount('data'), 0, 'no listener left on the source')
})

t.test('over TCP: a CLOSE followed by garbage in the same read still closes the connection', async (t) => {
  let server: WebSocketDuplex | null = null
  const listening = await serve({ closeTimeout: 10_000 }, (ws) => {
    server = ws
  })
  t.teardown(() => listening.close())
  const { socket } = await rawConnect(listening.port)
  const wire = new WireReader(socket, 'client')
  await until(() => server !== null, 2000, 'accepted')
  const rec = record(server!)
  // One write, so the server reads the CLOSE and the bytes after it together.
  socket.write(Buffer.concat([clientFrame({ opcode: 8 }), Buffer.alloc(200_000, 0xfe)]))
  const [code] = await closedWithin(rec, 3000, 'the server to close')
  t.equal(code, 1005, 'the empty CLOSE was taken, the rest ignored')
  await wire.waitFor(() => wire.closed, 3000, 'TCP closed')
  t.equal(wire.frames.at(-1)?.opcode, 8, 'our CLOSE answered it')
})
