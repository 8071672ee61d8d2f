/**
 * The process-wide zlib limiter: never more jobs at once than its limit,
 * first come first served, a failing job frees its slot like any other;
 * the compression stages run all their zlib work on it, and a thousand
 * streams compressing at once finish with memory held to what their
 * contexts need.
 */
import t from 'tap'
import { Deflate } from '../../lib/stages/deflate'
import { Inflate } from '../../lib/stages/inflate'
import { DEFAULT_ZLIB_CONCURRENCY, ZlibQueue, setZlibConcurrency, zlibConcurrency, zlibQueue } from '../../lib/stages/zlib-queue'
import type { OutboundFrame, FrameSlice } from '../../lib/protocol/frame'
import { prose } from '../helpers/compression'
import { MiB } from '../helpers/memory'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A queue that records how many of its jobs ran at once, at most. */
function instrumented(concurrency: number) {
  const queue = new ZlibQueue(concurrency)
  const stats = { running: 0, peak: 0, jobs: 0 }
  const run = queue.run.bind(queue)
  queue.run = <T>(job: () => Promise<T> | T) =>
    run(async () => {
      stats.jobs++
      stats.peak = Math.max(stats.peak, ++stats.running)
      try {
        return await job()
      } finally {
        stats.running--
      }
    })
  return { queue, stats }
}

t.test('never more jobs at once than the limit, and the limit is used', async (t) => {
  for (const limit of [1, 3, 10]) {
    const queue = new ZlibQueue(limit)
    let running = 0
    let peak = 0
    let overLimit = 0
    const jobs = Array.from({ length: 200 }, (_, i) =>
      queue.run(async () => {
        running++
        peak = Math.max(peak, running)
        if (queue.active > limit || running > limit) overLimit++
        await sleep(i % 3)
        running--
        return i
      }),
    )
    t.ok(queue.active <= limit && queue.pending === 200 - queue.active, `${queue.active} running, ${queue.pending} waiting`)
    const results = await Promise.all(jobs)
    t.same(results, Array.from({ length: 200 }, (_, i) => i), 'each job settles with its own result')
    t.equal(overLimit, 0, `limit ${limit}: never exceeded`)
    t.equal(peak, limit, `limit ${limit}: reached`)
    t.equal(queue.active, 0)
    t.equal(queue.pending, 0)
  }
})

t.test('first in, first started', async (t) => {
  for (const limit of [1, 3]) {
    const queue = new ZlibQueue(limit)
    const started: number[] = []
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        queue.run(async () => {
          started.push(i)
          // Later jobs finish first, so a queue that was not FIFO would show it.
          await sleep(i % 2 === 0 ? 3 : 0)
        }),
      ),
    )
    t.same(started, Array.from({ length: 50 }, (_, i) => i), `limit ${limit}`)
  }
})

t.test('a failing job frees its slot: rejections, throws and plain values', async (t) => {
  const queue = new ZlibQueue(1)
  const outcomes = await Promise.allSettled([
    queue.run(async () => {
      throw new Error('rejected')
    }),
    queue.run(() => {
      throw new Error('thrown')
    }),
    queue.run(() => 'plain'),
    queue.run(() => Promise.reject(new Error('again'))),
    queue.run(async () => 'after'),
  ])
  t.same(
    outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message)),
    ['rejected', 'thrown', 'plain', 'again', 'after'],
  )
  t.equal(queue.active, 0)
  t.equal(queue.pending, 0)
})

t.test('the limit can change while jobs wait', async (t) => {
  const queue = new ZlibQueue(1)
  const release: Array<() => void> = []
  const jobs = Array.from({ length: 6 }, () => queue.run(() => new Promise<void>((resolve) => release.push(resolve))))
  await sleep(0)
  t.equal(queue.active, 1)
  queue.concurrency = 4
  t.equal(queue.active, 4, 'raising it starts waiting jobs at once')
  queue.concurrency = 2
  t.equal(queue.active, 4, 'lowering it stops none')
  release.splice(0, 3).forEach((done) => done())
  await sleep(0)
  t.equal(queue.active, 2, 'and starts no more until fewer than the new limit run')
  while (release.length > 0 || queue.active > 0) {
    release.splice(0).forEach((done) => done())
    await sleep(0)
  }
  await Promise.all(jobs)
  t.throws(() => (queue.concurrency = 0), RangeError)
  t.throws(() => new ZlibQueue(1.5), RangeError)
  t.throws(() => new ZlibQueue(Number.NaN), RangeError)
  t.doesNotThrow(() => new ZlibQueue(Infinity))
})

