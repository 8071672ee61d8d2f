/**
 * Idle zlib contexts, as a specification: the sweeper releases what stayed
 * parked for a whole sweep period and nothing else, and the compression
 * stages park their context between messages only where no context takeover
 * was agreed, so an idle connection holds no zlib memory while a busy one
 * keeps reusing its context, and the bytes on the wire do not change.
 */
import t, { type Test } from 'tap'
import zlib from 'node:zlib'
import { type OutboundFrame, Opcode } from '../../lib/protocol/frame'
import { Deflate, type DeflateOptions } from '../../lib/stages/deflate'
import { IdleSweeper } from '../../lib/stages/idle-contexts'
import { Inflate, type InflateOptions } from '../../lib/stages/inflate'
import { hex } from '../helpers/frames'
import type { FrameSlice } from '../../lib/protocol/frame'

t.test('the sweeper releases a context parked before the previous sweep, once', async (t) => {
  const sweeper = new IdleSweeper({ timer: false })
  const released: string[] = []
  const a = {}
  const b = {}
  sweeper.park(a, () => released.push('a'))
  t.equal(sweeper.parked, 1)
  sweeper.sweep()
  t.same(released, [], 'not by the first sweep: it may have been parked a moment ago')
  sweeper.park(b, () => released.push('b'))
  sweeper.sweep()
  t.same(released, ['a'], 'by the second: idle for a whole period')
  sweeper.sweep()
  t.same(released, ['a', 'b'])
  sweeper.sweep()
  t.same(released, ['a', 'b'], 'each release once')
  t.equal(sweeper.parked, 0)
})

t.test('taking a context back, or parking it again, restarts its idleness', async (t) => {
  const sweeper = new IdleSweeper({ timer: false })
  const released: string[] = []
  const a = {}
  sweeper.park(a, () => released.push('a'))
  sweeper.sweep()
  sweeper.unpark(a)
  sweeper.sweep()
  sweeper.sweep()
  t.same(released, [], 'taken back: never released')
  sweeper.park(a, () => released.push('a'))
  sweeper.sweep()
  sweeper.park(a, () => released.push('a again'))
  sweeper.sweep()
  t.same(released, [], 'parked again after a sweep: a new period starts')
  sweeper.sweep()
  t.same(released, ['a again'], 'the latest release is the one called')
})

t.test('with its timer, the sweeper releases on its own after one to two periods', async (t) => {
  const sweeper = new IdleSweeper({ interval: 20 })
  const parkedAt = Date.now()
  // The sweeper's timer does not keep the process alive (that is the point); this one does, and fails a hang.
  let guard: NodeJS.Timeout | undefined
  const waited = await new Promise<number>((resolve, reject) => {
    guard = setTimeout(() => reject(new Error('not released within 5 s')), 5000)
    sweeper.park({}, () => resolve(Date.now() - parkedAt))
  }).finally(() => clearTimeout(guard))
  t.ok(waited >= 19, `released after ${waited} ms, not before a whole period`)
  t.equal(sweeper.parked, 0)
})

t.test('options are checked', async (t) => {
  for (const interval of [0, -1, 1.5, 2 ** 31, NaN]) {
    t.throws(() => new IdleSweeper({ interval }), RangeError, `interval ${interval}`)
  }
})

/** Counts close() calls on zlib streams of one class while a test runs. */
function countCloses(t: Test, Class: typeof zlib.DeflateRaw | typeof zlib.InflateRaw): { count: number } {
  const counter = { count: 0 }
  const proto = Class.prototype as { close: (...args: unknown[]) => void }
  const close = proto.close
  proto.close = function (this: unknown, ...args: unknown[]) {
    counter.count++
    return close.apply(this, args)
  }
  t.teardown(() => {
    proto.close = close
  })
  return counter
}

/** Writes one item and waits for what it produces. */
const next = <T>(stage: Deflate | Inflate, item: unknown): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    stage.once('data', resolve)
    stage.once('error', reject)
    stage.write(item)
  })

