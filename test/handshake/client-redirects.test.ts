/**
 * connect() and redirects: refused by default, followed with
 * `followRedirects` up to `maxRedirects`, credentials kept for their own
 * origin, one handshake timeout over the whole chain. Crafted HTTP servers
 * on 127.0.0.1 answer with the redirects; a real server at the end accepts.
 */
import t, { type Test } from 'tap'
import { connect, type ConnectOptions } from '../../lib/handshake/client'
import { HandshakeError } from '../../lib/protocol/errors'
import type { WebSocketDuplex } from '../../lib/connection/websocket-duplex'
import { craftedServer, header, switchingProtocols, type CraftedServer, type SeenRequest } from '../helpers/http-upgrade'
import { within } from '../helpers/ws-wait'

type Failure = Error & { code?: string; statusCode?: number; headers?: Record<string, string> }

/** A crafted server answering each request with `respond(request)`, closed after the test. */
async function serverAnswering(t: Test, respond: (request: SeenRequest) => string | null): Promise<CraftedServer> {
  const server = await craftedServer((request) => {
    const answer = respond(request)
    if (answer !== null) request.socket.write(answer)
  })
  t.teardown(() => server.close())
  return server
}

const redirect = (status: number, location: string) =>
  `HTTP/1.1 ${status} Moved\r\nLocation: ${location}\r\nContent-Length: 0\r\n\r\n`

/** A server that accepts every upgrade. */
const accepting = (t: Test) => serverAnswering(t, (request) => switchingProtocols(request))

async function outcome(promise: Promise<WebSocketDuplex>): Promise<{ ws?: WebSocketDuplex; error?: Failure }> {
  try {
    return { ws: await within(promise, 5000, 'connect() to settle') }
  } catch (error) {
    return { error: error as Failure }
  }
}

async function connected(t: Test, url: string, options: ConnectOptions): Promise<WebSocketDuplex> {
  const { ws, error } = await outcome(connect(url, options))
  if (!ws) throw error
  t.teardown(() => ws.destroy())
  return ws
}

t.test('without followRedirects a redirect is a refusal that names the Location', async (t) => {
  const target = await accepting(t)
  const mover = await serverAnswering(t, () => redirect(302, target.url))
  const { error } = await outcome(connect(mover.url))
  t.type(error, HandshakeError)
  t.match(error, { code: 'WS_ERR_UNEXPECTED_RESPONSE', statusCode: 302, headers: { location: target.url } })
  t.equal(target.requests.length, 0, 'the Location was not visited')
})

