/**
 * Text as bytes: with `textAsBytes` a text message is read as a Buffer that
 * isText() recognizes, still validated as UTF-8, and such a Buffer (or one
 * marked by asText()) is written as a text message, with no conversion
 * either way.
 */
import t from 'tap'
import WebSocket from 'ws'
import { connect } from '../../lib/handshake/client'
import { FrameDecoder } from '../../lib/stages/frame-decoder'
import { FrameEncoder } from '../../lib/stages/frame-encoder'
import type { FrameSlice } from '../../lib/protocol/frame'
import { type AssembledItem, MessageAssembler } from '../../lib/stages/message-assembler'
import { asText, isText } from '../../lib/protocol/text-bytes'
import { clientFrame, run } from '../helpers/frames'
import { serve } from '../helpers/ws-pair'
import { nextEvent, until } from '../helpers/ws-wait'

/** Client frames through a decoder and an assembler with textAsBytes; the items, or the error. */
async function assembleAsBytes(frames: Buffer[]) {
  const decoder = new FrameDecoder()
  const assembler = new MessageAssembler({ textAsBytes: true })
  decoder.pipe(assembler)
  const result = run<AssembledItem>(assembler, [], false)
  for (const frame of frames) decoder.write(frame)
  decoder.end()
  return result
}

t.test('isText and asText', async (t) => {
  t.ok(isText('a string'), 'a string is text')
  t.notOk(isText(Buffer.from('plain bytes')), 'a Buffer is not, unless marked')
  t.notOk(isText(42), 'nor anything else')
  const marked = asText(Buffer.from('héllo'))
  t.ok(isText(marked), 'asText marks it')
  t.throws(() => asText(Buffer.from([0x68, 0xc3])), TypeError, 'a truncated character is refused')
  t.throws(() => asText(Buffer.from([0xed, 0xa0, 0x80])), TypeError, 'an encoded surrogate is refused')
  t.throws(() => asText('text' as unknown as Uint8Array), TypeError, 'only bytes are taken')
  const array = new Uint8Array([0x61, 0x62, 0x63])
  const view = asText(array)
  t.ok(Buffer.isBuffer(view) && view.buffer === array.buffer, 'a Uint8Array becomes a Buffer over the same memory')
})

t.test('the assembler with textAsBytes', async (t) => {
  t.test('reads a text message as marked bytes, and binary as unmarked', async (t) => {
    const { items, error } = await assembleAsBytes([
      clientFrame({ opcode: 1, payload: 'héllo wörld' }),
      clientFrame({ opcode: 2, payload: Buffer.from([1, 2, 3]) }),
      clientFrame({ opcode: 1, fin: false, payload: Buffer.from([0xf0, 0x9f]) }),
      clientFrame({ opcode: 0, payload: Buffer.from([0x98, 0x80]) }),
    ])
    t.equal(error, null)
    const [text, binary, split] = items as Buffer[]
    t.ok(Buffer.isBuffer(text) && isText(text), 'text is a marked Buffer')
    t.equal(text.toString(), 'héllo wörld')
    t.ok(Buffer.isBuffer(binary) && !isText(binary), 'binary is not marked')
    t.ok(isText(split), 'a fragmented text message too')
    t.equal(split.toString(), '😀', 'a character split across fragments is whole')
  })

  t.test('still fails invalid UTF-8 with 1007, in the frame that holds it', async (t) => {
    const { items, error } = await assembleAsBytes([
      clientFrame({ opcode: 1, payload: 'fine' }),
      clientFrame({ opcode: 1, fin: false, payload: Buffer.from([0x61, 0xff]) }),
      clientFrame({ opcode: 0, payload: 'never reached' }),
    ])
    t.equal(items.length, 1, 'the message before it was delivered')
    t.equal(error?.code, 'WS_ERR_INVALID_UTF8')
    t.equal(error?.status, 1007)
  })
})

t.test('the encoder sends marked bytes as a text frame, unmarked as binary', async (t) => {
  const text = asText(Buffer.from('héllo'))
  const { items } = await run<Buffer>(new FrameEncoder(), [text, Buffer.from('héllo')])
  const decoded = await run<FrameSlice>(new FrameDecoder({ role: 'client' }), [Buffer.concat(items)])
  t.same(decoded.items.map((slice) => slice.opcode), [1, 2])
  t.same(decoded.items.map((slice) => Buffer.from(slice.payload).toString()), ['héllo', 'héllo'])
})

t.test('over TCP: a relay with textAsBytes passes text on as text, never converting', async (t) => {
  const listening = await serve({ textAsBytes: true }, (ws) => {
    ws.on('error', () => {})
    ws.pipe(ws)
  })
  t.teardown(() => listening.close())

  t.test('to our client, strings and Buffers come back as they went', async (t) => {
    const client = await connect(listening.url)
    t.teardown(() => client.destroy())
    const received: Array<string | Buffer> = []
    client.on('data', (message: string | Buffer) => received.push(message))
    const long = 'ünïcödé 😀 '.repeat(20_000)
    client.write('hello')
    client.write(Buffer.from([0, 1, 2]))
    client.write(long)
    await until(() => received.length === 3, 5000, 'three echoes')
    t.equal(received[0], 'hello')
    t.same(received[1], Buffer.from([0, 1, 2]))
    t.equal(received[2], long, 'a 300 KB multi-byte text intact')
  })

  t.test('to a ws client, text frames arrive as text', async (t) => {
    const client = new WebSocket(listening.url)
    t.teardown(() => client.terminate())
    await nextEvent(client, 'open')
    client.send('from ws')
    const [data, isBinary] = await nextEvent<[Buffer, boolean]>(client, 'message')
    t.equal(isBinary, false)
    t.equal(data.toString(), 'from ws')
  })

  t.test('a client with textAsBytes sends asText() bytes as text and reads text as bytes', async (t) => {
    const client = await connect(listening.url, { textAsBytes: true })
    t.teardown(() => client.destroy())
    client.write(asText(Buffer.from('olá')))
    const [echo] = await nextEvent<[Buffer]>(client, 'data')
    t.ok(isText(echo), 'read as marked bytes')
    t.equal(echo.toString(), 'olá')
  })
})