const payloadHex = (frame: OutboundFrame) => Buffer.from(frame.payload!).toString('hex')

t.test('Deflate with no context takeover: parked between messages, released when idle, same bytes after', async (t) => {
  const closes = countCloses(t, zlib.DeflateRaw)
  const sweeper = new IdleSweeper({ timer: false })
  const options: DeflateOptions = { threshold: 0, serverNoContextTakeover: true, sweeper }
  const deflate = new Deflate(options)
  const fresh = 'f248cdc9c90700' // "Hello" from an empty window (RFC 7692 section 7.2.3.1)
  t.equal(payloadHex(await next<OutboundFrame>(deflate, 'Hello')), fresh)
  t.equal(sweeper.parked, 1, 'parked once the message is out')
  sweeper.sweep()
  t.equal(payloadHex(await next<OutboundFrame>(deflate, 'Hello')), fresh, 'reused while busy')
  t.equal(closes.count, 0, 'a busy connection keeps its context')
  sweeper.sweep()
  t.equal(closes.count, 0, 'parked again by the second message: a new period')
  sweeper.sweep()
  t.equal(closes.count, 1, 'idle for a whole period: the compressor is closed')
  t.equal(sweeper.parked, 0)
  t.equal(payloadHex(await next<OutboundFrame>(deflate, 'Hello')), fresh, 'a new compressor gives the same bytes')
  deflate.destroy()
  t.equal(sweeper.parked, 0, 'destroyed: nothing left parked')
})

t.test('Deflate with context takeover never parks: the window is part of the next message', async (t) => {
  const sweeper = new IdleSweeper({ timer: false })
  for (const options of [{}, { clientNoContextTakeover: true }] satisfies DeflateOptions[]) {
    const deflate = new Deflate({ threshold: 0, sweeper, ...options })
    await next(deflate, 'Hello')
    const second = await next<OutboundFrame>(deflate, 'Hello')
    t.equal(payloadHex(second), 'f200110000', `${JSON.stringify(options)}: the second "Hello" refers back (7.2.3.2)`)
    t.equal(sweeper.parked, 0)
    deflate.destroy()
  }
  t.equal(new Deflate({ threshold: 0 }).readableObjectMode, true, 'the default sweeper needs no option')
})

/** What an inflated slice says: its opcode and text. */
const read = (slice: FrameSlice) => `${slice.opcode === Opcode.TEXT ? 'text' : slice.opcode}:${slice.payload.toString()}`

/** A compressed "Hello" TEXT frame as the decoder hands it on. */
const helloSlice = (): FrameSlice => {
  const payload = hex('f2 48 cd c9 c9 07 00')
  return { fin: true, rsv1: true, rsv2: false, rsv3: false, opcode: Opcode.TEXT, masked: false, length: payload.length, offset: 0, first: true, last: true, payload }
}

t.test('Inflate with the peer’s no context takeover: parked between messages, released when idle', async (t) => {
  const closes = countCloses(t, zlib.InflateRaw)
  const sweeper = new IdleSweeper({ timer: false })
  const options: InflateOptions = { role: 'client', serverNoContextTakeover: true, sweeper }
  const inflate = new Inflate(options)
  t.equal(read(await next<FrameSlice>(inflate, helloSlice())), 'text:Hello')
  t.equal(sweeper.parked, 1)
  sweeper.sweep()
  sweeper.sweep()
  t.equal(closes.count, 1, 'idle for a whole period: the inflater is closed')
  t.equal(read(await next<FrameSlice>(inflate, helloSlice())), 'text:Hello', 'the next message gets a new inflater')
  inflate.destroy()
  t.equal(sweeper.parked, 0)

  const keeping = new Inflate({ role: 'client', clientNoContextTakeover: true, sweeper })
  await next(keeping, helloSlice())
  t.equal(sweeper.parked, 0, 'our own side’s parameter does not let the peer’s window go')
  keeping.destroy()
})
