/**
 * The request head connect() writes itself, and the Host field in it, as
 * http.request would have written them; and the exchange that reads the
 * answer's head off a real socket within its limits.
 */
import { type AddressInfo, type Socket, createServer, connect as netConnect } from 'node:net'
import t, { type Test } from 'tap'
import type { HandshakeError } from '../../lib/protocol/errors'
import type { HeadLimits, ResponseHead } from '../../lib/handshake/response-head'
import { exchangeUpgrade, hostField, requestHead } from '../../lib/handshake/upgrade-exchange'

t.test('the Host field names the port only when it is not the scheme\'s', async (t) => {
  t.equal(hostField('example.com', 80, false, false), 'example.com')
  t.equal(hostField('example.com', 443, true, false), 'example.com')
  t.equal(hostField('example.com', 443, false, false), 'example.com:443')
  t.equal(hostField('example.com', 80, true, false), 'example.com:80')
  t.equal(hostField('127.0.0.1', 8080, false, false), '127.0.0.1:8080')
})

t.test('an IPv6 address is put in brackets; a unix socket is localhost', async (t) => {
  t.equal(hostField('::1', 8080, false, false), '[::1]:8080')
  t.equal(hostField('::1', 443, true, false), '[::1]')
  t.equal(hostField('localhost', 0, false, true), 'localhost')
})

t.test('the request head: a GET over HTTP/1.1, the fields in order, an empty line', async (t) => {
  t.equal(requestHead('/chat?x=1', { Host: 'h', Upgrade: 'websocket' }), 'GET /chat?x=1 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n')
})

t.test('a name given twice in other letter cases is sent once, the later value where the first stood', async (t) => {
  t.equal(requestHead('/', { Host: 'default', Origin: 'o', host: 'given' }), 'GET / HTTP/1.1\r\nHost: given\r\nOrigin: o\r\n\r\n')
})

/** Runs exchangeUpgrade against a TCP peer on 127.0.0.1 that answers with `answer` once the request head is in. */
async function exchange(t: Test, answer: (socket: Socket) => void, limits: HeadLimits = { maxHeaderSize: 16384, maxHeaders: 128 }) {
  const server = createServer((socket) => {
    let head = ''
    socket.on('data', (chunk) => {
      head += chunk
      if (head.endsWith('\r\n\r\n')) answer(socket)
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const socket = netConnect((server.address() as AddressInfo).port, '127.0.0.1')
  return new Promise<{ res?: ResponseHead; rest?: Buffer; error?: Error; socket: Socket }>((resolve) => {
    exchangeUpgrade(socket, requestHead('/', { Host: 'h' }), limits,
      (res, rest) => resolve({ res, rest, socket }),
      (error) => resolve({ error, socket }))
  }).then((outcome) => {
    t.teardown(() => outcome.socket.destroy())
    return outcome
  })
}

const SWITCHING = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'

t.test('a head trickled a byte at a time, after a 103, is read whole; the bytes after it are handed on', async (t) => {
  const bytes = Buffer.from(`HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n${SWITCHING}\x81\x02hi`)
  const { res, rest, socket } = await exchange(t, (socket) => {
    socket.setNoDelay(true)
    let at = 0
    const next = () => { if (at < bytes.length) socket.write(bytes.subarray(at, ++at), () => setImmediate(next)) }
    next()
  })
  t.equal(res?.statusCode, 101)
  t.equal(res?.headers.upgrade, 'websocket')
  // The frame may still be on its way; what came with the head is its start.
  const tail = Buffer.from('\x81\x02hi', 'latin1')
  t.same(rest, tail.subarray(0, rest?.length), 'what followed the head, as it came')
  t.equal(socket.isPaused(), true, 'the socket is left paused for its next owner')
  t.equal(socket.listenerCount('data'), 0, 'with no listener of the exchange left on it')
})

t.test('the size limit counts a head\'s bytes other than its line breaks, as Node\'s parser does', async (t) => {
  // 40 fields of 8 bytes each: 400 bytes with line breaks, under 400 without.
  const fields = Array.from({ length: 40 }, (_, i) => `X${String(i).padStart(2, '0')}: abc`).join('\r\n')
  const head = `HTTP/1.1 101 Switching Protocols\r\n${fields}\r\n\r\n`
  const size = head.replace(/[\r\n]/g, '').length
  const within = await exchange(t, (s) => s.write(head), { maxHeaderSize: size, maxHeaders: 128 })
  t.equal(within.res?.statusCode, 101, `a head of ${head.length} bytes, ${size} without line breaks, is within a limit of ${size}`)
  const over = await exchange(t, (s) => s.write(head), { maxHeaderSize: size - 1, maxHeaders: 128 })
  t.equal((over.error as HandshakeError | undefined)?.code, 'WS_ERR_RESPONSE_HEADERS_TOO_LARGE')
  t.equal(over.error?.message, `response head exceeds ${size - 1} bytes`)
  t.equal(over.socket.destroyed, true, 'the socket is destroyed')
})

t.test('more fields than the limit, in few bytes, are refused for their count', async (t) => {
  const head = `HTTP/1.1 101 Switching Protocols\r\n${'A: 1\r\n'.repeat(11)}\r\n`
  const { error } = await exchange(t, (s) => s.write(head), { maxHeaderSize: 16384, maxHeaders: 10 })
  t.equal((error as HandshakeError | undefined)?.code, 'WS_ERR_RESPONSE_HEADERS_TOO_LARGE')
  t.equal(error?.message, 'response has more than 10 header fields')
})

t.test('a peer that hangs up before the head ends is a socket hang up (ECONNRESET)', async (t) => {
  const { error } = await exchange(t, (s) => s.end('HTTP/1.1 101 Switching'))
  t.equal((error as NodeJS.ErrnoException | undefined)?.code, 'ECONNRESET')
  t.match(error?.message, /socket hang up/)
})
