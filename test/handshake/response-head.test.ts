/**
 * The head of the answer to an upgrade request, as connect() reads it off
 * the socket itself: where it ends, its status line and its fields, gathered
 * as Node's IncomingMessage gathers them, and what makes it malformed.
 */
import t from 'tap'
import { headEnd, parseResponseHead } from '../../lib/handshake/response-head'
import { HandshakeError } from '../../lib/protocol/errors'

const limits = { maxHeaderSize: 16 * 1024, maxHeaders: 128 }

function parse(text: string, given = limits) {
  const bytes = Buffer.from(text, 'latin1')
  const end = headEnd(bytes)
  if (end === -1) throw new Error('no end of head')
  return parseResponseHead(bytes, end, given)
}

t.test('headEnd finds the empty line, CR LF or bare LF, and nothing before it has all come', async (t) => {
  t.equal(headEnd(Buffer.from('HTTP/1.1 101 OK\r\nA: b\r\n\r\nframes')), 25)
  t.equal(headEnd(Buffer.from('HTTP/1.1 101 OK\nA: b\n\nframes')), 22)
  t.equal(headEnd(Buffer.from('HTTP/1.1 101 OK\r\nA: b\n\r\n')), 24)
  t.equal(headEnd(Buffer.from('HTTP/1.1 101 OK\r\nA: b\r\n\r')), -1, 'the last LF not here yet')
  t.equal(headEnd(Buffer.from('HTTP/1.1 101 OK\r\nA: b\r\n')), -1)
  t.equal(headEnd(Buffer.alloc(0)), -1)
})

t.test('the status line: version, code and reason; a missing reason is taken', async (t) => {
  const res = parse('HTTP/1.1 101 Switching Protocols\r\n\r\n')
  t.equal(res.httpVersion, '1.1')
  t.equal(res.statusCode, 101)
  t.equal(res.statusMessage, 'Switching Protocols')
  t.equal(parse('HTTP/1.0 403\r\n\r\n').statusMessage, '')
  t.equal(parse('HTTP/1.1 200 \r\n\r\n').statusCode, 200)
})

t.test('fields: values trimmed, names kept as sent in rawHeaders and lower-cased in headers', async (t) => {
  const res = parse('HTTP/1.1 101 OK\r\nUpgrade:websocket\r\nSec-WebSocket-Accept: \t abc= \t\r\nX-Empty:\r\n\r\n')
  t.same(res.rawHeaders, ['Upgrade', 'websocket', 'Sec-WebSocket-Accept', 'abc=', 'X-Empty', ''])
  t.same(res.headers, { upgrade: 'websocket', 'sec-websocket-accept': 'abc=', 'x-empty': '' })
})

t.test('repeated fields are gathered as Node gathers them', async (t) => {
  const res = parse(
    'HTTP/1.1 403 No\r\nSet-Cookie: a=1\r\nVia: x\r\nset-cookie: b=2\r\nVIA: y\r\nLocation: /one\r\nLocation: /two\r\n' +
      'Content-Length: 3\r\nContent-Length: 4\r\n\r\n',
  )
  t.same(res.headers['set-cookie'], ['a=1', 'b=2'], 'Set-Cookie as a list')
  t.equal(res.headers.via, 'x, y', 'joined with ", "')
  t.equal(res.headers.location, '/one', 'the first Location only')
  t.equal(res.headers['content-length'], '3')
  t.equal(res.rawHeaders.length, 16, 'every field in rawHeaders')
})

t.test('a folded line continues the field before it, joined by a space (RFC 9112 section 5.2)', async (t) => {
  const res = parse('HTTP/1.1 101 OK\r\nX-Long: one\r\n  two\r\n\tthree\r\n\r\n')
  t.equal(res.headers['x-long'], 'one two three')
})

t.test('a field named __proto__ stays in rawHeaders and changes nothing', async (t) => {
  const res = parse('HTTP/1.1 101 OK\r\n__proto__: x\r\n\r\n')
  t.equal(Object.getPrototypeOf(res.headers), Object.prototype)
  t.same(res.rawHeaders, ['__proto__', 'x'])
})

t.test('malformed heads are refused with a HandshakeError that says what is wrong', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['not HTTP', 'ICY 200 OK\r\n\r\n', /status line/],
    ['HTTP/2 in a status line', 'HTTP/2.0 101 OK\r\n\r\n', /HTTP\/2\.0/],
    ['a status of two digits', 'HTTP/1.1 10 OK\r\n\r\n', /status line/],
    ['whitespace before the colon', 'HTTP/1.1 101 OK\r\nUpgrade : websocket\r\n\r\n', /header field/],
    ['a line without a colon', 'HTTP/1.1 101 OK\r\nUpgrade websocket\r\n\r\n', /header field/],
    ['an empty name', 'HTTP/1.1 101 OK\r\n: websocket\r\n\r\n', /header field/],
    ['a NUL in a value', 'HTTP/1.1 101 OK\r\nX: a\0b\r\n\r\n', /control character/],
    ['a bare CR in a value', 'HTTP/1.1 101 OK\r\nX: a\rb\r\n\r\n', /control character/],
    ['a control character in the reason', 'HTTP/1.1 101 O\x01K\r\n\r\n', /reason/],
    ['a folded line first', 'HTTP/1.1 101 OK\r\n continued\r\n\r\n', /continuation/],
  ]
  for (const [name, text, message] of cases) {
    const error = t.throws(() => parse(text), name) as unknown as HandshakeError
    t.type(error, HandshakeError, name)
    t.equal(error.code, 'WS_ERR_HANDSHAKE', name)
    t.match(error.message, message, name)
  }
})

t.test('more fields than maxHeaders are refused', async (t) => {
  const lines = Array.from({ length: 5 }, (_, i) => `X-${i}: v\r\n`).join('')
  t.equal(parse(`HTTP/1.1 101 OK\r\n${lines}\r\n`, { maxHeaderSize: 1024, maxHeaders: 5 }).rawHeaders.length, 10)
  t.throws(() => parse(`HTTP/1.1 101 OK\r\n${lines}\r\n`, { maxHeaderSize: 1024, maxHeaders: 4 }), {
    code: 'WS_ERR_RESPONSE_HEADERS_TOO_LARGE',
    message: /more than 4 header fields/,
  })
})
