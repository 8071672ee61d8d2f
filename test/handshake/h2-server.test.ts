/**
 * The server's side of the HTTP/2 opening (RFC 8441), request by request:
 * acceptHttp2() answers an extended CONNECT for "websocket" with 200 (and
 * the subprotocol and extension chosen), and every bad request is refused
 * on its stream with the status it deserves, by rejectHttp2(), while the
 * session goes on. Requests are sent with Node's own HTTP/2 client so that
 * malformed ones can be written.
 */
import http2, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { acceptHttp2, rejectHttp2 } from '../../lib/handshake/h2-server'
import type { AcceptOptions } from '../../lib/handshake/server'
import { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { acceptKey } from '../../lib/handshake/key'

interface Answer {
  headers: IncomingHttpHeaders
  body: string
}

/** Listens on 127.0.0.1 and opens a session to it; both closed with `t`. */
async function sessionTo(t: Test, srv: http2.Http2Server): Promise<http2.ClientHttp2Session> {
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const session = http2.connect(`http://127.0.0.1:${(srv.address() as AddressInfo).port}`)
  session.on('error', () => {})
  t.teardown(() => {
    session.destroy()
    srv.close()
  })
  return session
}

/** An h2c server calling acceptHttp2() on every stream, and a session to it; returns a request function. */
async function server(t: Test, options: AcceptOptions = {}) {
  const accepted: unknown[] = []
  const srv = http2.createServer({ settings: { enableConnectProtocol: true } })
  srv.on('stream', (stream, headers) => {
    try {
      const result = acceptHttp2(stream, headers, options)
      accepted.push(result)
      if (result instanceof WebSocketDuplex) result.on('error', () => {})
    } catch (error) {
      rejectHttp2(stream, error as Error)
    }
  })
  const session = await sessionTo(t, srv)
  const request = (headers: OutgoingHttpHeaders) => new Promise<Answer>((resolve, reject) => {
    const stream = session.request(headers, { endStream: false })
    stream.on('error', reject)
    stream.once('response', (answer) => {
      if (answer[':status'] === 200) return resolve({ headers: answer, body: '' })
      let body = ''
      stream.setEncoding('utf8').on('data', (text: string) => (body += text)).on('end', () => resolve({ headers: answer, body }))
    })
  })
  return { request, accepted, session }
}

const CONNECT: OutgoingHttpHeaders = { ':method': 'CONNECT', ':protocol': 'websocket', ':path': '/', 'sec-websocket-version': '13' }

t.test('a well-formed extended CONNECT is answered 200 with what was chosen, and no handshake key', async (t) => {
  const { request, accepted } = await server(t, { protocols: ['b', 'a'], perMessageDeflate: true, headers: { 'x-served-by': 'test' } })
  const answer = await request({ ...CONNECT, 'sec-websocket-protocol': 'a, b', 'sec-websocket-extensions': 'permessage-deflate' })
  t.equal(answer.headers[':status'], 200)
  t.equal(answer.headers['sec-websocket-protocol'], 'a', 'the first offered that the server speaks')
  t.equal(answer.headers['sec-websocket-extensions'], 'permessage-deflate')
  t.equal(answer.headers['x-served-by'], 'test', 'extra headers go out')
  t.equal(answer.headers['sec-websocket-accept'], undefined, 'no Accept when no key was sent (RFC 8441 section 5)')
  t.equal(answer.headers.upgrade, undefined)
  t.ok(accepted[0] instanceof WebSocketDuplex)
  t.equal((accepted[0] as WebSocketDuplex).protocol, 'a')
})

t.test('a key sent anyway gets its Accept; raw hands back the stream', async (t) => {
  const { request, accepted } = await server(t, { raw: true })
  const key = 'dGhlIHNhbXBsZSBub25jZQ=='
  const answer = await request({ ...CONNECT, 'sec-websocket-key': key })
  t.equal(answer.headers['sec-websocket-accept'], acceptKey(key))
  t.notOk(accepted[0] instanceof WebSocketDuplex, 'raw: no duplex')
  t.equal(typeof (accepted[0] as http2.ServerHttp2Stream).respond, 'function', 'but the stream itself')
})

t.test('bad requests are refused with their status, and the session takes the next one', async (t) => {
  const { request } = await server(t)
  const cases: Array<[string, OutgoingHttpHeaders, number, RegExp, Record<string, string>?]> = [
    ['no version', { ...CONNECT, 'sec-websocket-version': undefined }, 426, /only 13/, { 'sec-websocket-version': '13' }],
    ['version 8', { ...CONNECT, 'sec-websocket-version': '8' }, 426, /"8"/, { 'sec-websocket-version': '13' }],
    ['another protocol', { ...CONNECT, ':protocol': 'webtransport' }, 400, /"webtransport"/],
    ['not a CONNECT', { ':method': 'GET', ':path': '/', 'sec-websocket-version': '13' }, 405, /not GET/, { allow: 'CONNECT' }],
    ['a bad subprotocol list', { ...CONNECT, 'sec-websocket-protocol': 'a b' }, 400, /Sec-WebSocket-Protocol/],
  ]
  for (const [what, headers, status, body, extra] of cases) {
    const answer = await request(headers)
    t.equal(answer.headers[':status'], status, `${what}: ${status}`)
    t.match(answer.body, body, `${what}: the body says why`)
    if (extra) t.match(answer.headers, extra, `${what}: with its headers`)
  }
  t.equal((await request(CONNECT)).headers[':status'], 200, 'then a good one is accepted on the same session')
})

t.test('a bad option is thrown before anything is answered', async (t) => {
  const srv = http2.createServer({ settings: { enableConnectProtocol: true } })
  const thrown = new Promise<unknown>((resolve) => srv.on('stream', (stream, headers) => {
    try {
      acceptHttp2(stream, headers, { maxMessageSize: -1 })
      resolve(null)
    } catch (error) {
      resolve({ error, headersSent: stream.headersSent })
      stream.close()
    }
  }))
  const session = await sessionTo(t, srv)
  session.request(CONNECT, { endStream: false }).on('error', () => {})
  t.match(await thrown, { error: RangeError, headersSent: false })
})
