/**
 * Stream mode of the MessageAssembler, as a specification: which messages
 * become MessageStreams, their bytes and type, control frames between
 * fragments, backpressure from the stream's reader to the assembler's
 * writer, the next message waiting for this one, abandoning a stream, UTF-8
 * failing at the bad slice, the streamed limit, a connection ending midway
 * (with and without an error listener), and constant memory for a message
 * far larger than what is buffered.
 */
import t from 'tap'
import { once } from 'node:events'
import { ControlFrame } from '../../lib/protocol/control-frame'
import { FrameDecoder } from '../../lib/stages/frame-decoder'
import { type AssembledItem, MessageAssembler, type MessageAssemblerOptions } from '../../lib/stages/message-assembler'
import { MessageStream, isMessageStream } from '../../lib/stages/message-stream'
import { clientFrame, frame } from '../helpers/frames'
import { MiB, memorySampler } from '../helpers/memory'

interface Chain {
  decoder: FrameDecoder
  assembler: MessageAssembler
  /** Items in the order the assembler emitted them. */
  items: AssembledItem[]
  errors: Array<Error & { code?: string; status?: number }>
  /** Settles with the assembler's first error. */
  failure: Promise<Error & { code?: string; status?: number }>
}

/** A decoder piped into an assembler in stream mode, its output collected as it comes. */
function chain(options: MessageAssemblerOptions = {}, role: 'server' | 'client' = 'server'): Chain {
  const decoder = new FrameDecoder({ maxPayload: 2 ** 40, role })
  const assembler = new MessageAssembler({ streamMessages: true, ...options })
  decoder.pipe(assembler)
  const items: AssembledItem[] = []
  const errors: Chain['errors'] = []
  assembler.on('data', (item: AssembledItem) => items.push(item))
  const failure = new Promise<Chain['errors'][number]>((resolve) =>
    assembler.on('error', (error) => {
      errors.push(error)
      resolve(error)
    }),
  )
  return { decoder, assembler, items, errors, failure }
}

/** All of a stream's bytes, once it ends. */
async function bytesOf(stream: MessageStream): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

const settle = () => new Promise((resolve) => setImmediate(resolve))

const streams = (items: AssembledItem[]) => items.filter(isMessageStream)

t.test('every message becomes a stream of its bytes, saying whether it is text', async (t) => {
  const { decoder, items } = chain()
  decoder.write(clientFrame({ opcode: 1, payload: 'héllo, ', fin: false }))
  decoder.write(clientFrame({ opcode: 0, payload: 'wor', fin: false }))
  await settle()
  t.equal(items.length, 1, 'the stream is out before the message ends')
  const [first] = streams(items)
  t.equal(first.text, true)
  t.equal(first.binary, false)
  const body = bytesOf(first)
  decoder.write(clientFrame({ opcode: 0, payload: 'ld' }))
  t.equal((await body).toString(), 'héllo, world')
  decoder.write(clientFrame({ opcode: 2, payload: Buffer.from([1, 2, 3]) }))
  await settle()
  const [, second] = streams(items)
  t.equal(second.binary, true)
  t.same([...(await bytesOf(second))], [1, 2, 3])
  decoder.write(clientFrame({ opcode: 1, payload: '' }))
  await settle()
  t.same((await bytesOf(streams(items)[2])).length, 0, 'an empty message is an empty stream')
})

t.test('with a threshold, only messages whose first frame is longer come as streams', async (t) => {
  const { decoder, items } = chain({ streamMessages: { threshold: 10 } })
  decoder.write(clientFrame({ opcode: 1, payload: 'short' }))
  decoder.write(clientFrame({ opcode: 1, payload: 'a little longer' }))
  decoder.write(clientFrame({ opcode: 2, payload: Buffer.alloc(10, 1), fin: false }))
  decoder.write(clientFrame({ opcode: 0, payload: Buffer.alloc(100, 2) }))
  await settle()
  t.equal(items[0], 'short')
  t.ok(isMessageStream(items[1]))
  t.equal((await bytesOf(items[1] as MessageStream)).toString(), 'a little longer')
  await settle()
  t.ok(Buffer.isBuffer(items[2]), 'a first frame of exactly the threshold: assembled whole')
  t.equal((items[2] as Buffer).length, 110)
  t.throws(() => new MessageAssembler({ streamMessages: { threshold: -1 } }), RangeError)
  t.throws(() => new MessageAssembler({ streamMessages: { threshold: 1.5 } }), RangeError)
})

