/**
 * pipeCorked(): how the encoder's pieces reach a real TCP socket. The tick's
 * first piece leaves at once when it is a whole frame; everything after it
 * in the same tick, and a header whose payload follows, waits for the end of
 * the tick and leaves in one writev. The peer gets every byte in order.
 */
import t, { type Test } from 'tap'
import { once } from 'node:events'
import net from 'node:net'
import { PassThrough } from 'readable-stream'
import { pipeCorked } from '../../lib/connection/corked-pipe'
import { headerSize, writeHeader } from '../../lib/protocol/frame'

/** A connected pair of real sockets on 127.0.0.1; `sent` records each write the socket makes (one entry per write or writev). */
async function socketPair(t: Test) {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const accepted = once(server, 'connection')
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  await once(client, 'connect')
  const [peer] = (await accepted) as [net.Socket]
  const received: Buffer[] = []
  peer.on('data', (chunk: Buffer) => received.push(chunk))
  const sent: Buffer[][] = []
  const socket = client as net.Socket & { _write: Function; _writev: Function }
  const write = socket._write
  const writev = socket._writev
  socket._write = function (chunk: Buffer, ...rest: unknown[]) {
    sent.push([chunk])
    return write.call(this, chunk, ...rest)
  }
  socket._writev = function (chunks: { chunk: Buffer }[], ...rest: unknown[]) {
    sent.push(chunks.map((entry) => entry.chunk))
    return writev.call(this, chunks, ...rest)
  }
  t.teardown(() => {
    client.destroy()
    peer.destroy()
    server.close()
  })
  /** Resolves once the peer has received `bytes` in all. */
  const arrived = async (bytes: number) => {
    while (received.reduce((sum, chunk) => sum + chunk.length, 0) < bytes) await once(peer, 'data')
    return Buffer.concat(received)
  }
  return { socket: client, sent, arrived }
}

function frame(length: number, fill: number): Buffer {
  const bytes = Buffer.alloc(headerSize(length, false) + length, fill)
  writeHeader(bytes, 0, true, false, 2, length, null)
  return bytes
}

const nextTick = () => new Promise((resolve) => process.nextTick(resolve))

t.test('a whole frame written alone leaves at once, before the tick ends', async (t) => {
  const { socket, sent, arrived } = await socketPair(t)
  const source = new PassThrough()
  pipeCorked(source, socket)
  const small = frame(64, 1)
  source.write(small)
  t.same(sent, [[small]], 'written to the socket within the write')
  t.same(await arrived(small.length), small)
})

t.test('a header whose payload follows waits for it: both leave in one writev at the end of the tick', async (t) => {
  const { socket, sent, arrived } = await socketPair(t)
  const source = new PassThrough()
  pipeCorked(source, socket)
  const large = frame(1024, 2)
  const header = large.subarray(0, 4)
  const payload = large.subarray(4)
  source.write(header)
  source.write(payload)
  t.same(sent, [], 'nothing written while the tick lasts')
  await nextTick()
  t.same(sent, [[header, payload]], 'one writev: header and payload')
  t.same(await arrived(large.length), large)
})

t.test('after the tick\'s first whole frame, the rest of the tick leaves together', async (t) => {
  const { socket, sent, arrived } = await socketPair(t)
  const source = new PassThrough()
  pipeCorked(source, socket)
  const frames = [frame(10, 3), frame(20, 4), frame(30, 5)]
  for (const bytes of frames) source.write(bytes)
  t.same(sent, [[frames[0]]], 'the first at once')
  await nextTick()
  t.same(sent, [[frames[0]], [frames[1], frames[2]]], 'the other two in one writev')
  const all = Buffer.concat(frames)
  t.same(await arrived(all.length), all, 'in order')
  // The next tick starts afresh: its first whole frame leaves at once again.
  const later = frame(5, 6)
  source.write(later)
  t.same(sent.at(-1), [later])
})

t.test('ending the source ends the socket after what was written', async (t) => {
  const { socket, arrived } = await socketPair(t)
  const source = new PassThrough()
  pipeCorked(source, socket)
  const bytes = frame(100, 7)
  source.end(bytes)
  await once(socket, 'finish')
  t.same(await arrived(bytes.length), bytes)
})
