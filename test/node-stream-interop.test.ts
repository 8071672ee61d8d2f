/**
 * The duplex and the stages are readable-stream classes; Node's own stream
 * helpers must take them as they are, in TypeScript too (no casts here:
 * `npm run typecheck` is part of this test).
 */
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import t from 'tap'
import { FrameDecoder } from '../lib/stages/frame-decoder'
import { MessageAssembler } from '../lib/stages/message-assembler'
import { pair } from './helpers/ws-pair'
import { clientFrame } from './helpers/frames'
import { Readable } from 'node:stream'

t.test("node:stream/promises pipeline() reads a duplex into a Writable until the peer's CLOSE", async (t) => {
  const p = await pair()
  t.teardown(p.cleanup)
  const seen: unknown[] = []
  const sink = new Writable({
    objectMode: true,
    write(message, _encoding, callback) {
      seen.push(message)
      callback()
    },
  })
  const done = pipeline(p.server, sink)
  p.client.resume()
  p.client.write('one')
  p.client.write(Buffer.from([2]))
  p.client.close(1000)
  await done
  t.same(seen, ['one', Buffer.from([2])])
})

t.test('decoder and assembler compose with node:stream pipeline()', async (t) => {
  const bytes = Buffer.concat([clientFrame({ opcode: 1, payload: 'a' }), clientFrame({ opcode: 2, payload: 'b' })])
  const out: unknown[] = []
  await pipeline(
    Readable.from([bytes]),
    new FrameDecoder(),
    new MessageAssembler(),
    new Writable({
      objectMode: true,
      write(item, _encoding, callback) {
        out.push(item)
        callback()
      },
    }),
  )
  t.same(out, ['a', Buffer.from('b')])
})