t.test('control frames between fragments pass while the message streams', async (t) => {
  const { decoder, items } = chain()
  decoder.write(clientFrame({ opcode: 2, payload: Buffer.alloc(100), fin: false }))
  decoder.write(clientFrame({ opcode: 9, payload: 'are you there' }))
  await settle()
  t.equal(items.length, 2)
  t.ok(items[1] instanceof ControlFrame && items[1].type === 'ping', 'the PING is out while the message is unfinished')
  const body = bytesOf(items[0] as MessageStream)
  decoder.write(clientFrame({ opcode: 0, payload: Buffer.alloc(50) }))
  t.equal((await body).length, 150)
})

t.test('backpressure: an unread stream stops the assembler taking slices; reading resumes it', async (t) => {
  const { decoder, assembler, items } = chain({ messageStreamHighWaterMark: 1024 })
  const chunk = Buffer.alloc(4096, 7)
  decoder.write(clientFrame({ opcode: 2, payload: chunk, fin: false }))
  let accepted = true
  let frames = 1
  for (; frames < 64 && accepted; frames++) accepted = decoder.write(clientFrame({ opcode: 0, payload: chunk, fin: false }))
  await settle()
  const stream = items[0] as MessageStream
  t.equal(accepted, false, 'the writer is told to wait')
  t.ok(stream.readableLength <= 4096, `the stream holds ${stream.readableLength} bytes, one slice at most`)
  t.ok(assembler.writableLength > 0, 'slices wait on the assembler’s writable side, not in the stream')
  const body = bytesOf(stream)
  decoder.end(clientFrame({ opcode: 0, payload: chunk }))
  t.ok((await body).equals(Buffer.alloc(4096 * (frames + 1), 7)), `every byte of ${frames + 1} frames arrives once read`)
})

t.test('the next message waits until this one is read to its end', async (t) => {
  const { decoder, items } = chain()
  decoder.write(clientFrame({ opcode: 1, payload: 'first' }))
  decoder.write(clientFrame({ opcode: 1, payload: 'second' }))
  decoder.write(clientFrame({ opcode: 9, payload: 'ping' }))
  await settle()
  t.equal(items.length, 1, 'nothing of the second message, nor what follows it, before the first is read')
  t.equal((await bytesOf(items[0] as MessageStream)).toString(), 'first')
  await settle()
  t.equal(items.length, 2, 'the second message once the first has ended; the PING behind it waits in turn')
  t.equal((await bytesOf(items[1] as MessageStream)).toString(), 'second')
  await settle()
  t.equal(items.length, 3)
})

t.test('a destroyed stream abandons its message: the rest is dropped, the next one comes', async (t) => {
  const { decoder, items, errors } = chain()
  decoder.write(clientFrame({ opcode: 1, payload: 'dropped ', fin: false }))
  await settle()
  ;(items[0] as MessageStream).destroy()
  decoder.write(clientFrame({ opcode: 0, payload: 'also dropped' }))
  decoder.write(clientFrame({ opcode: 1, payload: 'next' }))
  await settle()
  t.equal(items.length, 2)
  t.equal((await bytesOf(items[1] as MessageStream)).toString(), 'next')
  t.same(errors, [])
})

t.test('an abandoned text message is still checked: invalid UTF-8 fails with 1007', async (t) => {
  const { decoder, items, errors, failure } = chain()
  decoder.write(clientFrame({ opcode: 1, payload: 'fine ', fin: false }))
  await settle()
  ;(items[0] as MessageStream).destroy()
  decoder.write(clientFrame({ opcode: 0, payload: Buffer.from([0xff]) }))
  await failure
  t.same(errors.map((e) => [e.code, e.status]), [['WS_ERR_INVALID_UTF8', 1007]])
})