t.test('the process-wide queue: 10 by default, set with setZlibConcurrency(), used by the stages', async (t) => {
  t.equal(DEFAULT_ZLIB_CONCURRENCY, 10)
  t.equal(zlibConcurrency(), 10)
  setZlibConcurrency(2)
  t.teardown(() => setZlibConcurrency(DEFAULT_ZLIB_CONCURRENCY))
  t.equal(zlibQueue.concurrency, 2)
  // Watch the shared queue from inside: how many of its jobs run at once.
  let running = 0
  let peak = 0
  const run = zlibQueue.run.bind(zlibQueue)
  zlibQueue.run = <T>(job: () => Promise<T> | T) =>
    run(async () => {
      peak = Math.max(peak, ++running)
      try {
        return await job()
      } finally {
        running--
      }
    })
  t.teardown(() => {
    // The instance's own run() goes; the prototype's shows through again.
    delete (zlibQueue as { run?: unknown }).run
  })
  const streams = Array.from({ length: 20 }, (_, i) => {
    const stage = new Deflate({ threshold: 0 })
    const done = new Promise<number>((resolve) => {
      let frames = 0
      stage.on('data', () => frames++)
      stage.on('end', () => resolve(frames))
    })
    for (let m = 0; m < 5; m++) stage.write(prose(20_000, i * 10 + m))
    stage.end()
    return done
  })
  t.same(await Promise.all(streams), Array(20).fill(5))
  t.equal(peak, 2, 'the stages used it, never more than 2 jobs at once')
  t.throws(() => setZlibConcurrency(-1), RangeError)
})

t.test('Deflate and Inflate streams share one limit', async (t) => {
  const { queue, stats } = instrumented(3)
  const runs = Array.from({ length: 40 }, async (_, i) => {
    const sender = new Deflate({ threshold: 0, queue })
    const receiver = new Inflate({ role: 'server', queue })
    const messages = [prose(30_000, i), prose(10_000, i + 1), prose(30_000, i)]
    const out: string[] = []
    // Deflate's frames as the decoder would slice them, straight into Inflate.
    sender.on('data', (frame: OutboundFrame) => {
      const payload = Buffer.from(frame.payload!)
      receiver.write({ fin: true, rsv1: true, rsv2: false, rsv3: false, opcode: frame.opcode, masked: true, length: payload.length, offset: 0, first: true, last: true, payload } satisfies FrameSlice)
    })
    sender.on('end', () => receiver.end())
    const pieces: Buffer[] = []
    receiver.on('data', (piece: FrameSlice) => {
      pieces.push(piece.payload)
      if (piece.fin) out.push(Buffer.concat(pieces.splice(0)).toString())
    })
    const ended = new Promise((resolve) => receiver.on('end', resolve))
    for (const m of messages) sender.write(m)
    sender.end()
    await ended
    return out.join('|') === messages.join('|')
  })
  t.same(await Promise.all(runs), Array(40).fill(true), 'every message through both stages intact')
  t.equal(stats.peak, 3, `never more than 3 zlib jobs at once, over ${stats.jobs} jobs`)
})

/** Peak RSS growth while `work` runs. */
async function rssGrowth<T>(work: () => Promise<T>): Promise<{ result: T; rss: number; ms: number }> {
  const base = process.memoryUsage.rss()
  let peak = base
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 2)
  const started = Date.now()
  const result = await work()
  const ms = Date.now() - started
  clearInterval(timer)
  peak = Math.max(peak, process.memoryUsage.rss())
  return { result, rss: peak - base, ms }
}

/** `count` Deflate streams, each compressing `messages` messages at once; resolves with the frames each produced. */
function compressAtOnce(count: number, messages: number, options: { serverNoContextTakeover?: boolean }, queue: ZlibQueue) {
  const texts = Array.from({ length: 8 }, (_, i) => prose(16 * 1024, i + 1))
  return Promise.all(
    Array.from({ length: count }, (_, i) => {
      const stage = new Deflate({ threshold: 0, queue, ...options })
      let bytes = 0
      stage.on('data', (frame: OutboundFrame) => (bytes += frame.payload!.length))
      const done = new Promise<number>((resolve, reject) => {
        stage.on('end', () => resolve(bytes))
        stage.on('error', reject)
      })
      for (let m = 0; m < messages; m++) stage.write(texts[(i + m) % texts.length])
      stage.end()
      return done
    }),
  )
}

t.test('1,000 Deflate streams compressing at once finish, with RSS held to their contexts', async (t) => {
  const { queue, stats } = instrumented(DEFAULT_ZLIB_CONCURRENCY)
  const shared = await rssGrowth(() => compressAtOnce(1000, 4, {}, queue))
  t.equal(shared.result.length, 1000)
  t.ok(shared.result.every((bytes) => bytes > 0 && bytes < 4 * 16 * 1024), 'every stream compressed its four 16 KiB messages')
  t.equal(stats.peak, DEFAULT_ZLIB_CONCURRENCY, `at most ${DEFAULT_ZLIB_CONCURRENCY} zlib jobs at once over ${stats.jobs}`)
  t.comment(`context takeover: 1,000 streams × 4 messages of 16 KiB in ${shared.ms} ms, peak RSS growth ${(shared.rss / MiB).toFixed(0)} MiB`)
  // Each stream keeps its compressor for the next message: about 256 KiB of zlib state at 15 bits
  // and memLevel 8, plus its output buffer. Bounded by that, not by what concurrency would fragment.
  t.ok(shared.rss < 1000 * 400 * 1024, `RSS growth ${(shared.rss / MiB).toFixed(0)} MiB stays under 400 KiB a stream`)

  const alone = await rssGrowth(() => compressAtOnce(1000, 4, { serverNoContextTakeover: true }, queue))
  t.equal(alone.result.length, 1000)
  // A stream still keeps its (reset) compressor between messages, so the figure is about the same.
  t.comment(`no context takeover: in ${alone.ms} ms, peak RSS growth ${(alone.rss / MiB).toFixed(0)} MiB`)
  t.ok(alone.rss < 1000 * 400 * 1024)
})
