/**
 * A client meets broken and hostile servers: answers that are not a valid
 * acceptance of what it asked, heads that are too big or never end, and
 * frames built to exhaust it. Each ends in a clear error and a closed
 * connection, with the client's memory bounded.
 */
import type { Socket } from 'node:net'
import t, { type Test } from 'tap'
import { connect } from '../../lib/handshake/client'
import { HandshakeError } from '../../lib/protocol/errors'
import { craftedServer, header, switchingProtocols, type CraftedServer } from '../helpers/http-upgrade'
import { closedWithin, record, until, within } from '../helpers/ws-wait'
import { MiB, memorySampler } from './target'

/** A server answering every upgrade with `answer`, closed after the test. */
async function hostile(t: Test, answer: Parameters<typeof craftedServer>[0]): Promise<CraftedServer> {
  const server = await craftedServer(answer)
  t.teardown(() => server.close())
  return server
}

/** The client's connect() must fail with a HandshakeError of `code`, and leave no connection open. */
async function refused(t: Test, server: CraftedServer, code: string, options: Parameters<typeof connect>[1] = {}) {
  const error = await within(connect(server.url, options).then(
    () => null,
    (error: unknown) => error,
  ), 10_000, 'the handshake outcome')
  t.type(error, HandshakeError, 'a HandshakeError')
  t.equal((error as HandshakeError | null)?.code, code, (error as Error | null)?.message ?? 'connected')
  const socket = server.requests[0]?.socket
  if (socket) await until(() => socket.destroyed || socket.readableEnded, 5000, 'the client to drop the connection')
  return error as HandshakeError
}

t.test('a wrong Sec-WebSocket-Accept is refused', async (t) => {
  const server = await hostile(t, ({ socket }) => {
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n',
    )
  })
  await refused(t, server, 'WS_ERR_HANDSHAKE')
})

t.test('a subprotocol that was not offered is refused', async (t) => {
  const server = await hostile(t, (request) => {
    request.socket.write(switchingProtocols(request, ['Sec-WebSocket-Protocol: admin']))
  })
  await refused(t, server, 'WS_ERR_HANDSHAKE', { protocols: ['chat'] })
  t.equal(header(server.requests[0], 'sec-websocket-protocol'), 'chat', 'only chat was offered')
})

t.test('an extension that was not offered is refused', async (t) => {
  const server = await hostile(t, (request) => {
    request.socket.write(switchingProtocols(request, ['Sec-WebSocket-Extensions: permessage-deflate']))
  })
  await refused(t, server, 'WS_ERR_INVALID_EXTENSION')
})

t.test('a response with thousands of headers', async (t) => {
  t.test('over the count limit (small enough in bytes) is refused', async (t) => {
    const server = await hostile(t, (request) => {
      const filler = Array.from({ length: 2_000 }, (_, i) => `X${i}: 1`)
      request.socket.write(switchingProtocols(request, filler))
    })
    const error = await refused(t, server, 'WS_ERR_RESPONSE_HEADERS_TOO_LARGE')
    t.match(error.message, /more than 128 header fields/)
  })

  t.test('within a raised count limit is accepted', async (t) => {
    const server = await hostile(t, (request) => {
      request.socket.write(switchingProtocols(request, Array.from({ length: 500 }, (_, i) => `X${i}: 1`)))
    })
    const ws = await connect(server.url, { maxResponseHeaders: 1000 })
    t.equal(ws.protocol, null, 'connected')
    ws.destroy()
  })

  t.test('over the head size limit is refused as soon as the limit is passed', async (t) => {
    const server = await hostile(t, (request) => {
      request.socket.write(switchingProtocols(request, Array.from({ length: 20_000 }, () => 'X: 1')))
    })
    const error = await refused(t, server, 'WS_ERR_RESPONSE_HEADERS_TOO_LARGE')
    t.match(error.message, /16384 bytes/)
  })
})

t.test('a header that never ends is cut off at the head size limit, not read forever', async (t) => {
  let sent = 0
  const server = await hostile(t, ({ socket }) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nX-Endless: ')
    const chunk = Buffer.alloc(4096, 0x61)
    const more = () => {
      if (socket.destroyed) return
      sent += chunk.length
      socket.write(chunk, () => setImmediate(more))
    }
    more()
  })
  const memory = memorySampler()
  await refused(t, server, 'WS_ERR_RESPONSE_HEADERS_TOO_LARGE', { maxResponseHeaderSize: 8192 })
  t.ok(memory.stop() < 16 * MiB, 'the client held no more than a bounded head')
  t.ok(sent < 4 * MiB, `the server got to send ${(sent / 1024).toFixed(0)} KiB before the client hung up`)
})

t.test('a head trickled a byte at a time is given up at handshakeTimeout', async (t) => {
  const timers: NodeJS.Timeout[] = []
  t.teardown(() => timers.forEach(clearInterval))
  const server = await hostile(t, ({ socket }: { socket: Socket }) => {
    const head = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n'
    let at = 0
    timers.push(setInterval(() => {
      if (!socket.destroyed && at < head.length) socket.write(head[at++])
    }, 20))
  })
  const started = Date.now()
  const error = await connect(server.url, { handshakeTimeout: 300 }).then(() => null, (error: Error & { code?: string }) => error)
  t.equal(error?.code, 'WS_ERR_HANDSHAKE_TIMEOUT')
  t.ok(Date.now() - started < 3000, 'not long after the timeout')
})

t.test('frames built to exhaust the client', async (t) => {
  const frames = {
    'a length of 2^63 - 1': { bytes: Buffer.from([0x82, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), code: 1009 },
    'a length with the top bit set': { bytes: Buffer.from([0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0]), code: 1002 },
    'a ping of 126 bytes': { bytes: Buffer.concat([Buffer.from([0x89, 126, 0, 126]), Buffer.alloc(126)]), code: 1002 },
    'a masked frame from a server': { bytes: Buffer.from([0x81, 0x81, 1, 2, 3, 4, 0x61]), code: 1002 },
    'a frame over maxFrameSize': { bytes: Buffer.concat([Buffer.from([0x82, 126, 0x10, 0x00]), Buffer.alloc(16)]), code: 1009 },
  }
  for (const [name, { bytes, code }] of Object.entries(frames)) {
    t.test(`${name} fails the connection with ${code}`, async (t) => {
      const server = await hostile(t, (request) => {
        request.socket.write(switchingProtocols(request))
        request.socket.write(bytes)
        request.socket.resume()
      })
      const ws = await connect(server.url, { maxFrameSize: 1024, closeTimeout: 500 })
      const rec = record(ws)
      const memory = memorySampler()
      const [closeCode] = await closedWithin(rec)
      t.equal(closeCode, 1006, 'no CLOSE came from the server')
      t.equal(rec.errors[0]?.status, code, `${rec.errors[0]?.code}: ${rec.errors[0]?.message}`)
      t.ok(memory.stop() < 8 * MiB, 'nothing was allocated for the declared length')
    })
  }
})