t.test('invalid UTF-8 errors the stream and the assembler at the slice that holds it', async (t) => {
  const { decoder, items, errors, failure } = chain()
  decoder.write(clientFrame({ opcode: 1, payload: 'good ', fin: false }))
  await settle()
  const stream = items[0] as MessageStream
  const chunks: string[] = []
  const streamError = new Promise<Error & { code?: string }>((resolve) => stream.on('error', resolve))
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString()))
  decoder.write(clientFrame({ opcode: 0, payload: Buffer.from([0x61, 0xc0, 0x80]), fin: false }))
  decoder.write(clientFrame({ opcode: 0, payload: 'never seen' }))
  t.equal((await streamError).code, 'WS_ERR_INVALID_UTF8')
  t.same(chunks, ['good '], 'nothing of the bad slice reaches the reader')
  await failure
  t.same(errors.map((e) => e.status), [1007])
})

t.test('a streamed message may exceed maxMessageSize, up to maxStreamedMessageSize (1009 past it)', async (t) => {
  const ok = chain({ maxMessageSize: 100, maxStreamedMessageSize: 1000 })
  ok.decoder.write(clientFrame({ opcode: 2, payload: Buffer.alloc(600), fin: false }))
  ok.decoder.write(clientFrame({ opcode: 0, payload: Buffer.alloc(400) }))
  await settle()
  t.equal((await bytesOf(ok.items[0] as MessageStream)).length, 1000)

  const over = chain({ maxMessageSize: 100, maxStreamedMessageSize: 1000 })
  over.decoder.write(clientFrame({ opcode: 2, payload: Buffer.alloc(600), fin: false }))
  await settle()
  const stream = over.items[0] as MessageStream
  const streamError = new Promise<Error & { code?: string }>((resolve) => stream.on('error', resolve))
  stream.resume()
  over.decoder.write(clientFrame({ opcode: 0, payload: Buffer.alloc(401) }))
  t.equal((await streamError).code, 'WS_ERR_MESSAGE_TOO_LARGE')
  await over.failure
  t.same(over.errors.map((e) => e.status), [1009], 'judged on the declared length')
})

t.test('the connection ending midway: the stream closes without end, with an error only for a listener', async (t) => {
  const heard = chain()
  heard.decoder.write(clientFrame({ opcode: 2, payload: Buffer.alloc(10), fin: false }))
  await settle()
  const listened = heard.items[0] as MessageStream
  const error = new Promise<Error & { code?: string }>((resolve) => listened.on('error', resolve))
  listened.resume()
  heard.decoder.end()
  t.equal((await error).code, 'WS_ERR_ABNORMAL_CLOSURE')

  const unheard = chain()
  unheard.decoder.write(clientFrame({ opcode: 2, payload: Buffer.alloc(10), fin: false }))
  await settle()
  const stream = unheard.items[0] as MessageStream
  let ended = false
  stream.on('end', () => (ended = true))
  stream.resume()
  // Not events.once(): it would listen for 'error' itself.
  const closed = new Promise((resolve) => stream.on('close', resolve))
  unheard.assembler.destroy()
  await closed
  t.equal(ended, false, 'no end: the message never looks complete')
  t.equal(stream.readableAborted, true)
  t.equal(stream.errored, null, 'no error thrown at a process that did not listen')
})

t.test('constant memory: 256 MiB through one stream, in 64 KiB frames, holds a few MiB', async (t) => {
  // A client's decoder reading unmasked frames: the same three frames are written again and
  // again, so the only memory that moves is the library's.
  const { decoder, items } = chain({ maxMessageSize: MiB }, 'client')
  const payload = Buffer.alloc(64 * 1024, 0x5a)
  const frames = [
    frame({ opcode: 2, payload, fin: false }),
    frame({ opcode: 0, payload, fin: false }),
    frame({ opcode: 0, payload, fin: true }),
  ]
  const total = 256 * MiB
  const sampler = memorySampler()
  let received = 0
  const reading = (async () => {
    while (items.length === 0) await settle()
    for await (const chunk of items[0] as MessageStream) received += (chunk as Buffer).length
  })()
  for (let sent = 0; sent < total; sent += payload.length) {
    const ok = decoder.write(frames[sent === 0 ? 0 : sent + payload.length >= total ? 2 : 1])
    if (!ok) await once(decoder, 'drain')
  }
  await reading
  const growth = sampler.stop()
  t.equal(received, total, 'every byte read')
  t.ok(growth < 16 * MiB, `memory grew by ${(growth / MiB).toFixed(1)} MiB for a ${total / MiB} MiB message`)
})