t.test('with followRedirects', async (t) => {
  for (const status of [301, 302, 303, 307, 308]) {
    t.test(`${status} is followed to its Location, with a fresh key, and the response names the final URL`, async (t) => {
      const target = await accepting(t)
      const mover = await serverAnswering(t, () => redirect(status, `${target.url}landing?from=${status}`))
      const ws = await connected(t, mover.url, { followRedirects: true, protocols: ['chat'] })
      t.equal(target.requests.length, 1)
      const [first] = mover.requests
      const [second] = target.requests
      t.equal(second.startLine, `GET /landing?from=${status} HTTP/1.1`)
      t.not(header(second, 'sec-websocket-key'), header(first, 'sec-websocket-key'), 'each request has its own key')
      t.equal(header(second, 'sec-websocket-protocol'), 'chat', 'the same subprotocols are offered')
      t.equal(ws.response?.url, `${target.url}landing?from=${status}`)
    })
  }

  t.test('a relative Location resolves against the URL that answered it', async (t) => {
    const server = await serverAnswering(t, (request) =>
      request.startLine.startsWith('GET /old/') ? redirect(307, '../new/here') : switchingProtocols(request))
    await connected(t, `${server.url}old/page`, { followRedirects: true })
    t.strictSame(server.requests.map((request) => request.startLine), ['GET /old/page HTTP/1.1', 'GET /new/here HTTP/1.1'])
  })

  t.test('a chain within maxRedirects is followed to its end', async (t) => {
    const target = await accepting(t)
    const second = await serverAnswering(t, () => redirect(302, target.url))
    const first = await serverAnswering(t, () => redirect(302, second.url))
    await connected(t, first.url, { followRedirects: true, maxRedirects: 2 })
    t.equal(target.requests.length, 1)
  })

  t.test('one redirect more than maxRedirects fails with WS_ERR_TOO_MANY_REDIRECTS', async (t) => {
    const target = await accepting(t)
    const second = await serverAnswering(t, () => redirect(302, target.url))
    const first = await serverAnswering(t, () => redirect(302, second.url))
    const { error } = await outcome(connect(first.url, { followRedirects: true, maxRedirects: 1 }))
    t.match(error, { code: 'WS_ERR_TOO_MANY_REDIRECTS', statusCode: 302, headers: { location: target.url } })
    t.equal(target.requests.length, 0, 'the last Location was not visited')
  })

  t.test('a loop ends after the default of 10 redirects', async (t) => {
    const loop = await serverAnswering(t, () => redirect(302, '/again'))
    const { error } = await outcome(connect(loop.url, { followRedirects: true }))
    t.equal(error?.code, 'WS_ERR_TOO_MANY_REDIRECTS')
    t.equal(loop.requests.length, 11, 'the first request and 10 redirects')
  })

  t.test('a redirect without a Location is a refusal', async (t) => {
    const server = await serverAnswering(t, () => 'HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n')
    const { error } = await outcome(connect(server.url, { followRedirects: true }))
    t.match(error, { code: 'WS_ERR_UNEXPECTED_RESPONSE', statusCode: 302 })
  })

  t.test('a Location with an unsupported scheme fails with WS_ERR_INVALID_REDIRECT', async (t) => {
    const server = await serverAnswering(t, () => redirect(301, 'ftp://127.0.0.1/'))
    const { error } = await outcome(connect(server.url, { followRedirects: true }))
    t.match(error, { code: 'WS_ERR_INVALID_REDIRECT', statusCode: 301, message: /unsupported URL scheme "ftp"/ })
  })

  t.test('a network server may not send the client to a unix socket', async (t) => {
    const server = await serverAnswering(t, () => redirect(302, 'ws+unix:/var/run/docker.sock:/'))
    const { error } = await outcome(connect(server.url, { followRedirects: true }))
    t.match(error, { code: 'WS_ERR_INVALID_REDIRECT', message: /network address and a unix socket/ })
  })

  t.test('credentials go to the first origin only; other headers follow', async (t) => {
    const headers = { Authorization: 'Bearer secret', Cookie: 'session=1', 'X-Trace': 'abc' }
    const sameHost = await serverAnswering(t, (request) =>
      request.startLine.startsWith('GET /start') ? redirect(302, '/next') : switchingProtocols(request))
    await connected(t, `${sameHost.url}start`, { followRedirects: true, headers })
    t.equal(header(sameHost.requests[1], 'authorization'), 'Bearer secret', 'kept on the same origin')
    t.equal(header(sameHost.requests[1], 'cookie'), 'session=1')

    const elsewhere = await accepting(t)
    // Same host, another port: another origin.
    const mover = await serverAnswering(t, () => redirect(302, elsewhere.url))
    await connected(t, mover.url, { followRedirects: true, headers })
    t.equal(header(mover.requests[0], 'authorization'), 'Bearer secret', 'sent to the first origin')
    const [seen] = elsewhere.requests
    t.equal(header(seen, 'authorization'), undefined, 'no Authorization for another origin')
    t.equal(header(seen, 'cookie'), undefined, 'no Cookie for another origin')
    t.equal(header(seen, 'x-trace'), 'abc', 'other headers follow')
  })

  t.test('the handshake timeout covers the whole chain', async (t) => {
    const silent = await serverAnswering(t, () => null)
    const mover = await serverAnswering(t, () => redirect(302, silent.url))
    const started = Date.now()
    const { error } = await outcome(connect(mover.url, { followRedirects: true, handshakeTimeout: 300 }))
    t.equal(error?.code, 'WS_ERR_HANDSHAKE_TIMEOUT')
    t.ok(Date.now() - started < 2000, 'within the one deadline')
    t.equal(silent.requests.length, 1, 'the redirect was followed before time ran out')
  })
})

t.test('bad redirect options are refused before anything is sent', async (t) => {
  const server = await accepting(t)
  for (const [options, kind, pattern] of [
    [{ followRedirects: 'yes' }, TypeError, /followRedirects must be a boolean/],
    [{ maxRedirects: 0 }, RangeError, /maxRedirects must be a positive integer/],
    [{ maxRedirects: 1.5 }, RangeError, /maxRedirects/],
  ] as const) {
    const { error } = await outcome(connect(server.url, options as unknown as ConnectOptions))
    t.type(error, kind)
    t.match(error?.message, pattern)
  }
  t.equal(server.connections(), 0, 'no connection was made')
})
